package state

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The crash tests re-execute this test binary as a child process that
// locks a state file and then waits to be killed. These variables tell the
// child what to do.
const (
	helperEnv = "SRVCTL_STATE_TEST_HELPER" // the child's mode
	pathEnv   = "SRVCTL_STATE_TEST_PATH"   // the state file
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		helper(mode, os.Getenv(pathEnv))
		return
	}
	os.Exit(m.Run())
}

// helper is the child: it locks path, records kms3 dead at t0+100h, then
//   - "before-rename": saves, stopping after the temporary file is written
//     and synced, before the rename;
//   - "holding": holds the lock without saving.
//
// It prints "READY <detail>" when it reaches that point and waits for the
// parent to kill it; if the parent closes stdin instead, it exits 3.
func helper(mode, path string) {
	l, err := Lock(path)
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(2)
	}
	l.Record(kms3, timeout(100*time.Hour))
	wait := func(detail string) {
		fmt.Println("READY", detail)
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(3)
	}
	switch mode {
	case "before-rename":
		beforeRename = wait
		err := l.Save()
		fmt.Println("ERROR Save returned:", err)
	case "holding":
		wait(fmt.Sprint(os.Getpid()))
	default:
		fmt.Println("ERROR unknown mode", mode)
	}
	os.Exit(2)
}

// child is a running helper process.
type child struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	detail string // what it printed after READY
}

// startChild starts a helper in mode on path and waits until it is READY.
func startChild(t *testing.T, mode, path string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, pathEnv+"="+path)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, stdin: stdin}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "READY "); ok {
			c.detail = rest
			return c
		}
		if strings.HasPrefix(line, "ERROR") {
			t.Fatalf("helper %s: %s", mode, line)
		}
	}
	t.Fatalf("helper %s exited before it was ready: %v", mode, sc.Err())
	return nil
}

// kill sends SIGKILL, the one signal a process cannot clean up after, and
// checks that it is what ended the child.
func (c *child) kill(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := c.cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("helper ended with %v, want killed", err)
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("helper ended with %v, want killed by SIGKILL", err)
	}
}

// previous writes the state a crashed writer must leave intact: kms3 live
// at t0, kms1 live at t0+1h. It returns it as saved.
func previous(t *testing.T, path string) *State {
	t.Helper()
	l, err := Lock(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Record(kms3, live(0))
	l.Record(Key{"kms1.example.com.", 1688}, live(time.Hour))
	if err := l.Save(); err != nil {
		t.Fatal(err)
	}
	return l.State()
}

func mustLoad(t *testing.T, path string) *State {
	t.Helper()
	s, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// TestCrashBeforeRename kills a writer after it wrote and synced its
// temporary file and before the rename: readers see the previous state, the
// lock is free, and the next Save removes the leftover.
func TestCrashBeforeRename(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	want := previous(t, path)

	c := startChild(t, "before-rename", path)
	tmp := c.detail
	if filepath.Dir(tmp) != dir || !strings.HasPrefix(filepath.Base(tmp), "state.json.tmp-") {
		t.Fatalf("temporary file %s is not beside %s", tmp, path)
	}
	// The child got as far as a complete new version: the crash is between
	// the write and the rename, not before the write.
	b, err := os.ReadFile(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"failing_since": "2026-11-19T06:00:00Z"`) {
		t.Fatalf("temporary file lacks the child's observation:\n%s", b)
	}
	c.kill(t)

	if diff := cmp.Diff(want, mustLoad(t, path)); diff != "" {
		t.Errorf("after the crash, Load (-previous +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"state.json", "state.json.lock", filepath.Base(tmp)}, dirNames(t, dir), cmpSorted); diff != "" {
		t.Errorf("files after the crash (-want +got):\n%s", diff)
	}

	l, err := Lock(path) // the dead child's lock is free
	if err != nil {
		t.Fatalf("Lock after the crash: %v", err)
	}
	defer l.Close()
	if diff := cmp.Diff(want, l.State()); diff != "" {
		t.Errorf("after the crash, Lock loads (-previous +got):\n%s", diff)
	}
	l.Record(kms3, timeout(24*time.Hour))
	if err := l.Save(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"state.json", "state.json.lock"}, dirNames(t, dir), cmpSorted); diff != "" {
		t.Errorf("files after the next Save (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(l.State(), mustLoad(t, path)); diff != "" {
		t.Errorf("after the next Save, Load (-saved +got):\n%s", diff)
	}
}

// TestCrashHoldingLock kills a process holding the lock with unsaved
// observations. While it lives, a second process gets a clear error and
// readers still read; once it is dead, the lock is free and its
// observations are lost, not half-written.
func TestCrashHoldingLock(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	want := previous(t, path)

	c := startChild(t, "holding", path)
	_, err := Lock(path)
	wantErr := fmt.Sprintf("state file %s: another srvctl audit holds the lock on %s.lock (pid %s)", path, path, c.detail)
	if err == nil || err.Error() != wantErr {
		t.Fatalf("Lock while the child holds it: %v\nwant %s", err, wantErr)
	}
	if !errors.Is(err, ErrLocked) {
		t.Errorf("error does not wrap ErrLocked: %v", err)
	}
	if diff := cmp.Diff(want, mustLoad(t, path)); diff != "" {
		t.Errorf("Load while the child holds the lock (-previous +got):\n%s", diff)
	}

	c.kill(t)

	l, err := Lock(path)
	if err != nil {
		t.Fatalf("Lock after the holder died: %v", err)
	}
	defer l.Close()
	if diff := cmp.Diff(want, l.State()); diff != "" {
		t.Errorf("after the crash, Lock loads (-previous +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, mustLoad(t, path)); diff != "" {
		t.Errorf("after the crash, Load (-previous +got):\n%s", diff)
	}
}

// TestLockInProcess: a second Lock on the same file fails even in the same
// process (flock belongs to the open file), and Close frees it.
func TestLockInProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	first, err := Lock(path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Lock(path)
	want := fmt.Sprintf("state file %s: another srvctl audit holds the lock on %s.lock (pid %d)", path, path, os.Getpid())
	if err == nil || err.Error() != want || !errors.Is(err, ErrLocked) {
		t.Fatalf("second Lock: %v\nwant %s", err, want)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := first.Save(); err == nil || err.Error() != "state file "+path+": saving after Close" {
		t.Errorf("Save after Close: %v", err)
	}
	second, err := Lock(path)
	if err != nil {
		t.Fatalf("Lock after Close: %v", err)
	}
	second.Close()
}

func TestSaveModes(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	l, err := Lock(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Lock created the state file (%v); only Save should", err)
	}
	l.Record(kms3, live(0))
	if err := l.Save(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"state.json", "state.json.lock"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", name, fi.Mode().Perm())
		}
	}
}

func TestLockMissingDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing", "state.json")
	_, err := Lock(path)
	want := "state file " + path + ": opening lock file: open " + path + ".lock: no such file or directory"
	if err == nil || err.Error() != want {
		t.Errorf("Lock: %v\nwant %s", err, want)
	}
}

// TestSaveKeepsOtherFiles: cleaning leftovers removes only this state
// file's temporary files.
func TestSaveKeepsOtherFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	keep := []string{"other.json.tmp-1", "state.json.bak", "state.jsonx.tmp-1"}
	for _, name := range append([]string{"state.json.tmp-123", "state.json.tmp-"}, keep...) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	l, err := Lock(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Save(); err != nil {
		t.Fatal(err)
	}
	want := append([]string{"state.json", "state.json.lock"}, keep...)
	if diff := cmp.Diff(want, dirNames(t, dir), cmpSorted); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
}

// TestConcurrentRecord records from many goroutines on one Locked while
// others read, forget and save (run with -race).
func TestConcurrentRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	l, err := Lock(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	const workers, perWorker = 8, 50
	shared := Key{"shared.example.com.", 1688}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				l.Record(Key{fmt.Sprintf("kms%d-%d.example.com.", w, i), 1688}, live(time.Hour))
				l.Record(shared, timeout(time.Hour))
				if i%10 == 0 {
					_ = l.State().Verdict(shared, at(time.Hour), Policy{})
					l.Forget(at(0)) // drops nothing: every probe is later
					if err := l.Save(); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := l.Save(); err != nil {
		t.Fatal(err)
	}
	s := mustLoad(t, path)
	if got, want := len(s.Targets), workers*perWorker+1; got != want {
		t.Errorf("%d targets, want %d", got, want)
	}
	got, _ := s.Target(shared)
	want := Target{FirstSeen: at(time.Hour), LastProbe: at(time.Hour), FailingSince: at(time.Hour), FailedRuns: workers * perWorker, LastDetail: "timeout on 192.0.2.3"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("shared target (-want +got):\n%s", diff)
	}
	if n := l.Forget(at(2 * time.Hour)); n != workers*perWorker+1 {
		t.Errorf("Forget dropped %d, want all %d", n, workers*perWorker+1)
	}
	if names := dirNames(t, filepath.Dir(path)); !slices.Equal(names, []string{"state.json", "state.json.lock"}) {
		t.Errorf("files left: %v", names)
	}
}
