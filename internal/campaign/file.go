package campaign

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/nyaruka/phonenumbers"
	"go.yaml.in/yaml/v3"

	"github.com/dialerhq/dialer/internal/account"
	"github.com/dialerhq/dialer/internal/contactcsv"
	"github.com/dialerhq/dialer/internal/frequency"
	"github.com/dialerhq/dialer/internal/phone"
	"github.com/dialerhq/dialer/internal/window"
)

// maxFileBytes bounds a campaign file, which is a few dozen lines of YAML.
const maxFileBytes = 1 << 20

// File is a campaign file: what to call the contacts with and how hard to try. Its YAML form
// is documented, key by key, in campaigns/example.yaml. Parse reads it; WithDefaults fills
// what was left out; Validate checks it.
type File struct {
	// Name labels the campaign in status output and reports. Required; one line, at most
	// 100 characters.
	Name string `yaml:"name" json:"name"`
	// AssistantID is the Interactly assistant that makes the calls. Required.
	AssistantID string `yaml:"assistantId" json:"assistantId"`
	// PhoneNumberID is the Interactly phone number the calls come from. Required unless
	// PhoneNumberIDs is given; the two exclude each other.
	PhoneNumberID string `yaml:"phoneNumberId" json:"phoneNumberId"`
	// PhoneNumberIDs is a caller-ID pool: dials rotate across it (see CallerIDStrategy).
	// Each entry is written as an id, or as a mapping {id, number, maxConcurrentCalls}.
	// Optional, instead of PhoneNumberID.
	PhoneNumberIDs []CallerID `yaml:"phoneNumberIds,omitempty" json:"phoneNumberIds,omitempty"`
	// CallerIDStrategy picks a caller ID from the pool for each dial: CallerIDRotate (round
	// robin, the default) or CallerIDLocal (a number sharing the contact's country and area
	// code first, then its country, then any; every pool entry then needs its number).
	CallerIDStrategy string `yaml:"callerIdStrategy,omitempty" json:"callerIdStrategy,omitempty"`
	// CallerIDMaxConcurrentCalls caps the live calls of each caller ID that sets no
	// maxConcurrentCalls of its own, across every campaign using it (a trunk carries only so
	// many). Optional: 0 means no cap beyond rateLimit.maxConcurrentCalls.
	CallerIDMaxConcurrentCalls int `yaml:"callerIdMaxConcurrentCalls,omitempty" json:"callerIdMaxConcurrentCalls,omitempty"`
	// DefaultRegion is the ISO 3166 country code ("US", "GB") of numbers written without a
	// country code. Defaults to "US".
	DefaultRegion string `yaml:"defaultRegion" json:"defaultRegion"`
	// Contacts says how to read the contact file.
	Contacts ContactsConfig `yaml:"contacts" json:"contacts"`
	// Retry says when a contact is dialed again.
	Retry RetryConfig `yaml:"retry" json:"retry"`
	// RateLimit caps how fast and how many calls are placed, across all workers. It binds
	// beneath the account's own limits.
	RateLimit RateLimitConfig `yaml:"rateLimit" json:"rateLimit"`
	// Account names the Interactly account (package account) whose API key places the calls
	// and whose callsPerSecond and maxConcurrentCalls this campaign shares with the account's
	// other campaigns. Optional: "" means the default account (INTERACTLY_API_KEY).
	Account string `yaml:"account,omitempty" json:"account,omitempty"`
	// Priority orders the campaigns of one account when its limits bind: a higher tier gets
	// the slots and calls per second it can use before a lower one gets any. Optional:
	// defaults to 0; -100 to 100.
	Priority int `yaml:"priority,omitempty" json:"priority,omitempty"`
	// Weight is this campaign's proportional share within its priority tier when the
	// account's limits bind: weights 1 and 2 get a third and two thirds. Optional: defaults
	// to 1 (0 reads as 1 when the key is left out); 1 to 1000.
	Weight int `yaml:"weight,omitempty" json:"weight,omitempty"`
	// Poll says how calls are followed until they end.
	Poll PollConfig `yaml:"poll" json:"poll"`
	// DefaultTimezone is the IANA zone ("America/New_York") of a contact whose zone cannot be
	// told from the time zone column or the number. Required when CallingWindow.Timezone is
	// "contact"; optional, and unused, otherwise.
	DefaultTimezone string `yaml:"defaultTimezone,omitempty" json:"defaultTimezone,omitempty"`
	// CallingWindow says when, in local time, contacts may be called. Optional: nil means
	// at any time.
	CallingWindow *CallingWindowConfig `yaml:"callingWindow,omitempty" json:"callingWindow,omitempty"`
	// FrequencyCap limits how often one number is dialed across every campaign, this one's
	// dials and other campaigns' counting alike. Optional: nil means no limit beyond this
	// campaign's own retries.
	FrequencyCap *FrequencyCapConfig `yaml:"frequencyCap,omitempty" json:"frequencyCap,omitempty"`
	// StartAt is the time before which nothing in this campaign is dialed, written in
	// RFC 3339 with a time and an offset (2026-12-01T09:00:00-05:00). Optional: nil means as
	// soon as it is uploaded.
	StartAt *time.Time `yaml:"startAt,omitempty" json:"startAt,omitempty"`
	// EndAt is the time after which no dial of this campaign starts, RFC 3339 like StartAt;
	// contacts left then get the outcome expired. Optional: nil means no end.
	EndAt *time.Time `yaml:"endAt,omitempty" json:"endAt,omitempty"`
	// Retention is how long the campaign's data stays in Redis after it is done (every row
	// has its outcome): then it is archived, if the deployment has an archive, and deleted.
	// Written "30d", "12h" or "90m". Optional: nil means the deployment's default (dialer
	// serve --retention, 30 days unless set).
	Retention *Duration `yaml:"retention,omitempty" json:"retention,omitempty"`
	// Notify sends a signed POST for each final contact outcome and when the campaign is
	// done. Optional: nil sends nothing.
	Notify *NotifyConfig `yaml:"notify,omitempty" json:"notify,omitempty"`
	// SuppressionFiles are CSV files of numbers never to call in this campaign. Optional.
	// Parse keeps the paths as written; ParseFile makes each one absolute, taking a relative
	// path from the campaign file's directory.
	SuppressionFiles []string `yaml:"suppressionFiles,omitempty" json:"suppressionFiles,omitempty"`
	// Metadata is merged into each call's metadata. Optional; values are any YAML.
	Metadata map[string]any `yaml:"metadata,omitempty" json:"metadata,omitempty"`
	// AssistantOverrides is sent as each call's assistantOverrides, with the contact's row
	// merged over its dynamicVariables (see AssistantOverridesFor). Optional; values are any
	// YAML, except that dynamicVariables, when present, maps names to strings.
	AssistantOverrides map[string]any `yaml:"assistantOverrides,omitempty" json:"assistantOverrides,omitempty"`

	src source // where Parse found each key; empty for a File built in code or from JSON
}

// ContactsConfig says how to read the contact file.
type ContactsConfig struct {
	// NumberColumn is the header of the column that holds the phone numbers. Required.
	NumberColumn string `yaml:"numberColumn" json:"numberColumn"`
	// NameColumn is the header of the column sent as customer.name. Optional.
	NameColumn string `yaml:"nameColumn,omitempty" json:"nameColumn,omitempty"`
	// Delimiter separates fields: ",", ";" or "\t". Empty means detect it from the header line.
	Delimiter string `yaml:"delimiter,omitempty" json:"delimiter,omitempty"`
	// Encoding is the contact file's character encoding: utf-8, windows-1252 or latin-1
	// (see contactcsv.ParseEncoding). Empty means utf-8; a file that is not then is refused.
	Encoding string `yaml:"encoding,omitempty" json:"encoding,omitempty"`
}

// DelimiterRune returns Delimiter as contactcsv.Options.Delimiter wants it: 0 to detect.
func (c ContactsConfig) DelimiterRune() rune {
	for _, r := range c.Delimiter {
		return r
	}
	return 0
}

// RetryConfig says when a contact is dialed again.
type RetryConfig struct {
	// MaxAttempts is how many times a contact is dialed at most, the first dial included:
	// 1 to 10. Defaults to 3.
	MaxAttempts int `yaml:"maxAttempts" json:"maxAttempts"`
	// RetryOn lists the attempt outcomes that lead to another attempt: any of busy, no-answer
	// and failed. An empty list means never retry. Defaults to [busy, no-answer].
	RetryOn []Outcome `yaml:"retryOn" json:"retryOn"`
	// Delay is the time from the end of one attempt to the start of the next; not negative.
	// Defaults to 30m.
	Delay Duration `yaml:"delay" json:"delay"`
}

// MinCallsPerSecond and MaxCallsPerSecond bound rateLimit.callsPerSecond: from one call per
// hour to 1000 calls a second. The floor keeps every interval the dialer derives from the
// rate far inside time.Duration's range.
const (
	MinCallsPerSecond = 1.0 / 3600
	MaxCallsPerSecond = 1000
)

// RateLimitConfig caps how fast and how many calls are placed. Both limits hold across every
// worker process of the campaign.
type RateLimitConfig struct {
	// CallsPerSecond is how many calls may start per second, from MinCallsPerSecond (one
	// call per hour) to MaxCallsPerSecond (1000); it may be fractional (0.5 is one call every
	// 2 seconds). Defaults to 1.
	CallsPerSecond float64 `yaml:"callsPerSecond" json:"callsPerSecond"`
	// MaxConcurrentCalls is how many calls may be live at once, at least 1. Defaults to 10.
	MaxConcurrentCalls int `yaml:"maxConcurrentCalls" json:"maxConcurrentCalls"`
}

// PollConfig says how a call is followed until it ends.
type PollConfig struct {
	// Interval is the time between two looks at a live call, at least 100ms. Defaults to 5s.
	Interval Duration `yaml:"interval" json:"interval"`
	// AnalysisWait is how long to keep looking at an ended call for its analysis (summary,
	// success evaluation) before recording it without one; not negative. Defaults to 30s.
	AnalysisWait Duration `yaml:"analysisWait" json:"analysisWait"`
}

// CallingWindowConfig is a weekly calling window read on each contact's clock (see
// window.Window): a contact is dialed only while, in every zone it may be in, the local day is
// one of Days and the local time is at or after Start and before End. A call may start just
// before End and run past it.
type CallingWindowConfig struct {
	// Days the window opens on: any of mon, tue, wed, thu, fri, sat and sun. Defaults to all
	// seven.
	Days []string `yaml:"days,omitempty" json:"days,omitempty"`
	// Start is the local time the window opens, "HH:MM" on a 24-hour clock, inclusive.
	// Required.
	Start string `yaml:"start" json:"start"`
	// End is the local time the window shuts, "HH:MM", exclusive; after Start, since a window
	// cannot run past midnight ("24:00" is the end of the day). Required.
	End string `yaml:"end" json:"end"`
	// Timezone is whose clock the window is read on: "contact", each contact's own (from
	// TimezoneColumn, else its number, else DefaultTimezone), or one IANA zone for every
	// contact, such as "America/Chicago". Required.
	Timezone string `yaml:"timezone" json:"timezone"`
	// TimezoneColumn is the header of a contact file column holding an IANA zone; a contact
	// whose cell is not blank is called on that zone's clock, whatever its number says.
	// Optional; only with Timezone "contact".
	TimezoneColumn string `yaml:"timezoneColumn,omitempty" json:"timezoneColumn,omitempty"`
}

// FrequencyCapConfig caps the dials to one number across every campaign: at most MaxCalls in
// any window of Per. A capped attempt waits until the number may be dialed again.
type FrequencyCapConfig struct {
	// MaxCalls is how many dials a number may get within Per, 1 to 100. Required.
	MaxCalls int `yaml:"maxCalls" json:"maxCalls"`
	// Per is the length of the sliding window, at least 1m. Required.
	Per Duration `yaml:"per" json:"per"`
}

// Cap returns c as a frequency.Cap. c must not be nil.
func (c *FrequencyCapConfig) Cap() frequency.Cap {
	return frequency.Cap{MaxCalls: c.MaxCalls, Per: c.Per.D()}
}

// TimezoneContact is the CallingWindowConfig.Timezone that reads the window on each
// contact's own clock.
const TimezoneContact = "contact"

// Duration is a time.Duration that YAML and JSON write as a Go duration string: "30m",
// "1h30m", "1.5s".
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats d like time.Duration.String without its zero units: "30m" rather than
// "30m0s".
func (d Duration) String() string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// MarshalText writes d as String does.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads a Go duration string ("30m", "1h30m").
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// FileError is a campaign file that cannot be used. Its Error reads
// "campaigns/x.yaml:7:3: retry.maxAttempts: must be between 1 and 10, got 0", leaving out
// what is not known.
type FileError struct {
	Path   string // the file as given to Parse; "" when unknown
	Line   int    // 1-based line; 0 when unknown (the key is missing, or the File came from JSON)
	Column int    // 1-based column; 0 when unknown
	Key    string // dotted path of the key, e.g. "retry.maxAttempts"; "" for the whole file
	Msg    string // what is wrong and, where it helps, what to do
}

// Error returns "path:line:column: key: message", leaving out what is unknown.
func (e *FileError) Error() string {
	s := contactcsv.ErrorPrefix(e.Path, e.Line, e.Column)
	if e.Key != "" {
		s += e.Key + ": "
	}
	return s + e.Msg
}

// ParseFile reads the campaign file at path, fills in defaults and validates it. Errors about
// the contents are a *FileError.
func ParseFile(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read campaign file: %w", err)
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, maxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read campaign file %s: %w", path, err)
	}
	if len(data) > maxFileBytes {
		return nil, &FileError{Path: path, Msg: "file is larger than 1 MiB; a campaign file is a few lines of YAML (is this the contact file?)"}
	}
	f, err := ParseChecked(path, data)
	if err != nil {
		return nil, err
	}
	if len(f.SuppressionFiles) > 0 {
		dir, err := filepath.Abs(filepath.Dir(path))
		if err != nil {
			return nil, fmt.Errorf("read campaign file %s: %w", path, err)
		}
		for i, p := range f.SuppressionFiles {
			if !filepath.IsAbs(p) {
				p = filepath.Join(dir, p)
			}
			f.SuppressionFiles[i] = filepath.Clean(p)
		}
	}
	return f, nil
}

// Caller-ID strategies (File.CallerIDStrategy).
const (
	CallerIDRotate = "rotate" // round robin across the pool
	CallerIDLocal  = "local"  // same country and area code as the contact first
)

// CallerID is one entry of a caller-ID pool (File.PhoneNumberIDs).
type CallerID struct {
	// ID is the Interactly phoneNumberId. Required.
	ID string `yaml:"id" json:"id"`
	// Number is the number the calls come from, written as people write numbers and kept in
	// E.164 once Validate has run. Required by callerIdStrategy local; optional otherwise,
	// but checked when given.
	Number string `yaml:"number,omitempty" json:"number,omitempty"`
	// MaxConcurrentCalls caps this number's live calls across campaigns; not negative. 0: the
	// file's callerIdMaxConcurrentCalls applies (see File.CallerIDs).
	MaxConcurrentCalls int `yaml:"maxConcurrentCalls,omitempty" json:"maxConcurrentCalls,omitempty"`
}

// Notification events (NotifyConfig.Events).
const (
	NotifyContactFinished  = "contact.finished"  // a contact got its final outcome
	NotifyCampaignFinished = "campaign.finished" // every contact has its final outcome
)

// NotifyConfig configures outbound notifications: a POST to URL of each event as JSON, signed
// with HMAC-SHA256 of the body under the secret.
type NotifyConfig struct {
	// URL receives the POSTs: an absolute http or https URL. Required.
	URL string `yaml:"url" json:"url"`
	// Secret signs each body. Optional. It is kept in Redis with the campaign, but String,
	// GoString and LogValue (of a NotifyConfig or of a File) show it as xxxxx.
	Secret string `yaml:"secret,omitempty" json:"secret,omitempty"`
	// SecretEnv names an environment variable of the process that sends (dialer serve)
	// holding the secret instead, which keeps it out of Redis: letters, digits and _, not
	// starting with a digit. Optional; not with Secret.
	SecretEnv string `yaml:"secretEnv,omitempty" json:"secretEnv,omitempty"`
	// Events are the events sent, each at most once. Defaults, when empty, to both
	// NotifyContactFinished and NotifyCampaignFinished.
	Events []string `yaml:"events,omitempty" json:"events,omitempty"`
}

// ParseChecked decodes campaign file data (named path in errors), fills in defaults and
// validates it, as ParseFile does with a file's contents: errors about the contents are a
// *FileError. suppressionFiles are left as written.
func ParseChecked(path string, data []byte) (*File, error) {
	f, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	f.WithDefaults()
	if err := f.Validate(); err != nil {
		return nil, err
	}
	return f, nil
}

// Parse decodes a campaign file. path only names the file in errors. It refuses, with a
// *FileError naming the line and key, YAML syntax errors, an empty file, unknown or repeated
// keys, values of the wrong type and unparsable durations. It neither fills in defaults nor
// checks ranges and required keys: call WithDefaults and Validate, or use ParseFile.
func Parse(path string, data []byte) (*File, error) { return parse(path, data, true) }

// parse is Parse; with hints, an unknown key that is known elsewhere in the file's layout
// gets a "did you mean" naming where it belongs (see decoder.elsewhere).
func parse(path string, data []byte, hints bool) (*File, error) {
	f := &File{src: source{path: path, at: make(map[string]spot), bare: make(map[string]bool)}}
	d := &decoder{path: path, at: f.src.at, bare: f.src.bare, hints: hints}
	root, err := d.document(data)
	if err != nil {
		return nil, err
	}
	err = d.mapping(root, "", []field{
		{"name", d.str(&f.Name)},
		{"assistantId", d.str(&f.AssistantID)},
		{"phoneNumberId", d.str(&f.PhoneNumberID)},
		{"phoneNumberIds", d.callerIDs(&f.PhoneNumberIDs)},
		{"callerIdStrategy", d.str(&f.CallerIDStrategy)},
		{"callerIdMaxConcurrentCalls", d.integer(&f.CallerIDMaxConcurrentCalls)},
		{"defaultRegion", d.str(&f.DefaultRegion)},
		{"contacts", d.section(
			field{"numberColumn", d.str(&f.Contacts.NumberColumn)},
			field{"nameColumn", d.str(&f.Contacts.NameColumn)},
			field{"delimiter", d.str(&f.Contacts.Delimiter)},
			field{"encoding", d.str(&f.Contacts.Encoding)},
		)},
		{"retry", d.section(
			field{"maxAttempts", d.integer(&f.Retry.MaxAttempts)},
			field{"retryOn", d.outcomes(&f.Retry.RetryOn)},
			field{"delay", d.duration(&f.Retry.Delay)},
		)},
		{"rateLimit", d.section(
			field{"callsPerSecond", d.float(&f.RateLimit.CallsPerSecond)},
			field{"maxConcurrentCalls", d.integer(&f.RateLimit.MaxConcurrentCalls)},
		)},
		{"account", d.str(&f.Account)},
		{"priority", d.integer(&f.Priority)},
		{"weight", d.integer(&f.Weight)},
		{"poll", d.section(
			field{"interval", d.duration(&f.Poll.Interval)},
			field{"analysisWait", d.duration(&f.Poll.AnalysisWait)},
		)},
		{"defaultTimezone", d.str(&f.DefaultTimezone)},
		{"callingWindow", func(key string, v *yaml.Node) error {
			w := &CallingWindowConfig{}
			f.CallingWindow = w
			return d.mapping(v, key, []field{
				{"days", d.strs(&w.Days, "[mon, tue, wed, thu, fri]")},
				{"start", d.str(&w.Start)},
				{"end", d.str(&w.End)},
				{"timezone", d.str(&w.Timezone)},
				{"timezoneColumn", d.str(&w.TimezoneColumn)},
			})
		}},
		{"frequencyCap", func(key string, v *yaml.Node) error {
			c := &FrequencyCapConfig{}
			f.FrequencyCap = c
			return d.mapping(v, key, []field{
				{"maxCalls", d.integer(&c.MaxCalls)},
				{"per", d.duration(&c.Per)},
			})
		}},
		{"startAt", d.timestamp(&f.StartAt)},
		{"endAt", d.timestamp(&f.EndAt)},
		{"retention", d.retention(&f.Retention)},
		{"notify", func(key string, v *yaml.Node) error {
			n := &NotifyConfig{}
			f.Notify = n
			return d.mapping(v, key, []field{
				{"url", d.str(&n.URL)},
				{"secret", d.str(&n.Secret)},
				{"secretEnv", d.str(&n.SecretEnv)},
				{"events", d.strs(&n.Events, "[contact.finished, campaign.finished]")},
			})
		}},
		{"suppressionFiles", d.strs(&f.SuppressionFiles, "[dnc.csv]")},
		{"metadata", d.freeform(&f.Metadata)},
		{"assistantOverrides", d.freeform(&f.AssistantOverrides)},
	})
	if err != nil {
		return nil, err
	}
	f.DefaultRegion = strings.ToUpper(f.DefaultRegion)
	return f, nil
}

// WithDefaults fills in each setting the file leaves out with the default its field documents.
// A key written with a zero value (maxAttempts: 0) is left for Validate to refuse; in a File
// not made by Parse, a zero value counts as left out.
func (f *File) WithDefaults() {
	left := func(key string) bool { _, ok := f.src.at[key]; return !ok }
	if f.DefaultRegion == "" && left("defaultRegion") {
		f.DefaultRegion = "US"
	}
	if f.Retry.MaxAttempts == 0 && left("retry.maxAttempts") {
		f.Retry.MaxAttempts = 3
	}
	if f.Retry.RetryOn == nil && left("retry.retryOn") {
		f.Retry.RetryOn = []Outcome{OutcomeBusy, OutcomeNoAnswer}
	}
	if f.Retry.Delay == 0 && left("retry.delay") {
		f.Retry.Delay = Duration(30 * time.Minute)
	}
	if f.RateLimit.CallsPerSecond == 0 && left("rateLimit.callsPerSecond") {
		f.RateLimit.CallsPerSecond = 1
	}
	if f.RateLimit.MaxConcurrentCalls == 0 && left("rateLimit.maxConcurrentCalls") {
		f.RateLimit.MaxConcurrentCalls = 10
	}
	if f.Poll.Interval == 0 && left("poll.interval") {
		f.Poll.Interval = Duration(5 * time.Second)
	}
	if f.Poll.AnalysisWait == 0 && left("poll.analysisWait") {
		f.Poll.AnalysisWait = Duration(30 * time.Second)
	}
	if f.CallerIDStrategy == "" && left("callerIdStrategy") {
		f.CallerIDStrategy = CallerIDRotate
	}
	if f.Notify != nil && len(f.Notify.Events) == 0 {
		f.Notify.Events = []string{NotifyContactFinished, NotifyCampaignFinished}
	}
}

// Validate checks required keys and the range of each value, and returns a *FileError for
// the first problem, in file order. Call WithDefaults first: a setting left out is zero
// until then, and most zeros are refused. It rewrites each phoneNumberIds number into E.164
// ("(415) 555-0100" becomes "+14155550100"), read in DefaultRegion.
func (f *File) Validate() error {
	switch name := strings.TrimSpace(f.Name); {
	case name == "":
		return f.errorAt("name", "missing; name the campaign, e.g. name: flu-shot-reminders")
	case strings.ContainsFunc(name, unicode.IsControl):
		return f.errorAt("name", "must be one line of text")
	case len([]rune(name)) > 100:
		return f.errorAt("name", fmt.Sprintf("must be at most 100 characters, got %d", len([]rune(name))))
	}
	if err := f.checkID("assistantId", f.AssistantID, "the Interactly assistant that makes the calls"); err != nil {
		return err
	}
	if !phonenumbers.GetSupportedRegions()[strings.ToUpper(f.DefaultRegion)] {
		return f.errorAt("defaultRegion", fmt.Sprintf("unknown region code %q; use a two-letter country code such as US, GB or DE", f.DefaultRegion))
	}
	if err := f.validateCallerIDs(); err != nil {
		return err
	}

	if strings.TrimSpace(f.Contacts.NumberColumn) == "" {
		return f.errorAt("contacts.numberColumn", "missing; set it to the header of the contact file's column that holds the phone numbers")
	}
	switch f.Contacts.Delimiter {
	case "", ",", ";", "\t":
	default:
		return f.errorAt("contacts.delimiter", fmt.Sprintf(`must be ",", ";" or "\t" (a tab, in double quotes), got %q; leave it out to detect it`, f.Contacts.Delimiter))
	}
	if _, err := contactcsv.ParseEncoding(f.Contacts.Encoding); err != nil {
		return f.errorAt("contacts.encoding", err.Error())
	}

	if n := f.Retry.MaxAttempts; n < 1 || n > 10 {
		return f.errorAt("retry.maxAttempts", fmt.Sprintf("must be between 1 and 10, got %d", n))
	}
	for i, o := range f.Retry.RetryOn {
		if !slices.Contains(retryOutcomes, o) {
			return f.errorAt(fmt.Sprintf("retry.retryOn[%d]", i), fmt.Sprintf("cannot retry on %q; use busy, no-answer or failed", o))
		}
	}
	if f.Retry.Delay < 0 {
		return f.errorAt("retry.delay", "must not be negative, got "+f.Retry.Delay.String())
	}

	if cps := f.RateLimit.CallsPerSecond; !(cps >= MinCallsPerSecond && cps <= MaxCallsPerSecond) {
		return f.errorAt("rateLimit.callsPerSecond", fmt.Sprintf("must be at least 0.000278 (one call per hour) and at most 1000, got %v; use 0.5 for one call every 2 seconds", cps))
	}
	if n := f.RateLimit.MaxConcurrentCalls; n < 1 {
		return f.errorAt("rateLimit.maxConcurrentCalls", fmt.Sprintf("must be at least 1, got %d", n))
	}

	if a := f.Account; a != "" && !account.ValidName(a) {
		return f.errorAt("account", fmt.Sprintf("%q is not an account name; use 1 to 64 lowercase letters, digits, '-' or '_', as given to dialer account set", a))
	}
	if p := f.Priority; p < -100 || p > 100 {
		return f.errorAt("priority", fmt.Sprintf("must be between -100 and 100, got %d; higher goes first", p))
	}
	if _, written := f.src.at["weight"]; (written || f.Weight != 0) && (f.Weight < 1 || f.Weight > 1000) {
		w := f.Weight
		return f.errorAt("weight", fmt.Sprintf("must be between 1 and 1000, got %d", w))
	}

	if f.Poll.Interval.D() < 100*time.Millisecond {
		return f.errorAt("poll.interval", "must be at least 100ms, got "+f.Poll.Interval.String())
	}
	if f.Poll.AnalysisWait < 0 {
		return f.errorAt("poll.analysisWait", "must not be negative, got "+f.Poll.AnalysisWait.String())
	}

	if err := f.validateWindow(); err != nil {
		return err
	}
	if err := f.validateFrequencyCap(); err != nil {
		return err
	}
	if f.EndAt != nil && f.StartAt != nil && !f.EndAt.After(*f.StartAt) {
		return f.errorAt("endAt", fmt.Sprintf("must be after startAt (%s), got %s; move endAt later, or startAt earlier",
			f.StartAt.Format(time.RFC3339), f.EndAt.Format(time.RFC3339)))
	}
	if err := f.validateNotify(); err != nil {
		return err
	}
	for i, p := range f.SuppressionFiles {
		if strings.TrimSpace(p) == "" {
			return f.errorAt(fmt.Sprintf("suppressionFiles[%d]", i), "must be the path of a CSV file of numbers not to call, got nothing")
		}
	}

	switch vars := f.AssistantOverrides["dynamicVariables"].(type) {
	case nil, map[string]string:
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(vars)) {
			if _, ok := vars[k].(string); !ok {
				return f.errorAt("assistantOverrides.dynamicVariables."+k, fmt.Sprintf("must be text, got %T", vars[k]))
			}
		}
	default:
		return f.errorAt("assistantOverrides.dynamicVariables", fmt.Sprintf("must map names to text, got %T", vars))
	}
	return nil
}

// validateWindow checks defaultTimezone and callingWindow.
func (f *File) validateWindow() error {
	if f.DefaultTimezone != "" {
		if _, err := window.Location(f.DefaultTimezone); err != nil {
			return f.errorAt("defaultTimezone", err.Error())
		}
	}
	cw := f.CallingWindow
	if cw == nil {
		return nil
	}
	if cw.Days != nil && len(cw.Days) == 0 {
		return f.errorAt("callingWindow.days", "must list at least one day, such as [mon, tue, wed, thu, fri]; leave it out for every day")
	}
	if strings.TrimSpace(cw.Start) == "" {
		return f.errorAt("callingWindow.start", `missing; set the local time calls may start, e.g. start: "09:00"`)
	}
	if strings.TrimSpace(cw.End) == "" {
		return f.errorAt("callingWindow.end", `missing; set the local time calls must have started by, e.g. end: "19:00"`)
	}
	if _, err := window.New(cw.Days, cw.Start, cw.End); err != nil {
		var we *window.Error
		if errors.As(err, &we) {
			return f.errorAt("callingWindow."+we.Field, we.Msg)
		}
		return f.errorAt("callingWindow", err.Error())
	}
	switch tz := cw.Timezone; {
	case tz == "":
		return f.errorAt("callingWindow.timezone", "missing; set it to contact, to read the window on each contact's clock, or to an IANA zone such as America/Chicago")
	case tz == TimezoneContact:
		if f.DefaultTimezone == "" {
			e := f.errorAt("defaultTimezone", "missing; callingWindow.timezone is contact, so set the zone of contacts whose zone cannot be told from their number, e.g. defaultTimezone: America/New_York")
			if s, ok := f.src.at["callingWindow.timezone"]; ok && e.Line == 0 {
				e.Line, e.Column = s.valueLine, s.valueColumn // point at what requires it
			}
			return e
		}
	default:
		if _, err := window.Location(tz); err != nil {
			return f.errorAt("callingWindow.timezone", err.Error()+", or contact for each contact's own")
		}
		if cw.TimezoneColumn != "" {
			return f.errorAt("callingWindow.timezoneColumn", "only applies when callingWindow.timezone is contact; remove it, or set timezone: contact")
		}
	}
	return nil
}

// validateFrequencyCap checks frequencyCap.
func (f *File) validateFrequencyCap() error {
	c := f.FrequencyCap
	if c == nil {
		return nil
	}
	_, maxCallsSet := f.src.at["frequencyCap.maxCalls"]
	switch n := c.MaxCalls; {
	case n == 0 && !maxCallsSet:
		return f.errorAt("frequencyCap.maxCalls", "missing; set how many times a number may be dialed within per, across all campaigns, e.g. maxCalls: 3")
	case n < 1 || n > 100:
		return f.errorAt("frequencyCap.maxCalls", fmt.Sprintf("must be between 1 and 100, got %d", n))
	}
	_, perSet := f.src.at["frequencyCap.per"]
	switch per := c.Per; {
	case per == 0 && !perSet:
		return f.errorAt("frequencyCap.per", "missing; set the window maxCalls counts in, as a Go duration, e.g. per: 24h")
	case per.D() < time.Minute:
		return f.errorAt("frequencyCap.per", "must be at least 1m, got "+per.String()+"; write days in hours, e.g. 168h for a week")
	}
	return nil
}

// validateCallerIDs checks phoneNumberId, phoneNumberIds, callerIdStrategy and
// callerIdMaxConcurrentCalls, and writes each pool number back in E.164. DefaultRegion
// must be valid.
func (f *File) validateCallerIDs() error {
	switch {
	case f.PhoneNumberIDs != nil && len(f.PhoneNumberIDs) == 0:
		return f.errorAt("phoneNumberIds", "must list at least one Interactly phone number id, such as [p1, p2]; or remove it and use phoneNumberId")
	case f.PhoneNumberID != "" && f.PhoneNumberIDs != nil:
		return f.errorAt("phoneNumberIds", "phoneNumberId is set too; keep one: phoneNumberId for a single caller ID, or phoneNumberIds for a pool")
	case f.PhoneNumberIDs == nil:
		if f.PhoneNumberID == "" {
			return f.errorAt("phoneNumberId", "missing; set it to the id of the Interactly phone number the calls come from, or list several under phoneNumberIds")
		}
		if err := f.checkID("phoneNumberId", f.PhoneNumberID, "the Interactly phone number the calls come from"); err != nil {
			return err
		}
	}

	local := f.CallerIDStrategy == CallerIDLocal
	first := make(map[string]int, len(f.PhoneNumberIDs)) // id -> index of its first entry
	for i := range f.PhoneNumberIDs {
		c := &f.PhoneNumberIDs[i]
		idKey := f.poolKey(i, "id")
		switch {
		case c.ID == "":
			return f.errorAt(idKey, "missing; set it to the id of an Interactly phone number the calls may come from")
		case strings.ContainsFunc(c.ID, unicode.IsSpace):
			return f.errorAt(idKey, fmt.Sprintf("must not contain spaces, got %q", c.ID))
		}
		if j, dup := first[c.ID]; dup {
			return f.errorAt(idKey, fmt.Sprintf("%q is listed twice, first as phoneNumberIds[%d]; remove one", c.ID, j))
		}
		first[c.ID] = i
		numberKey := f.poolKey(i, "number")
		if c.Number == "" {
			if local {
				return f.errorAt(numberKey, fmt.Sprintf(`missing; callerIdStrategy local picks by number, so give every entry its number, e.g. {id: %s, number: "+14155550100"}`, c.ID))
			}
		} else {
			e164, err := phone.Normalize(c.Number, f.DefaultRegion)
			if err != nil {
				msg := fmt.Sprintf("cannot use %q: %s", c.Number, err)
				if !strings.Contains(msg, ";") {
					msg += `; write the number the calls come from with its country code, e.g. "+14155550100"`
				}
				return f.errorAt(numberKey, msg)
			}
			c.Number = e164
		}
		if n := c.MaxConcurrentCalls; n < 0 {
			return f.errorAt(f.poolKey(i, "maxConcurrentCalls"), fmt.Sprintf("must be 0 (no cap of its own) or more, got %d", n))
		}
	}

	switch s := f.CallerIDStrategy; s {
	case CallerIDRotate:
	case CallerIDLocal:
		if f.PhoneNumberIDs == nil {
			return f.errorAt("callerIdStrategy", "local picks from a pool by number, but there is only phoneNumberId; list the pool under phoneNumberIds, each entry with its number, or remove callerIdStrategy")
		}
	default:
		msg := fmt.Sprintf("must be %s or %s, got %q", CallerIDRotate, CallerIDLocal, s)
		if g := suggest(s, []string{CallerIDRotate, CallerIDLocal}); g != "" {
			msg += " (did you mean " + g + "?)"
		}
		return f.errorAt("callerIdStrategy", msg)
	}
	if n := f.CallerIDMaxConcurrentCalls; n < 0 {
		return f.errorAt("callerIdMaxConcurrentCalls", fmt.Sprintf("must be 0 (no cap) or more, got %d", n))
	}
	return nil
}

// poolKey returns the dotted key of field name of phoneNumberIds entry i, or of the entry
// itself when the file writes the entry as a bare id and name is "id".
func (f *File) poolKey(i int, name string) string {
	item := fmt.Sprintf("phoneNumberIds[%d]", i)
	if name == "id" && f.src.bare[item] {
		return item
	}
	return item + "." + name
}

// envName is what notify.secretEnv accepts: a POSIX-style environment variable name.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// validateNotify checks notify. Its messages never quote secret or secretEnv: a secret
// written into secretEnv by mistake must not end up in an error.
func (f *File) validateNotify() error {
	n := f.Notify
	if n == nil {
		return nil
	}
	const example = "https://example.com/dialer-events"
	if strings.TrimSpace(n.URL) == "" {
		return f.errorAt("notify.url", "missing; set the http or https URL that receives the notifications, e.g. "+example)
	}
	u, err := url.Parse(n.URL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the URL, which may hold a password
		}
		return f.errorAt("notify.url", fmt.Sprintf("is not a URL (%v); write an absolute http or https URL such as %s", err, example))
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return f.errorAt("notify.url", fmt.Sprintf("must be an absolute http or https URL such as %s, got %q", example, redactURL(n.URL)))
	}
	if n.Secret != "" && n.SecretEnv != "" {
		return f.errorAt("notify.secretEnv", "secret is set too; keep one: secretEnv, naming an environment variable that holds the secret (which keeps it out of Redis), or secret")
	}
	if n.SecretEnv != "" && !envName.MatchString(n.SecretEnv) {
		return f.errorAt("notify.secretEnv", "must be the name of an environment variable, such as DIALER_NOTIFY_SECRET: letters, digits and _, not starting with a digit; the secret itself goes in that variable (the value is not shown here in case it is the secret)")
	}
	first := make(map[string]int, len(n.Events))
	for i, e := range n.Events {
		key := fmt.Sprintf("notify.events[%d]", i)
		if e != NotifyContactFinished && e != NotifyCampaignFinished {
			msg := fmt.Sprintf("unknown event %q; use %s or %s", e, NotifyContactFinished, NotifyCampaignFinished)
			if g := suggest(e, []string{NotifyContactFinished, NotifyCampaignFinished}); g != "" {
				msg = fmt.Sprintf("unknown event %q (did you mean %s?); use %s or %s", e, g, NotifyContactFinished, NotifyCampaignFinished)
			}
			return f.errorAt(key, msg)
		}
		if j, dup := first[e]; dup {
			return f.errorAt(key, fmt.Sprintf("%s is listed twice, first as notify.events[%d]; remove one", e, j))
		}
		first[e] = i
	}
	return nil
}

// CallerIDs returns the caller IDs the campaign dials from, in file order: the
// phoneNumberIds pool, or phoneNumberId as a pool of one. Each entry's MaxConcurrentCalls is
// the cap in effect for it: its own when above 0, else callerIdMaxConcurrentCalls; 0 means
// no cap. Numbers are E.164 once Validate has run, "" where the file gives none. It returns
// a new slice on every call, nil when the File has neither key (which Validate refuses).
func (f *File) CallerIDs() []CallerID {
	if len(f.PhoneNumberIDs) == 0 {
		if f.PhoneNumberID == "" {
			return nil
		}
		return []CallerID{{ID: f.PhoneNumberID, MaxConcurrentCalls: f.CallerIDMaxConcurrentCalls}}
	}
	out := slices.Clone(f.PhoneNumberIDs)
	for i := range out {
		if out[i].MaxConcurrentCalls <= 0 {
			out[i].MaxConcurrentCalls = f.CallerIDMaxConcurrentCalls
		}
	}
	return out
}

// redacted stands in for a secret wherever a File or its NotifyConfig is printed or logged.
const redacted = "xxxxx"

// String formats n for people, as fmt's %v and %+v of a File do too, with the secret, and
// any password and query in the URL, as xxxxx.
func (n NotifyConfig) String() string {
	secret := ""
	if n.Secret != "" {
		secret = redacted
	}
	return fmt.Sprintf("{URL:%s Secret:%s SecretEnv:%s Events:%v}", redactURL(n.URL), secret, n.SecretEnv, n.Events)
}

// GoString is String, so that %#v does not print the secret either.
func (n NotifyConfig) GoString() string { return n.String() }

// LogValue implements slog.LogValuer: n's keys as a group, with the secret, and any
// password and query in the URL, as xxxxx.
func (n NotifyConfig) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("url", redactURL(n.URL))}
	if n.Secret != "" {
		attrs = append(attrs, slog.String("secret", redacted))
	}
	if n.SecretEnv != "" {
		attrs = append(attrs, slog.String("secretEnv", n.SecretEnv))
	}
	return slog.GroupValue(append(attrs, slog.Any("events", n.Events))...)
}

// LogValue implements slog.LogValuer: f as it is, except that notify's secret, and any
// password and query in its URL, read xxxxx, whichever handler formats it (a JSON handler
// would otherwise marshal the secret).
func (f File) LogValue() slog.Value {
	if f.Notify != nil {
		n := *f.Notify
		if n.Secret != "" {
			n.Secret = redacted
		}
		n.URL = redactURL(n.URL)
		f.Notify = &n
	}
	return slog.AnyValue(loggedFile(f))
}

// loggedFile is a File without its methods, so that slog does not call File.LogValue on
// it again.
type loggedFile File

// redactURL returns raw fit for messages and logs: the password of its user info and its
// whole query as xxxxx (webhook URLs often carry a token in the query), its fragment
// dropped; xxxxx alone when raw is not a URL.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return redacted
	}
	if u.RawQuery != "" || u.ForceQuery {
		u.RawQuery, u.ForceQuery = redacted, false
	}
	u.Fragment, u.RawFragment = "", ""
	return u.Redacted()
}

// Window returns the campaign's calling window, or nil when it has none; a nil *window.Window
// is open at every time. Errors are for a File that Validate would refuse.
func (f *File) Window() (*window.Window, error) {
	if f.CallingWindow == nil {
		return nil, nil
	}
	return window.New(f.CallingWindow.Days, f.CallingWindow.Start, f.CallingWindow.End)
}

// ContactZones returns the time zones in which the calling window must be open to call the
// contact with the E.164 number e164 and the row vars (contactcsv.Row.DynamicVariables), and where they
// came from, for the audit trail: "campaign" for a callingWindow.timezone that names a zone,
// else window.Resolve's "column", "number" or "default". Without a calling window it returns
// nil and "". Errors are for a time zone column cell that is not an IANA zone, and for a File
// that Validate would refuse.
func (f *File) ContactZones(e164 string, vars map[string]string) ([]*time.Location, string, error) {
	cw := f.CallingWindow
	if cw == nil {
		return nil, "", nil
	}
	if cw.Timezone != TimezoneContact {
		loc, err := window.Location(cw.Timezone)
		if err != nil {
			return nil, "", fmt.Errorf("callingWindow.timezone: %w", err)
		}
		return []*time.Location{loc}, "campaign", nil
	}
	def, err := window.Location(f.DefaultTimezone)
	if err != nil {
		return nil, "", fmt.Errorf("defaultTimezone: %w", err)
	}
	var cell string
	if cw.TimezoneColumn != "" {
		cell = vars[cw.TimezoneColumn]
	}
	return window.Resolve(e164, cell, def)
}

func (f *File) checkID(key, id, what string) error {
	switch {
	case id == "":
		return f.errorAt(key, "missing; set it to the id of "+what)
	case strings.ContainsFunc(id, unicode.IsSpace):
		return f.errorAt(key, fmt.Sprintf("must not contain spaces, got %q", id))
	}
	return nil
}

// AssistantOverridesFor returns the assistantOverrides to send for one contact: a copy of
// AssistantOverrides whose dynamicVariables are the file's with vars (the contact's row, see
// contactcsv.Row.DynamicVariables) written over them. It does not modify f.
func (f *File) AssistantOverridesFor(vars map[string]string) map[string]any {
	out := maps.Clone(f.AssistantOverrides)
	if out == nil {
		out = make(map[string]any, 1)
	}
	merged := make(map[string]any, len(vars))
	switch base := f.AssistantOverrides["dynamicVariables"].(type) {
	case map[string]any:
		maps.Copy(merged, base)
	case map[string]string:
		for k, v := range base {
			merged[k] = v
		}
	}
	for k, v := range vars {
		merged[k] = v
	}
	out["dynamicVariables"] = merged
	return out
}

// errorAt returns a *FileError for key, placed at its value when Parse saw the key and at
// the nearest enclosing key it saw otherwise.
func (f *File) errorAt(key, msg string) *FileError {
	e := &FileError{Path: f.src.path, Key: key, Msg: msg}
	if s, ok := f.src.at[key]; ok {
		e.Line, e.Column = s.valueLine, s.valueColumn
		return e
	}
	for k := key; strings.Contains(k, "."); {
		k = k[:strings.LastIndex(k, ".")]
		if s, ok := f.src.at[k]; ok {
			e.Line, e.Column = s.keyLine, s.keyColumn
			break
		}
	}
	return e
}

// source remembers where in the file Parse found each key, so that WithDefaults can tell
// "left out" from "written as zero" and Validate can point at a line.
type source struct {
	path string
	at   map[string]spot // by dotted key; list items as "retry.retryOn[1]"
	bare map[string]bool // list items written as a bare value, not as keys: "phoneNumberIds[0]"
}

type spot struct {
	keyLine, keyColumn     int
	valueLine, valueColumn int
}

// decoder walks a yaml.Node tree into a File. Walking nodes rather than calling
// yaml.Unmarshal is what lets every error name the key and its line.
type decoder struct {
	path string
	at   map[string]spot
	bare map[string]bool
	// hints: look for where an unknown key belongs (off while looking, so it does not recurse).
	hints bool
	// top lists the top-level keys, once the top-level mapping is being read.
	top []string
}

// setter stores the value v of key (a dotted path) or says why it cannot.
type setter func(key string, v *yaml.Node) error

// field is one known key of a mapping.
type field struct {
	name string
	set  setter
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// document parses data and returns its top-level mapping.
func (d *decoder) document(data []byte) (*yaml.Node, error) {
	empty := &FileError{Path: d.path, Msg: "file is empty; start from campaigns/example.yaml"}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err == io.EOF {
		return nil, empty
	} else if err != nil {
		return nil, d.syntaxError(data, err)
	}
	var next yaml.Node
	if err := dec.Decode(&next); err != io.EOF {
		if err != nil {
			return nil, d.syntaxError(data, err)
		}
		return nil, &FileError{Path: d.path, Line: next.Line, Msg: "file holds more than one YAML document; keep one and remove the --- line"}
	}
	root := doc.Content[0]
	switch {
	case root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null":
		return nil, empty
	case root.Kind != yaml.MappingNode:
		return nil, &FileError{Path: d.path, Line: root.Line, Column: root.Column,
			Msg: "must be a set of keys such as name: and assistantId:, got " + kindName(root)}
	}
	return root, nil
}

func (d *decoder) syntaxError(data []byte, err error) *FileError {
	m := yamlLine.FindStringSubmatch(err.Error())
	if m == nil {
		return &FileError{Path: d.path, Msg: "not valid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	line, _ := strconv.Atoi(m[1])
	lines := bytes.Split(data, []byte("\n"))
	if line >= 1 && line <= len(lines) {
		text := lines[line-1]
		indent := text[:len(text)-len(bytes.TrimLeft(text, " \t"))]
		if bytes.IndexByte(indent, '\t') >= 0 {
			return &FileError{Path: d.path, Line: line, Msg: "indented with a tab; YAML indentation must use spaces"}
		}
	}
	return &FileError{Path: d.path, Line: line, Msg: "not valid YAML: " + m[2] + "; check the indentation, and quote values that hold \": \" or start with a special character"}
}

func (d *decoder) errorAt(key string, n *yaml.Node, msg string) *FileError {
	return &FileError{Path: d.path, Line: n.Line, Column: n.Column, Key: key, Msg: msg}
}

// mapping sets each key of n through its field. key is n's own dotted path, "" at the top.
// A null node (a key written with nothing after it) counts as an empty mapping.
func (d *decoder) mapping(n *yaml.Node, key string, fields []field) error {
	if err := d.noAlias(key, n); err != nil {
		return err
	}
	names := make([]string, len(fields))
	for i, fl := range fields {
		names[i] = fl.name
	}
	if key == "" {
		d.top = names
	}
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return d.errorAt(key, n, fmt.Sprintf("must be a set of keys (%s), got %s", strings.Join(names, ", "), kindName(n)))
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		name, err := d.keyName(key, k)
		if err != nil {
			return err
		}
		child := join(key, name)
		j := slices.Index(names, name)
		if j < 0 {
			// A key known exactly elsewhere (indented wrongly) beats a near miss here.
			msg, near, at := "unknown key", suggest(name, names), ""
			if !strings.EqualFold(near, name) {
				at = d.elsewhere(name, key)
			}
			switch {
			case at != "":
				msg += " here (did you mean " + at + ")"
			case near != "":
				msg += " (did you mean " + near + "?)"
			}
			return d.errorAt(child, k, msg+"; known keys: "+strings.Join(names, ", "))
		}
		if s, dup := d.at[child]; dup {
			return d.errorAt(child, k, fmt.Sprintf("written twice; first on line %d", s.keyLine))
		}
		d.at[child] = spot{k.Line, k.Column, v.Line, v.Column}
		if err := d.noAlias(child, v); err != nil {
			return err
		}
		if err := fields[j].set(child, v); err != nil {
			return err
		}
	}
	return nil
}

// elsewhere says where a key called name is known, other than in the mapping at key, so that
// a key indented wrongly can be moved: "contacts.numberColumn? move it under contacts:", or
// "startAt at the top level? move it out of retry:". It returns "" when name is known
// nowhere else. It finds the sections' keys by parsing a one-key probe under each
// top-level key, so it always agrees with the decoder.
func (d *decoder) elsewhere(name, key string) string {
	if !d.hints {
		return ""
	}
	if key != "" && slices.Contains(d.top, name) {
		return name + " at the top level? move it out of " + key + ":"
	}
	for _, section := range d.top {
		if section == key {
			continue
		}
		probe := strconv.Quote(section) + ":\n  " + strconv.Quote(name) + ": {probe: 1}\n"
		_, err := parse("probe", []byte(probe), false)
		var fe *FileError
		if errors.As(err, &fe) && fe.Key == section+"."+name && !strings.HasPrefix(fe.Msg, "unknown key") {
			return section + "." + name + "? move it under " + section + ":"
		}
	}
	return ""
}

func (d *decoder) section(fields ...field) setter {
	return func(key string, v *yaml.Node) error { return d.mapping(v, key, fields) }
}

// keyName returns the text of mapping key k of the mapping at key.
func (d *decoder) keyName(key string, k *yaml.Node) (string, error) {
	switch {
	case k.Kind == yaml.AliasNode:
		return "", d.errorAt(key, k, "aliases (*name) are not supported as keys; write the key out")
	case k.ShortTag() == "!!merge":
		return "", d.errorAt(join(key, "<<"), k, "merge keys (<<) are not supported; write the keys out")
	case k.Kind != yaml.ScalarNode:
		return "", d.errorAt(key, k, "keys must be plain words, got "+kindName(k))
	}
	return k.Value, nil
}

// noAlias refuses aliases: following them by hand could expand a small file exponentially,
// and a campaign file has no need for them.
func (d *decoder) noAlias(key string, n *yaml.Node) error {
	if n.Kind == yaml.AliasNode {
		return d.errorAt(key, n, "aliases (*"+n.Value+") are not supported; write the value out")
	}
	return nil
}

func (d *decoder) str(dst *string) setter {
	return func(key string, v *yaml.Node) error {
		switch {
		case isNull(v):
			*dst = ""
		case v.Kind != yaml.ScalarNode:
			return d.errorAt(key, v, "must be text, got "+kindName(v))
		default:
			*dst = v.Value
		}
		return nil
	}
}

func (d *decoder) integer(dst *int) setter {
	return func(key string, v *yaml.Node) error {
		if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!int" || v.Decode(dst) != nil {
			return d.errorAt(key, v, "must be a whole number, got "+kindName(v))
		}
		return nil
	}
}

func (d *decoder) float(dst *float64) setter {
	return func(key string, v *yaml.Node) error {
		tag := v.ShortTag()
		if v.Kind != yaml.ScalarNode || (tag != "!!int" && tag != "!!float") || v.Decode(dst) != nil {
			return d.errorAt(key, v, "must be a number, got "+kindName(v))
		}
		if math.IsNaN(*dst) || math.IsInf(*dst, 0) {
			return d.errorAt(key, v, "must be a finite number, got "+v.Value)
		}
		return nil
	}
}

func (d *decoder) duration(dst *Duration) setter {
	return func(key string, v *yaml.Node) error {
		const want = "must be a duration such as 500ms, 30s, 5m or 1h30m"
		switch tag := v.ShortTag(); {
		case v.Kind != yaml.ScalarNode:
			return d.errorAt(key, v, want+", got "+kindName(v))
		case (tag == "!!int" || tag == "!!float") && v.Value != "0":
			return d.errorAt(key, v, fmt.Sprintf("%s, got %s; add a unit: s for seconds, m for minutes", want, v.Value))
		case tag != "!!str" && tag != "!!int":
			return d.errorAt(key, v, want+", got "+kindName(v))
		}
		t, err := time.ParseDuration(v.Value)
		if err != nil {
			return d.errorAt(key, v, fmt.Sprintf("%s, got %q", want, v.Value))
		}
		*dst = Duration(t)
		return nil
	}
}

// timestamp decodes an RFC 3339 time with an offset, quoted or not.
func (d *decoder) timestamp(dst **time.Time) setter {
	return func(key string, v *yaml.Node) error {
		const want = "must be a date and time with an offset (RFC 3339), such as 2026-12-01T09:00:00-05:00 or 2026-12-01T14:00:00Z"
		if tag := v.ShortTag(); v.Kind != yaml.ScalarNode || (tag != "!!timestamp" && tag != "!!str") {
			return d.errorAt(key, v, want+", got "+kindName(v))
		}
		t, err := time.Parse(time.RFC3339, v.Value)
		if err != nil {
			msg := fmt.Sprintf("%s, got %q", want, v.Value)
			if len(v.Value) == len("2006-01-02") {
				msg += "; add the time and the offset, e.g. T09:00:00-05:00"
			}
			return d.errorAt(key, v, msg)
		}
		*dst = &t
		return nil
	}
}

// strs decodes a list of text, as []string{} when written empty or as nothing. example is a
// list to show in the error for a value that is not a list.
func (d *decoder) strs(dst *[]string, example string) setter {
	return func(key string, v *yaml.Node) error {
		if isNull(v) {
			*dst = []string{}
			return nil
		}
		if v.Kind != yaml.SequenceNode {
			return d.errorAt(key, v, "must be a list such as "+example+", got "+kindName(v))
		}
		out := make([]string, 0, len(v.Content))
		for i, item := range v.Content {
			k := fmt.Sprintf("%s[%d]", key, i)
			if err := d.noAlias(k, item); err != nil {
				return err
			}
			if item.Kind != yaml.ScalarNode || isNull(item) {
				return d.errorAt(k, item, "must be text, got "+kindName(item))
			}
			d.at[k] = spot{item.Line, item.Column, item.Line, item.Column}
			out = append(out, item.Value)
		}
		*dst = out
		return nil
	}
}

// callerIDs decodes phoneNumberIds: a list whose items are each an id, or keys {id, number,
// maxConcurrentCalls}. It is []CallerID{} when written empty or as nothing.
func (d *decoder) callerIDs(dst *[]CallerID) setter {
	return func(key string, v *yaml.Node) error {
		const want = `must be a list of Interactly phone number ids such as [p1, p2], where an item may also be {id: p1, number: "+14155550100", maxConcurrentCalls: 5}`
		if isNull(v) {
			*dst = []CallerID{}
			return nil
		}
		if v.Kind != yaml.SequenceNode {
			return d.errorAt(key, v, want+", got "+kindName(v))
		}
		out := make([]CallerID, len(v.Content))
		for i, item := range v.Content {
			k := fmt.Sprintf("%s[%d]", key, i)
			if err := d.noAlias(k, item); err != nil {
				return err
			}
			d.at[k] = spot{item.Line, item.Column, item.Line, item.Column}
			c := &out[i]
			switch {
			case item.Kind == yaml.MappingNode:
				err := d.mapping(item, k, []field{
					{"id", d.str(&c.ID)},
					{"number", d.str(&c.Number)},
					{"maxConcurrentCalls", d.integer(&c.MaxConcurrentCalls)},
				})
				if err != nil {
					return err
				}
			case item.Kind == yaml.ScalarNode && !isNull(item):
				c.ID = item.Value
				d.bare[k] = true
			default:
				return d.errorAt(k, item, `must be a phone number id, or keys such as {id: p1, number: "+14155550100"}, got `+kindName(item))
			}
		}
		*dst = out
		return nil
	}
}

func (d *decoder) outcomes(dst *[]Outcome) setter {
	return func(key string, v *yaml.Node) error {
		if isNull(v) {
			*dst = []Outcome{}
			return nil
		}
		if v.Kind != yaml.SequenceNode {
			return d.errorAt(key, v, "must be a list such as [busy, no-answer], got "+kindName(v))
		}
		out := make([]Outcome, 0, len(v.Content))
		for i, item := range v.Content {
			k := fmt.Sprintf("%s[%d]", key, i)
			if err := d.noAlias(k, item); err != nil {
				return err
			}
			if item.Kind != yaml.ScalarNode {
				return d.errorAt(k, item, "must be busy, no-answer or failed, got "+kindName(item))
			}
			d.at[k] = spot{item.Line, item.Column, item.Line, item.Column}
			out = append(out, Outcome(item.Value))
		}
		*dst = out
		return nil
	}
}

// freeform decodes a mapping of any YAML into JSON-friendly values: maps with string keys,
// []any, string, bool, int, float64 and nil. Under key "assistantOverrides", a
// dynamicVariables mapping becomes map[string]any of strings.
func (d *decoder) freeform(dst *map[string]any) setter {
	return func(key string, v *yaml.Node) error {
		if isNull(v) {
			return nil
		}
		if v.Kind != yaml.MappingNode {
			return d.errorAt(key, v, "must be a set of keys, got "+kindName(v))
		}
		val, err := d.value(key, v)
		if err != nil {
			return err
		}
		m := val.(map[string]any)
		if key == "assistantOverrides" {
			if err := d.dynamicVariables(m, v); err != nil {
				return err
			}
		}
		*dst = m
		return nil
	}
}

// dynamicVariables replaces m["dynamicVariables"] by its values as written, as strings.
func (d *decoder) dynamicVariables(m map[string]any, n *yaml.Node) error {
	const key = "assistantOverrides.dynamicVariables"
	var dv *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "dynamicVariables" {
			dv = n.Content[i+1]
		}
	}
	if dv == nil {
		return nil
	}
	if isNull(dv) {
		delete(m, "dynamicVariables")
		return nil
	}
	if dv.Kind != yaml.MappingNode {
		return d.errorAt(key, dv, "must map variable names to values, got "+kindName(dv))
	}
	vars := make(map[string]any, len(dv.Content)/2)
	for i := 0; i+1 < len(dv.Content); i += 2 {
		k, v := dv.Content[i], dv.Content[i+1]
		switch {
		case isNull(v):
			vars[k.Value] = ""
		case v.Kind != yaml.ScalarNode:
			return d.errorAt(join(key, k.Value), v, "must be text or a number, got "+kindName(v)+"; dynamic variables are strings")
		default:
			vars[k.Value] = v.Value
		}
	}
	m["dynamicVariables"] = vars
	return nil
}

// value converts n to a JSON-friendly Go value.
func (d *decoder) value(key string, n *yaml.Node) (any, error) {
	if err := d.noAlias(key, n); err != nil {
		return nil, err
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			name, err := d.keyName(key, k)
			if err != nil {
				return nil, err
			}
			child := join(key, name)
			if _, dup := m[name]; dup {
				return nil, d.errorAt(child, k, "written twice")
			}
			if m[name], err = d.value(child, v); err != nil {
				return nil, err
			}
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, len(n.Content))
		for i, item := range n.Content {
			var err error
			if s[i], err = d.value(fmt.Sprintf("%s[%d]", key, i), item); err != nil {
				return nil, err
			}
		}
		return s, nil
	}
	switch n.ShortTag() {
	case "!!null":
		return nil, nil
	case "!!bool", "!!int":
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, d.errorAt(key, n, "cannot read "+n.Value+": "+err.Error())
		}
		return v, nil
	case "!!float":
		var v float64
		if err := n.Decode(&v); err != nil {
			return nil, d.errorAt(key, n, "cannot read "+n.Value+": "+err.Error())
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, d.errorAt(key, n, "must be a finite number, got "+n.Value+"; quote it to send it as text")
		}
		return v, nil
	}
	return n.Value, nil // strings, and timestamps and custom tags as written
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

func join(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

// kindName describes n for "got ..." in messages.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a set of keys"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	if isNull(n) {
		return "nothing"
	}
	s := n.Value
	if r := []rune(s); len(r) > 40 {
		s = string(r[:37]) + "..."
	}
	switch n.ShortTag() {
	case "!!bool", "!!int", "!!float":
		return s
	}
	return strconv.Quote(s)
}

// suggest returns the name in names that key was most likely meant to be, or "".
func suggest(key string, names []string) string {
	best, bestDist := "", 3
	for _, name := range names {
		if strings.EqualFold(key, name) {
			return name
		}
		if dist := editDistance(strings.ToLower(key), strings.ToLower(name)); dist < bestDist {
			best, bestDist = name, dist
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
