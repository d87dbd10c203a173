// Package window decides when a contact may be called: a weekly calling window (days and
// hours of the day) read on the contact's own clock, and the time zones a contact is in.
//
// The US TCPA allows calls only from 8 a.m. to 9 p.m. in the called party's local time; a
// campaign's callingWindow says which hours it uses. A contact may be in several zones at once
// (an area code that spans two, a toll-free number), and is called only while the window is
// open in every one of them. Resolve finds a contact's zones; Window.NextOpening says when to
// try again when the window is shut.
package window

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	// The tz database is compiled in so that calling windows do not depend on the host (a
	// slim container image often has no /usr/share/zoneinfo). The host's copy, when present,
	// is still used first.
	_ "time/tzdata"
)

// Window is a weekly calling window in local time: the days of the week it opens on, and the
// time of day it opens and shuts on each of them. A time is inside it when its local wall
// clock reads an allowed day and a time of day in [start, end): start is inclusive, end is
// exclusive, and only the hour and minute count (20:59:59 is before an end of 21:00).
//
// Reading the wall clock, rather than counting hours from midnight, is what the TCPA asks
// and decides the daylight saving time edge cases: on a spring-forward day a start inside the
// skipped hour (02:30 in the US) opens the window when the clock jumps (03:00); in a repeated
// fall-back hour the clock reads each time of day twice, so a start or end inside it is passed
// twice.
//
// A nil *Window is no window: it is open at every time. A Window is immutable and safe for
// concurrent use.
type Window struct {
	days       [7]bool // by time.Weekday
	start, end int     // minutes after local midnight; 0 <= start < end <= 24*60
}

// Error is a calling window that New refuses. Field names the argument: "days[2]", "start"
// or "end".
type Error struct {
	Field string // "days[i]" (0-based), "start" or "end"
	Msg   string // what is wrong and what is wanted
}

// Error returns "field: message".
func (e *Error) Error() string { return e.Field + ": " + e.Msg }

var dayNames = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// weekOrder is the order String lists days in: Monday first.
var weekOrder = [7]time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday}

var clockRE = regexp.MustCompile(`^(\d{1,2}):(\d\d)$`)

// New returns the window open on days from start to end, local time.
//
// days are three-letter day names, mon to sun, in any case and order; nil or empty means all
// seven. start and end are times of day as HH:MM on a 24-hour clock ("09:00", "21:00"); end
// may be "24:00", the end of the day. The window opens at start and shuts at end on each of
// the days: end must be after start, so a window cannot run past midnight.
//
// Errors are a *Error naming the day, start or end that is wrong.
func New(days []string, start, end string) (*Window, error) {
	w := &Window{}
	if len(days) == 0 {
		w.days = [7]bool{true, true, true, true, true, true, true}
	}
	for i, d := range days {
		field := fmt.Sprintf("days[%d]", i)
		wd := slices.Index(dayNames[:], strings.ToLower(strings.TrimSpace(d)))
		if wd < 0 {
			return nil, &Error{field, fmt.Sprintf("unknown day %q; use mon, tue, wed, thu, fri, sat or sun", d)}
		}
		if w.days[wd] {
			return nil, &Error{field, fmt.Sprintf("%s is listed twice", dayNames[wd])}
		}
		w.days[wd] = true
	}
	var err error
	if w.start, err = parseClock(start, false); err != nil {
		return nil, &Error{"start", err.Error()}
	}
	if w.end, err = parseClock(end, true); err != nil {
		return nil, &Error{"end", err.Error()}
	}
	if w.end <= w.start {
		return nil, &Error{"end", fmt.Sprintf("must be after start (%s), got %s; a window cannot run past midnight", clock(w.start), clock(w.end))}
	}
	return w, nil
}

// parseClock reads "HH:MM" as minutes after midnight. "24:00" is allowed when endOfDay is.
func parseClock(s string, endOfDay bool) (int, error) {
	m := clockRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("must be a time of day as HH:MM on a 24-hour clock, such as \"09:00\" or \"21:00\", got %q", s)
	}
	h, _ := strconv.Atoi(m[1])
	mm, _ := strconv.Atoi(m[2])
	switch {
	case endOfDay && h == 24 && mm == 0:
		return 24 * 60, nil
	case h > 23 || mm > 59:
		return 0, fmt.Errorf("no such time of day: %q; use 00:00 to 23:59", s)
	}
	return h*60 + mm, nil
}

func clock(min int) string { return fmt.Sprintf("%02d:%02d", min/60, min%60) }

// String describes w as "mon-fri 09:00-19:00": runs of days Monday first, then the hours.
// A nil *Window is "always".
func (w *Window) String() string {
	if w == nil {
		return "always"
	}
	var parts []string
	for i := 0; i < 7; {
		if !w.days[weekOrder[i]] {
			i++
			continue
		}
		j := i
		for j+1 < 7 && w.days[weekOrder[j+1]] {
			j++
		}
		s := dayNames[weekOrder[i]]
		if j > i {
			s += "-" + dayNames[weekOrder[j]]
		}
		parts = append(parts, s)
		i = j + 1
	}
	return strings.Join(parts, ",") + " " + clock(w.start) + "-" + clock(w.end)
}

// OpenAt reports whether the wall clock in loc reads a time inside the window at instant t.
// loc must not be nil.
func (w *Window) OpenAt(t time.Time, loc *time.Location) bool {
	if w == nil {
		return true
	}
	lt := t.In(loc)
	m := lt.Hour()*60 + lt.Minute()
	return w.days[lt.Weekday()] && w.start <= m && m < w.end
}

// OpenIn reports whether the window is open at t in every zone of locs: whether a contact who
// may be in any of them can be called at t. An empty locs is never open, since a contact
// whose local time is unknown cannot be shown to be inside the window.
func (w *Window) OpenIn(t time.Time, locs []*time.Location) bool {
	if w == nil {
		return true
	}
	if len(locs) == 0 {
		return false
	}
	for _, loc := range locs {
		if !w.OpenAt(t, loc) {
			return false
		}
	}
	return true
}

// horizon bounds NextOpening's search: a year and a week covers every combination of daylight
// saving time rules in the zones, so a window not open by then never is.
const horizon = 53 * 7 * 24 * time.Hour

// NextOpening returns the earliest instant at or after t at which OpenIn(locs) is true: t
// itself when the window is open at t, else the minute (on one of the zones' wall clocks) at
// which it opens, or the instant of a daylight saving time jump that lands inside it.
//
// It returns the zero time when the zones' windows never overlap: when no instant in the
// year after t is open in every one of them (a 09:00-17:00 window in Honolulu and London, or
// in the NANP zones of a toll-free number, which span 21 hours from Guam to American Samoa
// and share only an hour of an 08:00-21:00 window), and when locs is empty. The caller treats that
// as "this contact cannot be called in this window". A nil *Window returns t.
func (w *Window) NextOpening(t time.Time, locs []*time.Location) time.Time {
	if w.OpenIn(t, locs) {
		return t
	}
	if len(locs) == 0 {
		return time.Time{}
	}
	// The open instants of one zone are a union of intervals [a, b), each starting at the
	// zone's opening minute or at a clock jump; an intersection of such intervals starts where
	// one of them does. So the first open instant after t is the first open one of these.
	var cands []time.Time
	for from := t; from.Before(t.Add(horizon)); from = from.Add(7 * 24 * time.Hour) {
		to := from.Add(7 * 24 * time.Hour)
		cands = cands[:0]
		for _, loc := range locs {
			cands = w.openings(cands, from, to, loc)
		}
		slices.SortFunc(cands, time.Time.Compare)
		for _, c := range cands {
			if w.OpenIn(c, locs) {
				return c
			}
		}
	}
	return time.Time{}
}

// openings appends to dst the instants in [from, to) at which the window may open in loc: the
// wall clock reading start on an allowed day (once or, in a repeated hour, twice), and every
// change of loc's offset, since a clock jump can land inside the window.
func (w *Window) openings(dst []time.Time, from, to time.Time, loc *time.Location) []time.Time {
	var offsets []int // every UTC offset, in seconds, loc uses within [from, to)
	for at := from; ; {
		lt := at.In(loc)
		if _, off := lt.Zone(); !slices.Contains(offsets, off) {
			offsets = append(offsets, off)
		}
		_, next := lt.ZoneBounds()
		if next.IsZero() || !next.Before(to) {
			break
		}
		dst = append(dst, next)
		at = next
	}
	// A wall-clock time is an instant in loc at one of its offsets; trying each offset and
	// keeping the instants whose clock does read that time finds both readings of a repeated
	// hour and none in a skipped one.
	first, last := from.In(loc), to.In(loc)
	day := time.Date(first.Year(), first.Month(), first.Day(), 0, 0, 0, 0, time.UTC)
	lastDay := time.Date(last.Year(), last.Month(), last.Day(), 0, 0, 0, 0, time.UTC)
	for ; !day.After(lastDay); day = day.AddDate(0, 0, 1) {
		if !w.days[day.Weekday()] {
			continue
		}
		wall := day.Add(time.Duration(w.start) * time.Minute) // the wall clock, written in UTC
		for _, off := range offsets {
			at := wall.Add(-time.Duration(off) * time.Second)
			if at.Before(from) || !at.Before(to) {
				continue
			}
			lt := at.In(loc)
			if y, m, d := lt.Date(); y == wall.Year() && m == wall.Month() && d == wall.Day() && lt.Hour()*60+lt.Minute() == w.start {
				dst = append(dst, at)
			}
		}
	}
	return dst
}

// Parse reads a window written as String writes it: day runs and single days, comma
// separated, Monday first ("mon-fri", "mon-tue,thu,sat"), a space, and the hours
// ("09:00-19:00"). Errors say what is wrong with spec.
func Parse(spec string) (*Window, error) {
	daysPart, hours, ok := strings.Cut(strings.TrimSpace(spec), " ")
	start, end, ok2 := strings.Cut(strings.TrimSpace(hours), "-")
	if !ok || !ok2 {
		return nil, fmt.Errorf("window %q: want days and hours, such as \"mon-fri 08:00-20:00\"", spec)
	}
	var days []string
	for _, run := range strings.Split(daysPart, ",") {
		from, to, isRun := strings.Cut(strings.ToLower(strings.TrimSpace(run)), "-")
		i := slices.IndexFunc(weekOrder[:], func(d time.Weekday) bool { return dayNames[d] == from })
		if !isRun {
			days = append(days, from)
			continue
		}
		j := slices.IndexFunc(weekOrder[:], func(d time.Weekday) bool { return dayNames[d] == to })
		if i < 0 || j < i {
			return nil, fmt.Errorf("window %q: day run %q: want two days, Monday first, such as mon-fri", spec, run)
		}
		for _, d := range weekOrder[i : j+1] {
			days = append(days, dayNames[d])
		}
	}
	w, err := New(days, start, end)
	if err != nil {
		return nil, fmt.Errorf("window %q: %w", spec, err)
	}
	return w, nil
}

// ClosesAt returns when the open period of w that holds t, in loc, shuts; zero when w is
// shut at t. A nil *Window never shuts: zero as well.
func (w *Window) ClosesAt(t time.Time, loc *time.Location) time.Time {
	if w == nil || !w.OpenAt(t, loc) {
		return time.Time{}
	}
	local := t.In(loc)
	y, m, d := local.Date()
	return time.Date(y, m, d, w.end/60, w.end%60, 0, 0, loc)
}
