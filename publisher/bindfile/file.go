package bindfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// defaultPerm is the mode of a file srvctl creates.
const defaultPerm fs.FileMode = 0o644

// fileState is a file as it was read: what to compare with, and what to
// restore.
type fileState struct {
	path   string      // where it is written: the file, or the target of a symbolic link
	exists bool        // false: the file did not exist
	data   []byte      // its content
	info   fs.FileInfo // its mode and owner; nil when it did not exist
}

// readFile reads path, following symbolic links. A missing file is not an
// error.
func readFile(path string) (fileState, error) {
	st := fileState{path: path}
	if real, err := filepath.EvalSymlinks(path); err == nil {
		st.path = real
	}
	f, err := os.Open(st.path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return st, err
	}
	if !info.Mode().IsRegular() {
		return st, fmt.Errorf("not a regular file (%s)", info.Mode().Type())
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return st, err
	}
	st.exists, st.data, st.info = true, data, info
	return st, nil
}

// perm is the mode a new version of the file gets: the old one's, or
// defaultPerm.
func (st fileState) perm() fs.FileMode {
	if st.info == nil {
		return defaultPerm
	}
	return st.info.Mode().Perm()
}

// writeAtomic replaces the file of st with data: a temporary file in the
// same directory with the old file's mode (and owner, where this process may
// set it), written and synced, then renamed over the file, and the
// directory synced. Readers see the old or the new content, never a mix;
// after a crash the file is one or the other.
func writeAtomic(st fileState, data []byte) (err error) {
	dir, base := filepath.Split(st.path)
	tmp, err := os.CreateTemp(dir, "."+base+".srvctl-*.tmp")
	if err != nil {
		return fmt.Errorf("creating a temporary file: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(st.perm()); err != nil {
		return fmt.Errorf("setting the mode of %s: %w", tmp.Name(), err)
	}
	if st.info != nil {
		keepOwner(tmp, st.info)
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("writing %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), st.path); err != nil {
		return fmt.Errorf("renaming %s: %w", tmp.Name(), err)
	}
	return syncDir(filepath.Dir(st.path))
}

// restore puts the file of st back as it was: its old content, or no file.
func restore(st fileState) error {
	if st.exists {
		return writeAtomic(st, st.data)
	}
	if err := os.Remove(st.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return syncDir(filepath.Dir(st.path))
}

// syncDir makes a rename or removal in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing the directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing the directory %s: %w", dir, err)
	}
	return nil
}
