package campaign

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.yaml.in/yaml/v4"

	"github.com/dialerhq/dialer/internal/contactcsv"
	"github.com/dialerhq/dialer/internal/frequency"
	"github.com/dialerhq/dialer/internal/phone"
	"github.com/dialerhq/dialer/internal/testutil"
)

const examplePath = "../../campaigns/example.yaml"

// ignoreSource compares Files by their settings, not by where Parse found them.
var ignoreSource = cmpopts.IgnoreUnexported(File{})

// mustParse runs what ParseFile runs on data, named c.yaml, and fails tb on an error.
func mustParse(tb testing.TB, data string) *File {
	tb.Helper()
	f, err := ParseChecked("c.yaml", []byte(data))
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

const minimal = `
name: flu
assistantId: a1
phoneNumberId: p1
contacts:
  numberColumn: phone
`

// minimalPool is minimal without a caller ID.
const minimalPool = `
name: flu
assistantId: a1
contacts:
  numberColumn: phone
`

func TestParseFileExample(t *testing.T) {
	f, err := ParseFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	want := &File{
		Name:             "flu-shot-reminders",
		AssistantID:      "678a253ca6d866573043502e",
		PhoneNumberID:    "5f7b1b1b1b1b1b1b1b1b1b1b",
		CallerIDStrategy: CallerIDRotate,
		DefaultRegion:    "US",
		Contacts:         ContactsConfig{NumberColumn: "phone", NameColumn: "First Name", Delimiter: ","},
		Retry: RetryConfig{
			MaxAttempts: 3,
			RetryOn:     []Outcome{OutcomeBusy, OutcomeNoAnswer},
			Delay:       Duration(5 * time.Second),
		},
		RateLimit: RateLimitConfig{CallsPerSecond: 2, MaxConcurrentCalls: 5},
		Poll:      PollConfig{Interval: Duration(time.Second), AnalysisWait: Duration(5 * time.Second)},
		Metadata:  map[string]any{"campaign": "flu-shot-reminders", "team": "patient-outreach"},
		AssistantOverrides: map[string]any{
			"dynamicVariables": map[string]any{"clinic_phone": "(415) 555-0100", "season": "2025-26"},
		},
	}
	if diff := cmp.Diff(want, f, ignoreSource); diff != "" {
		t.Errorf("ParseFile (-want +got):\n%s", diff)
	}
}

// TestExampleContacts pins what the example campaign's demo shows: 50 rows, of which 4 are
// invalid and 2 repeat an earlier number, leaving 44 to dial.
func TestExampleContacts(t *testing.T) {
	f, err := ParseFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	fh, err := os.Open("../../campaigns/example.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	cr, err := contactcsv.NewReader(fh, contactcsv.Options{Path: "example.csv", Delimiter: f.Contacts.DelimiterRune()})
	if err != nil {
		t.Fatal(err)
	}
	numberCol, ok := cr.Column(f.Contacts.NumberColumn)
	if !ok {
		t.Fatalf("no column %q in %q", f.Contacts.NumberColumn, cr.Header())
	}
	if _, ok := cr.Column(f.Contacts.NameColumn); !ok {
		t.Fatalf("no column %q in %q", f.Contacts.NameColumn, cr.Header())
	}
	var rows, dialable int
	invalid := map[string]string{} // raw number -> reason
	duplicate := map[string]int{}  // raw number -> row holding the number first
	first := map[string]int{}      // E.164 -> first row
	var notes []string
	for {
		row, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		rows++
		if row.Problem != "" {
			t.Errorf("row %d: %s", row.Index, row.Problem)
		}
		if n := row.DynamicVariables(cr.Header())["notes"]; strings.ContainsAny(n, ",\"\n") {
			notes = append(notes, n)
		}
		raw := row.Fields[numberCol]
		e164, err := phone.Normalize(raw, f.DefaultRegion)
		switch {
		case err != nil:
			invalid[raw] = err.Error()
		case first[e164] != 0:
			duplicate[raw] = first[e164]
		default:
			first[e164] = row.Index
			dialable++
		}
	}
	if rows != 50 || dialable != 44 {
		t.Errorf("rows = %d, dialable = %d; want 50, 44", rows, dialable)
	}
	wantInvalid := map[string]string{
		"415 555 01":             "not a valid US number (too short)",
		"415-555-CARE":           "contains letters; write the number with digits only",
		"":                       "no number",
		"+1 (415) 555-0119 x204": "has extension 204; the dialer cannot dial extensions, so remove it",
	}
	if diff := cmp.Diff(wantInvalid, invalid); diff != "" {
		t.Errorf("invalid numbers (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int{"(415) 555-0103": 3, "+1 408 555 0125": 29}, duplicate); diff != "" {
		t.Errorf("duplicates (-want +got):\n%s", diff)
	}
	wantNotes := []string{
		"Prefers mornings, call after 9am",
		`Asked for "the usual nurse" again`,
		"Needs wheelchair access.\nBring insurance card.",
		"Work number, front desk",
	}
	if diff := cmp.Diff(wantNotes, notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
}

func TestWithDefaults(t *testing.T) {
	// The defaults of retry and poll, as the File fields' docs give them.
	defaultRetry := RetryConfig{MaxAttempts: 3, RetryOn: []Outcome{OutcomeBusy, OutcomeNoAnswer}, Delay: Duration(30 * time.Minute)}
	defaultPoll := PollConfig{Interval: Duration(5 * time.Second), AnalysisWait: Duration(30 * time.Second)}
	// minimalWith is minimal with every default filled in, then changed by edit.
	minimalWith := func(edit func(f *File)) *File {
		f := &File{
			Name: "flu", AssistantID: "a1", PhoneNumberID: "p1", CallerIDStrategy: CallerIDRotate, DefaultRegion: "US",
			Contacts:  ContactsConfig{NumberColumn: "phone"},
			Retry:     defaultRetry,
			RateLimit: RateLimitConfig{CallsPerSecond: 1, MaxConcurrentCalls: 10},
			Poll:      defaultPoll,
		}
		edit(f)
		return f
	}
	tests := []struct {
		name string
		in   string
		want *File
	}{
		{
			name: "everything left out",
			in:   minimal,
			want: minimalWith(func(*File) {}),
		},
		{
			name: "written zeros and empty lists are kept",
			in: minimal + `
retry:
  retryOn: []
  delay: 0
poll:
  analysisWait: 0s
`,
			want: minimalWith(func(f *File) {
				f.Retry = RetryConfig{MaxAttempts: 3, RetryOn: []Outcome{}}
				f.Poll = PollConfig{Interval: Duration(5 * time.Second)}
			}),
		},
		{
			name: "region is upper-cased, tab delimiter, fractional rate",
			in: minimal + `  delimiter: "\t"
defaultRegion: gb
rateLimit: {callsPerSecond: 0.5}
`,
			want: minimalWith(func(f *File) {
				f.DefaultRegion = "GB"
				f.Contacts.Delimiter = "\t"
				f.RateLimit.CallsPerSecond = 0.5
			}),
		},
		{
			name: "pool, local, notify without events, endAt",
			in: minimalPool + `callerIdStrategy: local
phoneNumberIds:
  - {id: p1, number: (415) 555-0100, maxConcurrentCalls: 3}
  - id: p2
    number: "+44 20 7946 0123"
callerIdMaxConcurrentCalls: 0
endAt: 2026-12-24T17:00:00-05:00
notify:
  url: https://example.com/hook
  secretEnv: DIALER_NOTIFY_SECRET
`,
			want: &File{
				Name: "flu", AssistantID: "a1", DefaultRegion: "US",
				PhoneNumberIDs: []CallerID{
					{ID: "p1", Number: "+14155550100", MaxConcurrentCalls: 3},
					{ID: "p2", Number: "+442079460123"},
				},
				CallerIDStrategy: CallerIDLocal,
				Contacts:         ContactsConfig{NumberColumn: "phone"},
				Retry:            defaultRetry,
				RateLimit:        RateLimitConfig{CallsPerSecond: 1, MaxConcurrentCalls: 10},
				Poll:             defaultPoll,
				EndAt:            ptr(time.Date(2026, 12, 24, 22, 0, 0, 0, time.UTC)),
				Notify: &NotifyConfig{
					URL: "https://example.com/hook", SecretEnv: "DIALER_NOTIFY_SECRET",
					Events: []string{NotifyContactFinished, NotifyCampaignFinished},
				},
			},
		},
		{
			name: "bare pool ids in another region, notify events written empty",
			in: minimalPool + `defaultRegion: gb
phoneNumberIds: [p1, {id: p2, number: 020 7946 0123}]
callerIdStrategy: rotate
notify: {url: "http://127.0.0.1:8080/x", secret: k, events: []}
`,
			want: &File{
				Name: "flu", AssistantID: "a1", DefaultRegion: "GB",
				PhoneNumberIDs:   []CallerID{{ID: "p1"}, {ID: "p2", Number: "+442079460123"}},
				CallerIDStrategy: CallerIDRotate,
				Contacts:         ContactsConfig{NumberColumn: "phone"},
				Retry:            defaultRetry,
				RateLimit:        RateLimitConfig{CallsPerSecond: 1, MaxConcurrentCalls: 10},
				Poll:             defaultPoll,
				Notify: &NotifyConfig{
					URL: "http://127.0.0.1:8080/x", Secret: "k",
					Events: []string{NotifyContactFinished, NotifyCampaignFinished},
				},
			},
		},
		{
			name: "one event kept",
			in:   minimal + "notify: {url: \"https://example.com/hook\", events: [campaign.finished]}\n",
			want: minimalWith(func(f *File) {
				f.Notify = &NotifyConfig{URL: "https://example.com/hook", Events: []string{NotifyCampaignFinished}}
			}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustParse(t, tt.in)
			if diff := cmp.Diff(tt.want, got, ignoreSource); diff != "" {
				t.Errorf("File (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want *FileError
	}{
		{
			name: "empty file",
			in:   "",
			want: &FileError{Path: "c.yaml", Msg: "file is empty; start from campaigns/example.yaml"},
		},
		{
			name: "only comments",
			in:   "# nothing yet\n",
			want: &FileError{Path: "c.yaml", Msg: "file is empty; start from campaigns/example.yaml"},
		},
		{
			name: "not a mapping",
			in:   "- name: flu\n",
			want: &FileError{Path: "c.yaml", Line: 1, Column: 1, Msg: "must be a set of keys such as name: and assistantId:, got a list"},
		},
		{
			name: "a CSV file",
			in:   "First Name,phone\nAda,415 555 0100\n",
			want: &FileError{Path: "c.yaml", Line: 1, Column: 1, Msg: "must be a set of keys such as name: and assistantId:, got \"First Name,phone Ada,415 555 0100\""},
		},
		{
			name: "a long CSV file",
			in:   "First Name,Last Name,phone,appointment_date\nAda,Lovelace,415 555 0100,2025-11-03\n",
			want: &FileError{Path: "c.yaml", Line: 1, Column: 1, Msg: "must be a set of keys such as name: and assistantId:, got \"First Name,Last Name,phone,appointmen...\""},
		},
		{
			name: "syntax error",
			in:   "name: flu\nassistantId: a: b\n",
			want: &FileError{Path: "c.yaml", Line: 2, Column: 15, Msg: `not valid YAML: mapping values are not allowed in this context; check the indentation, and quote values that hold ": " or start with a special character`},
		},
		{
			name: "tab indentation",
			in:   "name: flu\ncontacts:\n\tnumberColumn: phone\n",
			want: &FileError{Path: "c.yaml", Line: 3, Column: 1, Msg: "indented with a tab; YAML indentation must use spaces"},
		},
		{
			name: "two documents",
			in:   minimal + "---\nname: other\n",
			want: &FileError{Path: "c.yaml", Line: 7, Msg: "file holds more than one YAML document; keep one and remove the --- line"},
		},
		{
			name: "unknown key with suggestion",
			in:   minimal + "retry:\n  maxAtempts: 3\n",
			want: &FileError{Path: "c.yaml", Line: 8, Column: 3, Key: "retry.maxAtempts", Msg: "unknown key (did you mean maxAttempts?); known keys: maxAttempts, retryOn, delay"},
		},
		{
			name: "unknown key, wrong case",
			in:   "assistantID: a1\n",
			want: &FileError{Path: "c.yaml", Line: 1, Column: 1, Key: "assistantID", Msg: "unknown key (did you mean assistantId?); known keys: name, assistantId, phoneNumberId, phoneNumberIds, callerIdStrategy, callerIdMaxConcurrentCalls, defaultRegion, contacts, retry, rateLimit, account, priority, weight, poll, defaultTimezone, callingWindow, frequencyCap, startAt, endAt, retention, notify, suppressionFiles, metadata, assistantOverrides"},
		},
		{
			name: "unknown key without suggestion",
			in:   minimal + "webhook: https://example.com\n",
			want: &FileError{Path: "c.yaml", Line: 7, Column: 1, Key: "webhook", Msg: "unknown key; known keys: name, assistantId, phoneNumberId, phoneNumberIds, callerIdStrategy, callerIdMaxConcurrentCalls, defaultRegion, contacts, retry, rateLimit, account, priority, weight, poll, defaultTimezone, callingWindow, frequencyCap, startAt, endAt, retention, notify, suppressionFiles, metadata, assistantOverrides"},
		},
		{
			name: "section key at the top level",
			in:   minimal + "numberColumn: phone\n",
			want: &FileError{Path: "c.yaml", Line: 7, Column: 1, Key: "numberColumn", Msg: "unknown key here (did you mean contacts.numberColumn? move it under contacts:); known keys: name, assistantId, phoneNumberId, phoneNumberIds, callerIdStrategy, callerIdMaxConcurrentCalls, defaultRegion, contacts, retry, rateLimit, account, priority, weight, poll, defaultTimezone, callingWindow, frequencyCap, startAt, endAt, retention, notify, suppressionFiles, metadata, assistantOverrides"},
		},
		{
			name: "key in the wrong section",
			in:   minimal + "retry:\n  callsPerSecond: 2\n",
			want: &FileError{Path: "c.yaml", Line: 8, Column: 3, Key: "retry.callsPerSecond", Msg: "unknown key here (did you mean rateLimit.callsPerSecond? move it under rateLimit:); known keys: maxAttempts, retryOn, delay"},
		},
		{
			name: "top-level key indented",
			in:   minimal + "callingWindow:\n  start: \"09:00\"\n  endAt: 2026-01-01T00:00:00Z\n",
			want: &FileError{Path: "c.yaml", Line: 9, Column: 3, Key: "callingWindow.endAt", Msg: "unknown key here (did you mean endAt at the top level? move it out of callingWindow:); known keys: days, start, end, timezone, timezoneColumn"},
		},
		{
			name: "key written twice",
			in:   minimal + "name: again\n",
			want: &FileError{Path: "c.yaml", Line: 7, Column: 1, Key: "name", Msg: "written twice; first on line 2"},
		},
		{
			name: "section is a list",
			in:   minimal + "retry: [3]\n",
			want: &FileError{Path: "c.yaml", Line: 7, Column: 8, Key: "retry", Msg: "must be a set of keys (maxAttempts, retryOn, delay), got a list"},
		},
		{
			name: "text where a number goes",
			in:   minimal + "retry:\n  maxAttempts: three\n",
			want: &FileError{Path: "c.yaml", Line: 8, Column: 16, Key: "retry.maxAttempts", Msg: `must be a whole number, got "three"`},
		},
		{
			name: "fraction where a whole number goes",
			in:   minimal + "rateLimit:\n  maxConcurrentCalls: 2.5\n",
			want: &FileError{Path: "c.yaml", Line: 8, Column: 23, Key: "rateLimit.maxConcurrentCalls", Msg: "must be a whole number, got 2.5"},
		},
		{
			name: "quoted number",
			in:   minimal + "rateLimit:\n  callsPerSecond: \"2\"\n",
			want: &FileError{Path: "c.yaml", Line: 8, Column: 19, Key: "rateLimit.callsPerSecond", Msg: `must be a number, got "2"`},
		},
		{
			name: "infinite rate",
			in:   minimal + "rateLimit:\n  callsPerSecond: .inf\n",
			want: &FileError{Path: "c.yaml", Line: 8, Column: 19, Key: "rateLimit.callsPerSecond", Msg: "must be a finite number, got .inf"},
		},
		{
			name: "duration without unit",
			in:   minimal + "retry:\n  delay: 30\n",
			want: &FileError{Path: "c.yaml", Line: 8, Column: 10, Key: "retry.delay", Msg: "must be a duration such as 500ms, 30s, 5m or 1h30m, got 30; add a unit: s for seconds, m for minutes"},
		},
		{
			name: "duration in words",
			in:   minimal + "retry:\n  delay: 30 minutes\n",
			want: &FileError{Path: "c.yaml", Line: 8, Column: 10, Key: "retry.delay", Msg: `must be a duration such as 500ms, 30s, 5m or 1h30m, got "30 minutes"`},
		},
		{
			name: "retryOn not a list",
			in:   minimal + "retry:\n  retryOn: busy\n",
			want: &FileError{Path: "c.yaml", Line: 8, Column: 12, Key: "retry.retryOn", Msg: `must be a list such as [busy, no-answer], got "busy"`},
		},
		{
			name: "retryOn outcome not retryable",
			in:   minimal + "retry:\n  retryOn:\n    - busy\n    - completed\n",
			want: &FileError{Path: "c.yaml", Line: 10, Column: 7, Key: "retry.retryOn[1]", Msg: `cannot retry on "completed"; use busy, no-answer or failed`},
		},
		{
			name: "text is a list",
			in:   "name: flu\nassistantId: a1\nphoneNumberId: [p1]\n",
			want: &FileError{Path: "c.yaml", Line: 3, Column: 16, Key: "phoneNumberId", Msg: "must be text, got a list"},
		},
		{
			name: "alias",
			in:   "name: &n flu\nassistantId: *n\n",
			want: &FileError{Path: "c.yaml", Line: 2, Column: 14, Key: "assistantId", Msg: "aliases (*n) are not supported; write the value out"},
		},
		{
			name: "merge key",
			in:   "metadata:\n  <<: {a: 1}\n",
			want: &FileError{Path: "c.yaml", Line: 2, Column: 3, Key: "metadata.<<", Msg: "merge keys (<<) are not supported; write the keys out"},
		},
		{
			name: "metadata not a mapping",
			in:   minimal + "metadata: [a, b]\n",
			want: &FileError{Path: "c.yaml", Line: 7, Column: 11, Key: "metadata", Msg: "must be a set of keys, got a list"},
		},
		{
			name: "metadata NaN",
			in:   minimal + "metadata:\n  x: [1, .nan]\n",
			want: &FileError{Path: "c.yaml", Line: 8, Column: 10, Key: "metadata.x[1]", Msg: "must be a finite number, got .nan; quote it to send it as text"},
		},
		{
			name: "metadata key written twice",
			in:   minimal + "metadata:\n  a: 1\n  a: 2\n",
			want: &FileError{Path: "c.yaml", Line: 9, Column: 3, Key: "metadata.a", Msg: "written twice"},
		},
		{
			name: "dynamicVariables not a mapping",
			in:   minimal + "assistantOverrides:\n  dynamicVariables: [a]\n",
			want: &FileError{Path: "c.yaml", Line: 8, Column: 21, Key: "assistantOverrides.dynamicVariables", Msg: "must map variable names to values, got a list"},
		},
		{
			name: "dynamicVariables value not a scalar",
			in:   minimal + "assistantOverrides:\n  dynamicVariables:\n    clinic: {name: x}\n",
			want: &FileError{Path: "c.yaml", Line: 9, Column: 13, Key: "assistantOverrides.dynamicVariables.clinic", Msg: "must be text or a number, got a set of keys; dynamic variables are strings"},
		},

		// Validate's errors point at the value, or at the enclosing key when the key is missing.
		{
			name: "name missing",
			in:   "assistantId: a1\n",
			want: &FileError{Path: "c.yaml", Key: "name", Msg: "missing; name the campaign, e.g. name: flu-shot-reminders"},
		},
		{
			name: "name empty",
			in:   "name:\nassistantId: a1\n",
			want: &FileError{Path: "c.yaml", Line: 1, Column: 6, Key: "name", Msg: "missing; name the campaign, e.g. name: flu-shot-reminders"},
		},
		{
			name: "name on two lines",
			in:   "name: |\n  flu\n  shots\n",
			want: &FileError{Path: "c.yaml", Line: 1, Column: 7, Key: "name", Msg: "must be one line of text"},
		},
		{
			name: "assistantId missing",
			in:   "name: flu\n",
			want: &FileError{Path: "c.yaml", Key: "assistantId", Msg: "missing; set it to the id of the Interactly assistant that makes the calls"},
		},
		{
			name: "phoneNumberId with a space",
			in:   "name: flu\nassistantId: a1\nphoneNumberId: p 1\n",
			want: &FileError{Path: "c.yaml", Line: 3, Column: 16, Key: "phoneNumberId", Msg: `must not contain spaces, got "p 1"`},
		},
		{
			name: "unknown region",
			in:   minimal + "defaultRegion: XX\n",
			want: &FileError{Path: "c.yaml", Line: 7, Column: 16, Key: "defaultRegion", Msg: `unknown region code "XX"; use a two-letter country code such as US, GB or DE`},
		},
		{
			name: "region written empty",
			in:   minimal + "defaultRegion: \"\"\n",
			want: &FileError{Path: "c.yaml", Line: 7, Column: 16, Key: "defaultRegion", Msg: `unknown region code ""; use a two-letter country code such as US, GB or DE`},
		},
		{
			name: "numberColumn missing",
			in:   "name: flu\nassistantId: a1\nphoneNumberId: p1\ncontacts:\n  nameColumn: First Name\n",
			want: &FileError{Path: "c.yaml", Line: 4, Column: 1, Key: "contacts.numberColumn", Msg: "missing; set it to the header of the contact file's column that holds the phone numbers"},
		},
		{
			name: "contacts missing",
			in:   "name: flu\nassistantId: a1\nphoneNumberId: p1\n",
			want: &FileError{Path: "c.yaml", Key: "contacts.numberColumn", Msg: "missing; set it to the header of the contact file's column that holds the phone numbers"},
		},
		{
			name: "delimiter",
			in:   minimal + "  delimiter: \"|\"\n",
			want: &FileError{Path: "c.yaml", Line: 7, Column: 14, Key: "contacts.delimiter", Msg: `must be ",", ";" or "\t" (a tab, in double quotes), got "|"; leave it out to detect it`},
		},
		{
			name: "maxAttempts zero",
			in:   minimal + "retry:\n  maxAttempts: 0\n",
			want: &FileError{Path: "c.yaml", Line: 8, Column: 16, Key: "retry.maxAttempts", Msg: "must be between 1 and 10, got 0"},
		},
		{
			name: "maxAttempts too many",
			in:   minimal + "retry:\n  maxAttempts: 11\n",
			want: &FileError{Path: "c.yaml", Line: 8, Column: 16, Key: "retry.maxAttempts", Msg: "must be between 1 and 10, got 11"},
		},
		{
			name: "negative delay",
			in:   minimal + "retry:\n  delay: -5s\n",
			want: &FileError{Path: "c.yaml", Line: 8, Column: 10, Key: "retry.delay", Msg: "must not be negative, got -5s"},
		},
		{
			name: "zero rate",
			in:   minimal + "rateLimit:\n  callsPerSecond: 0\n",
			want: &FileError{Path: "c.yaml", Line: 8, Column: 19, Key: "rateLimit.callsPerSecond", Msg: "must be at least 0.000278 (one call per hour) and at most 1000, got 0; use 0.5 for one call every 2 seconds"},
		},
		{
			name: "rate too high",
			in:   minimal + "rateLimit:\n  callsPerSecond: 1001\n",
			want: &FileError{Path: "c.yaml", Line: 8, Column: 19, Key: "rateLimit.callsPerSecond", Msg: "must be at least 0.000278 (one call per hour) and at most 1000, got 1001; use 0.5 for one call every 2 seconds"},
		},
		{
			name: "rate that overflows an interval",
			in:   minimal + "rateLimit:\n  callsPerSecond: 1e-300\n",
			want: &FileError{Path: "c.yaml", Line: 8, Column: 19, Key: "rateLimit.callsPerSecond", Msg: "must be at least 0.000278 (one call per hour) and at most 1000, got 1e-300; use 0.5 for one call every 2 seconds"},
		},
		{
			name: "rate just under one call per hour",
			in:   minimal + "rateLimit:\n  callsPerSecond: 0.000277\n",
			want: &FileError{Path: "c.yaml", Line: 8, Column: 19, Key: "rateLimit.callsPerSecond", Msg: "must be at least 0.000278 (one call per hour) and at most 1000, got 0.000277; use 0.5 for one call every 2 seconds"},
		},
		{
			name: "no concurrent calls",
			in:   minimal + "rateLimit:\n  maxConcurrentCalls: 0\n",
			want: &FileError{Path: "c.yaml", Line: 8, Column: 23, Key: "rateLimit.maxConcurrentCalls", Msg: "must be at least 1, got 0"},
		},
		{
			name: "poll too often",
			in:   minimal + "poll:\n  interval: 50ms\n",
			want: &FileError{Path: "c.yaml", Line: 8, Column: 13, Key: "poll.interval", Msg: "must be at least 100ms, got 50ms"},
		},
		{
			name: "negative analysisWait",
			in:   minimal + "poll:\n  analysisWait: -1m\n",
			want: &FileError{Path: "c.yaml", Line: 8, Column: 17, Key: "poll.analysisWait", Msg: "must not be negative, got -1m"},
		},
		{
			name: "bad defaultTimezone",
			in:   minimal + "defaultTimezone: Eastern\n",
			want: &FileError{Path: "c.yaml", Line: 7, Column: 18, Key: "defaultTimezone", Msg: `unknown time zone "Eastern"; use an IANA name such as America/New_York or Europe/London`},
		},
		{
			name: "callingWindow is text",
			in:   minimal + "callingWindow: 9-5\n",
			want: &FileError{Path: "c.yaml", Line: 7, Column: 16, Key: "callingWindow", Msg: `must be a set of keys (days, start, end, timezone, timezoneColumn), got "9-5"`},
		},
		{
			name: "unknown callingWindow key",
			in:   minimal + "callingWindow:\n  tz: America/Chicago\n",
			want: &FileError{Path: "c.yaml", Line: 8, Column: 3, Key: "callingWindow.tz", Msg: "unknown key; known keys: days, start, end, timezone, timezoneColumn"},
		},
		{
			name: "unknown day",
			in:   minimal + "callingWindow:\n  days: [mon, tues]\n  start: \"09:00\"\n  end: \"17:00\"\n  timezone: America/Chicago\n",
			want: &FileError{Path: "c.yaml", Line: 8, Column: 15, Key: "callingWindow.days[1]", Msg: `unknown day "tues"; use mon, tue, wed, thu, fri, sat or sun`},
		},
		{
			name: "days not a list",
			in:   minimal + "callingWindow:\n  days: mon-fri\n",
			want: &FileError{Path: "c.yaml", Line: 8, Column: 9, Key: "callingWindow.days", Msg: `must be a list such as [mon, tue, wed, thu, fri], got "mon-fri"`},
		},
		{
			name: "no days",
			in:   minimal + "callingWindow:\n  days: []\n  start: \"09:00\"\n  end: \"17:00\"\n  timezone: America/Chicago\n",
			want: &FileError{Path: "c.yaml", Line: 8, Column: 9, Key: "callingWindow.days", Msg: "must list at least one day, such as [mon, tue, wed, thu, fri]; leave it out for every day"},
		},
		{
			name: "start missing",
			in:   minimal + "callingWindow:\n  end: \"17:00\"\n  timezone: America/Chicago\n",
			want: &FileError{Path: "c.yaml", Line: 7, Column: 1, Key: "callingWindow.start", Msg: `missing; set the local time calls may start, e.g. start: "09:00"`},
		},
		{
			name: "callingWindow empty",
			in:   minimal + "callingWindow:\n",
			want: &FileError{Path: "c.yaml", Line: 7, Column: 1, Key: "callingWindow.start", Msg: `missing; set the local time calls may start, e.g. start: "09:00"`},
		},
		{
			name: "start not HH:MM",
			in:   minimal + "callingWindow:\n  start: 9am\n  end: \"17:00\"\n  timezone: America/Chicago\n",
			want: &FileError{Path: "c.yaml", Line: 8, Column: 10, Key: "callingWindow.start", Msg: `must be a time of day as HH:MM on a 24-hour clock, such as "09:00" or "21:00", got "9am"`},
		},
		{
			name: "overnight window",
			in:   minimal + "callingWindow:\n  start: \"21:00\"\n  end: \"08:00\"\n  timezone: America/Chicago\n",
			want: &FileError{Path: "c.yaml", Line: 9, Column: 8, Key: "callingWindow.end", Msg: "must be after start (21:00), got 08:00; a window cannot run past midnight"},
		},
		{
			name: "timezone missing",
			in:   minimal + "callingWindow:\n  start: \"09:00\"\n  end: \"17:00\"\n",
			want: &FileError{Path: "c.yaml", Line: 7, Column: 1, Key: "callingWindow.timezone", Msg: "missing; set it to contact, to read the window on each contact's clock, or to an IANA zone such as America/Chicago"},
		},
		{
			name: "unknown timezone",
			in:   minimal + "callingWindow:\n  start: \"09:00\"\n  end: \"17:00\"\n  timezone: America/Chicgo\n",
			want: &FileError{Path: "c.yaml", Line: 10, Column: 13, Key: "callingWindow.timezone", Msg: `unknown time zone "America/Chicgo"; use an IANA name such as America/New_York or Europe/London, or contact for each contact's own`},
		},
		{
			name: "contact timezone without defaultTimezone",
			in:   minimal + "callingWindow:\n  start: \"09:00\"\n  end: \"17:00\"\n  timezone: contact\n",
			want: &FileError{Path: "c.yaml", Line: 10, Column: 13, Key: "defaultTimezone", Msg: "missing; callingWindow.timezone is contact, so set the zone of contacts whose zone cannot be told from their number, e.g. defaultTimezone: America/New_York"},
		},
		{
			name: "timezoneColumn with a fixed zone",
			in:   minimal + "callingWindow:\n  start: \"09:00\"\n  end: \"17:00\"\n  timezone: America/Chicago\n  timezoneColumn: tz\n",
			want: &FileError{Path: "c.yaml", Line: 11, Column: 19, Key: "callingWindow.timezoneColumn", Msg: "only applies when callingWindow.timezone is contact; remove it, or set timezone: contact"},
		},
		{
			name: "suppressionFiles not a list",
			in:   minimal + "suppressionFiles: dnc.csv\n",
			want: &FileError{Path: "c.yaml", Line: 7, Column: 19, Key: "suppressionFiles", Msg: `must be a list such as [dnc.csv], got "dnc.csv"`},
		},
		{
			name: "suppressionFiles holds a list",
			in:   minimal + "suppressionFiles:\n  - [a.csv]\n",
			want: &FileError{Path: "c.yaml", Line: 8, Column: 5, Key: "suppressionFiles[0]", Msg: "must be text, got a list"},
		},
		{
			name: "suppressionFiles holds nothing",
			in:   minimal + "suppressionFiles: [dnc.csv, \" \"]\n",
			want: &FileError{Path: "c.yaml", Line: 7, Column: 29, Key: "suppressionFiles[1]", Msg: "must be the path of a CSV file of numbers not to call, got nothing"},
		},
		{
			name: "frequencyCap is text",
			in:   minimal + "frequencyCap: 3/day\n",
			want: &FileError{Path: "c.yaml", Line: 7, Column: 15, Key: "frequencyCap", Msg: `must be a set of keys (maxCalls, per), got "3/day"`},
		},
		{
			name: "unknown frequencyCap key",
			in:   minimal + "frequencyCap:\n  maxcalls: 3\n  per: 24h\n",
			want: &FileError{Path: "c.yaml", Line: 8, Column: 3, Key: "frequencyCap.maxcalls", Msg: "unknown key (did you mean maxCalls?); known keys: maxCalls, per"},
		},
		{
			name: "frequencyCap empty",
			in:   minimal + "frequencyCap:\n",
			want: &FileError{Path: "c.yaml", Line: 7, Column: 1, Key: "frequencyCap.maxCalls", Msg: "missing; set how many times a number may be dialed within per, across all campaigns, e.g. maxCalls: 3"},
		},
		{
			name: "frequencyCap.maxCalls missing",
			in:   minimal + "frequencyCap:\n  per: 24h\n",
			want: &FileError{Path: "c.yaml", Line: 7, Column: 1, Key: "frequencyCap.maxCalls", Msg: "missing; set how many times a number may be dialed within per, across all campaigns, e.g. maxCalls: 3"},
		},
		{
			name: "frequencyCap.maxCalls zero",
			in:   minimal + "frequencyCap:\n  maxCalls: 0\n  per: 24h\n",
			want: &FileError{Path: "c.yaml", Line: 8, Column: 13, Key: "frequencyCap.maxCalls", Msg: "must be between 1 and 100, got 0"},
		},
		{
			name: "frequencyCap.maxCalls too many",
			in:   minimal + "frequencyCap:\n  maxCalls: 101\n  per: 24h\n",
			want: &FileError{Path: "c.yaml", Line: 8, Column: 13, Key: "frequencyCap.maxCalls", Msg: "must be between 1 and 100, got 101"},
		},
		{
			name: "frequencyCap.maxCalls negative",
			in:   minimal + "frequencyCap: {maxCalls: -1, per: 24h}\n",
			want: &FileError{Path: "c.yaml", Line: 7, Column: 26, Key: "frequencyCap.maxCalls", Msg: "must be between 1 and 100, got -1"},
		},
		{
			name: "frequencyCap.maxCalls text",
			in:   minimal + "frequencyCap:\n  maxCalls: three\n  per: 24h\n",
			want: &FileError{Path: "c.yaml", Line: 8, Column: 13, Key: "frequencyCap.maxCalls", Msg: `must be a whole number, got "three"`},
		},
		{
			name: "frequencyCap.maxCalls fractional",
			in:   minimal + "frequencyCap:\n  maxCalls: 2.5\n  per: 24h\n",
			want: &FileError{Path: "c.yaml", Line: 8, Column: 13, Key: "frequencyCap.maxCalls", Msg: "must be a whole number, got 2.5"},
		},
		{
			name: "frequencyCap.per missing",
			in:   minimal + "frequencyCap:\n  maxCalls: 3\n",
			want: &FileError{Path: "c.yaml", Line: 7, Column: 1, Key: "frequencyCap.per", Msg: "missing; set the window maxCalls counts in, as a Go duration, e.g. per: 24h"},
		},
		{
			name: "frequencyCap.per too short",
			in:   minimal + "frequencyCap:\n  maxCalls: 3\n  per: 30s\n",
			want: &FileError{Path: "c.yaml", Line: 9, Column: 8, Key: "frequencyCap.per", Msg: "must be at least 1m, got 30s; write days in hours, e.g. 168h for a week"},
		},
		{
			name: "frequencyCap.per zero",
			in:   minimal + "frequencyCap:\n  maxCalls: 3\n  per: 0\n",
			want: &FileError{Path: "c.yaml", Line: 9, Column: 8, Key: "frequencyCap.per", Msg: "must be at least 1m, got 0s; write days in hours, e.g. 168h for a week"},
		},
		{
			name: "frequencyCap.per negative",
			in:   minimal + "frequencyCap:\n  maxCalls: 3\n  per: -24h\n",
			want: &FileError{Path: "c.yaml", Line: 9, Column: 8, Key: "frequencyCap.per", Msg: "must be at least 1m, got -24h; write days in hours, e.g. 168h for a week"},
		},
		{
			name: "frequencyCap.per in days",
			in:   minimal + "frequencyCap:\n  maxCalls: 3\n  per: 1d\n",
			want: &FileError{Path: "c.yaml", Line: 9, Column: 8, Key: "frequencyCap.per", Msg: `must be a duration such as 500ms, 30s, 5m or 1h30m, got "1d"`},
		},
		{
			name: "frequencyCap.per without unit",
			in:   minimal + "frequencyCap:\n  maxCalls: 3\n  per: 24\n",
			want: &FileError{Path: "c.yaml", Line: 9, Column: 8, Key: "frequencyCap.per", Msg: "must be a duration such as 500ms, 30s, 5m or 1h30m, got 24; add a unit: s for seconds, m for minutes"},
		},
		{
			name: "startAt a date",
			in:   minimal + "startAt: 2026-12-01\n",
			want: &FileError{Path: "c.yaml", Line: 7, Column: 10, Key: "startAt", Msg: `must be a date and time with an offset (RFC 3339), such as 2026-12-01T09:00:00-05:00 or 2026-12-01T14:00:00Z, got "2026-12-01"; add the time and the offset, e.g. T09:00:00-05:00`},
		},
		{
			name: "startAt without offset",
			in:   minimal + "startAt: 2026-12-01T09:00:00\n",
			want: &FileError{Path: "c.yaml", Line: 7, Column: 10, Key: "startAt", Msg: `must be a date and time with an offset (RFC 3339), such as 2026-12-01T09:00:00-05:00 or 2026-12-01T14:00:00Z, got "2026-12-01T09:00:00"`},
		},
		{
			name: "startAt with a space",
			in:   minimal + "startAt: 2026-12-01 09:00:00 -05:00\n",
			want: &FileError{Path: "c.yaml", Line: 7, Column: 10, Key: "startAt", Msg: `must be a date and time with an offset (RFC 3339), such as 2026-12-01T09:00:00-05:00 or 2026-12-01T14:00:00Z, got "2026-12-01 09:00:00 -05:00"`},
		},
		{
			name: "startAt no such day",
			in:   minimal + "startAt: \"2026-02-30T09:00:00Z\"\n",
			want: &FileError{Path: "c.yaml", Line: 7, Column: 10, Key: "startAt", Msg: `must be a date and time with an offset (RFC 3339), such as 2026-12-01T09:00:00-05:00 or 2026-12-01T14:00:00Z, got "2026-02-30T09:00:00Z"`},
		},
		{
			name: "startAt text",
			in:   minimal + "startAt: tomorrow\n",
			want: &FileError{Path: "c.yaml", Line: 7, Column: 10, Key: "startAt", Msg: `must be a date and time with an offset (RFC 3339), such as 2026-12-01T09:00:00-05:00 or 2026-12-01T14:00:00Z, got "tomorrow"`},
		},
		{
			name: "startAt a number",
			in:   minimal + "startAt: 1796133600\n",
			want: &FileError{Path: "c.yaml", Line: 7, Column: 10, Key: "startAt", Msg: `must be a date and time with an offset (RFC 3339), such as 2026-12-01T09:00:00-05:00 or 2026-12-01T14:00:00Z, got 1796133600`},
		},
		{
			name: "startAt a list",
			in:   minimal + "startAt: [2026-12-01T09:00:00Z]\n",
			want: &FileError{Path: "c.yaml", Line: 7, Column: 10, Key: "startAt", Msg: `must be a date and time with an offset (RFC 3339), such as 2026-12-01T09:00:00-05:00 or 2026-12-01T14:00:00Z, got a list`},
		},
		{
			name: "startAt nothing",
			in:   minimal + "startAt:\n",
			want: &FileError{Path: "c.yaml", Line: 7, Column: 9, Key: "startAt", Msg: `must be a date and time with an offset (RFC 3339), such as 2026-12-01T09:00:00-05:00 or 2026-12-01T14:00:00Z, got nothing`},
		},

		// Caller IDs. minimalPool's keys end on line 5.
		{
			name: "phoneNumberIds is text",
			in:   minimalPool + "phoneNumberIds: p1\n",
			want: &FileError{Path: "c.yaml", Line: 6, Column: 17, Key: "phoneNumberIds", Msg: `must be a list of Interactly phone number ids such as [p1, p2], where an item may also be {id: p1, number: "+14155550100", maxConcurrentCalls: 5}, got "p1"`},
		},
		{
			name: "phoneNumberIds item is a list",
			in:   minimalPool + "phoneNumberIds:\n  - [p1]\n",
			want: &FileError{Path: "c.yaml", Line: 7, Column: 5, Key: "phoneNumberIds[0]", Msg: `must be a phone number id, or keys such as {id: p1, number: "+14155550100"}, got a list`},
		},
		{
			name: "phoneNumberIds item is nothing",
			in:   minimalPool + "phoneNumberIds:\n  - p1\n  -\n",
			want: &FileError{Path: "c.yaml", Line: 8, Column: 4, Key: "phoneNumberIds[1]", Msg: `must be a phone number id, or keys such as {id: p1, number: "+14155550100"}, got nothing`},
		},
		{
			name: "phoneNumberIds item alias",
			in:   minimalPool + "phoneNumberIds:\n  - &x p1\n  - *x\n",
			want: &FileError{Path: "c.yaml", Line: 8, Column: 5, Key: "phoneNumberIds[1]", Msg: "aliases (*x) are not supported; write the value out"},
		},
		{
			name: "unknown phoneNumberIds item key",
			in:   minimalPool + "phoneNumberIds:\n  - {id: p1, numbr: \"+14155550100\"}\n",
			want: &FileError{Path: "c.yaml", Line: 7, Column: 14, Key: "phoneNumberIds[0].numbr", Msg: "unknown key (did you mean number?); known keys: id, number, maxConcurrentCalls"},
		},
		{
			name: "phoneNumberIds item key written twice",
			in:   minimalPool + "phoneNumberIds:\n  - id: p1\n    id: p2\n",
			want: &FileError{Path: "c.yaml", Line: 8, Column: 5, Key: "phoneNumberIds[0].id", Msg: "written twice; first on line 7"},
		},
		{
			name: "phoneNumberIds item cap is text",
			in:   minimalPool + "phoneNumberIds: [{id: p1, maxConcurrentCalls: many}]\n",
			want: &FileError{Path: "c.yaml", Line: 6, Column: 47, Key: "phoneNumberIds[0].maxConcurrentCalls", Msg: `must be a whole number, got "many"`},
		},
		{
			name: "callerIdMaxConcurrentCalls fractional",
			in:   minimal + "callerIdMaxConcurrentCalls: 1.5\n",
			want: &FileError{Path: "c.yaml", Line: 7, Column: 29, Key: "callerIdMaxConcurrentCalls", Msg: "must be a whole number, got 1.5"},
		},
		{
			name: "callerIdStrategy is a list",
			in:   minimal + "callerIdStrategy: [local]\n",
			want: &FileError{Path: "c.yaml", Line: 7, Column: 19, Key: "callerIdStrategy", Msg: "must be text, got a list"},
		},
		{
			name: "neither phoneNumberId nor phoneNumberIds",
			in:   minimalPool,
			want: &FileError{Path: "c.yaml", Key: "phoneNumberId", Msg: "missing; set it to the id of the Interactly phone number the calls come from, or list several under phoneNumberIds"},
		},
		{
			name: "both phoneNumberId and phoneNumberIds",
			in:   minimal + "phoneNumberIds: [p2, p3]\n",
			want: &FileError{Path: "c.yaml", Line: 7, Column: 17, Key: "phoneNumberIds", Msg: "phoneNumberId is set too; keep one: phoneNumberId for a single caller ID, or phoneNumberIds for a pool"},
		},
		{
			name: "phoneNumberIds empty",
			in:   minimalPool + "phoneNumberIds: []\n",
			want: &FileError{Path: "c.yaml", Line: 6, Column: 17, Key: "phoneNumberIds", Msg: "must list at least one Interactly phone number id, such as [p1, p2]; or remove it and use phoneNumberId"},
		},
		{
			name: "phoneNumberIds nothing, with phoneNumberId",
			in:   minimal + "phoneNumberIds:\n",
			want: &FileError{Path: "c.yaml", Line: 7, Column: 16, Key: "phoneNumberIds", Msg: "must list at least one Interactly phone number id, such as [p1, p2]; or remove it and use phoneNumberId"},
		},
		{
			name: "pool id empty",
			in:   minimalPool + "phoneNumberIds: [p1, \"\"]\n",
			want: &FileError{Path: "c.yaml", Line: 6, Column: 22, Key: "phoneNumberIds[1]", Msg: "missing; set it to the id of an Interactly phone number the calls may come from"},
		},
		{
			name: "pool id missing from keys",
			in:   minimalPool + "phoneNumberIds:\n  - number: \"+14155550100\"\n",
			want: &FileError{Path: "c.yaml", Line: 7, Column: 5, Key: "phoneNumberIds[0].id", Msg: "missing; set it to the id of an Interactly phone number the calls may come from"},
		},
		{
			name: "pool id with a space",
			in:   minimalPool + "phoneNumberIds: [{id: p 1}]\n",
			want: &FileError{Path: "c.yaml", Line: 6, Column: 23, Key: "phoneNumberIds[0].id", Msg: `must not contain spaces, got "p 1"`},
		},
		{
			name: "pool id twice",
			in:   minimalPool + "phoneNumberIds: [p1, p2, p1]\n",
			want: &FileError{Path: "c.yaml", Line: 6, Column: 26, Key: "phoneNumberIds[2]", Msg: `"p1" is listed twice, first as phoneNumberIds[0]; remove one`},
		},
		{
			name: "pool id twice, once as keys",
			in:   minimalPool + "phoneNumberIds:\n  - p1\n  - {id: p1, number: \"+14155550100\"}\n",
			want: &FileError{Path: "c.yaml", Line: 8, Column: 10, Key: "phoneNumberIds[1].id", Msg: `"p1" is listed twice, first as phoneNumberIds[0]; remove one`},
		},
		{
			name: "pool number too short",
			in:   minimalPool + "phoneNumberIds: [{id: p1, number: 555-0100}]\n",
			want: &FileError{Path: "c.yaml", Line: 6, Column: 35, Key: "phoneNumberIds[0].number", Msg: `cannot use "555-0100": not a valid US number (no area code?); write the number the calls come from with its country code, e.g. "+14155550100"`},
		},
		{
			name: "pool number with letters",
			in:   minimalPool + "phoneNumberIds: [{id: p1, number: 1-800-FLOWERS}]\n",
			want: &FileError{Path: "c.yaml", Line: 6, Column: 35, Key: "phoneNumberIds[0].number", Msg: `cannot use "1-800-FLOWERS": contains letters; write the number with digits only`},
		},
		{
			name: "pool number of another region without a country code",
			in:   minimalPool + "defaultRegion: GB\nphoneNumberIds: [{id: p1, number: (415) 555-0100}]\n",
			want: &FileError{Path: "c.yaml", Line: 7, Column: 35, Key: "phoneNumberIds[0].number", Msg: `cannot use "(415) 555-0100": not a valid GB number; write the number the calls come from with its country code, e.g. "+14155550100"`},
		},
		{
			name: "local without a number",
			in:   minimalPool + "callerIdStrategy: local\nphoneNumberIds: [{id: p1, number: \"+14155550100\"}, p2]\n",
			want: &FileError{Path: "c.yaml", Line: 7, Column: 52, Key: "phoneNumberIds[1].number", Msg: `missing; callerIdStrategy local picks by number, so give every entry its number, e.g. {id: p2, number: "+14155550100"}`},
		},
		{
			name: "local with phoneNumberId",
			in:   minimal + "callerIdStrategy: local\n",
			want: &FileError{Path: "c.yaml", Line: 7, Column: 19, Key: "callerIdStrategy", Msg: "local picks from a pool by number, but there is only phoneNumberId; list the pool under phoneNumberIds, each entry with its number, or remove callerIdStrategy"},
		},
		{
			name: "unknown callerIdStrategy",
			in:   minimal + "callerIdStrategy: lcoal\n",
			want: &FileError{Path: "c.yaml", Line: 7, Column: 19, Key: "callerIdStrategy", Msg: `must be rotate or local, got "lcoal" (did you mean local?)`},
		},
		{
			name: "callerIdStrategy written empty",
			in:   minimal + "callerIdStrategy:\n",
			want: &FileError{Path: "c.yaml", Line: 7, Column: 18, Key: "callerIdStrategy", Msg: `must be rotate or local, got ""`},
		},
		{
			name: "negative pool cap",
			in:   minimalPool + "phoneNumberIds: [{id: p1, maxConcurrentCalls: -1}]\n",
			want: &FileError{Path: "c.yaml", Line: 6, Column: 47, Key: "phoneNumberIds[0].maxConcurrentCalls", Msg: "must be 0 (no cap of its own) or more, got -1"},
		},
		{
			name: "negative callerIdMaxConcurrentCalls",
			in:   minimal + "callerIdMaxConcurrentCalls: -2\n",
			want: &FileError{Path: "c.yaml", Line: 7, Column: 29, Key: "callerIdMaxConcurrentCalls", Msg: "must be 0 (no cap) or more, got -2"},
		},

		// endAt and notify.
		{
			name: "endAt a date",
			in:   minimal + "endAt: 2026-12-24\n",
			want: &FileError{Path: "c.yaml", Line: 7, Column: 8, Key: "endAt", Msg: `must be a date and time with an offset (RFC 3339), such as 2026-12-01T09:00:00-05:00 or 2026-12-01T14:00:00Z, got "2026-12-24"; add the time and the offset, e.g. T09:00:00-05:00`},
		},
		{
			name: "endAt before startAt",
			in:   minimal + "startAt: 2026-12-01T09:00:00-05:00\nendAt: 2026-12-01T13:00:00Z\n",
			want: &FileError{Path: "c.yaml", Line: 8, Column: 8, Key: "endAt", Msg: "must be after startAt (2026-12-01T09:00:00-05:00), got 2026-12-01T13:00:00Z; move endAt later, or startAt earlier"},
		},
		{
			name: "endAt at startAt",
			in:   minimal + "endAt: 2026-12-01T14:00:00Z\nstartAt: 2026-12-01T09:00:00-05:00\n",
			want: &FileError{Path: "c.yaml", Line: 7, Column: 8, Key: "endAt", Msg: "must be after startAt (2026-12-01T09:00:00-05:00), got 2026-12-01T14:00:00Z; move endAt later, or startAt earlier"},
		},
		{
			name: "notify is text",
			in:   minimal + "notify: https://example.com/hook\n",
			want: &FileError{Path: "c.yaml", Line: 7, Column: 9, Key: "notify", Msg: `must be a set of keys (url, secret, secretEnv, events), got "https://example.com/hook"`},
		},
		{
			name: "unknown notify key",
			in:   minimal + "notify:\n  url: https://example.com/hook\n  secrt: x\n",
			want: &FileError{Path: "c.yaml", Line: 9, Column: 3, Key: "notify.secrt", Msg: "unknown key (did you mean secret?); known keys: url, secret, secretEnv, events"},
		},
		{
			name: "notify.events not a list",
			in:   minimal + "notify:\n  url: https://example.com/hook\n  events: contact.finished\n",
			want: &FileError{Path: "c.yaml", Line: 9, Column: 11, Key: "notify.events", Msg: `must be a list such as [contact.finished, campaign.finished], got "contact.finished"`},
		},
		{
			name: "notify.secret a list",
			in:   minimal + "notify:\n  url: https://example.com/hook\n  secret: [a, b]\n",
			want: &FileError{Path: "c.yaml", Line: 9, Column: 11, Key: "notify.secret", Msg: "must be text, got a list"},
		},
		{
			name: "notify empty",
			in:   minimal + "notify:\n",
			want: &FileError{Path: "c.yaml", Line: 7, Column: 1, Key: "notify.url", Msg: "missing; set the http or https URL that receives the notifications, e.g. https://example.com/dialer-events"},
		},
		{
			name: "notify.url relative",
			in:   minimal + "notify: {url: /hooks/dialer}\n",
			want: &FileError{Path: "c.yaml", Line: 7, Column: 15, Key: "notify.url", Msg: `must be an absolute http or https URL such as https://example.com/dialer-events, got "/hooks/dialer"`},
		},
		{
			name: "notify.url without a scheme",
			in:   minimal + "notify: {url: example.com/hook}\n",
			want: &FileError{Path: "c.yaml", Line: 7, Column: 15, Key: "notify.url", Msg: `must be an absolute http or https URL such as https://example.com/dialer-events, got "example.com/hook"`},
		},
		{
			name: "notify.url ftp, password and query redacted",
			in:   minimal + "notify: {url: \"ftp://ops:hunter2@example.com/hook?token=t0k3n#frag\"}\n",
			want: &FileError{Path: "c.yaml", Line: 7, Column: 15, Key: "notify.url", Msg: `must be an absolute http or https URL such as https://example.com/dialer-events, got "ftp://ops:xxxxx@example.com/hook?xxxxx"`},
		},
		{
			name: "notify.url without a host",
			in:   minimal + "notify: {url: \"https:///hook\"}\n",
			want: &FileError{Path: "c.yaml", Line: 7, Column: 15, Key: "notify.url", Msg: `must be an absolute http or https URL such as https://example.com/dialer-events, got "https:///hook"`},
		},
		{
			name: "notify.url not a URL, password not repeated",
			in:   minimal + "notify: {url: \"https://ops:hunter2@exa mple.com/\"}\n",
			want: &FileError{Path: "c.yaml", Line: 7, Column: 15, Key: "notify.url", Msg: `is not a URL (invalid character " " in host name); write an absolute http or https URL such as https://example.com/dialer-events`},
		},
		{
			name: "notify secret and secretEnv",
			in:   minimal + "notify:\n  url: https://example.com/hook\n  secret: s3cret-value\n  secretEnv: NOTIFY_SECRET\n",
			want: &FileError{Path: "c.yaml", Line: 10, Column: 14, Key: "notify.secretEnv", Msg: "secret is set too; keep one: secretEnv, naming an environment variable that holds the secret (which keeps it out of Redis), or secret"},
		},
		{
			name: "notify secretEnv holds a secret, not shown",
			in:   minimal + "notify:\n  url: https://example.com/hook\n  secretEnv: s3cret-value!\n",
			want: &FileError{Path: "c.yaml", Line: 9, Column: 14, Key: "notify.secretEnv", Msg: "must be the name of an environment variable, such as DIALER_NOTIFY_SECRET: letters, digits and _, not starting with a digit; the secret itself goes in that variable (the value is not shown here in case it is the secret)"},
		},
		{
			name: "notify secretEnv starts with a digit",
			in:   minimal + "notify:\n  url: https://example.com/hook\n  secretEnv: 1SECRET\n",
			want: &FileError{Path: "c.yaml", Line: 9, Column: 14, Key: "notify.secretEnv", Msg: "must be the name of an environment variable, such as DIALER_NOTIFY_SECRET: letters, digits and _, not starting with a digit; the secret itself goes in that variable (the value is not shown here in case it is the secret)"},
		},
		{
			name: "notify unknown event",
			in:   minimal + "notify:\n  url: https://example.com/hook\n  events: [contact.finish]\n",
			want: &FileError{Path: "c.yaml", Line: 9, Column: 12, Key: "notify.events[0]", Msg: `unknown event "contact.finish" (did you mean contact.finished?); use contact.finished or campaign.finished`},
		},
		{
			name: "notify unknown event, no suggestion",
			in:   minimal + "notify:\n  url: https://example.com/hook\n  events: [call.started]\n",
			want: &FileError{Path: "c.yaml", Line: 9, Column: 12, Key: "notify.events[0]", Msg: `unknown event "call.started"; use contact.finished or campaign.finished`},
		},
		{
			name: "notify event twice",
			in:   minimal + "notify:\n  url: https://example.com/hook\n  events:\n    - campaign.finished\n    - contact.finished\n    - campaign.finished\n",
			want: &FileError{Path: "c.yaml", Line: 12, Column: 7, Key: "notify.events[2]", Msg: "campaign.finished is listed twice, first as notify.events[0]; remove one"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseChecked("c.yaml", []byte(tt.in))
			var got *FileError
			if !errors.As(err, &got) {
				t.Fatalf("error = %v, want a *FileError", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFileErrorError(t *testing.T) {
	tests := []struct {
		name string
		err  *FileError
		want string
	}{
		{
			name: "everything",
			err:  &FileError{Path: "campaigns/x.yaml", Line: 7, Column: 3, Key: "retry.maxAttempts", Msg: "must be between 1 and 10, got 0"},
			want: "campaigns/x.yaml:7:3: retry.maxAttempts: must be between 1 and 10, got 0",
		},
		{
			name: "no position",
			err:  &FileError{Path: "campaigns/x.yaml", Key: "name", Msg: "missing"},
			want: "campaigns/x.yaml: name: missing",
		},
		{
			name: "no key",
			err:  &FileError{Path: "campaigns/x.yaml", Line: 2, Msg: "not valid YAML"},
			want: "campaigns/x.yaml:2: not valid YAML",
		},
		{
			name: "from JSON",
			err:  &FileError{Key: "name", Msg: "missing"},
			want: "name: missing",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestFileJSON checks the File survives the JSON round trip the Store puts it through.
func TestFileJSON(t *testing.T) {
	f, err := ParseFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	roundTripJSON(t, f, `"assistantId":"678a253ca6d866573043502e"`, `"delay":"5s"`, `"retryOn":["busy","no-answer"]`, `"callsPerSecond":2`)
}

func TestDuration(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{30 * time.Minute, "30m"},
		{2 * time.Hour, "2h"},
		{90 * time.Minute, "1h30m"},
		{5 * time.Second, "5s"},
		{1500 * time.Millisecond, "1.5s"},
		{100 * time.Millisecond, "100ms"},
		{0, "0s"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := Duration(tt.in).String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			var back Duration
			if err := back.UnmarshalText([]byte(tt.want)); err != nil || back.D() != tt.in {
				t.Errorf("UnmarshalText(%q) = %v, %v", tt.want, back.D(), err)
			}
			out, err := yaml.Marshal(struct{ D Duration }{Duration(tt.in)})
			if err != nil || string(out) != "d: "+tt.want+"\n" {
				t.Errorf("yaml.Marshal = %q, %v", out, err)
			}
		})
	}
}

func TestAssistantOverridesFor(t *testing.T) {
	tests := []struct {
		name      string
		overrides map[string]any
		vars      map[string]string
		want      map[string]any
	}{
		{
			name: "none",
			vars: map[string]string{"First Name": "Ada"},
			want: map[string]any{"dynamicVariables": map[string]any{"First Name": "Ada"}},
		},
		{
			name: "row wins over file",
			overrides: map[string]any{
				"firstMessage":     "Hi",
				"dynamicVariables": map[string]any{"clinic": "Main St", "season": "2025"},
			},
			vars: map[string]string{"clinic": "Oakland", "First Name": "Ada"},
			want: map[string]any{
				"firstMessage":     "Hi",
				"dynamicVariables": map[string]any{"clinic": "Oakland", "season": "2025", "First Name": "Ada"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &File{AssistantOverrides: tt.overrides}
			if diff := cmp.Diff(tt.want, f.AssistantOverridesFor(tt.vars)); diff != "" {
				t.Errorf("AssistantOverridesFor (-want +got):\n%s", diff)
			}
			if tt.overrides != nil {
				if dv := tt.overrides["dynamicVariables"].(map[string]any); len(dv) != 2 {
					t.Errorf("the File's dynamicVariables changed: %v", dv)
				}
			}
		})
	}
}

// FuzzParse checks that any input parses or fails with a *FileError, and that a File that
// validates survives the JSON round trip and still validates.
func FuzzParse(f *testing.F) {
	testutil.AddFileSeeds(f, "testdata/*.yaml", examplePath)
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("fuzz.yaml", data)
		if err == nil {
			file.WithDefaults()
			err = file.Validate()
		}
		if err != nil {
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("error %T %v, want *FileError", err, err)
			}
			return
		}
		out, err := json.Marshal(file)
		if err != nil {
			t.Fatalf("json.Marshal: %v", err)
		}
		var back File
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("json.Unmarshal(%s): %v", out, err)
		}
		back.WithDefaults()
		if err := back.Validate(); err != nil {
			t.Fatalf("after the JSON round trip: %v", err)
		}
	})
}

func TestCallingWindow(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		want       *CallingWindowConfig
		wantWindow string
	}{
		{
			name: "none",
			in:   minimal,
		},
		{
			name: "every key",
			in: minimal + `defaultTimezone: America/New_York
callingWindow:
  days: [mon, tue, wed, thu, fri]
  start: "09:00"
  end: "19:00"
  timezone: contact
  timezoneColumn: tz
`,
			want: &CallingWindowConfig{
				Days: []string{"mon", "tue", "wed", "thu", "fri"}, Start: "09:00", End: "19:00",
				Timezone: "contact", TimezoneColumn: "tz",
			},
			wantWindow: "mon-fri 09:00-19:00",
		},
		{
			name:       "days left out, unquoted times, one zone",
			in:         minimal + "callingWindow: {start: 8:00, end: 21:00, timezone: America/Chicago}\n",
			want:       &CallingWindowConfig{Start: "8:00", End: "21:00", Timezone: "America/Chicago"},
			wantWindow: "mon-sun 08:00-21:00",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustParse(t, tt.in)
			if diff := cmp.Diff(tt.want, f.CallingWindow); diff != "" {
				t.Errorf("CallingWindow (-want +got):\n%s", diff)
			}
			w, err := f.Window()
			if err != nil {
				t.Fatal(err)
			}
			if (w == nil) != (tt.want == nil) || (w != nil && w.String() != tt.wantWindow) {
				t.Errorf("Window() = %v, want %q", w, tt.wantWindow)
			}
		})
	}
}

func TestContactZones(t *testing.T) {
	contact := minimal + `defaultTimezone: America/Denver
callingWindow: {start: "09:00", end: "19:00", timezone: contact, timezoneColumn: tz}
`
	tests := []struct {
		name       string
		in         string
		e164       string
		vars       map[string]string
		want       []string
		wantSource string
		wantErr    string
	}{
		{name: "no window", in: minimal, e164: "+12125550100"},
		{
			name: "one zone for every contact",
			in:   minimal + "callingWindow: {start: \"09:00\", end: \"19:00\", timezone: America/Chicago}\n",
			e164: "+12125550100", vars: map[string]string{"tz": "Europe/London"},
			want: []string{"America/Chicago"}, wantSource: "campaign",
		},
		{
			name: "the column wins",
			in:   contact, e164: "+12125550100", vars: map[string]string{"tz": "Europe/London"},
			want: []string{"Europe/London"}, wantSource: "column",
		},
		{
			name: "blank column: the number",
			in:   contact, e164: "+12085550100", vars: map[string]string{"tz": ""},
			want: []string{"America/Boise", "America/Los_Angeles"}, wantSource: "number",
		},
		{
			name: "invalid number: the default",
			in:   contact, e164: "+15555555555",
			want: []string{"America/Denver"}, wantSource: "default",
		},
		{
			name: "bad column",
			in:   contact, e164: "+12125550100", vars: map[string]string{"tz": "PST"},
			wantErr: `time zone column: unknown time zone "PST"; use an IANA name such as America/New_York or Europe/London`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustParse(t, tt.in)
			zones, source, err := f.ContactZones(tt.e164, tt.vars)
			if testutil.WantErr(t, err, tt.wantErr) {
				return
			}
			var got []string
			for _, z := range zones {
				got = append(got, z.String())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("zones (-want +got):\n%s", diff)
			}
			if source != tt.wantSource {
				t.Errorf("source = %q, want %q", source, tt.wantSource)
			}
		})
	}
}

// TestParseFileSuppressionFiles checks that ParseFile takes relative suppression file paths
// from the campaign file's directory, and keeps absolute ones.
func TestParseFileSuppressionFiles(t *testing.T) {
	dir := t.TempDir()
	abs := filepath.Join(dir, "elsewhere", "global.csv")
	path := filepath.Join(dir, "campaigns", "c.yaml")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	data := minimal + "suppressionFiles: [dnc.csv, ../lists/./optout.csv, " + abs + "]\n"
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "campaigns", "dnc.csv"), filepath.Join(dir, "lists", "optout.csv"), abs}
	if diff := cmp.Diff(want, f.SuppressionFiles); diff != "" {
		t.Errorf("SuppressionFiles (-want +got):\n%s", diff)
	}
}

// TestFileJSONWindow checks the new keys survive the JSON round trip the Store puts a File
// through.
func TestFileJSONWindow(t *testing.T) {
	f := mustParse(t, minimal+`defaultTimezone: America/New_York
callingWindow: {days: [sat], start: "10:00", end: "14:00", timezone: contact, timezoneColumn: tz}
suppressionFiles: [/lists/dnc.csv]
`)
	roundTripJSON(t, f, `"defaultTimezone":"America/New_York","callingWindow":{"days":["sat"],"start":"10:00","end":"14:00","timezone":"contact","timezoneColumn":"tz"},"suppressionFiles":["/lists/dnc.csv"]`)
}

func TestFrequencyCapAndStartAt(t *testing.T) {
	tests := []struct {
		name        string
		in          string
		want        *FrequencyCapConfig
		wantCap     frequency.Cap
		wantStartAt time.Time
	}{
		{
			name: "neither",
			in:   minimal,
		},
		{
			name: "both",
			in: minimal + `frequencyCap:
  maxCalls: 3
  per: 24h
startAt: 2026-12-01T09:00:00-05:00
`,
			want:        &FrequencyCapConfig{MaxCalls: 3, Per: Duration(24 * time.Hour)},
			wantCap:     frequency.Cap{MaxCalls: 3, Per: 24 * time.Hour},
			wantStartAt: time.Date(2026, 12, 1, 14, 0, 0, 0, time.UTC),
		},
		{
			name:        "smallest, quoted UTC time",
			in:          minimal + "frequencyCap: {maxCalls: 1, per: 1m}\nstartAt: \"2026-12-01T14:00:00Z\"\n",
			want:        &FrequencyCapConfig{MaxCalls: 1, Per: Duration(time.Minute)},
			wantCap:     frequency.Cap{MaxCalls: 1, Per: time.Minute},
			wantStartAt: time.Date(2026, 12, 1, 14, 0, 0, 0, time.UTC),
		},
		{
			name:        "largest, fractional seconds",
			in:          minimal + "frequencyCap: {maxCalls: 100, per: 720h}\nstartAt: 2026-12-01T09:00:00.5+01:00\n",
			want:        &FrequencyCapConfig{MaxCalls: 100, Per: Duration(720 * time.Hour)},
			wantCap:     frequency.Cap{MaxCalls: 100, Per: 720 * time.Hour},
			wantStartAt: time.Date(2026, 12, 1, 8, 0, 0, 5e8, time.UTC),
		},
		{
			name:        "startAt in the past",
			in:          minimal + "startAt: 2020-01-01T00:00:00Z\n",
			wantStartAt: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustParse(t, tt.in)
			if diff := cmp.Diff(tt.want, f.FrequencyCap); diff != "" {
				t.Errorf("FrequencyCap (-want +got):\n%s", diff)
			}
			if f.FrequencyCap != nil {
				if got := f.FrequencyCap.Cap(); got != tt.wantCap {
					t.Errorf("Cap() = %+v, want %+v", got, tt.wantCap)
				}
				if err := f.FrequencyCap.Cap().Validate(); err != nil {
					t.Errorf("Cap().Validate() = %v", err)
				}
			}
			switch {
			case f.StartAt == nil && !tt.wantStartAt.IsZero():
				t.Errorf("StartAt = nil, want %v", tt.wantStartAt)
			case f.StartAt != nil && !f.StartAt.Equal(tt.wantStartAt):
				t.Errorf("StartAt = %v, want %v", f.StartAt, tt.wantStartAt)
			}
		})
	}
}

func TestFileJSONFrequencyCap(t *testing.T) {
	f := mustParse(t, minimal+`frequencyCap: {maxCalls: 3, per: 24h}
startAt: 2026-12-01T09:00:00-05:00
`)
	roundTripJSON(t, f, `"frequencyCap":{"maxCalls":3,"per":"24h"},"startAt":"2026-12-01T09:00:00-05:00"`)

	// Without the keys, the JSON leaves them out.
	f = mustParse(t, minimal)
	data, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(data); strings.Contains(s, "frequencyCap") || strings.Contains(s, "startAt") {
		t.Errorf("JSON %s holds frequencyCap or startAt", s)
	}

	// A File from JSON has no lines, but its errors still name the key.
	checkJSONFileError(t, `{"name":"x","assistantId":"a","phoneNumberId":"p","contacts":{"numberColumn":"phone"},"frequencyCap":{"maxCalls":3,"per":"10s"}}`, &FileError{Key: "frequencyCap.per", Msg: "must be at least 1m, got 10s; write days in hours, e.g. 168h for a week"})
}

func ptr[T any](v T) *T { return &v }

func TestCallerIDs(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []CallerID
	}{
		{
			name: "one id, no cap",
			in:   minimal,
			want: []CallerID{{ID: "p1"}},
		},
		{
			name: "one id, capped",
			in:   minimal + "callerIdMaxConcurrentCalls: 4\n",
			want: []CallerID{{ID: "p1", MaxConcurrentCalls: 4}},
		},
		{
			name: "pool: own caps win, the file's fills in",
			in: minimalPool + `callerIdMaxConcurrentCalls: 2
phoneNumberIds:
  - p1
  - {id: p2, number: (415) 555-0101, maxConcurrentCalls: 5}
  - {id: p3, maxConcurrentCalls: 0}
`,
			want: []CallerID{
				{ID: "p1", MaxConcurrentCalls: 2},
				{ID: "p2", Number: "+14155550101", MaxConcurrentCalls: 5},
				{ID: "p3", MaxConcurrentCalls: 2},
			},
		},
		{
			name: "pool without caps",
			in:   minimalPool + "phoneNumberIds: [p1, {id: p2, maxConcurrentCalls: 1}]\n",
			want: []CallerID{{ID: "p1"}, {ID: "p2", MaxConcurrentCalls: 1}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mustParse(t, tt.in)
			got := f.CallerIDs()
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("CallerIDs() (-want +got):\n%s", diff)
			}
			got[0].ID = "changed"
			if f.CallerIDs()[0].ID == "changed" {
				t.Error("CallerIDs() shares its slice with the File")
			}
		})
	}
	if got := (&File{}).CallerIDs(); got != nil {
		t.Errorf("CallerIDs() of an empty File = %v, want nil", got)
	}
}

// TestFileJSONCallerIDsAndNotify checks the caller-ID, endAt and notify keys survive the JSON
// round trip the Store puts a File through.
func TestFileJSONCallerIDsAndNotify(t *testing.T) {
	f := mustParse(t, minimalPool+`phoneNumberIds: [{id: p1, number: "+14155550100"}, {id: p2, number: "415 555 0101", maxConcurrentCalls: 2}]
callerIdStrategy: local
callerIdMaxConcurrentCalls: 1
startAt: 2026-12-01T09:00:00-05:00
endAt: 2026-12-24T17:00:00-05:00
notify: {url: "https://example.com/hook", secretEnv: HOOK_SECRET}
`)
	got := roundTripJSON(t, f,
		`"phoneNumberIds":[{"id":"p1","number":"+14155550100"},{"id":"p2","number":"+14155550101","maxConcurrentCalls":2}],"callerIdStrategy":"local","callerIdMaxConcurrentCalls":1`,
		`"endAt":"2026-12-24T17:00:00-05:00","notify":{"url":"https://example.com/hook","secretEnv":"HOOK_SECRET","events":["contact.finished","campaign.finished"]}`)
	if diff := cmp.Diff(f.CallerIDs(), got.CallerIDs()); diff != "" {
		t.Errorf("CallerIDs() after the round trip (-want +got):\n%s", diff)
	}

	// A File from JSON names the key in errors, without a line.
	checkJSONFileError(t, `{"name":"x","assistantId":"a","phoneNumberId":"p","phoneNumberIds":[{"id":"q"}],"contacts":{"numberColumn":"phone"}}`, &FileError{Key: "phoneNumberIds", Msg: "phoneNumberId is set too; keep one: phoneNumberId for a single caller ID, or phoneNumberIds for a pool"})
}

// TestNotifySecretRedacted checks that printing or logging a File, in every way the code
// base does, shows neither the notify secret nor a password in its URL, while the JSON the
// Store keeps still holds the secret (the sender needs it).
func TestNotifySecretRedacted(t *testing.T) {
	const secret, password, token = "hmac-s3cret-7f41d0", "url-pw-93ac", "tok-5e2b"
	f := mustParse(t, minimal+"notify:\n  url: https://ops:"+password+"@hooks.example.com/dialer?token="+token+"\n  secret: "+secret+"\n")
	var out []string
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		out = append(out, fmt.Sprintf(format, f), fmt.Sprintf(format, *f), fmt.Sprintf(format, f.Notify))
	}
	for _, h := range []func(io.Writer) slog.Handler{
		func(w io.Writer) slog.Handler { return slog.NewJSONHandler(w, nil) },
		func(w io.Writer) slog.Handler { return slog.NewTextHandler(w, nil) },
	} {
		var buf bytes.Buffer
		log := slog.New(h(&buf))
		log.Info("campaign", "file", f, "value", *f, "notify", f.Notify)
		out = append(out, buf.String())
	}
	for _, s := range out {
		if strings.Contains(s, secret) || strings.Contains(s, password) || strings.Contains(s, token) {
			t.Errorf("output shows a secret: %s", s)
		}
		if !strings.Contains(s, "hooks.example.com") || !strings.Contains(s, "xxxxx") {
			t.Errorf("output lacks the redacted notify settings: %s", s)
		}
	}
	if f.Notify.Secret != secret || !strings.Contains(f.Notify.URL, password) || !strings.Contains(f.Notify.URL, token) {
		t.Errorf("printing changed the File: %+v", *f.Notify)
	}
	data, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"secret":"`+secret+`"`) {
		t.Errorf("JSON %s lacks the secret", data)
	}
}

// The rate's bounds are accepted; TestParseErrors has the rates just outside them.
func TestRateBoundsAccepted(t *testing.T) {
	for _, cps := range []string{"0.000278", "0.0002777777777777778", "1000"} {
		f, err := ParseChecked("c.yaml", []byte(minimal+"rateLimit:\n  callsPerSecond: "+cps+"\n"))
		if err != nil {
			t.Errorf("callsPerSecond %s: %v", cps, err)
			continue
		}
		if got := f.RateLimit.CallsPerSecond; got < MinCallsPerSecond || got > MaxCallsPerSecond {
			t.Errorf("callsPerSecond %s read as %v", cps, got)
		}
	}
}

// TestParseFileReminders: the production template parses and is safe as shipped: 30-minute
// retries, a calling window on the contact's clock (08:00-20:00, Monday to Saturday), a
// frequency cap and a suppression file that exists.
func TestParseFileReminders(t *testing.T) {
	f, err := ParseFile("../../campaigns/reminders.yaml")
	if err != nil {
		t.Fatal(err)
	}
	w := f.CallingWindow
	if f.Retry.Delay != Duration(30*time.Minute) || w == nil || w.Timezone != "contact" || w.Start != "08:00" || w.End != "20:00" ||
		strings.Join(w.Days, ",") != "mon,tue,wed,thu,fri,sat" {
		t.Errorf("retry %+v, window %+v; want 30m retries and mon-sat 08:00-20:00 on the contact's clock", f.Retry, w)
	}
	if f.FrequencyCap == nil || f.FrequencyCap.MaxCalls == 0 || len(f.SuppressionFiles) == 0 {
		t.Errorf("frequency cap %+v, suppression files %v; want both", f.FrequencyCap, f.SuppressionFiles)
	}
	for _, p := range f.SuppressionFiles {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("suppression file %s: %v", p, err)
		}
	}
	example, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	if first, _, _ := strings.Cut(string(example), "\n"); !strings.Contains(first, "DEMO") {
		t.Errorf("example.yaml starts %q; its first line must say it is tuned for the demo", first)
	}
}

// roundTripJSON marshals f as the Store keeps it, checks that the JSON holds each of wants,
// and reads it back (with defaults, validated): the File read back must equal f, and is
// returned for further checks.
func roundTripJSON(t *testing.T, f *File, wants ...string) *File {
	t.Helper()
	data, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range wants {
		if !strings.Contains(string(data), want) {
			t.Errorf("JSON %s lacks %s", data, want)
		}
	}
	var got File
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	got.WithDefaults()
	if err := got.Validate(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(f, &got, ignoreSource); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	return &got
}

// checkJSONFileError reads a File from the JSON raw, fills its defaults and checks that
// Validate returns want: a File from JSON has no lines, but its errors still name the key.
func checkJSONFileError(t *testing.T, raw string, want *FileError) {
	t.Helper()
	var bad File
	if err := json.Unmarshal([]byte(raw), &bad); err != nil {
		t.Fatal(err)
	}
	bad.WithDefaults()
	var fe *FileError
	if err := bad.Validate(); !errors.As(err, &fe) {
		t.Fatalf("Validate() = %v, want a *FileError", err)
	} else if diff := cmp.Diff(want, fe); diff != "" {
		t.Errorf("Validate() (-want +got):\n%s", diff)
	}
}
