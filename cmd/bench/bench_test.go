package main

import (
	"bytes"
	"encoding/csv"
	"io"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/simulator"
	"github.com/google/go-cmp/cmp"
)

// TestWriteContacts checks the generated file: the header of campaigns/example.csv, eight
// cells a row, and numbers that are all valid and distinct once normalised.
func TestWriteContacts(t *testing.T) {
	const rows = 3000 // 25 rounds of the area codes, every number style many times
	var buf bytes.Buffer
	if err := writeContacts(&buf, rows); err != nil {
		t.Fatal(err)
	}
	records, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(contactHeader, records[0]); diff != "" {
		t.Errorf("header (-want +got):\n%s", diff)
	}
	if len(records) != rows+1 {
		t.Fatalf("%d records, want header and %d rows", len(records), rows)
	}
	seen := map[string]int{}
	for i, rec := range records[1:] {
		number := mustNormalize(t, rec[2])
		if j, dup := seen[number]; dup {
			t.Errorf("rows %d and %d share number %s", j+1, i+1, number)
		}
		seen[number] = i
	}
}

// TestContactNumberLast checks the numbers of the last rows the generator can make: valid
// and distinct from one another and from the first rows.
func TestContactNumberLast(t *testing.T) {
	seen := map[string]int{}
	for _, i := range []int{0, 1, len(areaCodes) - 1, len(areaCodes), maxContacts - len(areaCodes), maxContacts - 2, maxContacts - 1} {
		number := mustNormalize(t, contactNumber(i))
		if j, dup := seen[number]; dup {
			t.Errorf("rows %d and %d share number %s", j, i, number)
		}
		seen[number] = i
	}
	if err := writeContacts(io.Discard, maxContacts+1); err == nil {
		t.Errorf("writeContacts(%d rows) = nil, want an error: there are only %d numbers", maxContacts+1, maxContacts)
	}
}

func mustNormalize(tb testing.TB, raw string) string {
	tb.Helper()
	number, err := campaign.NormalizeNumber(raw, "US")
	if err != nil {
		tb.Fatalf("number %q: %v", raw, err)
	}
	return number
}

// t0 is the origin of the hand-built dial logs.
var t0 = time.Date(2025, 11, 3, 9, 0, 0, 0, time.UTC)

// ms returns t0 plus n milliseconds.
func ms(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }

// call is a dial live over [ms(from), ms(to)); to < 0 means no end known.
func call(from, to int) simulator.Dial {
	d := simulator.Dial{At: ms(from)}
	if to >= 0 {
		d.EndAt = ms(to)
	}
	return d
}

func TestMeanLive(t *testing.T) {
	tests := []struct {
		name     string
		dials    []simulator.Dial
		from, to int
		want     float64
	}{
		{name: "one call over the window", dials: []simulator.Dial{call(0, 10000)}, from: 0, to: 10000, want: 1},
		{
			name: "calls inside, across both edges, and unended",
			// 10 s + 4 s + 2 s (8 to 10 of 8 to 12) + 1 s (0 to 1 of -1 to 1) + 5 s (5 to 10, no end)
			dials: []simulator.Dial{call(0, 10000), call(2000, 6000), call(8000, 12000), call(-1000, 1000), call(5000, -1)},
			from:  0, to: 10000, want: 2.2,
		},
		{name: "calls outside the window", dials: []simulator.Dial{call(0, 1000), call(3000, 4000)}, from: 1000, to: 3000, want: 0},
		{name: "back to back fill one slot", dials: []simulator.Dial{call(0, 500), call(500, 1000), call(1000, 2000)}, from: 0, to: 2000, want: 1},
		{name: "empty window", dials: []simulator.Dial{call(0, 1000)}, from: 500, to: 500, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := meanLive(tt.dials, ms(tt.from), ms(tt.to))
			if diff := cmp.Diff(tt.want, got, cmpApprox); diff != "" {
				t.Errorf("meanLive (-want +got):\n%s", diff)
			}
		})
	}
}

// cmpApprox compares floats to a millionth.
var cmpApprox = cmp.Comparer(func(a, b float64) bool { return a-b < 1e-6 && b-a < 1e-6 })

// every returns n times, step milliseconds apart from 0.
func every(step, n int) []int {
	at := make([]int, n)
	for i := range at {
		at[i] = i * step
	}
	return at
}

func TestAchievedRate(t *testing.T) {
	tests := []struct {
		name string
		at   []int
		want float64
	}{
		{name: "one dial", at: []int{0}, want: 0},
		{name: "20 per second", at: every(50, 41), want: 20},
		{name: "uneven", at: []int{0, 100, 1000}, want: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := make([]time.Time, len(tt.at))
			for i, n := range tt.at {
				at[i] = ms(n)
			}
			if diff := cmp.Diff(tt.want, achievedRate(at), cmpApprox); diff != "" {
				t.Errorf("achievedRate (-want +got):\n%s", diff)
			}
		})
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 100000: "100,000", 1234567: "1,234,567", -25000: "-25,000"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}
