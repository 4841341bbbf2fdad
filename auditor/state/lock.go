package state

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrLocked is wrapped by the error Lock returns when another process (or
// another Lock in this one) holds the state file's lock.
var ErrLocked = errors.New("another srvctl audit holds the lock")

// Locked is a state file opened for writing: it holds the file's exclusive
// lock until Close. Its methods are safe for concurrent use.
type Locked struct {
	path string
	lock *os.File // nil once closed

	mu    sync.Mutex
	state *State
}

// beforeRename, when set by tests, runs in Save after the temporary file is
// written and synced and before it is renamed over the state file.
var beforeRename func(tmp string)

// Lock takes the exclusive lock of the state file at path and loads it. The
// lock is a flock(2) on path+".lock", created with mode 0600 and never
// removed; the kernel releases it when the holder exits, however it dies.
//
// Lock does not wait: if another process holds the lock it fails at once
// with an error wrapping ErrLocked that names the lock file and, when known,
// the holder's pid. Audits run from cron or the controller; when one is
// still running, the next one has nothing to add and should not queue
// behind it.
func Lock(path string) (*Locked, error) {
	lockPath := path + ".lock"
	f, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("state file %s: opening lock file: %w", path, err)
	}
	// root (an administrator's srvctl audit beside the service) must not
	// leave files the service's own user cannot open.
	keepOwner(f, path)
	held, err := tryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("state file %s: locking %s: %w", path, lockPath, err)
	}
	if !held {
		pid := holder(f)
		f.Close()
		return nil, fmt.Errorf("state file %s: %w on %s%s", path, ErrLocked, lockPath, pid)
	}
	// The pid is for the message above only; the lock itself is the flock.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	s, err := Load(path)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &Locked{path: path, lock: f, state: s}, nil
}

// holder returns " (pid N)" from the lock file, or "" when it holds none.
func holder(f *os.File) string {
	b := make([]byte, 32)
	n, _ := f.ReadAt(b, 0)
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b[:n])))
	if err != nil || pid <= 0 {
		return ""
	}
	return fmt.Sprintf(" (pid %d)", pid)
}

// State returns a copy of the history as it stands, recorded observations
// included.
func (l *Locked) State() *State {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.state.Clone()
}

// Record adds the observation o of target k to the history. Call it once per
// target per run, and never for a run that did not probe. An observation
// dated before the target's latest probe means the clock went backwards: it
// still counts as a run (a live one resets the streak, so a host that
// answers is never kept stale), but no recorded time moves backwards.
func (l *Locked) Record(k Key, o Observation) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.state.record(k, o)
}

// Forget drops the targets not probed since olderThan, so that the file
// does not keep hosts removed from every zone forever, and returns how many
// it dropped.
func (l *Locked) Forget(olderThan time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.state.forget(olderThan)
}

// Save replaces the state file with the history atomically: it writes a
// temporary file (mode 0600) in the same directory, syncs it, renames it
// over the state file and syncs the directory. A crash at any point leaves
// either the previous file or the new one. Temporary files left by a
// writer that died are removed first.
func (l *Locked) Save() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lock == nil {
		return fmt.Errorf("state file %s: saving after Close", l.path)
	}
	b, err := l.state.encode()
	if err != nil {
		return fmt.Errorf("state file %s: encoding: %w", l.path, err)
	}
	dir, base := filepath.Split(l.path)
	if dir == "" {
		dir = "."
	}
	if err := removeTemps(dir, base); err != nil {
		return fmt.Errorf("state file %s: %w", l.path, err)
	}
	tmp, err := os.CreateTemp(dir, base+tempInfix+"*")
	if err != nil {
		return fmt.Errorf("state file %s: %w", l.path, err)
	}
	keepOwner(tmp, l.path)
	if err := writeSync(tmp, b); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("state file %s: writing %s: %w", l.path, tmp.Name(), err)
	}
	if beforeRename != nil {
		beforeRename(tmp.Name())
	}
	if err := os.Rename(tmp.Name(), l.path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("state file %s: %w", l.path, err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("state file %s: syncing directory: %w", l.path, err)
	}
	return nil
}

// tempInfix follows the state file's name in its temporary files'.
const tempInfix = ".tmp-"

// removeTemps removes the temporary files of state file base in dir. Only
// the lock holder writes them, so any found are left by a writer that died.
func removeTemps(dir, base string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasPrefix(e.Name(), base+tempInfix) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("removing leftover temporary file: %w", err)
		}
	}
	return nil
}

func writeSync(f *os.File, b []byte) error {
	_, err := f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// Close releases the lock without saving. Closing twice does nothing.
func (l *Locked) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lock == nil {
		return nil
	}
	f := l.lock
	l.lock = nil
	if err := f.Close(); err != nil {
		return fmt.Errorf("state file %s: releasing lock: %w", l.path, err)
	}
	return nil
}
