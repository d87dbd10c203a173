package window

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dialerhq/dialer/internal/testutil"
)

// mustLoc returns the zone named name.
func mustLoc(tb testing.TB, name string) *time.Location {
	tb.Helper()
	loc, err := Location(name)
	if err != nil {
		tb.Fatal(err)
	}
	return loc
}

// mustLocs returns the zones named names.
func mustLocs(tb testing.TB, names ...string) []*time.Location {
	tb.Helper()
	locs := make([]*time.Location, len(names))
	for i, n := range names {
		locs[i] = mustLoc(tb, n)
	}
	return locs
}

// at returns the instant whose wall clock in zone reads local, "2006-01-02 15:04".
func at(tb testing.TB, zone, local string) time.Time {
	tb.Helper()
	t, err := time.ParseInLocation("2006-01-02 15:04", local, mustLoc(tb, zone))
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// mustNew returns New(days, start, end).
func mustNew(tb testing.TB, days []string, start, end string) *Window {
	tb.Helper()
	w, err := New(days, start, end)
	if err != nil {
		tb.Fatal(err)
	}
	return w
}

var weekdays = []string{"mon", "tue", "wed", "thu", "fri"}

func TestNew(t *testing.T) {
	tests := []struct {
		name       string
		days       []string
		start, end string
		want       string // String() of the window
		wantErr    *Error
	}{
		{name: "weekdays", days: weekdays, start: "09:00", end: "19:00", want: "mon-fri 09:00-19:00"},
		{name: "no days is every day", start: "08:00", end: "21:00", want: "mon-sun 08:00-21:00"},
		{name: "case, order, one-digit hour", days: []string{"Sun", "SAT", "wed"}, start: "8:05", end: "24:00", want: "wed,sat-sun 08:05-24:00"},
		{name: "runs", days: []string{"mon", "tue", "thu", "sat", "sun"}, start: "00:00", end: "00:01", want: "mon-tue,thu,sat-sun 00:00-00:01"},
		{
			name: "unknown day", days: []string{"mon", "tues"}, start: "09:00", end: "17:00",
			wantErr: &Error{Field: "days[1]", Msg: `unknown day "tues"; use mon, tue, wed, thu, fri, sat or sun`},
		},
		{
			name: "day twice", days: []string{"mon", "Mon"}, start: "09:00", end: "17:00",
			wantErr: &Error{Field: "days[1]", Msg: "mon is listed twice"},
		},
		{
			name: "not a time", start: "9am", end: "17:00",
			wantErr: &Error{Field: "start", Msg: `must be a time of day as HH:MM on a 24-hour clock, such as "09:00" or "21:00", got "9am"`},
		},
		{
			name: "missing start", start: "", end: "17:00",
			wantErr: &Error{Field: "start", Msg: `must be a time of day as HH:MM on a 24-hour clock, such as "09:00" or "21:00", got ""`},
		},
		{
			name: "start 24:00", start: "24:00", end: "24:00",
			wantErr: &Error{Field: "start", Msg: `no such time of day: "24:00"; use 00:00 to 23:59`},
		},
		{
			name: "minute 60", start: "09:00", end: "17:60",
			wantErr: &Error{Field: "end", Msg: `no such time of day: "17:60"; use 00:00 to 23:59`},
		},
		{
			name: "end before start", start: "21:00", end: "08:00",
			wantErr: &Error{Field: "end", Msg: "must be after start (21:00), got 08:00; a window cannot run past midnight"},
		},
		{
			name: "end equals start", start: "09:00", end: "9:00",
			wantErr: &Error{Field: "end", Msg: "must be after start (09:00), got 09:00; a window cannot run past midnight"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := New(tt.days, tt.start, tt.end)
			if tt.wantErr != nil {
				got, _ := err.(*Error)
				if diff := cmp.Diff(tt.wantErr, got); diff != "" {
					t.Errorf("error %v (-want +got):\n%s", err, diff)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := w.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNilWindow(t *testing.T) {
	var w *Window
	now := time.Date(2026, 1, 1, 3, 0, 0, 0, time.UTC)
	if !w.OpenAt(now, time.UTC) || !w.OpenIn(now, nil) || !w.NextOpening(now, nil).Equal(now) || w.String() != "always" {
		t.Error("a nil *Window must be open at every time")
	}
}

// TestOpenAt reads one 08:00-21:00 weekday window on the wall clock of every US zone, and of
// London and Kolkata, at one instant: Monday 2026-07-06 16:30 UTC.
func TestOpenAt(t *testing.T) {
	w := mustNew(t, weekdays, "08:00", "21:00")
	tests := []struct {
		zone string
		want bool // local time in the comment
	}{
		{"America/New_York", true},     // 12:30 EDT
		{"America/Chicago", true},      // 11:30 CDT
		{"America/Denver", true},       // 10:30 MDT
		{"America/Phoenix", true},      // 09:30 MST, no DST
		{"America/Los_Angeles", true},  // 09:30 PDT
		{"America/Anchorage", true},    // 08:30 AKDT
		{"America/Adak", false},        // 07:30 HDT
		{"Pacific/Honolulu", false},    // 06:30 HST, no DST
		{"America/Puerto_Rico", true},  // 12:30 AST
		{"Pacific/Guam", false},        // Tuesday 02:30 ChST
		{"Europe/London", true},        // 17:30 BST
		{"Asia/Kolkata", false},        // 22:00 IST
		{"Australia/Lord_Howe", false}, // Tuesday 03:00
	}
	now := time.Date(2026, 7, 6, 16, 30, 0, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.zone, func(t *testing.T) {
			if got := w.OpenAt(now, mustLoc(t, tt.zone)); got != tt.want {
				t.Errorf("OpenAt(%s) = %v, want %v", now.In(mustLoc(t, tt.zone)).Format("Mon 15:04 MST"), got, tt.want)
			}
		})
	}
}

func TestOpenAtEdges(t *testing.T) {
	w := mustNew(t, nil, "08:00", "21:00")
	ny := mustLoc(t, "America/New_York")
	tests := []struct {
		name string
		t    time.Time
		want bool
	}{
		{"07:59:59 is before start", at(t, "America/New_York", "2026-06-01 07:59").Add(59 * time.Second), false},
		{"08:00 start is inclusive", at(t, "America/New_York", "2026-06-01 08:00"), true},
		{"20:59:59 is before end", at(t, "America/New_York", "2026-06-01 20:59").Add(59 * time.Second), true},
		{"21:00 end is exclusive", at(t, "America/New_York", "2026-06-01 21:00"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := w.OpenAt(tt.t, ny); got != tt.want {
				t.Errorf("OpenAt = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNextOpening(t *testing.T) {
	weekdays0919 := mustNew(t, weekdays, "09:00", "19:00")
	tcpa := mustNew(t, nil, "08:00", "21:00")
	nine21 := mustNew(t, nil, "09:00", "21:00")
	tollFree, err := ZonesForNumber("+18005550100")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		w     *Window
		zones []*time.Location
		from  time.Time
		want  time.Time // zero: never
	}{
		{
			name: "Friday evening to Monday morning, across the US spring forward",
			w:    weekdays0919, zones: mustLocs(t, "America/New_York"),
			from: at(t, "America/New_York", "2026-03-06 19:00"),
			want: at(t, "UTC", "2026-03-09 13:00"), // 09:00 EDT
		},
		{
			name: "Friday 18:59 is open",
			w:    weekdays0919, zones: mustLocs(t, "America/New_York"),
			from: at(t, "America/New_York", "2026-03-06 18:59"),
			want: at(t, "America/New_York", "2026-03-06 18:59"),
		},
		{
			name: "20:59 is open",
			w:    tcpa, zones: mustLocs(t, "America/Chicago"),
			from: at(t, "America/Chicago", "2026-06-01 20:59"),
			want: at(t, "America/Chicago", "2026-06-01 20:59"),
		},
		{
			name: "21:00 waits for the next morning",
			w:    tcpa, zones: mustLocs(t, "America/Chicago"),
			from: at(t, "America/Chicago", "2026-06-01 21:00"),
			want: at(t, "America/Chicago", "2026-06-02 08:00"),
		},
		{
			name: "US spring forward: 08:00 EDT on Sunday March 8",
			w:    tcpa, zones: mustLocs(t, "America/New_York"),
			from: at(t, "America/New_York", "2026-03-07 21:00"),
			want: at(t, "UTC", "2026-03-08 12:00"),
		},
		{
			name: "US spring forward: a 02:30 start opens when the clock jumps to 03:00",
			w:    mustNew(t, nil, "02:30", "05:00"), zones: mustLocs(t, "America/New_York"),
			from: at(t, "America/New_York", "2026-03-08 00:00"),
			want: at(t, "UTC", "2026-03-08 07:00"), // 03:00 EDT
		},
		{
			name: "US spring forward: Arizona keeps MST",
			w:    tcpa, zones: mustLocs(t, "America/Phoenix"),
			from: at(t, "UTC", "2026-03-08 06:00"),
			want: at(t, "UTC", "2026-03-08 15:00"),
		},
		{
			name: "US spring forward: Denver moves to MDT",
			w:    tcpa, zones: mustLocs(t, "America/Denver"),
			from: at(t, "UTC", "2026-03-08 06:00"),
			want: at(t, "UTC", "2026-03-08 14:00"),
		},
		{
			name: "US spring forward: Hawaii keeps HST",
			w:    tcpa, zones: mustLocs(t, "Pacific/Honolulu"),
			from: at(t, "UTC", "2026-03-08 08:00"), // 22:00 HST
			want: at(t, "UTC", "2026-03-08 18:00"),
		},
		{
			name: "US fall back: 08:00 EST on Sunday November 1",
			w:    tcpa, zones: mustLocs(t, "America/New_York"),
			from: at(t, "America/New_York", "2026-10-31 21:00"),
			want: at(t, "UTC", "2026-11-01 13:00"),
		},
		{
			name: "US fall back: a 01:30 start inside the repeated hour, first reading",
			w:    mustNew(t, nil, "01:30", "09:00"), zones: mustLocs(t, "America/New_York"),
			from: at(t, "UTC", "2026-11-01 05:00"), // 01:00 EDT
			want: at(t, "UTC", "2026-11-01 05:30"), // 01:30 EDT
		},
		{
			name: "US fall back: the clock reads 01:00 again, shut until the second 01:30",
			w:    mustNew(t, nil, "01:30", "09:00"), zones: mustLocs(t, "America/New_York"),
			from: at(t, "UTC", "2026-11-01 06:00"), // 01:00 EST
			want: at(t, "UTC", "2026-11-01 06:30"), // 01:30 EST
		},
		{
			name: "US fall back: a window ending at 01:30 opens again when the clock goes back",
			w:    mustNew(t, nil, "00:00", "01:30"), zones: mustLocs(t, "America/New_York"),
			from: at(t, "UTC", "2026-11-01 05:30"), // 01:30 EDT
			want: at(t, "UTC", "2026-11-01 06:00"), // 01:00 EST
		},
		{
			name: "UK spring forward: 08:00 BST on Sunday March 29",
			w:    tcpa, zones: mustLocs(t, "Europe/London"),
			from: at(t, "Europe/London", "2026-03-28 21:00"),
			want: at(t, "UTC", "2026-03-29 07:00"),
		},
		{
			name: "UK spring forward: a 01:30 start opens when the clock jumps to 02:00",
			w:    mustNew(t, nil, "01:30", "05:00"), zones: mustLocs(t, "Europe/London"),
			from: at(t, "UTC", "2026-03-29 00:00"),
			want: at(t, "UTC", "2026-03-29 01:00"),
		},
		{
			name: "UK fall back: 08:00 GMT on Sunday October 25",
			w:    tcpa, zones: mustLocs(t, "Europe/London"),
			from: at(t, "Europe/London", "2026-10-24 21:00"),
			want: at(t, "UTC", "2026-10-25 08:00"),
		},
		{
			name: "Kolkata, half an hour off the hour",
			w:    tcpa, zones: mustLocs(t, "Asia/Kolkata"),
			from: at(t, "UTC", "2026-06-01 00:00"),
			want: at(t, "UTC", "2026-06-01 02:30"),
		},
		{
			name: "Eastern and Pacific: 09:00-21:00 local is 12:00-21:00 Eastern",
			w:    nine21, zones: mustLocs(t, "America/New_York", "America/Los_Angeles"),
			from: at(t, "America/New_York", "2026-06-01 09:00"),
			want: at(t, "America/New_York", "2026-06-01 12:00"),
		},
		{
			name: "Eastern and Pacific: 20:59 Eastern is open",
			w:    nine21, zones: mustLocs(t, "America/New_York", "America/Los_Angeles"),
			from: at(t, "America/New_York", "2026-06-01 20:59"),
			want: at(t, "America/New_York", "2026-06-01 20:59"),
		},
		{
			name: "Eastern and Pacific: 21:00 Eastern waits for noon",
			w:    nine21, zones: mustLocs(t, "America/New_York", "America/Los_Angeles"),
			from: at(t, "America/New_York", "2026-06-01 21:00"),
			want: at(t, "America/New_York", "2026-06-02 12:00"),
		},
		{
			name: "Idaho's Mountain and Pacific",
			w:    tcpa, zones: mustLocs(t, "America/Boise", "America/Los_Angeles"),
			from: at(t, "America/Boise", "2026-06-01 08:00"),
			want: at(t, "America/Boise", "2026-06-01 09:00"),
		},
		{
			name: "New York and Kolkata overlap 09:00-11:30 EDT",
			w:    nine21, zones: mustLocs(t, "America/New_York", "Asia/Kolkata"),
			from: at(t, "America/New_York", "2026-06-01 11:30"),
			want: at(t, "America/New_York", "2026-06-02 09:00"),
		},
		{
			name: "Honolulu and London never overlap",
			w:    mustNew(t, nil, "09:00", "17:00"), zones: mustLocs(t, "Pacific/Honolulu", "Europe/London"),
			from: at(t, "UTC", "2026-06-01 00:00"),
		},
		{
			name: "toll-free: 08:00-21:00 in every NANP zone is one hour, 08:00-09:00 in Guam",
			w:    tcpa, zones: tollFree,
			from: at(t, "UTC", "2026-06-01 00:00"),
			want: at(t, "UTC", "2026-06-01 22:00"),
		},
		{
			name: "toll-free: 09:00-17:00 never overlaps",
			w:    mustNew(t, nil, "09:00", "17:00"), zones: tollFree,
			from: at(t, "UTC", "2026-06-01 00:00"),
		},
		{
			name: "no zones: never",
			w:    tcpa,
			from: at(t, "UTC", "2026-06-01 12:00"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.w.NextOpening(tt.from, tt.zones)
			if diff := cmp.Diff(tt.want.UTC(), got.UTC()); diff != "" {
				t.Errorf("NextOpening (-want +got):\n%s", diff)
			}
		})
	}
}

// TestNextOpeningProperty checks NextOpening against a minute-by-minute walk: for random
// windows, zones and instants over 2026-2027, the instant it returns is open and no minute
// before it is; when it returns zero, no minute of the following week is open.
func TestNextOpeningProperty(t *testing.T) {
	zones := mustLocs(t, "America/New_York", "America/Chicago", "America/Denver", "America/Phoenix",
		"America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu", "Europe/London", "Asia/Kolkata",
		"Australia/Lord_Howe", "America/St_Johns", "Asia/Kathmandu", "Europe/Berlin")
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const cases, walked = 400, 60
	for i := range cases {
		var days []string
		for _, d := range dayNames {
			if rng.IntN(3) > 0 {
				days = append(days, d)
			}
		}
		if len(days) == 0 {
			days = []string{dayNames[rng.IntN(7)]}
		}
		start := rng.IntN(24*4) * 15
		end := start + 15 + rng.IntN(24*60-start)/15*15
		w := mustNew(t, days, clock(start), clock(end))
		locs := make([]*time.Location, 1+rng.IntN(2))
		for j := range locs {
			locs[j] = zones[rng.IntN(len(zones))]
		}
		from := base.Add(time.Duration(rng.Int64N(int64(2 * 365 * 24 * time.Hour))))

		next := w.NextOpening(from, locs)
		if !next.IsZero() {
			if next.Before(from) || !w.OpenIn(next, locs) {
				t.Fatalf("%s in %v from %v: NextOpening = %v, which is not an open instant after from", w, locs, from, next)
			}
			if next.After(from) && w.OpenIn(next.Add(-time.Second), locs) {
				t.Fatalf("%s in %v from %v: NextOpening = %v, but a second earlier is open", w, locs, from, next)
			}
		}
		if i >= walked {
			continue
		}
		stop := next
		if next.IsZero() {
			stop = from.Add(7 * 24 * time.Hour)
		}
		for m := from.Truncate(time.Minute).Add(time.Minute); m.Before(stop); m = m.Add(time.Minute) {
			if w.OpenIn(m, locs) {
				t.Fatalf("%s in %v from %v: NextOpening = %v, but %v is open", w, locs, from, next, m)
			}
		}
	}
}

// BenchmarkNextOpening measures NextOpening from a Friday evening in New York; Never is the
// worst case: a year searched for an overlap that is not there.
func BenchmarkNextOpening(b *testing.B) {
	tollFree, err := ZonesForNumber("+18005550100")
	if err != nil {
		b.Fatal(err)
	}
	from := at(b, "America/New_York", "2026-03-06 19:00")
	for _, bb := range []struct {
		name string
		w    *Window
		locs []*time.Location
	}{
		{"Coasts", mustNew(b, weekdays, "09:00", "19:00"), mustLocs(b, "America/New_York", "America/Los_Angeles")},
		{"TollFree", mustNew(b, nil, "08:00", "21:00"), tollFree},
		{"Never", mustNew(b, nil, "09:00", "17:00"), tollFree},
	} {
		b.Run(bb.name, func(b *testing.B) {
			for b.Loop() {
				bb.w.NextOpening(from, bb.locs)
			}
		})
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		spec, want, wantErr string
	}{
		{spec: "mon-fri 08:00-20:00", want: "mon-fri 08:00-20:00"},
		{spec: "MON-tue,thu,sat-sun 09:30-17:00", want: "mon-tue,thu,sat-sun 09:30-17:00"},
		{spec: "sun 10:00-14:00", want: "sun 10:00-14:00"},
		{spec: "fri-mon 08:00-20:00", wantErr: `day run "fri-mon"`},
		{spec: "mon-fri", wantErr: "want days and hours"},
		{spec: "mon-fri 20:00-08:00", wantErr: "must be after start"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			w, err := Parse(tt.spec)
			if !testutil.ErrMatches(err, tt.wantErr) {
				t.Fatalf("Parse(%q) error = %v, want %q", tt.spec, err, tt.wantErr)
			}
			if err == nil && w.String() != tt.want {
				t.Errorf("Parse(%q) = %v; want %s", tt.spec, w, tt.want)
			}
		})
	}
}

func TestClosesAt(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	w, err := Parse("mon-fri 08:00-20:00")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := w.ClosesAt(time.Date(2026, 11, 20, 19, 59, 0, 0, ny), ny), time.Date(2026, 11, 20, 20, 0, 0, 0, ny); !got.Equal(want) {
		t.Errorf("ClosesAt Friday 19:59 = %s, want %s", got, want)
	}
	if got := w.ClosesAt(time.Date(2026, 11, 21, 12, 0, 0, 0, ny), ny); !got.IsZero() {
		t.Errorf("ClosesAt on Saturday = %s, want zero: shut", got)
	}
}
