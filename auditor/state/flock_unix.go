//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package state

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
)

// tryLock takes an exclusive flock on f without waiting. It reports false
// when another open file holds it.
func tryLock(f *os.File) (bool, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return false, err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) {
		for {
			ferr = syscall.Flock(int(fd), syscall.LOCK_EX|syscall.LOCK_NB)
			if !errors.Is(ferr, syscall.EINTR) {
				return
			}
		}
	}); err != nil {
		return false, err
	}
	if errors.Is(ferr, syscall.EWOULDBLOCK) {
		return false, nil
	}
	return ferr == nil, ferr
}

// keepOwner gives f, a file srvctl created beside the state file at path,
// the owner of that state file (or of its directory, when there is none
// yet) when srvctl runs as root. Otherwise a root srvctl audit run by hand
// beside the service (srvctl run as a DynamicUser or a dedicated user)
// would leave a state file or lock file the service can no longer open.
// Best effort: a failure leaves root's ownership, which the service's
// error then names.
func keepOwner(f *os.File, path string) {
	if os.Geteuid() != 0 {
		return
	}
	st, err := os.Stat(path)
	if err != nil {
		if st, err = os.Stat(filepath.Dir(path)); err != nil {
			return
		}
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		_ = f.Chown(int(sys.Uid), int(sys.Gid))
	}
}
