//go:build unix && !linux

package sambatest

import "syscall"

// sysProcAttr puts samba in its own process group, so that a Ctrl-C at the
// terminal reaches only the test, which then stops samba in order, and so
// that stopping it can signal everything it started. Samba's -i makes it
// exit when its stdin, a pipe from the test, reaches EOF.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
