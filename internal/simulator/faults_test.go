package simulator

import (
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestFaults(t *testing.T) {
	const n = 400
	tests := []struct {
		name       string
		faults     Faults
		get        bool           // send Get Call requests (for an existing call) instead of connects
		wantStatus map[int]int    // exact counts; nil to check shares instead
		wantShare  map[string]int // fault name → expected count of n, ±10%
		wantDials  int            // -1: don't check
		check      func(t *testing.T, r response)
	}{
		{
			name:       "every request rate limited",
			faults:     Faults{RateLimited: 1, RetryAfter: 1500 * time.Millisecond},
			wantStatus: map[int]int{429: n},
			wantDials:  0,
			check: func(t *testing.T, r response) {
				if got := r.header.Get("Retry-After"); got != "2" {
					t.Errorf("Retry-After %q, want 2 (1.5s rounded up)", got)
				}
				if _, ok := field(r.body, "message").(string); !ok {
					t.Errorf("429 body %s has no message", r.raw)
				}
			},
		},
		{
			name:      "every request a server error",
			faults:    Faults{ServerError: 1},
			wantShare: map[string]int{"5xx": n},
			wantDials: 0,
			check: func(t *testing.T, r response) {
				switch r.status {
				case 500, 503:
					if _, ok := field(r.body, "message").(string); !ok {
						t.Errorf("%d body %s has no message", r.status, r.raw)
					}
				case 502:
					if !strings.Contains(r.raw, "<title>502 Bad Gateway</title>") {
						t.Errorf("502 body %s", r.raw)
					}
				default:
					t.Errorf("status %d, want 500, 502 or 503", r.status)
				}
			},
		},
		{
			name:       "every response lost, every call created",
			faults:     Faults{LostResponse: 1},
			wantStatus: map[int]int{504: n},
			wantDials:  n,
			check: func(t *testing.T, r response) {
				if !strings.Contains(r.raw, "504 Gateway Time-out") && !strings.Contains(r.raw, "504 Gateway Timeout") {
					t.Errorf("504 body %s", r.raw)
				}
			},
		},
		{
			name:       "every get fails",
			faults:     Faults{GetCallError: 1},
			get:        true,
			wantStatus: map[int]int{503: n},
			wantDials:  -1,
		},
		{
			name:       "get errors do not touch connects",
			faults:     Faults{GetCallError: 1},
			wantStatus: map[int]int{201: n},
			wantDials:  n,
		},
		{
			name:       "slow answers still answer",
			faults:     Faults{Slow: 1, SlowDelay: time.Microsecond},
			wantStatus: map[int]int{201: n},
			wantDials:  n,
		},
		{
			name:      "a quarter of each",
			faults:    Faults{RateLimited: 0.25, ServerError: 0.25, LostResponse: 0.25},
			wantShare: map[string]int{"429": n / 4, "5xx": n * 3 / 16, "lost": n * 9 / 64},
			wantDials: -1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := mustServer(t, Config{Faults: tt.faults, Seed: 3})
			target, method, body := "/calls/v1/conversations/connect", http.MethodPost, any(connectBody("+14155550123", "", nil, nil))
			if tt.get {
				s.cfg.Faults = Faults{}
				id := mustConnect(t, s, connectBody("+14155550123", "", nil, nil))
				s.cfg.Faults = tt.faults
				target, method, body = "/calls/v1/conversations/"+id, http.MethodGet, nil
			}
			statuses := map[int]int{}
			for range n {
				r := serve(t, s, method, target, body)
				statuses[r.status]++
				if tt.check != nil {
					tt.check(t, r)
				}
			}
			if tt.wantStatus != nil {
				if diff := cmp.Diff(tt.wantStatus, statuses); diff != "" {
					t.Errorf("statuses (-want +got):\n%s", diff)
				}
			}
			stats := s.Stats()
			for name, want := range tt.wantShare {
				if got := stats.Faults[name]; math.Abs(float64(got-want)) > 0.1*n {
					t.Errorf("fault %s counted %d times, want about %d", name, got, want)
				}
			}
			for name, count := range statusFaults(statuses) {
				if tt.wantStatus != nil && stats.Faults[name] != count {
					t.Errorf("fault %s counted %d, but %d responses showed it", name, stats.Faults[name], count)
				}
			}
			if tt.wantDials >= 0 && stats.Dials != tt.wantDials {
				t.Errorf("%d dials, want %d", stats.Dials, tt.wantDials)
			}
		})
	}
}

// statusFaults names the fault behind each faulty status.
func statusFaults(statuses map[int]int) map[string]int {
	out := map[string]int{}
	for code, n := range statuses {
		switch code {
		case 429:
			out["429"] += n
		case 504:
			out["lost"] += n
		}
	}
	return out
}

// TestDeterministic checks that the same seed and requests give the same
// ids, outcomes, timings and faults, and that another seed does not.
func TestDeterministic(t *testing.T) {
	run := func(seed int64) (string, []Dial, Stats) {
		mix, _ := ParseMix("completed=50,busy=20,no-answer=20,failed=10")
		s, clock := mustServer(t, Config{Mix: mix, Seed: seed, Faults: Faults{RateLimited: 0.2, ServerError: 0.1, LostResponse: 0.1}})
		var trace strings.Builder
		for i := range 200 {
			clock.Advance(37 * time.Millisecond)
			r := serve(t, s, http.MethodPost, "/calls/v1/conversations/connect", connectBody(fmt.Sprintf("+1415555%04d", i%50), "", nil, nil))
			fmt.Fprintf(&trace, "%d:%v ", r.status, field(r.body, "id"))
		}
		return trace.String(), s.Dials(), s.Stats()
	}
	trace1, dials1, stats1 := run(11)
	trace2, dials2, stats2 := run(11)
	if trace1 != trace2 {
		t.Errorf("responses differ for one seed")
	}
	if diff := cmp.Diff(dials1, dials2); diff != "" {
		t.Errorf("dials differ for one seed:\n%s", diff)
	}
	if diff := cmp.Diff(stats1, stats2); diff != "" {
		t.Errorf("stats differ for one seed:\n%s", diff)
	}
	if trace3, _, _ := run(12); trace3 == trace1 {
		t.Errorf("seeds 11 and 12 gave the same responses")
	}
}
