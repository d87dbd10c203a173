package interactly

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
)

// TimeLayout is how Time marshals: ISO-8601 in UTC with milliseconds, as the
// REST reference shows timestamps ("2020-10-05T00:00:00.000Z",
// api-reference/calls/get-call).
const TimeLayout = "2006-01-02T15:04:05.000Z07:00"

// Time is a timestamp as the API sends it. REST payloads carry ISO-8601
// strings and webhook payloads carry Unix epoch milliseconds
// (api-reference/calls/get-call, webhooks/events/*), so Time reads:
//
//   - ISO-8601 strings with or without fractional seconds, with "Z", an
//     offset ("+05:30" or "+0530") or no zone at all (taken as UTC); a space
//     instead of the "T" is accepted;
//   - numbers and numeric strings as epoch milliseconds; a magnitude below
//     1e11 is taken as epoch seconds, since as milliseconds it would fall
//     in early 1973;
//   - null, "" and 0 as the zero Time.
//
// A value it cannot read decodes as the zero Time instead of failing the
// whole call: one odd timestamp must not make a call unreadable.
//
// Time marshals as TimeLayout in UTC, and the zero Time as null.
type Time struct{ time.Time }

// zoneless are the layouts tried after RFC 3339, in order.
var zoneless = []string{
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999Z0700",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02",
}

// UnmarshalJSON implements json.Unmarshaler; see Time for what it accepts.
func (t *Time) UnmarshalJSON(b []byte) error {
	t.Time = parseTime(b)
	return nil
}

// MarshalJSON implements json.Marshaler: TimeLayout in UTC, or null.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"` + t.UTC().Format(TimeLayout) + `"`), nil
}

func parseTime(b []byte) time.Time {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || bytes.Equal(b, []byte("null")) {
		return time.Time{}
	}
	if b[0] != '"' {
		f, err := strconv.ParseFloat(string(b), 64)
		if err != nil {
			return time.Time{}
		}
		return fromEpoch(f)
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return time.Time{}
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return fromEpoch(f)
	}
	if v, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return v
	}
	for _, layout := range zoneless {
		if v, err := time.Parse(layout, s); err == nil {
			return v
		}
	}
	return time.Time{}
}

// fromEpoch reads f as epoch milliseconds, or as epoch seconds when it is
// too small to be a plausible millisecond value.
func fromEpoch(f float64) time.Time {
	if f == 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		return time.Time{}
	}
	if math.Abs(f) < 1e11 {
		f *= 1000
	}
	if math.Abs(f) >= 1e15 { // past the year 33000: no call's time, and int64 could overflow
		return time.Time{}
	}
	ms := math.Trunc(f)
	ns := math.Round((f - ms) * 1e6)
	return time.UnixMilli(int64(ms)).Add(time.Duration(ns)).UTC()
}
