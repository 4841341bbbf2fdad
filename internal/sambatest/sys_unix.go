//go:build unix

package sambatest

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// termGroup sends SIGTERM to the process group pgid.
func termGroup(pgid int) { _ = syscall.Kill(-pgid, syscall.SIGTERM) }

// killGroup sends SIGKILL to the process group pgid; it is no error when
// the group is already empty.
func killGroup(pgid int) { _ = syscall.Kill(-pgid, syscall.SIGKILL) }

// lockFile opens (creating) path and takes an exclusive flock on it,
// waiting for it unless nonblock; with nonblock it returns (nil, nil) when
// another open file holds the lock. The lock lasts until the file is
// closed, or the process dies.
func lockFile(path string, nonblock bool) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sambatest: lock %s: %w", path, err)
	}
	how := syscall.LOCK_EX
	if nonblock {
		how |= syscall.LOCK_NB
	}
	for {
		err = syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		if nonblock && errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, nil
		}
		return nil, fmt.Errorf("sambatest: lock %s: %w", path, err)
	}
	return f, nil
}
