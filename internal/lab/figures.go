package lab

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Figure is one line of the results table.
type Figure struct {
	// Measure is what was measured, e.g. "upload: rate" or "double dials".
	Measure string
	// Value is the figure with its unit, e.g. "31,250 rows/s".
	Value string
	// Target is what the figure should be, e.g. "≥ 25,000 rows/s" or "0"; "" when it is
	// only reported, printed as "—".
	Target string
	// Met is the met? column: Met, or the command's word for a miss (see Verdict); "" when
	// there is no target.
	Met string
	// Note says in one line how the figure is measured; "" for none.
	Note string
}

// Met is the met? column of a figure whose target was met.
const Met = "met"

// Verdict is the met? column of a figure with a target: Met when ok, miss otherwise. Each
// command has its word for a miss: "MISSED" where it is a finding (cmd/bench), "BROKEN"
// where a promise was broken and the command fails (cmd/chaos).
func Verdict(ok bool, miss string) string {
	if ok {
		return Met
	}
	return miss
}

// PrintFigures writes header and a blank line, the table of figs (measure, figure, target,
// met?) with columns aligned by spaces, then a blank line and "how each figure is
// measured:" with a line "  MEASURE: NOTE" for each figure that has a note. The error is
// w's.
func PrintFigures(w io.Writer, header string, figs []Figure) error {
	fmt.Fprintln(w, header)
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "measure\tfigure\ttarget\tmet?")
	for _, f := range figs {
		target := f.Target
		if target == "" {
			target = "—"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.Measure, f.Value, target, f.Met)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "how each figure is measured:")
	for _, f := range figs {
		if f.Note != "" {
			if _, err := fmt.Fprintf(w, "  %s: %s\n", f.Measure, f.Note); err != nil {
				return err
			}
		}
	}
	return nil
}

// Thousands formats n with commas between groups of three digits: 100000 → "100,000",
// -25000 → "-25,000".
func Thousands(n int) string {
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
