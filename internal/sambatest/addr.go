package sambatest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"
)

// The address pool: 127.0.88.1 .. 127.0.88.poolSize. Every address of
// 127.0.0.0/8 reaches the loopback interface on Linux without being
// configured.
const (
	poolPrefix = "127.0.88."
	poolSize   = 32
	// poolWait is how long acquireAddr waits for an address when all
	// are taken (by other tests' DCs) before it fails.
	poolWait = 3 * time.Minute
)

// lockDir holds one lock file per pool address, shared by every process
// on the machine.
func lockDir() string { return filepath.Join(os.TempDir(), "srvctl-samba-locks") }

// acquireAddr returns a pool address that no other DC uses and where
// nothing listens on port 389, and the open lock file that reserves it
// until releaseAddr. It waits up to poolWait for one to become free.
func acquireAddr() (string, *os.File, error) {
	if err := os.MkdirAll(lockDir(), 0o755); err != nil {
		return "", nil, fmt.Errorf("sambatest: %w", err)
	}
	deadline := time.Now().Add(poolWait)
	for {
		var busy []error
		for n := 1; n <= poolSize; n++ {
			addr := fmt.Sprintf("%s%d", poolPrefix, n)
			lock, err := lockFile(filepath.Join(lockDir(), addr+".lock"), true)
			if err != nil {
				return "", nil, err
			}
			if lock == nil {
				continue // another DC of the harness
			}
			// Something outside the harness (a leftover samba?) may
			// still hold the address.
			l, err := net.Listen("tcp4", net.JoinHostPort(addr, "389"))
			if err != nil {
				busy = append(busy, fmt.Errorf("%s:389: %w", addr, err))
				lock.Close()
				continue
			}
			if err := l.Close(); err != nil {
				lock.Close()
				return "", nil, fmt.Errorf("sambatest: %w", err)
			}
			return addr, lock, nil
		}
		if time.Now().After(deadline) {
			return "", nil, errors.Join(append([]error{fmt.Errorf("sambatest: no free address in %s1-%d after %v (each running DC holds one; lock files in %s)",
				poolPrefix, poolSize, poolWait, lockDir())}, busy...)...)
		}
		time.Sleep(time.Second)
	}
}

// releaseAddr gives the address reserved by lock back to the pool.
func releaseAddr(lock *os.File) error {
	if err := lock.Close(); err != nil {
		return fmt.Errorf("sambatest: releasing %s: %w", lock.Name(), err)
	}
	return nil
}
