//go:build !linux

package main

import (
	"os"
	"time"
)

// peakRSS reports the peak RSS as unknown: ru_maxrss is in KiB on Linux but in bytes on
// macOS and absent on Windows, and the figures quoted are measured on Linux.
func peakRSS(*os.ProcessState) (int64, bool) { return 0, false }

// procCPU reports a running process's CPU time as unknown: it is read from /proc.
func procCPU(int) (time.Duration, bool) { return 0, false }

// procRSS reports a running process's RSS as unknown: it is read from /proc.
func procRSS(int) (cur, peak int64, ok bool) { return 0, 0, false }
