package phone

import (
	"fmt"
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

// nanpNumbers are 10-digit numbers that meet each rule of the fast path once: valid in the
// US, in Canada and in Jamaica (another region of the plan), toll-free, an area code or an
// exchange starting with 0 or 1 (refused by the plan), an N11 area code, and area codes no
// region holds (555, 999).
var nanpNumbers = []string{
	"4155550123", "2015550142", "4165550123", "8765550123", "8005550199",
	"0155550123", "1155550123", "4150550123", "4151550123",
	"9115550123", "5555550100", "9995550123",
}

// nanpRegions are the default regions: two of the plan's (US, CA) and one more (JM), two
// outside it, and none.
var nanpRegions = []string{"US", "CA", "JM", "GB", "DE", ""}

// TestFastNANPMatchesLibphonenumber checks the fast path against libphonenumber's parser:
// wherever the fast path answers, the parser gives the same E.164 number, and the fast path
// does answer for the common shapes of valid numbers. It writes every number of
// nanpNumbers in every shape of nanpShapes for every region of nanpRegions (the rules on
// characters, length, a leading 1 or +, and the region), then every area code from 000 to
// 999 with random exchanges (plausible and not) and subscriber numbers in a rotating shape
// and region (the rule that libphonenumber must hold the number valid).
func TestFastNANPMatchesLibphonenumber(t *testing.T) {
	fast, valid := 0, 0
	check := func(raw, region string) {
		t.Helper()
		want, wantErr := normalize(raw, region)
		got, ok := fastNANP(strings.TrimSpace(raw), region)
		if wantErr == nil {
			valid++
		}
		if !ok {
			return
		}
		fast++
		if wantErr != nil || got != want {
			t.Fatalf("fastNANP(%q, %q) = %q; libphonenumber gives %q, %v", raw, region, got, want, wantErr)
		}
	}
	write := func(shape, number string) string {
		return strings.Replace(strings.Replace(strings.Replace(shape, "%s", number[:3], 1), "%s", number[3:6], 1), "%s", number[6:], 1)
	}
	for _, region := range nanpRegions {
		for _, shape := range nanpShapes {
			for _, number := range nanpNumbers {
				check(write(shape, number), region)
			}
		}
	}

	rng := rand.New(rand.NewPCG(10, 10))
	digits := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteByte(byte('0' + rng.IntN(10)))
		}
		return b.String()
	}
	i := 0
	for area := range 1000 {
		for j := range 4 {
			exch := digits(3)
			if j > 0 { // mostly plausible: the exchange starts with 2-9
				exch = string(byte('2'+rng.IntN(8))) + exch[1:]
			}
			check(write(nanpShapes[i%len(nanpShapes)], fmt.Sprintf("%03d", area)+exch+digits(4)), nanpRegions[i%len(nanpRegions)])
			i++
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
