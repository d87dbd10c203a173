package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// figure is one line of the results table.
type figure struct {
	measure string // what was measured, e.g. "double dials"
	value   string // the figure with its unit
	target  string // what it must be, e.g. "0"; "" when it is only reported
	met     string // verdict(...) of the target; "" when there is none
	note    string // how the figure is measured, in one line
}

// invariant returns a figure that must be 0, with its verdict.
func invariant(measure string, n int, note string) figure {
	return figure{measure: measure, value: thousands(n), target: "0", met: verdict(n == 0), note: note}
}

// verdict is the met? column: "met" or "BROKEN".
func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "BROKEN"
}

// printTable writes header, the table of figs (measure, figure, target, met?) and a line on
// how each figure is measured.
func printTable(w io.Writer, header string, figs []figure) error {
	fmt.Fprintln(w, header)
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "measure\tfigure\ttarget\tmet?")
	for _, f := range figs {
		target := f.target
		if target == "" {
			target = "—"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.measure, f.value, target, f.met)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "how each figure is measured:")
	for _, f := range figs {
		if f.note != "" {
			fmt.Fprintf(w, "  %s: %s\n", f.measure, f.note)
		}
	}
	return nil
}

// brokenFigures counts the figures whose target was not met.
func brokenFigures(figs []figure) int {
	n := 0
	for _, f := range figs {
		if f.met == verdict(false) {
			n++
		}
	}
	return n
}

// thousands formats n with commas between groups of three digits: 100000 → "100,000".
func thousands(n int) string {
	s := strconv.Itoa(n)
	sign := ""
	if n < 0 {
		sign, s = "-", s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return sign + b.String()
}

// seconds formats d in seconds with one decimal: "74.2 s".
func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + " s"
}

// minutes formats d as minutes and seconds, to the second: "4m12s".
func minutes(d time.Duration) string {
	return d.Round(time.Second).String()
}
