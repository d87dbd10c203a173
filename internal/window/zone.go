package window

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nyaruka/phonenumbers"
)

// Where Resolve found a contact's zones, for the audit trail.
const (
	SourceColumn  = "column"  // the contact file's time zone column
	SourceNumber  = "number"  // the phone number's prefix, by libphonenumber
	SourceDefault = "default" // the campaign's default zone
)

// locations caches Location's answers by name: time.LoadLocation reads and parses a tzdata
// file each time, and a worker asks once per dial. Only names that load are kept, so the
// cache holds at most the few hundred zones of the tz database.
var locations sync.Map // string -> *time.Location

// Location returns the time zone with the IANA name name ("America/New_York", "UTC"), as
// time.LoadLocation does, loading each zone once. It refuses "" and "Local", which
// time.LoadLocation takes as UTC and as the host's zone, and names that are not in the tz
// database (names are case-sensitive), with an error naming the value.
func Location(name string) (*time.Location, error) {
	if v, ok := locations.Load(name); ok {
		return v.(*time.Location), nil
	}
	bad := fmt.Errorf("unknown time zone %q; use an IANA name such as America/New_York or Europe/London", name)
	if name == "" || name == "Local" {
		return nil, bad
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, bad
	}
	v, _ := locations.LoadOrStore(name, loc)
	return v.(*time.Location), nil
}

// ZonesForNumber returns the time zones libphonenumber gives for the E.164 number e164
// ("+12125550100"): one for most numbers, several for an area code that spans zones
// (+1 208, Idaho: America/Boise and America/Los_Angeles), every zone of the North American
// Numbering Plan for a toll-free +1 800 number. A contact must be inside the window in all
// of them to be called: the safe reading when it could be in any.
//
// It returns nil, and no error, for a number libphonenumber does not hold valid (for which
// it would answer with every zone of the country code) and for one it maps to no zone: the
// caller falls back to a default. Errors are for e164 that is not a number in E.164 form.
func ZonesForNumber(e164 string) ([]*time.Location, error) {
	num, err := phonenumbers.Parse(e164, "")
	if err != nil || !strings.HasPrefix(e164, "+") {
		return nil, fmt.Errorf("time zones of %q: not an E.164 number such as +12125550100", e164)
	}
	if !phonenumbers.IsValidNumber(num) {
		return nil, nil
	}
	names, err := phonenumbers.GetTimezonesForNumber(num)
	if err != nil {
		return nil, fmt.Errorf("time zones of %s: %w", e164, err)
	}
	locs := make([]*time.Location, 0, len(names))
	for _, name := range names {
		if name == phonenumbers.UNKNOWN_TIMEZONE {
			return nil, nil
		}
		loc, err := Location(name)
		if err != nil {
			return nil, fmt.Errorf("time zones of %s: %w", e164, err)
		}
		locs = append(locs, loc)
	}
	if len(locs) == 0 {
		return nil, nil
	}
	return locs, nil
}

// Resolve returns the time zones to read the calling window in for the contact with the
// E.164 number e164, and where they came from (SourceColumn, SourceNumber or SourceDefault):
//
//  1. columnValue, the contact's cell in the campaign's time zone column, when it is not
//     blank: one IANA zone, which overrides what the number says;
//  2. else the number's zones (ZonesForNumber);
//  3. else defaultZone, when not nil.
//
// With none of these it returns nil and "": the contact's local time cannot be known, and
// Window.OpenIn is never true for it. Errors are for a columnValue that is not an IANA zone
// (the message names the value; the contact should not be called on a guess) and for e164
// not in E.164 form.
func Resolve(e164, columnValue string, defaultZone *time.Location) (zones []*time.Location, source string, err error) {
	if v := strings.TrimSpace(columnValue); v != "" {
		loc, err := Location(v)
		if err != nil {
			return nil, "", fmt.Errorf("time zone column: %w", err)
		}
		return []*time.Location{loc}, SourceColumn, nil
	}
	zones, err = ZonesForNumber(e164)
	switch {
	case err != nil:
		return nil, "", err
	case zones != nil:
		return zones, SourceNumber, nil
	case defaultZone != nil:
		return []*time.Location{defaultZone}, SourceDefault, nil
	}
	return nil, "", nil
}
