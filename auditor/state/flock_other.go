//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package state

import (
	"fmt"
	"os"
	"runtime"
)

// tryLock fails: this system has no flock(2), and writing the state file
// without a lock could lose a concurrent audit's history.
func tryLock(*os.File) (bool, error) {
	return false, fmt.Errorf("file locking is not supported on %s", runtime.GOOS)
}

// keepOwner does nothing here: the state file cannot be locked anyway.
func keepOwner(*os.File, string) {}
