package simulator

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/testutil"
	"github.com/google/go-cmp/cmp"
)

// span builds a dial log entry live from start to end, in ms after epoch;
// end < 0 means no end.
func span(start, end int) Dial {
	d := Dial{At: epoch.Add(time.Duration(start) * time.Millisecond)}
	if end >= 0 {
		d.EndAt = epoch.Add(time.Duration(end) * time.Millisecond)
	}
	return d
}

func TestPeakLive(t *testing.T) {
	tests := []struct {
		name  string
		dials []Dial
		want  int
	}{
		{"empty", nil, 0},
		{"one", []Dial{span(0, 10)}, 1},
		{"disjoint", []Dial{span(0, 10), span(20, 30), span(40, 50)}, 1},
		{"end meets start does not overlap", []Dial{span(0, 10), span(10, 20), span(20, 30)}, 1},
		{"nested", []Dial{span(0, 100), span(10, 90), span(20, 80), span(30, 40)}, 4},
		{"staircase", []Dial{span(0, 30), span(10, 40), span(20, 50), span(35, 60)}, 3},
		{"out of order", []Dial{span(35, 60), span(20, 50), span(0, 30), span(10, 40)}, 3},
		{"same instant", []Dial{span(5, 6), span(5, 6), span(5, 6)}, 3},
		{"unended stays live", []Dial{span(0, -1), span(100, 200), span(300, 400)}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := peakLive(tt.dials); got != tt.want {
				t.Errorf("peakLive = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestMaxInWindow(t *testing.T) {
	at := func(ms ...int) []Dial {
		var d []Dial
		for _, m := range ms {
			d = append(d, span(m, m+1))
		}
		return d
	}
	tests := []struct {
		name  string
		dials []Dial
		want  int
	}{
		{"empty", nil, 0},
		{"one", at(0), 1},
		{"exactly 1s apart fall in different windows", at(0, 1000, 2000), 1},
		{"just under 1s apart share a window", at(0, 999), 2},
		{"burst", at(0, 100, 200, 300, 1500, 1600), 4},
		{"sliding, not aligned to whole seconds", at(900, 1000, 1100, 1800, 1899, 2000), 5},
		{"out of order", at(1899, 900, 2000, 1100, 1800, 1000), 5},
		{"same instant", at(5, 5, 5, 5), 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := maxInWindow(tt.dials, time.Second); got != tt.want {
				t.Errorf("maxInWindow = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestStatsFromTraffic checks PeakLiveCalls and MaxDialsInOneSecond on
// dials placed through the API at chosen instants.
func TestStatsFromTraffic(t *testing.T) {
	s, clock := mustServer(t, Config{RingMin: 10 * time.Second, TalkMin: 10 * time.Second}) // every call lives 20s
	for i, ms := range []int{0, 100, 200, 300, 1500, 1600, 1700, 30000} {
		clock.Set(epoch.Add(time.Duration(ms) * time.Millisecond))
		mustConnect(t, s, connectBody(fmt.Sprintf("+1415555%04d", i), "", nil, nil))
	}
	got := s.Stats()
	if got.PeakLiveCalls != 7 || got.MaxDialsInOneSecond != 4 || got.Dials != 8 {
		t.Errorf("peak %d, max/s %d, dials %d; want 7, 4, 8", got.PeakLiveCalls, got.MaxDialsInOneSecond, got.Dials)
	}
}

func TestParseMix(t *testing.T) {
	tests := []struct {
		in      string
		want    map[string]float64
		wantErr string
	}{
		{in: "completed=70,busy=10,no-answer=15,failed=5", want: map[string]float64{"completed": 70, "busy": 10, "no-answer": 15, "failed": 5}},
		{in: " completed = 0.5 , busy=0.5 ,", want: map[string]float64{"completed": 0.5, "busy": 0.5}},
		{in: "failed=1", want: map[string]float64{"failed": 1}},
		{in: "", wantErr: "empty"},
		{in: "completed", wantErr: `"completed" is not outcome=weight`},
		{in: "answered=5", wantErr: `unknown outcome "answered"`},
		{in: "busy=-1", wantErr: `weight "-1" for "busy"`},
		{in: "busy=lots", wantErr: `weight "lots" for "busy"`},
		{in: "busy=1,busy=2", wantErr: `"busy" given twice`},
		{in: "busy=0,failed=0", wantErr: "weights sum to zero"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseMix(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseMix (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"defaults", Config{APIKey: "k"}, ""},
		{"missing key", Config{}, "Config.APIKey"},
		{"bad mix outcome", Config{APIKey: "k", Mix: map[string]float64{"voicemail": 1}}, "Config.Mix"},
		{"zero mix", Config{APIKey: "k", Mix: map[string]float64{"busy": 0}}, "Config.Mix"},
		{"script number", Config{APIKey: "k", Script: map[string][]string{"4155550123": {"busy"}}}, "Config.Script"},
		{"script outcome", Config{APIKey: "k", Script: map[string][]string{"+14155550123": {"busy", "hung-up"}}}, `Config.Script["+14155550123"][1]`},
		{"empty script", Config{APIKey: "k", Script: map[string][]string{"+14155550123": {}}}, "is empty"},
		{"ring range", Config{APIKey: "k", RingMin: 3 * time.Second, RingMax: time.Second}, "Config.RingMin"},
		{"talk range", Config{APIKey: "k", TalkMin: -time.Second}, "Config.TalkMin"},
		{"fault share", Config{APIKey: "k", Faults: Faults{LostResponse: 1.5}}, "Config.Faults.LostResponse"},
		{"fault NaN", Config{APIKey: "k", Faults: Faults{Slow: math.NaN()}}, "Config.Faults.Slow"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.cfg); !testutil.ErrMatches(err, tt.wantErr) {
				t.Fatalf("New error = %v, want one containing %q (none for \"\")", err, tt.wantErr)
			}
		})
	}
}

func TestMixRatios(t *testing.T) {
	mix, err := ParseMix("completed=70,busy=10,no-answer=15,failed=5")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := mustServer(t, Config{Mix: mix, Seed: 42})
	const n = 10000
	// Straight to the connect handler: the HTTP layer is covered elsewhere,
	// and 10k round trips under -race would take seconds.
	body, err := json.Marshal(connectBody("+14155550123", "", nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	for range n {
		if rep := s.connect(epoch, "http://sim.test", body, DefaultAccount); rep.status != http.StatusCreated {
			t.Fatalf("connect: %d %v", rep.status, rep.body)
		}
	}
	got := map[string]int{}
	for _, d := range s.Dials() {
		got[d.Outcome]++
	}
	for outcome, weight := range mix {
		share := float64(got[outcome]) / n
		if want := weight / 100; math.Abs(share-want) > 0.015 {
			t.Errorf("%s: %.3f of dials, want %.3f ± 0.015", outcome, share, want)
		}
	}
}
