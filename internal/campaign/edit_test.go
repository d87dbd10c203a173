package campaign

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// An empty edit is refused, but applying a change and reading every file of testdata back
// must keep every key the change does not name, byte for byte in its stored JSON form.
func TestPatchKeepsTheRest(t *testing.T) {
	paths, _ := filepath.Glob("testdata/*.yaml")
	paths = append(paths, examplePath)
	for _, path := range paths {
		if filepath.Base(path) == "typo.yaml" {
			continue
		}
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			f := mustParse(t, string(data))
			before := storedForm(t, f)
			nf, err := f.Patch(map[string]any{"priority": 7})
			if err != nil {
				t.Fatal(err)
			}
			if nf.Priority != 7 {
				t.Errorf("priority %d, want 7", nf.Priority)
			}
			nf.Priority = f.Priority
			if diff := cmp.Diff(before, storedForm(t, nf)); diff != "" {
				t.Errorf("keys not named by the change changed (-before +after):\n%s", diff)
			}
			if storedForm(t, f)["priority"] != before["priority"] {
				t.Error("Patch changed its receiver")
			}
		})
	}
}

func storedForm(tb testing.TB, f *File) map[string]any {
	tb.Helper()
	data, err := json.Marshal(f)
	if err != nil {
		tb.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		tb.Fatal(err)
	}
	return m
}

func TestPatch(t *testing.T) {
	base := `name: flu
assistantId: a1
phoneNumberId: p1
contacts: {numberColumn: phone}
retry: {maxAttempts: 3, retryOn: [busy], delay: 10m}
rateLimit: {callsPerSecond: 2, maxConcurrentCalls: 5}
defaultTimezone: America/New_York
callingWindow: {start: "09:00", end: "17:00", timezone: contact}
`
	f := mustParse(t, base)
	end := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name    string
		patch   map[string]any
		check   func(*File) string
		wantKey string
		wantMsg string
	}{
		{name: "one key of a section keeps the others",
			patch: map[string]any{"rateLimit": map[string]any{"callsPerSecond": 0.5}},
			check: func(nf *File) string {
				return cmp.Diff(RateLimitConfig{CallsPerSecond: 0.5, MaxConcurrentCalls: 5}, nf.RateLimit)
			}},
		{name: "null removes the window",
			patch: map[string]any{"callingWindow": nil},
			check: func(nf *File) string { return cmp.Diff((*CallingWindowConfig)(nil), nf.CallingWindow) }},
		{name: "null delay reads as left out: the default",
			patch: map[string]any{"retry": map[string]any{"delay": nil, "retryOn": []any{"no-answer", "failed"}}},
			check: func(nf *File) string {
				return cmp.Diff(RetryConfig{MaxAttempts: 3, RetryOn: []Outcome{OutcomeNoAnswer, OutcomeFailed}, Delay: Duration(30 * time.Minute)}, nf.Retry)
			}},
		{name: "endAt and weight",
			patch: map[string]any{"endAt": end.Format(time.RFC3339), "weight": 3},
			check: func(nf *File) string {
				if nf.EndAt == nil || !nf.EndAt.Equal(end) || nf.Weight != 3 {
					return "endAt or weight not set"
				}
				return ""
			}},
		{name: "out of range", patch: map[string]any{"rateLimit": map[string]any{"maxConcurrentCalls": 0}},
			wantKey: "rateLimit.maxConcurrentCalls", wantMsg: "must be at least 1, got 0"},
		{name: "wrong type", patch: map[string]any{"rateLimit": map[string]any{"callsPerSecond": "fast"}},
			wantKey: "rateLimit.callsPerSecond"},
		{name: "unknown nested key", patch: map[string]any{"retry": map[string]any{"maxAttempt": 4}},
			wantKey: "retry.maxAttempt"},
		{name: "fixed key", patch: map[string]any{"assistantId": "a2"},
			wantKey: "assistantId", wantMsg: "cannot be changed once the campaign is uploaded; the keys that can are rateLimit, callingWindow, defaultTimezone, retry, endAt, priority, weight"},
		{name: "typo of an editable key", patch: map[string]any{"ratelimit": map[string]any{}},
			wantKey: "ratelimit"},
		{name: "empty", patch: map[string]any{}, wantMsg: "the change is empty"},
		{name: "window without a zone default", patch: map[string]any{"defaultTimezone": nil},
			wantKey: "defaultTimezone"},
		{name: "bad window", patch: map[string]any{"callingWindow": map[string]any{"end": "08:00"}},
			wantKey: "callingWindow.end"},
		{name: "priority out of range", patch: map[string]any{"priority": 101},
			wantKey: "priority", wantMsg: "must be between -100 and 100, got 101; higher goes first"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nf, err := f.Patch(tt.patch)
			if tt.check != nil {
				if err != nil {
					t.Fatal(err)
				}
				if d := tt.check(nf); d != "" {
					t.Error(d)
				}
				return
			}
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v, want a *FileError", err)
			}
			if fe.Key != tt.wantKey || fe.Line != 0 || fe.Path != "" {
				t.Errorf("error %+v, want key %q and no place", fe, tt.wantKey)
			}
			if tt.wantMsg != "" && !contains(fe.Msg, tt.wantMsg) {
				t.Errorf("message %q, want %q", fe.Msg, tt.wantMsg)
			}
		})
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
