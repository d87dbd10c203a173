package campaign

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/nyaruka/phonenumbers"

	"github.com/dialerhq/dialer/internal/account"
	"github.com/dialerhq/dialer/internal/contactcsv"
	"github.com/dialerhq/dialer/internal/phone"
	"github.com/dialerhq/dialer/internal/window"
)

// Validate checks required keys and the range of each value, and returns a *FileError for
// the first problem, in file order. Call WithDefaults first: a setting left out is zero
// until then, and most zeros are refused. It does not modify f: Normalize then rewrites
// what Validate accepted into the form the dialer stores.
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
			if _, err := phone.Normalize(c.Number, f.DefaultRegion); err != nil {
				msg := fmt.Sprintf("cannot use %q: %s", c.Number, err)
				if !strings.Contains(msg, ";") {
					msg += `; write the number the calls come from with its country code, e.g. "+14155550100"`
				}
				return f.errorAt(numberKey, msg)
			}
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

func (f *File) checkID(key, id, what string) error {
	switch {
	case id == "":
		return f.errorAt(key, "missing; set it to the id of "+what)
	case strings.ContainsFunc(id, unicode.IsSpace):
		return f.errorAt(key, fmt.Sprintf("must not contain spaces, got %q", id))
	}
	return nil
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

// Normalize rewrites f into the form the dialer stores and dials from, after Validate has
// accepted it: each phoneNumberIds number becomes E.164, read in DefaultRegion
// ("(415) 555-0100" becomes "+14155550100"). A number that cannot be read is left as written
// (Validate refuses it). ParseFile and ParseChecked call it; code that builds or edits a File
// calls WithDefaults, Validate, then Normalize.
func (f *File) Normalize() {
	for i := range f.PhoneNumberIDs {
		c := &f.PhoneNumberIDs[i]
		if e164, err := phone.Normalize(c.Number, f.DefaultRegion); c.Number != "" && err == nil {
			c.Number = e164
		}
	}
}
