package simulator

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The call outcomes a simulated call can end in: the final phoneCallStatus
// values of api-reference/calls/get-call.
const (
	OutcomeCompleted = "completed" // answered; the conversation ran and ended
	OutcomeBusy      = "busy"      // the line was busy
	OutcomeNoAnswer  = "no-answer" // it rang out
	OutcomeFailed    = "failed"    // the carrier could not place it
)

// outcomes lists every outcome in a fixed order, so weighted draws are
// deterministic for a seed.
var outcomes = []string{OutcomeCompleted, OutcomeBusy, OutcomeNoAnswer, OutcomeFailed}

func validOutcome(s string) bool { return slices.Contains(outcomes, s) }

// e164 matches a number in E.164 form: "+", a non-zero digit, 1–14 more.
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)

// DefaultAccount names the account of Config.APIKey in Dial.Account.
const DefaultAccount = "default"

// Config configures a Server. Every zero field but APIKey means its default.
type Config struct {
	// APIKey is the Bearer key every API request must carry; others are
	// answered 401. Required.
	APIKey string
	// Accounts are more Interactly accounts served beside APIKey's: account name ->
	// its Bearer key. A call belongs to the account whose key created it, as on
	// Interactly: Dial.Account names it, and a request with another account's key
	// finds it neither by id (404) nor in List Calls. APIKey's account is named
	// DefaultAccount. Nil: one account.
	Accounts map[string]string
	// Mix weighs the outcomes of calls that Script does not decide: a map
	// from "completed", "busy", "no-answer" and "failed" to non-negative
	// weights (they need not sum to 1). Defaults to {"completed": 1}.
	// ParseMix reads it from "completed=70,busy=10,...".
	Mix map[string]float64
	// Script decides the outcome of each dial of a number: an E.164 number
	// maps to the outcomes of its 1st, 2nd, … dial; past the end the last
	// one repeats. It wins over Mix.
	Script map[string][]string
	// RingMin and RingMax bound the time from dial to answer, busy or
	// no-answer, drawn uniformly. A failed call fails after a fifth of it.
	// Default 1s and 3s; when only RingMin is set, RingMax equals it.
	RingMin, RingMax time.Duration
	// TalkMin and TalkMax bound a completed call's conversation, drawn
	// uniformly. Default 2s and 5s; when only TalkMin is set, TalkMax
	// equals it.
	TalkMin, TalkMax time.Duration
	// AnalysisDelay is how long after a call ends its analysis is filled
	// in; until then summary and successEvaluation are "". Defaults to
	// 500ms; negative means at the end itself.
	AnalysisDelay time.Duration
	// Faults makes the simulator misbehave on purpose. The zero value never
	// does.
	Faults Faults
	// Webhooks sends server messages (status-update, conversation-update,
	// end-of-call-report) for every call, as an assistant's server URL
	// receives them. The zero value sends none.
	Webhooks WebhookConfig
	// ControlTypo publishes monitor.controlUrl with the path misspelt
	// "/calls/v1/convesations/{id}/control", as one sample in the reference
	// does, so that a client is seen to post to the controlUrl exactly as
	// given. Control posts are accepted on both spellings either way.
	ControlTypo bool
	// Seed makes outcomes, timings, ids and faults repeatable: the same
	// Seed and the same sequence of requests give the same answers.
	// Webhook losses (WebhookConfig.Loss) are drawn apart from the rest, so
	// enabling them changes no outcome.
	Seed int64
	// Now returns the simulated time. Defaults to time.Now. Server
	// messages go out when Now reaches their time: they are sent from a
	// goroutine that looks at Now whenever a real timer fires, and at least
	// every 50ms of real time, so a fake clock that is moved ahead is
	// followed within 50ms.
	Now func() time.Time
}

// Faults are the shares of requests the simulator answers badly, each in
// [0, 1]; 1 means every one.
type Faults struct {
	// RateLimited is the share of API requests answered 429 with a
	// Retry-After header and {"message": ...}, before anything else.
	RateLimited float64
	// RetryAfter is the wait a 429 asks for, sent in whole seconds
	// (rounded up). Defaults to 1s.
	RetryAfter time.Duration
	// ServerError is the share of API requests answered 500, 502 or 503
	// without being processed.
	ServerError float64
	// LostResponse is the share of Connect Calls that create the call and
	// then answer 504 with a gateway's HTML page, as if the response were
	// lost on the way back: a client that simply retries dials twice.
	LostResponse float64
	// Slow is the share of API requests answered SlowDelay after they were
	// processed, so a client that times out has had its request processed.
	Slow float64
	// SlowDelay is how long a slow answer takes, in real time (a client's
	// timeout is real time too). Defaults to 3s.
	SlowDelay time.Duration
	// GetCallError is the share of Get Call requests answered 503. At 1
	// every Get Call fails while server messages still go out, so a client
	// can be seen to finish its calls on webhooks alone.
	GetCallError float64
}

// WithDefaults returns a copy of cfg with every unset field at its default.
func (cfg Config) WithDefaults() Config {
	if len(cfg.Mix) == 0 {
		cfg.Mix = map[string]float64{OutcomeCompleted: 1}
	}
	cfg.RingMin, cfg.RingMax = defaultRange(cfg.RingMin, cfg.RingMax, time.Second, 3*time.Second)
	cfg.TalkMin, cfg.TalkMax = defaultRange(cfg.TalkMin, cfg.TalkMax, 2*time.Second, 5*time.Second)
	switch {
	case cfg.AnalysisDelay == 0:
		cfg.AnalysisDelay = 500 * time.Millisecond
	case cfg.AnalysisDelay < 0:
		cfg.AnalysisDelay = 0
	}
	if cfg.Faults.RetryAfter == 0 {
		cfg.Faults.RetryAfter = time.Second
	}
	if cfg.Faults.SlowDelay == 0 {
		cfg.Faults.SlowDelay = 3 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Webhooks = cfg.Webhooks.withDefaults()
	return cfg
}

func defaultRange(lo, hi, defLo, defHi time.Duration) (time.Duration, time.Duration) {
	switch {
	case lo == 0 && hi == 0:
		return defLo, defHi
	case hi == 0:
		return lo, lo
	}
	return lo, hi
}

// Validate reports the first field of cfg that cannot work, by name.
func (cfg Config) Validate() error {
	if cfg.APIKey == "" {
		return errors.New("simulator: Config.APIKey is required")
	}
	keys := map[string]bool{cfg.APIKey: true}
	for name, key := range cfg.Accounts {
		switch {
		case name == "" || name == DefaultAccount:
			return fmt.Errorf("simulator: Config.Accounts: account name %q is taken by APIKey's; choose another", name)
		case key == "" || keys[key]:
			return fmt.Errorf("simulator: Config.Accounts[%q]: its key must be set and differ from every other account's", name)
		}
		keys[key] = true
	}
	if err := validateMix(cfg.Mix); err != nil {
		return fmt.Errorf("simulator: Config.Mix: %w", err)
	}
	for number, script := range cfg.Script {
		if !e164.MatchString(number) {
			return fmt.Errorf("simulator: Config.Script: number %q is not E.164 (e.g. +14155550123)", number)
		}
		if len(script) == 0 {
			return fmt.Errorf("simulator: Config.Script[%q] is empty", number)
		}
		for i, o := range script {
			if !validOutcome(o) {
				return fmt.Errorf("simulator: Config.Script[%q][%d]: unknown outcome %q; want one of %s", number, i, o, strings.Join(outcomes, ", "))
			}
		}
	}
	for _, r := range []struct {
		name   string
		lo, hi time.Duration
	}{{"Ring", cfg.RingMin, cfg.RingMax}, {"Talk", cfg.TalkMin, cfg.TalkMax}} {
		if r.lo < 0 || r.hi < r.lo {
			return fmt.Errorf("simulator: Config.%sMin %s and %sMax %s must satisfy 0 <= min <= max", r.name, r.lo, r.name, r.hi)
		}
	}
	for _, f := range []struct {
		name  string
		share float64
	}{
		{"RateLimited", cfg.Faults.RateLimited},
		{"ServerError", cfg.Faults.ServerError},
		{"LostResponse", cfg.Faults.LostResponse},
		{"Slow", cfg.Faults.Slow},
		{"GetCallError", cfg.Faults.GetCallError},
	} {
		if !(f.share >= 0 && f.share <= 1) {
			return fmt.Errorf("simulator: Config.Faults.%s %v is not a share in [0, 1]", f.name, f.share)
		}
	}
	if cfg.Faults.RetryAfter < 0 || cfg.Faults.SlowDelay < 0 {
		return errors.New("simulator: Config.Faults.RetryAfter and SlowDelay must not be negative")
	}
	return cfg.Webhooks.validate("simulator: Config.Webhooks")
}

func validateMix(mix map[string]float64) error {
	var sum float64
	for o, w := range mix {
		if !validOutcome(o) {
			return fmt.Errorf("unknown outcome %q; want one of %s", o, strings.Join(outcomes, ", "))
		}
		if !(w >= 0) || math.IsInf(w, 0) {
			return fmt.Errorf("weight %v for %q is not a non-negative number", w, o)
		}
		sum += w
	}
	if sum <= 0 {
		return errors.New("weights sum to zero")
	}
	return nil
}

// ParseMix reads an outcome mix such as "completed=70,busy=10,no-answer=15,failed=5"
// for Config.Mix: comma-separated outcome=weight pairs, spaces allowed,
// weights non-negative and not all zero. The error names the offending pair.
func ParseMix(s string) (map[string]float64, error) {
	mix := map[string]float64{}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, weight, ok := strings.Cut(part, "=")
		name, weight = strings.TrimSpace(name), strings.TrimSpace(weight)
		if !ok {
			return nil, fmt.Errorf("simulator: mix %q: %q is not outcome=weight", s, part)
		}
		if !validOutcome(name) {
			return nil, fmt.Errorf("simulator: mix %q: unknown outcome %q; want one of %s", s, name, strings.Join(outcomes, ", "))
		}
		if _, dup := mix[name]; dup {
			return nil, fmt.Errorf("simulator: mix %q: %q given twice", s, name)
		}
		w, err := strconv.ParseFloat(weight, 64)
		if err != nil || w < 0 || math.IsInf(w, 0) || math.IsNaN(w) {
			return nil, fmt.Errorf("simulator: mix %q: weight %q for %q is not a non-negative number", s, weight, name)
		}
		mix[name] = w
	}
	if len(mix) == 0 {
		return nil, fmt.Errorf("simulator: mix %q is empty; want e.g. completed=70,busy=10,no-answer=15,failed=5", s)
	}
	if err := validateMix(mix); err != nil {
		return nil, fmt.Errorf("simulator: mix %q: %w", s, err)
	}
	return mix, nil
}
