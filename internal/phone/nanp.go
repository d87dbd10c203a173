package phone

import (
	"strconv"

	"github.com/nyaruka/phonenumbers"
)

// nanpCountryCode is the country calling code of the North American Numbering Plan (US,
// Canada and 23 other regions).
const nanpCountryCode = 1

// nanpMainRegion is the plan's main region, the first libphonenumber tries: "US".
var nanpMainRegion = phonenumbers.GetRegionCodeForCountryCode(nanpCountryCode)

// fastNANP normalizes the commonest shape of contact number without libphonenumber's
// parser, whose regular expressions cost about 10 µs a number (half of a 1M-row upload's
// CPU): a North American number written with digits and only the separators people put
// in one ("(415) 555-0123", "415.555.0123", "+1 415-555-0123", "14155550123"). It reports
// false for anything else, and for a number libphonenumber does not hold valid, so that
// Normalize's full path gives the answer and its reason. Where it reports true, the
// answer is the one that path gives (TestFastNANPMatchesLibphonenumber compares them):
//   - only digits, spaces, '-', '.', '(' and ')' after an optional leading '+', so the
//     parser would find no extension, letters, or second number;
//   - "+1" and 10 digits, or, when region's country code is 1, 10 digits, or 11 digits
//     starting with the national prefix 1: the parser reads each as country code 1 and
//     those 10 digits, as the first of them is 2 to 9 (never an IDD or national prefix);
//   - the validity check is libphonenumber's own, on that number.
func fastNANP(s, region string) (string, bool) {
	if len(s) > 32 {
		return "", false
	}
	var d [11]byte
	n, plus := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			if n == len(d) {
				return "", false
			}
			d[n] = c
			n++
		case c == '+' && i == 0:
			plus = true
		case c == ' ', c == '-', c == '.', c == '(', c == ')':
		default:
			return "", false
		}
	}
	var national []byte
	switch {
	case n == 11 && d[0] == '1' && (plus || phonenumbers.GetCountryCodeForRegion(region) == nanpCountryCode):
		national = d[1:11]
	case n == 10 && !plus && phonenumbers.GetCountryCodeForRegion(region) == nanpCountryCode:
		national = d[:10]
	default:
		return "", false
	}
	if national[0] < '2' {
		return "", false
	}
	nn, err := strconv.ParseUint(string(national), 10, 64)
	if err != nil {
		return "", false
	}
	cc := int32(nanpCountryCode)
	num := &phonenumbers.PhoneNumber{CountryCode: &cc, NationalNumber: &nn}
	// IsValidNumber finds the number's region, trying the plan's regions in order with the
	// test IsValidNumberForRegion makes, then makes that test again. The main region (US)
	// comes first and names no leading digits, so a number valid there is valid, and one
	// test tells.
	if !phonenumbers.IsValidNumberForRegion(num, nanpMainRegion) && !phonenumbers.IsValidNumber(num) {
		return "", false
	}
	return "+1" + string(national), true
}
