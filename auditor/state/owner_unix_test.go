//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package state

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestRootKeepsOwner: a state file saved by root in a directory owned by
// the service's user stays the service's, lock file included (an
// administrator's srvctl audit beside srvctl run must not lock the service
// out). As another user, files are that user's, as always.
func TestRootKeepsOwner(t *testing.T) {
	dir := t.TempDir()
	want := os.Geteuid()
	if want == 0 {
		want = 65534 // nobody: the service's user
		if err := os.Chown(dir, want, want); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "state.json")
	l, err := Lock(path)
	if err != nil {
		t.Fatal(err)
	}
	l.Record(Key{Host: "kms1.example.com.", Port: 1688}, Observation{Time: time.Now(), Resolved: true, Live: true})
	if err := l.Save(); err != nil {
		t.Fatal(err)
	}
	l.Close()
	for _, p := range []string{path, path + ".lock"} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if uid := int(st.Sys().(*syscall.Stat_t).Uid); uid != want {
			t.Errorf("%s is owned by uid %d, want %d", filepath.Base(p), uid, want)
		}
	}
}
