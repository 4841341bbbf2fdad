//go:build unix && !linux

package bindtest

import "syscall"

// sysProcAttr puts named in its own process group, so that a Ctrl-C at the
// terminal reaches only the test or demo, which then stops named in order.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
