package main

import (
	"bufio"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// percentile returns the p-th percentile of sorted (ascending) by nearest rank: the
// smallest value that at least p% of the values are at or below. p is in (0, 100]; an
// empty sorted gives 0.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// latencies summarises a set of latencies.
type latencies struct {
	n             int
	p50, p99, max time.Duration
}

// summarize returns the count, p50, p99 and maximum of d, which it sorts in place.
func summarize(d []time.Duration) latencies {
	slices.Sort(d)
	l := latencies{n: len(d), p50: percentile(d, 50), p99: percentile(d, 99)}
	if len(d) > 0 {
		l.max = d[len(d)-1]
	}
	return l
}

// String formats l as "p50 1.2 ms, p99 8.0 ms, max 20.1 ms".
func (l latencies) String() string {
	return "p50 " + millis(l.p50) + ", p99 " + millis(l.p99) + ", max " + millis(l.max)
}

// millis formats d in milliseconds with one decimal, e.g. "1.2 ms".
func millis(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64) + " ms"
}

// bucket is one bucket of a Prometheus histogram: the observations at or below le,
// cumulative as the text format gives them.
type bucket struct {
	le    float64 // the upper bound in the metric's unit; +Inf for the last
	count uint64
}

// parseHistogram reads histogram name from a Prometheus text exposition (what GET /metrics
// answers): its buckets, name_bucket{le="…"} lines in order of le, and its name_count. It
// accepts only a histogram without labels other than le, and returns an error when name
// has no +Inf bucket or no count, or a line of it does not parse.
func parseHistogram(text, name string) ([]bucket, uint64, error) {
	var buckets []bucket
	count, haveCount := uint64(0), false
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		series, value, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		// A timestamp may follow the value.
		value, _, _ = strings.Cut(strings.TrimSpace(value), " ")
		switch {
		case series == name+"_count":
			n, err := strconv.ParseFloat(value, 64)
			if err != nil || n < 0 {
				return nil, 0, fmt.Errorf("%s: count %q is not a count", name, value)
			}
			count, haveCount = uint64(n), true
		case strings.HasPrefix(series, name+"_bucket{"):
			labels := strings.TrimSuffix(strings.TrimPrefix(series, name+"_bucket{"), "}")
			le, ok := strings.CutPrefix(labels, `le="`)
			le, ok2 := strings.CutSuffix(le, `"`)
			if !ok || !ok2 || strings.Contains(le, `"`) {
				return nil, 0, fmt.Errorf("%s: bucket %q: want only an le label", name, series)
			}
			bound, err := strconv.ParseFloat(le, 64) // "+Inf" parses as +Inf
			if err != nil {
				return nil, 0, fmt.Errorf("%s: bucket bound %q: %v", name, le, err)
			}
			n, err := strconv.ParseFloat(value, 64)
			if err != nil || n < 0 {
				return nil, 0, fmt.Errorf("%s: bucket le=%q count %q is not a count", name, le, value)
			}
			buckets = append(buckets, bucket{le: bound, count: uint64(n)})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, 0, err
	}
	slices.SortFunc(buckets, func(a, b bucket) int { return cmpFloat(a.le, b.le) })
	switch {
	case len(buckets) == 0 || !math.IsInf(buckets[len(buckets)-1].le, 1):
		return nil, 0, fmt.Errorf("%s: no le=\"+Inf\" bucket in the exposition", name)
	case !haveCount:
		return nil, 0, fmt.Errorf("%s: no %s_count in the exposition", name, name)
	}
	return buckets, count, nil
}

// cmpFloat orders two floats, for sorting.
func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// quantileBound returns the upper bound of the bucket that holds the q-quantile (q in
// (0, 1]) of a histogram's count observations: the smallest le whose cumulative count is at
// least q × count. It may be +Inf. It reports false for a histogram without observations.
func quantileBound(buckets []bucket, count uint64, q float64) (float64, bool) {
	if count == 0 {
		return 0, false
	}
	want := uint64(math.Ceil(q * float64(count)))
	for _, b := range buckets {
		if b.count >= want {
			return b.le, true
		}
	}
	return math.Inf(1), true
}
