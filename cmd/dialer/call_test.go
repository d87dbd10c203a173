package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/interactly"
	"github.com/dialerhq/dialer/internal/operator"
	"github.com/dialerhq/dialer/internal/simulator"
	"github.com/dialerhq/dialer/internal/testutil"
)

const callTestKey = "sk-call-test-9f8e7d6c5b4a3921"

// callSim is a simulator served on loopback for `dialer call`.
type callSim struct {
	sim   *simulator.Server
	url   string
	clock *testutil.Clock
	api   *interactly.Client
}

// startCallSim serves a simulator whose calls ring for 1s and talk for an hour on a fake
// clock, behind wrap when it is not nil.
func startCallSim(t *testing.T, cfg simulator.Config, wrap func(http.Handler) http.Handler) *callSim {
	t.Helper()
	clock := testutil.NewClock(time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC))
	cfg.APIKey, cfg.Now = callTestKey, clock.Now
	cfg.RingMin, cfg.TalkMin = time.Second, time.Hour
	sim, err := simulator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	var h http.Handler = sim
	if wrap != nil {
		h = wrap(sim)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	api, err := interactly.New(interactly.Config{BaseURL: srv.URL, APIKey: callTestKey})
	if err != nil {
		t.Fatal(err)
	}
	return &callSim{sim: sim, url: srv.URL, clock: clock, api: api}
}

// dial places a call and lets the clock run until it is answered.
func (cs *callSim) dial(t *testing.T) string {
	t.Helper()
	return cs.dialWith(t, cs.api)
}

// dialWith places a call with api's key, so in api's account, and lets the clock run until
// it is answered.
func (cs *callSim) dialWith(t *testing.T, api *interactly.Client) string {
	t.Helper()
	call, err := api.ConnectCall(t.Context(), &interactly.ConnectCallRequest{
		PhoneNumberID: "5f7b1b1b1b1b1b1b1b1b1b1b", AssistantID: "678a253ca6d866573043502e",
		Customer: interactly.Customer{Number: "+14155550101", Name: "Ann"},
	})
	if err != nil {
		t.Fatal(err)
	}
	cs.clock.Advance(2 * time.Second)
	return call.ID
}

func (cs *callSim) get(t *testing.T, id string) *interactly.Call {
	t.Helper()
	call, err := cs.api.GetCall(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return call
}

// runCallCmd runs `dialer call args...` against base and checks that the API key shows
// nowhere in what it printed or returned.
func runCallCmd(t *testing.T, base string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	e, out, errOut := testEnv(t, map[string]string{"INTERACTLY_API_KEY": callTestKey, "INTERACTLY_BASE_URL": base})
	err = dispatch(t.Context(), e, append([]string{"call"}, args...))
	for _, s := range []string{out.String(), errOut.String(), errString(err)} {
		if strings.Contains(s, callTestKey) {
			t.Errorf("the API key shows in the output of dialer call %v: %s", args, s)
		}
	}
	return out.String(), errOut.String(), err
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestCallControl(t *testing.T) {
	cs := startCallSim(t, simulator.Config{}, nil)
	tests := []struct {
		name  string
		args  []string // after the action: the call ID comes first
		want  string   // stdout, with ID and URL for the call's id and controlUrl
		check func(t *testing.T, call *interactly.Call, st simulator.Stats)
	}{
		{
			name: "say", args: []string{"say", "ID", "Please hold,", "one moment."},
			want: `said "Please hold, one moment." on call ID (POST URL)`,
			check: func(t *testing.T, call *interactly.Call, st simulator.Stats) {
				if n := len(call.Messages); n == 0 || call.Messages[n-1].Text != "Please hold, one moment." {
					t.Errorf("transcript %+v, want the text said last", call.Messages)
				}
				if st.Controls["say"] != 1 {
					t.Errorf("Controls %v", st.Controls)
				}
			},
		},
		{
			name: "dtmf", args: []string{"dtmf", "ID", "12w#"},
			want: "pressed 12w# on call ID (POST URL)",
			check: func(t *testing.T, call *interactly.Call, st simulator.Stats) {
				if st.Controls["dtmf"] != 1 || call.Ended() {
					t.Errorf("Controls %v, call %s", st.Controls, call.Status)
				}
			},
		},
		{
			name: "forward", args: []string{"forward", "ID", "+1 (415) 555-0199"},
			want: "forwarded call ID to +14155550199 (POST URL)",
			check: func(t *testing.T, call *interactly.Call, st simulator.Stats) {
				if call.Status != interactly.CallForwarded || call.PhoneCallStatusReason != "Call was forwarded to +14155550199" {
					t.Errorf("call %s: %s", call.Status, call.PhoneCallStatusReason)
				}
			},
		},
		{
			name: "end", args: []string{"end", "ID"},
			want: "ended call ID (POST URL)",
			check: func(t *testing.T, call *interactly.Call, st simulator.Stats) {
				if !call.Ended() || call.Status != interactly.CallFinished || call.CallEndTriggerBy != "assistant" {
					t.Errorf("call %s/%s by %q, want finished by the assistant", call.Status, call.PhoneCallStatus, call.CallEndTriggerBy)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := cs.dial(t)
			args := append([]string(nil), tt.args...)
			args[1] = id
			stdout, stderr, err := runCallCmd(t, cs.url, args...)
			if err != nil {
				t.Fatalf("dialer call %v: %v\n%s", args, err, stderr)
			}
			want := strings.NewReplacer("ID", id, "URL", cs.url+"/calls/v1/conversations/"+id+"/control").Replace(tt.want) + "\n"
			if stdout != want {
				t.Errorf("stdout %q, want %q", stdout, want)
			}
			tt.check(t, cs.get(t, id), cs.sim.Stats())
		})
	}
}

// endVia runs `dialer call end id` and fails the test unless it says it ended the call with a
// POST to path on cs, and the call has ended.
func (cs *callSim) endVia(t *testing.T, id, path string) {
	t.Helper()
	stdout, stderr, err := runCallCmd(t, cs.url, "end", id)
	if err != nil {
		t.Fatalf("dialer call end: %v\n%s", err, stderr)
	}
	if want := "ended call " + id + " (POST " + cs.url + path + ")\n"; stdout != want {
		t.Errorf("stdout %q, want %q", stdout, want)
	}
	if call := cs.get(t, id); !call.Ended() {
		t.Errorf("call %s after end", call.Status)
	}
}

// TestCallControlTypo: the controlUrl is posted to as published, misspelt path and all.
func TestCallControlTypo(t *testing.T) {
	cs := startCallSim(t, simulator.Config{ControlTypo: true}, nil)
	id := cs.dial(t)
	cs.endVia(t, id, "/calls/v1/convesations/"+id+"/control")
}

// rewriteControlURL serves h, replacing monitor.controlUrl in Get Call answers with
// to(id) (removing monitor when it returns "").
func rewriteControlURL(to func(id string) string) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id, isGet := strings.CutPrefix(r.URL.Path, "/calls/v1/conversations/")
			if r.Method != http.MethodGet || !isGet || strings.Contains(id, "/") {
				h.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			var call map[string]any
			if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &call) != nil {
				w.WriteHeader(rec.Code)
				w.Write(rec.Body.Bytes())
				return
			}
			if u := to(id); u == "" {
				delete(call, "monitor")
			} else {
				call["monitor"] = map[string]any{"controlUrl": u}
			}
			json.NewEncoder(w).Encode(call)
		})
	}
}

// TestCallControlByID: a call without a controlUrl is controlled through the documented path.
func TestCallControlByID(t *testing.T) {
	cs := startCallSim(t, simulator.Config{}, rewriteControlURL(func(string) string { return "" }))
	id := cs.dial(t)
	if call := cs.get(t, id); call.Monitor.ControlURL != "" {
		t.Fatalf("the test server still shows controlUrl %q", call.Monitor.ControlURL)
	}
	cs.endVia(t, id, "/calls/v1/conversations/"+id+"/control")
}

// TestCallControlForeignHost: a controlUrl on another host gets no API key; when it
// answers 401 the control goes through the documented path by ID.
func TestCallControlForeignHost(t *testing.T) {
	var mu sync.Mutex
	var auth []string
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auth = append(auth, r.Header.Get("Authorization"))
		mu.Unlock()
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"message":"Unauthorized"}`))
	}))
	defer foreign.Close()
	cs := startCallSim(t, simulator.Config{}, rewriteControlURL(func(id string) string {
		return foreign.URL + "/calls/v1/conversations/" + id + "/control"
	}))
	id := cs.dial(t)
	stdout, stderr, err := runCallCmd(t, cs.url, "say", id, "Hello")
	if err != nil {
		t.Fatalf("dialer call say: %v\n%s", err, stderr)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(auth) != 1 || auth[0] != "" {
		t.Errorf("the foreign controlUrl saw %d posts, the first with Authorization set: %v; want one post without it", len(auth), len(auth) > 0 && auth[0] != "")
	}
	if !strings.Contains(stderr, "answered 401") || !strings.Contains(stdout, cs.url+"/calls/v1/conversations/"+id+"/control") {
		t.Errorf("stdout %q, stderr %q; want the fallback by ID said", stdout, stderr)
	}
	if st := cs.sim.Stats(); st.Controls["say"] != 1 {
		t.Errorf("simulator Controls %v, want the say by ID", st.Controls)
	}
}

func TestCallRefusals(t *testing.T) {
	cs := startCallSim(t, simulator.Config{}, nil)
	ended := cs.dial(t)
	if _, _, err := runCallCmd(t, cs.url, "end", ended); err != nil {
		t.Fatal(err)
	}
	live := cs.dial(t)
	tests := []struct {
		name     string
		args     []string
		env      map[string]string // replaces the default environment when set
		wantExit int
		want     []string // each must be in the error
	}{
		{name: "unknown call", args: []string{"end", "CC-00000000-0000-4000-8000-000000000000"}, wantExit: 1,
			want: []string{"CC-00000000-0000-4000-8000-000000000000", "no such call", cs.url}},
		{name: "say on an ended call", args: []string{"say", ended, "hi"}, wantExit: 1, want: []string{ended, "has ended"}},
		{name: "no action", args: nil, wantExit: 2, want: []string{"say, end, forward, dtmf"}},
		{name: "no call ID", args: []string{"end"}, wantExit: 2, want: []string{"call ID"}},
		{name: "unknown action", args: []string{"hangup", live}, wantExit: 2, want: []string{`"hangup"`, "say, end, forward, dtmf"}},
		{name: "say without text", args: []string{"say", live}, wantExit: 2, want: []string{"say needs the text"}},
		{name: "say with blank text", args: []string{"say", live, "  "}, wantExit: 2, want: []string{"say needs the text"}},
		{name: "forward without a number", args: []string{"forward", live}, wantExit: 2, want: []string{"forward needs one MESSAGE", "+14155550123"}},
		{name: "forward to a national number", args: []string{"forward", live, "415 555 0199"}, wantExit: 2, want: []string{`"415 555 0199"`, "E.164", "country code"}},
		{name: "dtmf without digits", args: []string{"dtmf", live}, wantExit: 2, want: []string{"dtmf needs one MESSAGE", "0-9"}},
		{name: "dtmf with letters", args: []string{"dtmf", live, "12a"}, wantExit: 2, want: []string{`"12a"`, "0-9, * and #"}},
		{name: "end with a message", args: []string{"end", live, "now"}, wantExit: 2, want: []string{"end takes no MESSAGE"}},
		{name: "no API key", args: []string{"end", live}, env: map[string]string{"INTERACTLY_BASE_URL": cs.url}, wantExit: 1, want: []string{"INTERACTLY_API_KEY"}},
		{name: "wrong API key", args: []string{"end", live}, env: map[string]string{"INTERACTLY_BASE_URL": cs.url, "INTERACTLY_API_KEY": "sk-wrong-key-0123456789"},
			wantExit: 1, want: []string{"401", "check INTERACTLY_API_KEY"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := cs.sim.Stats().Requests
			vars := tt.env
			if vars == nil {
				vars = map[string]string{"INTERACTLY_API_KEY": callTestKey, "INTERACTLY_BASE_URL": cs.url}
			}
			e, stdout, stderr := testEnv(t, vars)
			err := dispatch(t.Context(), e, append([]string{"call"}, tt.args...))
			if err == nil {
				t.Fatalf("dialer call %v succeeded: %s", tt.args, stdout)
			}
			if got := exitCode(err); got != tt.wantExit {
				t.Errorf("exit %d, want %d (err %v)", got, tt.wantExit, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			for _, s := range []string{stdout.String(), stderr.String(), err.Error()} {
				for _, key := range []string{callTestKey, "sk-wrong-key-0123456789"} {
					if strings.Contains(s, key) {
						t.Errorf("an API key shows in the output: %s", s)
					}
				}
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout %q after a refusal", stdout)
			}
			if after := cs.sim.Stats().Requests; tt.wantExit == 2 && (after["get"] != before["get"] || after["control"] != before["control"]) {
				t.Errorf("a usage error reached the API: requests %v, then %v", before, after)
			}
		})
	}
	if call := cs.get(t, live); call.Ended() || len(call.Messages) != 0 {
		t.Errorf("refusals changed the live call: %s, %d messages", call.Status, len(call.Messages))
	}
}

// TestSimulateFlags: the webhook and fault flags reach the simulator's configuration, the
// secret comes from the environment only, and out-of-range values are usage errors.
func TestSimulateFlags(t *testing.T) {
	for _, prefix := range []string{"", "sim-"} {
		sf := simFlags{getenv: func(k string) string { return map[string]string{envWebhookSecret: "whsec-flags"}[k] }}
		fs := newFlagSet(&env{stderr: &bytes.Buffer{}}, "test", "")
		sf.register(fs, prefix)
		err := fs.Parse([]string{"--" + prefix + "webhook-url", "http://127.0.0.1:9/hooks", "--" + prefix + "webhook-loss", "0.25",
			"--" + prefix + "get-call-errors", "1", "--" + prefix + "control-typo"})
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := sf.config("k")
		if err != nil {
			t.Fatal(err)
		}
		w := cfg.Webhooks
		if w.URL != "http://127.0.0.1:9/hooks" || w.Loss != 0.25 || w.Secret != "whsec-flags" || cfg.Faults.GetCallError != 1 || !cfg.ControlTypo {
			t.Errorf("prefix %q: config %+v, webhooks URL %q loss %v secret set %v", prefix, cfg.Faults, w.URL, w.Loss, w.Secret != "")
		}
		if fs.Lookup(prefix+"webhook-secret") != nil {
			t.Errorf("prefix %q: a --webhook-secret flag exists; secrets must not be flags", prefix)
		}
	}
	for _, args := range [][]string{{"--webhook-loss", "1.5"}, {"--get-call-errors", "-0.1"}, {"--webhook-url", "hooks.example"}} {
		var sf simFlags
		fs := newFlagSet(&env{stderr: &bytes.Buffer{}}, "test", "")
		sf.register(fs, "")
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		_, err := sf.config("k")
		if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), args[0]) {
			t.Errorf("%v: err %v, want a usage error naming the flag", args, err)
		}
	}
}

// An API that accepts connections and never answers ends `dialer call` at callTimeout, with
// what it was waiting for, whether it hangs on Get Call or on the control itself.
//
// Not parallel: it sets callTimeout. Its two cases run at once, after it returns: so the
// restores are cleanups, which run after the cases.
func TestCallGivesUpOnSilentAPI(t *testing.T) {
	was := callTimeout
	t.Cleanup(func() { callTimeout = was })
	callTimeout = 500 * time.Millisecond
	hang := make(chan struct{})
	var controlURL string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/CC-answers") {
			_ = json.NewEncoder(w).Encode(map[string]any{"id": "CC-answers", "status": "in-progress", "monitor": map[string]any{"controlUrl": controlURL}})
			return
		}
		select { // never answer: an API that hangs
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(hang) }) // before Close, which waits for the handlers
	controlURL = srv.URL + "/control/CC-answers"
	for _, tt := range []struct{ call, waitingFor string }{
		{"CC-silent", "to answer Get Call"},
		{"CC-answers", "to answer Call Control (say)"},
	} {
		t.Run(tt.call, func(t *testing.T) {
			t.Parallel()
			e, _, _ := testEnv(t, map[string]string{"INTERACTLY_API_KEY": callTestKey, "INTERACTLY_BASE_URL": srv.URL})
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			start := testutil.Now()
			err := dispatch(ctx, e, []string{"call", "say", tt.call, "hello"})
			took := testutil.Now().Sub(start)
			want := "gave up after 500ms waiting for Interactly at " + srv.URL + " " + tt.waitingFor
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("call say = %v, want %q", err, want)
			}
			if took > 2*time.Second {
				t.Errorf("gave up after %v, want about 500ms", took)
			}
		})
	}
}

// TestCallOfAnotherAccount: a call placed with another account's key is unknown to the
// default key (Interactly keeps accounts apart), and is steered with --api-key-env naming
// the variable that holds that account's key, which shows nowhere in the output.
func TestCallOfAnotherAccount(t *testing.T) {
	const westKey = "sk-west-call-test-51c0ffee"
	cs := startCallSim(t, simulator.Config{Accounts: map[string]string{"west": westKey}}, nil)
	west, err := interactly.New(interactly.Config{BaseURL: cs.url, APIKey: westKey})
	if err != nil {
		t.Fatal(err)
	}
	id := cs.dialWith(t, west)

	if _, _, err := runCallCmd(t, cs.url, "end", id); !errors.Is(err, operator.ErrCallNotFound) {
		t.Fatalf("dialer call end with the default key: %v; want %v", err, operator.ErrCallNotFound)
	}
	e, out, errOut := testEnv(t, map[string]string{"INTERACTLY_API_KEY": callTestKey, "WEST_KEY": westKey, "INTERACTLY_BASE_URL": cs.url})
	if err := dispatch(t.Context(), e, []string{"call", "--api-key-env", "WEST_KEY", "end", id}); err != nil {
		t.Fatalf("dialer call --api-key-env WEST_KEY end: %v\n%s", err, errOut)
	}
	if want := "ended call " + id + " (POST "; !strings.HasPrefix(out.String(), want) {
		t.Errorf("stdout %q, want it to begin %q", out, want)
	}
	if got, err := west.GetCall(t.Context(), id); err != nil || !got.Ended() {
		t.Errorf("the west call after end: %+v, %v", got, err)
	}
	for _, s := range []string{out.String(), errOut.String()} {
		if strings.Contains(s, westKey) {
			t.Errorf("the west key shows in the output: %s", s)
		}
	}

	e, _, _ = testEnv(t, map[string]string{"INTERACTLY_API_KEY": callTestKey, "INTERACTLY_BASE_URL": cs.url})
	err = dispatch(t.Context(), e, []string{"call", "--api-key-env", "WEST_KEY", "end", id})
	if err == nil || !strings.Contains(err.Error(), "WEST_KEY is not set") {
		t.Errorf("--api-key-env naming an unset variable: %v", err)
	}
}
