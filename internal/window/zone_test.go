package window

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nyaruka/phonenumbers"

	"github.com/dialerhq/dialer/internal/testutil"
)

func names(locs []*time.Location) []string {
	if locs == nil {
		return nil
	}
	s := make([]string, len(locs))
	for i, l := range locs {
		s[i] = l.String()
	}
	return s
}

func TestLocation(t *testing.T) {
	for _, name := range []string{"", "Local", "Mars/Olympus", "america/new_york", "../etc/passwd"} {
		if _, err := Location(name); err == nil || !strings.Contains(err.Error(), `"`+name+`"`) {
			t.Errorf("Location(%q) error = %v, want one naming the value", name, err)
		}
	}
	a, b := mustLoc(t, "America/Chicago"), mustLoc(t, "America/Chicago")
	if a != b {
		t.Error("Location loaded America/Chicago twice; want the cached *time.Location")
	}
}

func TestZonesForNumber(t *testing.T) {
	tests := []struct {
		name string
		e164 string
		want []string
	}{
		{"New York", "+12125550100", []string{"America/New_York"}},
		{"Chicago", "+13125550100", []string{"America/Chicago"}},
		{"Denver", "+13035550100", []string{"America/Denver"}},
		{"Phoenix", "+16025550100", []string{"America/Phoenix"}},
		{"San Francisco", "+14155550100", []string{"America/Los_Angeles"}},
		{"Alaska spans two zones", "+19075550100", []string{"America/Adak", "America/Anchorage"}},
		{"Hawaii", "+18085550100", []string{"Pacific/Honolulu"}},
		{"Idaho spans two zones", "+12085550100", []string{"America/Boise", "America/Los_Angeles"}},
		{"Puerto Rico", "+17875550100", []string{"America/Puerto_Rico"}},
		{"London", "+442071234567", []string{"Europe/London"}},
		{"India", "+919876543210", []string{"Asia/Calcutta"}},
		{"invalid NANP number", "+15555555555", nil},
		{"unassigned area code", "+19995550100", nil},
		{"invalid UK mobile", "+447700900123", nil},
		{"international freephone has no zone", "+80012345678", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ZonesForNumber(tt.e164)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, names(got)); diff != "" {
				t.Errorf("ZonesForNumber(%s) (-want +got):\n%s", tt.e164, diff)
			}
		})
	}
}

// TestZonesForNumberTollFree pins that a toll-free number needs the window open in every
// NANP zone, from Guam to American Samoa, so that it can never be called on its number alone.
func TestZonesForNumberTollFree(t *testing.T) {
	got, err := ZonesForNumber("+18005550100")
	if err != nil {
		t.Fatal(err)
	}
	n := names(got)
	for _, want := range []string{"America/New_York", "America/Los_Angeles", "Pacific/Honolulu", "Pacific/Guam", "Pacific/Pago_Pago"} {
		if !slices.Contains(n, want) {
			t.Errorf("toll-free zones %v lack %s", n, want)
		}
	}
}

func TestZonesForNumberNotE164(t *testing.T) {
	for _, s := range []string{"", "2125550100", "+", "hello"} {
		if _, err := ZonesForNumber(s); err == nil {
			t.Errorf("ZonesForNumber(%q) = nil error, want one", s)
		}
	}
}

// TestZonesForNumberLoads checks that every zone libphonenumber gives for the example numbers
// of every region is in the tz database Go loads.
func TestZonesForNumberLoads(t *testing.T) {
	for region := range phonenumbers.GetSupportedRegions() {
		for _, typ := range []phonenumbers.PhoneNumberType{phonenumbers.FIXED_LINE, phonenumbers.MOBILE} {
			num := phonenumbers.GetExampleNumberForType(region, typ)
			if num == nil {
				continue
			}
			e164 := phonenumbers.Format(num, phonenumbers.E164)
			if _, err := ZonesForNumber(e164); err != nil {
				t.Errorf("%s %s: %v", region, e164, err)
			}
		}
	}
}

func TestResolve(t *testing.T) {
	ny := mustLoc(t, "America/New_York")
	tests := []struct {
		name       string
		e164       string
		column     string
		def        *time.Location
		want       []string
		wantSource string
		wantErr    string
	}{
		{name: "column overrides the number", e164: "+12125550100", column: "America/Chicago", def: ny, want: []string{"America/Chicago"}, wantSource: SourceColumn},
		{name: "column is trimmed", e164: "+12125550100", column: " Europe/London ", want: []string{"Europe/London"}, wantSource: SourceColumn},
		{name: "blank column: the number", e164: "+12085550100", column: "  ", def: ny, want: []string{"America/Boise", "America/Los_Angeles"}, wantSource: SourceNumber},
		{name: "invalid number: the default", e164: "+15555555555", def: ny, want: []string{"America/New_York"}, wantSource: SourceDefault},
		{name: "no zone: the default", e164: "+80012345678", def: ny, want: []string{"America/New_York"}, wantSource: SourceDefault},
		{name: "nothing known", e164: "+15555555555"},
		{name: "bad column value", e164: "+12125550100", column: "EST-ish", def: ny, wantErr: `time zone column: unknown time zone "EST-ish"; use an IANA name such as America/New_York or Europe/London`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, source, err := Resolve(tt.e164, tt.column, tt.def)
			if testutil.WantErr(t, err, tt.wantErr) {
				return
			}
			if diff := cmp.Diff(tt.want, names(got)); diff != "" {
				t.Errorf("zones (-want +got):\n%s", diff)
			}
			if source != tt.wantSource {
				t.Errorf("source = %q, want %q", source, tt.wantSource)
			}
		})
	}
}
