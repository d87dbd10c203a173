package main

import (
	"strconv"
	"time"

	"github.com/dialerhq/dialer/internal/lab"
)

// broken is the met? column of a figure whose target was not met: a promise broken, which
// makes the run fail.
const broken = "BROKEN"

// invariant returns a figure that must be 0, with its verdict.
func invariant(measure string, n int, note string) lab.Figure {
	return lab.Figure{Measure: measure, Value: lab.Thousands(n), Target: "0", Met: verdict(n == 0), Note: note}
}

// verdict is the met? column: "met" or "BROKEN".
func verdict(ok bool) string { return lab.Verdict(ok, broken) }

// brokenFigures counts the figures whose target was not met.
func brokenFigures(figs []lab.Figure) int {
	n := 0
	for _, f := range figs {
		if f.Met == broken {
			n++
		}
	}
	return n
}

// seconds formats d in seconds with one decimal: "74.2 s".
func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + " s"
}

// minutes formats d as minutes and seconds, to the second: "4m12s".
func minutes(d time.Duration) string {
	return d.Round(time.Second).String()
}
