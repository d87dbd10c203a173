package campaign

import (
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/dialerhq/dialer/internal/contactcsv"
	"github.com/dialerhq/dialer/internal/frequency"
	"github.com/dialerhq/dialer/internal/window"
)

// maxFileBytes bounds a campaign file, which is a few dozen lines of YAML.
const maxFileBytes = 1 << 20

// File is a campaign file: what to call the contacts with and how hard to try. Its YAML form
// is documented, key by key, in campaigns/example.yaml. Parse reads it; WithDefaults fills
// what was left out; Validate checks it; Normalize rewrites its numbers into E.164.
//
// Each field's json tag names its key, in the YAML file and in JSON alike: Parse's decoder
// takes its keys from the same tags (decoder.fields), so a field is added in one place. A
// []string field's example tag is the list shown when a file writes something else there.
type File struct {
	// Name labels the campaign in status output and reports. Required; one line, at most
	// 100 characters.
	Name string `json:"name"`
	// AssistantID is the Interactly assistant that makes the calls. Required.
	AssistantID string `json:"assistantId"`
	// PhoneNumberID is the Interactly phone number the calls come from. Required unless
	// PhoneNumberIDs is given; the two exclude each other.
	PhoneNumberID string `json:"phoneNumberId"`
	// PhoneNumberIDs is a caller-ID pool: dials rotate across it (see CallerIDStrategy).
	// Each entry is written as an id, or as a mapping {id, number, maxConcurrentCalls}.
	// Optional, instead of PhoneNumberID.
	PhoneNumberIDs []CallerID `json:"phoneNumberIds,omitempty"`
	// CallerIDStrategy picks a caller ID from the pool for each dial: CallerIDRotate (round
	// robin, the default) or CallerIDLocal (a number sharing the contact's country and area
	// code first, then its country, then any; every pool entry then needs its number).
	CallerIDStrategy string `json:"callerIdStrategy,omitempty"`
	// CallerIDMaxConcurrentCalls caps the live calls of each caller ID that sets no
	// maxConcurrentCalls of its own, across every campaign using it (a trunk carries only so
	// many). Optional: 0 means no cap beyond rateLimit.maxConcurrentCalls.
	CallerIDMaxConcurrentCalls int `json:"callerIdMaxConcurrentCalls,omitempty"`
	// DefaultRegion is the ISO 3166 country code ("US", "GB") of numbers written without a
	// country code. Defaults to "US".
	DefaultRegion string `json:"defaultRegion"`
	// Contacts says how to read the contact file.
	Contacts ContactsConfig `json:"contacts"`
	// Retry says when a contact is dialed again.
	Retry RetryConfig `json:"retry"`
	// RateLimit caps how fast and how many calls are placed, across all workers. It binds
	// beneath the account's own limits.
	RateLimit RateLimitConfig `json:"rateLimit"`
	// Account names the Interactly account (package account) whose API key places the calls
	// and whose callsPerSecond and maxConcurrentCalls this campaign shares with the account's
	// other campaigns. Optional: "" means the default account (INTERACTLY_API_KEY).
	Account string `json:"account,omitempty"`
	// Priority orders the campaigns of one account when its limits bind: a higher tier gets
	// the slots and calls per second it can use before a lower one gets any. Optional:
	// defaults to 0; -100 to 100.
	Priority int `json:"priority,omitempty"`
	// Weight is this campaign's proportional share within its priority tier when the
	// account's limits bind: weights 1 and 2 get a third and two thirds. Optional: defaults
	// to 1 (0 reads as 1 when the key is left out); 1 to 1000.
	Weight int `json:"weight,omitempty"`
	// Poll says how calls are followed until they end.
	Poll PollConfig `json:"poll"`
	// DefaultTimezone is the IANA zone ("America/New_York") of a contact whose zone cannot be
	// told from the time zone column or the number. Required when CallingWindow.Timezone is
	// "contact"; optional, and unused, otherwise.
	DefaultTimezone string `json:"defaultTimezone,omitempty"`
	// CallingWindow says when, in local time, contacts may be called. Optional: nil means
	// at any time.
	CallingWindow *CallingWindowConfig `json:"callingWindow,omitempty"`
	// FrequencyCap limits how often one number is dialed across every campaign, this one's
	// dials and other campaigns' counting alike. Optional: nil means no limit beyond this
	// campaign's own retries.
	FrequencyCap *FrequencyCapConfig `json:"frequencyCap,omitempty"`
	// StartAt is the time before which nothing in this campaign is dialed, written in
	// RFC 3339 with a time and an offset (2026-12-01T09:00:00-05:00). Optional: nil means as
	// soon as it is uploaded.
	StartAt *time.Time `json:"startAt,omitempty"`
	// EndAt is the time after which no dial of this campaign starts, RFC 3339 like StartAt;
	// contacts left then get the outcome expired. Optional: nil means no end.
	EndAt *time.Time `json:"endAt,omitempty"`
	// Retention is how long the campaign's data stays in Redis after it is done (every row
	// has its outcome): then it is archived, if the deployment has an archive, and deleted.
	// Written "30d", "12h" or "90m". Optional: nil means the deployment's default (dialer
	// serve --retention, 30 days unless set).
	Retention *Duration `json:"retention,omitempty"`
	// Notify sends a signed POST for each final contact outcome and when the campaign is
	// done. Optional: nil sends nothing.
	Notify *NotifyConfig `json:"notify,omitempty"`
	// SuppressionFiles are CSV files of numbers never to call in this campaign. Optional.
	// Parse keeps the paths as written; ParseFile makes each one absolute, taking a relative
	// path from the campaign file's directory.
	SuppressionFiles []string `json:"suppressionFiles,omitempty" example:"[dnc.csv]"`
	// Metadata is merged into each call's metadata. Optional; values are any YAML.
	Metadata map[string]any `json:"metadata,omitempty"`
	// AssistantOverrides is sent as each call's assistantOverrides, with the contact's row
	// merged over its dynamicVariables (see AssistantOverridesFor). Optional; values are any
	// YAML, except that dynamicVariables, when present, maps names to strings.
	AssistantOverrides map[string]any `json:"assistantOverrides,omitempty"`

	src source // where Parse found each key; empty for a File built in code or from JSON
}

// ContactsConfig says how to read the contact file.
type ContactsConfig struct {
	// NumberColumn is the header of the column that holds the phone numbers. Required.
	NumberColumn string `json:"numberColumn"`
	// NameColumn is the header of the column sent as customer.name. Optional.
	NameColumn string `json:"nameColumn,omitempty"`
	// Delimiter separates fields: ",", ";" or "\t". Empty means detect it from the header line.
	Delimiter string `json:"delimiter,omitempty"`
	// Encoding is the contact file's character encoding: utf-8, windows-1252 or latin-1
	// (see contactcsv.ParseEncoding). Empty means utf-8; a file that is not then is refused.
	Encoding string `json:"encoding,omitempty"`
}

// DelimiterRune returns Delimiter as contactcsv.Options.Delimiter wants it: 0 to detect.
func (c ContactsConfig) DelimiterRune() rune {
	for _, r := range c.Delimiter {
		return r
	}
	return 0
}

// readDefaults sets *delim and *enc, where zero, to the delimiter and encoding this file
// gives (zero again where it gives none: detect, UTF-8): how Upload and Preview read a
// contact file they are not told more about.
func (c ContactsConfig) readDefaults(delim *rune, enc *contactcsv.Encoding) {
	if *delim == 0 {
		*delim = c.DelimiterRune()
	}
	if *enc == "" {
		*enc = contactcsv.Encoding(c.Encoding)
	}
}

// RetryConfig says when a contact is dialed again.
type RetryConfig struct {
	// MaxAttempts is how many times a contact is dialed at most, the first dial included:
	// 1 to 10. Defaults to 3.
	MaxAttempts int `json:"maxAttempts"`
	// RetryOn lists the attempt outcomes that lead to another attempt: any of busy, no-answer
	// and failed. An empty list means never retry. Defaults to [busy, no-answer].
	RetryOn []Outcome `json:"retryOn"`
	// Delay is the time from the end of one attempt to the start of the next; not negative.
	// Defaults to 30m.
	Delay Duration `json:"delay"`
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
	CallsPerSecond float64 `json:"callsPerSecond"`
	// MaxConcurrentCalls is how many calls may be live at once, at least 1. Defaults to 10.
	MaxConcurrentCalls int `json:"maxConcurrentCalls"`
}

// PollConfig says how a call is followed until it ends.
type PollConfig struct {
	// Interval is the time between two looks at a live call, at least 100ms. Defaults to 5s.
	Interval Duration `json:"interval"`
	// AnalysisWait is how long to keep looking at an ended call for its analysis (summary,
	// success evaluation) before recording it without one; not negative. Defaults to 30s.
	AnalysisWait Duration `json:"analysisWait"`
}

// CallingWindowConfig is a weekly calling window read on each contact's clock (see
// window.Window): a contact is dialed only while, in every zone it may be in, the local day is
// one of Days and the local time is at or after Start and before End. A call may start just
// before End and run past it.
type CallingWindowConfig struct {
	// Days the window opens on: any of mon, tue, wed, thu, fri, sat and sun. Defaults to all
	// seven.
	Days []string `json:"days,omitempty" example:"[mon, tue, wed, thu, fri]"`
	// Start is the local time the window opens, "HH:MM" on a 24-hour clock, inclusive.
	// Required.
	Start string `json:"start"`
	// End is the local time the window shuts, "HH:MM", exclusive; after Start, since a window
	// cannot run past midnight ("24:00" is the end of the day). Required.
	End string `json:"end"`
	// Timezone is whose clock the window is read on: "contact", each contact's own (from
	// TimezoneColumn, else its number, else DefaultTimezone), or one IANA zone for every
	// contact, such as "America/Chicago". Required.
	Timezone string `json:"timezone"`
	// TimezoneColumn is the header of a contact file column holding an IANA zone; a contact
	// whose cell is not blank is called on that zone's clock, whatever its number says.
	// Optional; only with Timezone "contact".
	TimezoneColumn string `json:"timezoneColumn,omitempty"`
}

// FrequencyCapConfig caps the dials to one number across every campaign: at most MaxCalls in
// any window of Per. A capped attempt waits until the number may be dialed again.
type FrequencyCapConfig struct {
	// MaxCalls is how many dials a number may get within Per, 1 to 100. Required.
	MaxCalls int `json:"maxCalls"`
	// Per is the length of the sliding window, at least 1m. Required.
	Per Duration `json:"per"`
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
	ID string `json:"id"`
	// Number is the number the calls come from, written as people write numbers and kept in
	// E.164 once Validate has run. Required by callerIdStrategy local; optional otherwise,
	// but checked when given.
	Number string `json:"number,omitempty"`
	// MaxConcurrentCalls caps this number's live calls across campaigns; not negative. 0: the
	// file's callerIdMaxConcurrentCalls applies (see File.CallerIDs).
	MaxConcurrentCalls int `json:"maxConcurrentCalls,omitempty"`
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
	URL string `json:"url"`
	// Secret signs each body. Optional. It is kept in Redis with the campaign, but String,
	// GoString and LogValue (of a NotifyConfig or of a File) show it as xxxxx.
	Secret string `json:"secret,omitempty"`
	// SecretEnv names an environment variable of the process that sends (dialer serve)
	// holding the secret instead, which keeps it out of Redis: letters, digits and _, not
	// starting with a digit. Optional; not with Secret.
	SecretEnv string `json:"secretEnv,omitempty"`
	// Events are the events sent, each at most once. Defaults, when empty, to both
	// NotifyContactFinished and NotifyCampaignFinished.
	Events []string `json:"events,omitempty" example:"[contact.finished, campaign.finished]"`
}

// ParseChecked decodes campaign file data (named path in errors), fills in defaults,
// validates it and normalises it (Normalize), as ParseFile does with a file's contents: errors about the contents are a
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
	f.Normalize()
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
