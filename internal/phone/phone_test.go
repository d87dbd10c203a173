package phone

import (
	"errors"
	"testing"
)

func TestNormalizeNumber(t *testing.T) {
	tests := []struct {
		name   string
		raw    string
		region string
		want   string // E.164, or "" when an error is expected
		reason string // Error.Reason when want is ""
	}{
		{name: "national", raw: "(415) 555-0123", region: "US", want: "+14155550123"},
		{name: "dots", raw: "415.555.0124", region: "US", want: "+14155550124"},
		{name: "spaces around", raw: "  415 555 0125 ", region: "US", want: "+14155550125"},
		{name: "leading 1", raw: "1-212-555-0199", region: "US", want: "+12125550199"},
		{name: "e164", raw: "+12015550123", region: "US", want: "+12015550123"},
		{name: "lowercase region", raw: "415 555 0142", region: "us", want: "+14155550142"},
		// libphonenumber holds 555-01XX valid in real area codes; the example campaign relies on it.
		{name: "fictional 555-01XX in 201", raw: "+1 201 555 0123", region: "US", want: "+12015550123"},
		{name: "fictional 555-01XX in 415", raw: "+1 415 555 0142", region: "US", want: "+14155550142"},
		{name: "UK drama range", raw: "+44 20 7946 0321", region: "US", want: "+442079460321"},
		{name: "UK national", raw: "020 7946 0321", region: "GB", want: "+442079460321"},
		{name: "international prefix", raw: "011 44 20 7946 0321", region: "US", want: "+442079460321"},
		{name: "no region with plus", raw: "+1 415 555 0123", region: "", want: "+14155550123"},

		{name: "empty", raw: "", region: "US", reason: "no number"},
		{name: "blank", raw: "   ", region: "US", reason: "no number"},
		{name: "no area code", raw: "555-0123", region: "US", reason: "not a valid US number (no area code?)"},
		{name: "too short", raw: "415 555", region: "US", reason: "not a valid US number (too short)"},
		{name: "one digit", raw: "5", region: "US", reason: "is not a phone number"},
		{name: "too long", raw: "415 555 0123 45", region: "US", reason: "not a valid US number (too long)"},
		{name: "no such area code", raw: "(555) 555-0100", region: "US", reason: "not a valid US number"},
		{name: "invalid with plus", raw: "+1 555 555 0100", region: "US", reason: "not a valid number"},
		{name: "vanity", raw: "1-800-FLOWERS", region: "US", reason: "contains letters; write the number with digits only"},
		{name: "words", raw: "call me", region: "US", reason: "contains letters; write the number with digits only"},
		{name: "n/a", raw: "n/a", region: "US", reason: "contains letters; write the number with digits only"},
		{name: "extension x", raw: "415 555 0123 x12", region: "US", reason: "has extension 12; the dialer cannot dial extensions, so remove it"},
		{name: "extension ext.", raw: "415-555-0123 ext. 4", region: "US", reason: "has extension 4; the dialer cannot dial extensions, so remove it"},
		{name: "two numbers, semicolon", raw: "4155550101;4155550102", region: "US", reason: "holds two numbers in one cell; put one number per row (a second row for the other number)"},
		{name: "two numbers, slash", raw: "+1 415 555 0101 / +1 415 555 0102", region: "US", reason: "holds two numbers in one cell; put one number per row (a second row for the other number)"},
		{name: "two numbers, line break", raw: "415-555-0101\n415-555-0102", region: "US", reason: "holds two numbers in one cell; put one number per row (a second row for the other number)"},
		{name: "no region without plus", raw: "415 555 0123", region: "", reason: "has an unknown country code"},
		{name: "unknown country code", raw: "+999 1234 5678", region: "US", reason: "has an unknown country code"},
		{name: "not a number", raw: "---", region: "US", reason: "is not a phone number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Normalize(tt.raw, tt.region)
			if tt.want != "" {
				if err != nil || got != tt.want {
					t.Fatalf("Normalize(%q, %q) = %q, %v; want %q", tt.raw, tt.region, got, err, tt.want)
				}
				return
			}
			var ne *Error
			if !errors.As(err, &ne) {
				t.Fatalf("Normalize(%q, %q) = %q, %v; want a *Error", tt.raw, tt.region, got, err)
			}
			if ne.Reason != tt.reason || ne.Raw != tt.raw || err.Error() != tt.reason {
				t.Errorf("Normalize(%q, %q) error = %+v; want reason %q", tt.raw, tt.region, ne, tt.reason)
			}
		})
	}
}

func FuzzNormalizeNumber(f *testing.F) {
	for _, s := range []string{"(415) 555-0123", "+44 20 7946 0321", "1-800-FLOWERS", "415 555 0123 x12", "", "+", "011", "+1 ext 5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := Normalize(raw, "US")
		if err != nil {
			var ne *Error
			if !errors.As(err, &ne) {
				t.Fatalf("Normalize(%q) error %T, want *Error", raw, err)
			}
			return
		}
		if again, err := Normalize(got, "US"); err != nil || again != got {
			t.Fatalf("Normalize(%q) = %q, but that normalizes to %q, %v", raw, got, again, err)
		}
	})
}

// BenchmarkNormalizeNumber measures the per-row cost of the upload's second pass.
func BenchmarkNormalizeNumber(b *testing.B) {
	raws := []string{"(415) 555-0123", "+1 201 555 0142", "415.555.0124", "+44 20 7946 0321", "555-0123"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		Normalize(raws[i%len(raws)], "US")
	}
}

// BenchmarkNormalizeNumberParallel shows whether the upload could spread the work over cores.
func BenchmarkNormalizeNumberParallel(b *testing.B) {
	raws := []string{"(415) 555-0123", "+1 201 555 0142", "415.555.0124", "+44 20 7946 0321", "555-0123"}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			Normalize(raws[i%len(raws)], "US")
		}
	})
}
