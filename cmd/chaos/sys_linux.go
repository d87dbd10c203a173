package main

import "syscall"

// childProcAttr makes a child process receive SIGKILL when the chaos command dies, so that
// a run killed outright (kill -9, a test timeout) leaves no redis-server or worker behind.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
