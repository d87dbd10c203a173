package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
)

// figure is one line of the results table.
type figure struct {
	measure string // what was measured, e.g. "upload: rate"
	value   string // the figure with its unit, e.g. "31,250 rows/s"
	target  string // the target, e.g. "≥ 25,000 rows/s"; "" when there is none
	met     string // verdict(...) of the target; "" when there is none
	note    string // how the figure is measured, in one line
}

// verdict is the met? column: "met" or "MISSED".
func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

// printReport writes header, the table of figs (measure, figure, target, met?) and a
// line on how each figure is measured.
func printReport(w io.Writer, header string, figs []figure) error {
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
		fmt.Fprintf(w, "  %s: %s\n", f.measure, f.note)
	}
	return nil
}

// cpuModel returns the processor's name from /proc/cpuinfo, or GOARCH where there is none.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.Join(strings.Fields(v), " ")
		}
	}
	return runtime.GOARCH
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

// trimFloat formats f with at most two decimals and no trailing zeros: 4 → "4", 0.5 → "0.5".
func trimFloat(f float64) string {
	s := strconv.FormatFloat(f, 'f', 2, 64)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// plural returns "s" unless n is 1.
func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
