package main

import (
	"os"
	"testing"
	"time"
)

// TestProcCPUAndRSS reads this test's own process: its CPU time grows with work, and its
// RSS is that of a Go program.
func TestProcCPUAndRSS(t *testing.T) {
	before, ok := procCPU(os.Getpid())
	if !ok {
		t.Fatal("procCPU of this process: not read")
	}
	// Work until /proc, counting in 10 ms ticks, shows 30 ms more; a machine busy with
	// other work may take much longer than that in wall time.
	deadline := time.After(10 * time.Second)
	for n := 0; ; n++ {
		if n%1_000_000 == 0 {
			after, ok := procCPU(os.Getpid())
			if ok && after >= before+30*time.Millisecond {
				break
			}
			late := false
			select {
			case <-deadline:
				late = true
			default:
			}
			if !ok || late {
				t.Fatalf("procCPU after 10 s of work = %s (read %t), before %s", after, ok, before)
			}
		}
	}
	cur, peak, ok := procRSS(os.Getpid())
	if !ok || cur < 1e6 || peak < cur || peak > 10e9 {
		t.Errorf("procRSS = %d, %d, %t; want a few MB, peak at least the current", cur, peak, ok)
	}
	if _, ok := procCPU(-1); ok {
		t.Error("procCPU of no process: read")
	}
}
