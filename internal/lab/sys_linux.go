package lab

import "syscall"

// childProcAttr makes a child process receive SIGKILL when this process dies.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
