package console

import (
	"fmt"
	"strconv"
	"time"

	"github.com/dialerhq/dialer/internal/metrics"
)

// AttemptsChart is the campaign page's attempts-over-time chart: dials begun per bin of
// Width, drawn as SVG bars server-side (no script), with the same figures as a table.
type AttemptsChart struct {
	// Bins are the bars, oldest first; empty when no dial was recorded.
	Bins []Bin
	// Width names one bin's span: "minute", "5 minutes", "hour".
	Width string
	// From and To label the chart's ends; Peak is the tallest bin's count and Total the
	// dials charted.
	From, To    string
	Peak, Total int64
	// ViewW and ViewH are the SVG's user units.
	ViewW, ViewH int
}

// Bin is one bar of the attempts chart.
type Bin struct {
	Start time.Time
	Label string // its start for a person, e.g. "15:05 UTC"
	Count int64
	// X, Y, W and H place its bar in the SVG's user units.
	X, Y, W, H float64
}

// chartWidths are the bin widths the chart may use, narrowest first.
var chartWidths = []time.Duration{time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute,
	30 * time.Minute, time.Hour, 2 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour}

// maxBins bounds the chart's bars, so that each stays wide enough to see at 375 px; minBins
// keeps a short campaign's few bars from filling the chart.
const (
	maxBins = 60
	minBins = 15
)

// BuildAttemptsChart bins the dials per minute of a campaign from its first recorded minute
// to its last, or to now while it is not done, in the narrowest width that needs no more
// than 60 bars.
func BuildAttemptsChart(points []metrics.Point, now time.Time, done bool) AttemptsChart {
	ch := AttemptsChart{ViewW: 600, ViewH: 120}
	if len(points) == 0 {
		return ch
	}
	from := points[0].Minute
	to := points[len(points)-1].Minute
	if n := now.UTC().Truncate(time.Minute); !done && n.After(to) {
		to = n
	}
	span := to.Sub(from) + time.Minute
	width := chartWidths[len(chartWidths)-1]
	for _, w := range chartWidths {
		if int((span+w-1)/w) <= maxBins {
			width = w
			break
		}
	}
	from = from.Truncate(width)
	n := int(to.Sub(from)/width) + 1
	if n < minBins {
		// A short campaign: show empty minutes around it, rather than one bar the chart's
		// whole width. Nothing is drawn after now.
		after := (minBins - n) / 2
		if !done {
			after = 0
		}
		from = from.Add(-time.Duration(minBins-n-after) * width)
		n = minBins
	}
	ch.Bins = make([]Bin, n)
	multiDay := to.Sub(from) >= 24*time.Hour || from.YearDay() != to.YearDay()
	for i := range ch.Bins {
		start := from.Add(time.Duration(i) * width)
		ch.Bins[i].Start = start
		ch.Bins[i].Label = chartTime(start, multiDay)
	}
	for _, p := range points {
		i := int(p.Minute.Sub(from) / width)
		if i >= 0 && i < n {
			ch.Bins[i].Count += p.Count
			ch.Total += p.Count
		}
	}
	for _, b := range ch.Bins {
		ch.Peak = max(ch.Peak, b.Count)
	}
	slot := float64(ch.ViewW) / float64(n)
	gap := min(2, slot/5)
	for i := range ch.Bins {
		b := &ch.Bins[i]
		b.X, b.W = float64(i)*slot+gap/2, slot-gap
		if ch.Peak > 0 {
			b.H = float64(ch.ViewH) * float64(b.Count) / float64(ch.Peak)
			if b.Count > 0 {
				b.H = max(b.H, 1)
			}
		}
		b.Y = float64(ch.ViewH) - b.H
	}
	ch.Width = widthName(width)
	ch.From = chartTime(from, multiDay)
	ch.To = chartTime(from.Add(time.Duration(n)*width), multiDay)
	return ch
}

// chartTime is t for the chart's labels: "15:04 UTC", with the day when the chart spans
// more than one.
func chartTime(t time.Time, withDay bool) string {
	if withDay {
		return t.UTC().Format("Mon 2 Jan 15:04 UTC")
	}
	return t.UTC().Format("15:04 UTC")
}

// widthName names a bin width for a person: "minute", "5 minutes", "hour", "6 hours".
func widthName(w time.Duration) string {
	switch {
	case w == time.Minute:
		return "minute"
	case w < time.Hour:
		return strconv.Itoa(int(w/time.Minute)) + " minutes"
	case w == time.Hour:
		return "hour"
	case w == 24*time.Hour:
		return "day"
	}
	return fmt.Sprintf("%d hours", int(w/time.Hour))
}
