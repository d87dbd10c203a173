package main

import (
	"os"
	"syscall"
)

// childProcAttr makes a child process receive SIGKILL when the benchmark dies, so that a
// benchmark killed outright (kill -9) leaves no redis-server or worker behind.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// peakRSS returns the peak resident set size of an exited process in bytes, and whether
// it is known. Linux reports ru_maxrss in KiB.
func peakRSS(ps *os.ProcessState) (int64, bool) {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, false
	}
	return ru.Maxrss * 1024, true
}
