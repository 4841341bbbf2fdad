package bindtest

import "syscall"

// sysProcAttr puts named in its own process group, so that a Ctrl-C at the
// terminal reaches only the test or demo, which then stops named in order;
// and has the kernel send named SIGTERM if the process that started it
// dies without stopping it (a test binary killed by -timeout).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
