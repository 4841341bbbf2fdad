//go:build !unix

package bindtest

import "syscall"

// sysProcAttr has nothing to add where there are no process groups.
func sysProcAttr() *syscall.SysProcAttr { return nil }
