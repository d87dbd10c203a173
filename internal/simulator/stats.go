package simulator

import (
	"cmp"
	"maps"
	"slices"
	"time"
)

// Dial is one call the simulator created, as logged by Server.Dials.
type Dial struct {
	// At is when Connect Call created it, by Config.Now.
	At     time.Time `json:"at"`
	CallID string    `json:"callId"`
	// Account names the account whose API key created the call: DefaultAccount for
	// Config.APIKey, else its name in Config.Accounts.
	Account       string `json:"account"`
	Number        string `json:"number"` // customer.number, E.164
	Name          string `json:"name"`   // customer.name
	PhoneNumberID string `json:"phoneNumberId"`
	AssistantID   string `json:"assistantId"`
	// Outcome is the call's final phoneCallStatus: "completed", "busy",
	// "no-answer" or "failed" (a forwarded call is "completed"). It is
	// known from creation, and changes only if call control ends the call.
	Outcome string `json:"outcome"`
	// Metadata is the request's metadata, as echoed on the call.
	Metadata map[string]any `json:"metadata"`
	// DynamicVariables are assistantOverrides.dynamicVariables.
	DynamicVariables map[string]string `json:"dynamicVariables"`
	// EndAt is when the call ends (or ended): planned at creation, moved
	// by call control.
	EndAt time.Time `json:"endAt"`
}

// Stats counts what a Server saw. Maps are never nil.
type Stats struct {
	// Dials is how many calls were created, including those whose response
	// was lost (Faults.LostResponse).
	Dials int `json:"dials"`
	// DialsByNumber counts dials per customer number.
	DialsByNumber map[string]int `json:"dialsByNumber"`
	// DialsByKey counts dials per metadata.idempotencyKey; a count above 1
	// is a double dial.
	DialsByKey map[string]int `json:"dialsByKey"`
	// PeakLiveCalls is the most calls live at one instant, a call being
	// live from its creation to its end, by a sweep over the dial log.
	PeakLiveCalls int `json:"peakLiveCalls"`
	// MaxDialsInOneSecond is the most dials begun in any window [t, t+1s).
	MaxDialsInOneSecond int `json:"maxDialsInOneSecond"`
	// Requests counts API requests by kind: "connect", "get", "list",
	// "control" (including those answered 401 or with a fault).
	Requests map[string]int `json:"requests"`
	// Faults counts injected faults: "429", "5xx", "lost", "slow",
	// "get-error".
	Faults map[string]int `json:"faults"`
	// Unauthorized counts requests answered 401.
	Unauthorized int `json:"unauthorized"`
	// Controls counts call-control requests carried out, by type: "say",
	// "end", "forward", "dtmf", "sms". Refused ones (400, 404, 422) are
	// not counted.
	Controls map[string]int `json:"controls"`
	// Webhooks counts server messages by type and fate (see
	// WebhookConfig).
	Webhooks WebhookStats `json:"webhooks"`
}

// Stats returns the counters so far.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	dials := s.dialsLocked()
	return Stats{
		Dials:               len(dials),
		DialsByNumber:       maps.Clone(s.byNumber),
		DialsByKey:          maps.Clone(s.byKey),
		PeakLiveCalls:       peakLive(dials),
		MaxDialsInOneSecond: maxInWindow(dials, time.Second),
		Requests:            maps.Clone(s.requests),
		Faults:              maps.Clone(s.faults),
		Unauthorized:        s.unauthorized,
		Controls:            maps.Clone(s.controls),
		Webhooks: WebhookStats{
			Sent:      maps.Clone(s.hookSent),
			Lost:      maps.Clone(s.hookLost),
			Failed:    maps.Clone(s.hookFail),
			Pending:   s.hookWait,
			LastError: s.hookErr,
		},
	}
}

// Dials returns every call created so far, in creation order. The result
// is a copy.
func (s *Server) Dials() []Dial {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dialsLocked()
}

func (s *Server) dialsLocked() []Dial {
	dials := make([]Dial, 0, len(s.order))
	for _, c := range s.order {
		dials = append(dials, Dial{
			At:               c.created,
			CallID:           c.id,
			Account:          c.account,
			Number:           c.number,
			Name:             c.name,
			PhoneNumberID:    c.phoneNumberID,
			AssistantID:      c.assistantID,
			Outcome:          c.outcome,
			Metadata:         maps.Clone(c.metadata),
			DynamicVariables: maps.Clone(c.vars),
			EndAt:            c.end,
		})
	}
	return dials
}

// peakLive is the most dials whose [At, EndAt) overlap at one instant. A
// zero EndAt counts as never ending. A call ending at the instant another
// begins does not overlap it.
func peakLive(dials []Dial) int {
	type event struct {
		at    time.Time
		delta int
	}
	events := make([]event, 0, 2*len(dials))
	for _, d := range dials {
		events = append(events, event{d.At, +1})
		if !d.EndAt.IsZero() {
			events = append(events, event{d.EndAt, -1})
		}
	}
	slices.SortFunc(events, func(a, b event) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return cmp.Compare(a.delta, b.delta) // ends before starts
	})
	live, peak := 0, 0
	for _, e := range events {
		live += e.delta
		peak = max(peak, live)
	}
	return peak
}

// maxInWindow is the most dials begun within any window [t, t+w).
func maxInWindow(dials []Dial, w time.Duration) int {
	at := make([]time.Time, len(dials))
	for i, d := range dials {
		at[i] = d.At
	}
	slices.SortFunc(at, time.Time.Compare)
	best, lo := 0, 0
	for hi := range at {
		for !at[hi].Before(at[lo].Add(w)) {
			lo++
		}
		best = max(best, hi-lo+1)
	}
	return best
}

// PeakLiveCalls is Stats.PeakLiveCalls over dials alone, such as one account's
// (Dial.Account).
func PeakLiveCalls(dials []Dial) int { return peakLive(dials) }

// MaxDialsIn is the most dials begun in any window [t, t+window) of dials alone:
// Stats.MaxDialsInOneSecond with a window of a second.
func MaxDialsIn(dials []Dial, window time.Duration) int { return maxInWindow(dials, window) }
