package phone

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// nanpShapes are the ways people write a North American number, with %s standing for its
// 10 digits split 3-3-4, and cases the fast path must leave to libphonenumber.
var nanpShapes = []string{
	"(%s) %s-%s", "%s-%s-%s", "%s.%s.%s", "%s %s %s", "%s%s%s", "+1 %s-%s-%s", "+1%s%s%s",
	"1 (%s) %s-%s", "1-%s-%s-%s", "1%s%s%s", "+1 (%s) %s.%s", " %s-%s-%s ", "((%s)) %s--%s",
	"+(1) %s %s %s", "(+1) %s %s %s", "%s-%s-%s x12", "%s-%s-%s#", "%s %s %s;", "+44 %s %s %s",
	"0%s%s%s", "011 %s %s %s", "+%s%s%s", "%s%s%s1", "+11%s%s%s", "%s-%s-%s ext 7",
}

// TestFastNANPMatchesLibphonenumber checks the fast path against libphonenumber's parser on
// many written forms of random numbers (area codes and exchanges valid and not) in several
// default regions: wherever the fast path answers, the parser gives the same E.164 number,
// and the fast path does answer for the common shapes of valid numbers.
func TestFastNANPMatchesLibphonenumber(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 10))
	digits := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteByte(byte('0' + rng.IntN(10)))
		}
		return b.String()
	}
	fast, valid := 0, 0
	for _, region := range []string{"US", "CA", "JM", "GB", "DE", ""} {
		for i := range 20000 {
			shape := nanpShapes[i%len(nanpShapes)]
			area, exch := digits(3), digits(3)
			if i%3 > 0 { // mostly plausible: area and exchange start with 2-9
				area = string(byte('2'+rng.IntN(8))) + area[1:]
				exch = string(byte('2'+rng.IntN(8))) + exch[1:]
			}
			raw := strings.Replace(strings.Replace(strings.Replace(shape, "%s", area, 1), "%s", exch, 1), "%s", digits(4), 1)
			want, wantErr := normalize(raw, region)
			got, ok := fastNANP(strings.TrimSpace(raw), region)
			if wantErr == nil {
				valid++
			}
			if !ok {
				continue
			}
			fast++
			if wantErr != nil || got != want {
				t.Fatalf("fastNANP(%q, %q) = %q; libphonenumber gives %q, %v", raw, region, got, want, wantErr)
			}
		}
	}
	// The fast path must carry the common case, or the upload is slow again.
	if fast < valid/2 {
		t.Errorf("fast path answered %d of %d valid numbers; want at least half", fast, valid)
	}
}

// FuzzFastNANP checks that wherever the fast path answers, libphonenumber agrees.
func FuzzFastNANP(f *testing.F) {
	for _, s := range []string{"(415) 555-0123", "+1 201 555 0142", "14155550123", "+1(415)555.0123", "1 800 555 0199", "(011) 555-0123"} {
		f.Add(s, "US")
	}
	f.Add("+1 415 555 0123", "GB")
	f.Fuzz(func(t *testing.T, raw, region string) {
		region = strings.ToUpper(region)
		got, ok := fastNANP(strings.TrimSpace(raw), region)
		if !ok {
			return
		}
		if want, err := normalize(raw, region); err != nil || got != want {
			t.Fatalf("fastNANP(%q, %q) = %q; libphonenumber gives %q, %v", raw, region, got, want, err)
		}
	})
}
