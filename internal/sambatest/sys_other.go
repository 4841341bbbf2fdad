//go:build !unix

package sambatest

import (
	"errors"
	"os"
	"syscall"
)

// sysProcAttr has nothing to add where there are no process groups.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// termGroup does nothing: Samba AD DCs run on unix only.
func termGroup(int) {}

// killGroup does nothing: Samba AD DCs run on unix only.
func killGroup(int) {}

// lockFile fails: Samba AD DCs run on unix only.
func lockFile(string, bool) (*os.File, error) {
	return nil, errors.New("sambatest: a Samba AD DC needs a unix system")
}
