//go:build !unix

package bindfile

import (
	"context"
	"errors"
	"io/fs"
	"os"
)

// lock is not available: srvctl's bindfile backend needs flock(2).
func lock(context.Context, string) (*os.File, error) {
	return nil, errors.New("file locking is not supported on this system")
}

// keepOwner does nothing: files keep this process's owner.
func keepOwner(*os.File, fs.FileInfo) {}
