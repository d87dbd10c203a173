// Package phone turns phone numbers as people write them into E.164, the form the dialer
// stores, dials and matches suppression lists and frequency caps against. It is used by the
// contact upload, the campaign file's caller-ID numbers and the suppression list.
package phone

import (
	"errors"
	"strings"
	"unicode"

	"github.com/nyaruka/phonenumbers"
)

// Error says why a contact's number cannot be dialed. Its Error is a plain sentence
// for a report's error column, e.g. "not a valid US number (too short)".
type Error struct {
	Raw    string // the cell as written in the contact file
	Reason string // why it was refused, without the number itself
}

// Error returns the reason alone, for a report's error column.
func (e *Error) Error() string { return e.Reason }

// Normalize turns a number as people write it ("(415) 555-0123", "415.555.0123",
// "+44 20 7946 0123") into E.164 ("+14155550123"). region is the ISO 3166 code ("US", "GB")
// that numbers written without a country code belong to; with region "" every number must
// start with + and its country code.
//
// It refuses, with a *Error, an empty cell ("no number"), two numbers in one cell
// ("4155550101;4155550102"), numbers with an extension
// ("415 555 0123 x12": a dialed call cannot reach one), numbers spelled with letters
// ("1-800-FLOWERS": the letters are more often a typo than a vanity number) and numbers that
// libphonenumber does not hold valid for their country.
func Normalize(raw, region string) (string, error) {
	region = strings.ToUpper(region)
	if e164, ok := fastNANP(strings.TrimSpace(raw), region); ok {
		return e164, nil
	}
	return normalize(raw, region)
}

// normalize is Normalize through libphonenumber's parser alone, for any number; region is
// upper case.
func normalize(raw, region string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", &Error{Raw: raw, Reason: "no number"}
	}
	if region == "" {
		region = "ZZ" // libphonenumber's "unknown region": only +country numbers parse
	}
	fail := func(reason string) (string, error) { return "", &Error{Raw: raw, Reason: reason} }
	if twoNumbers(s) {
		return fail("holds two numbers in one cell; put one number per row (a second row for the other number)")
	}

	num, err := phonenumbers.Parse(s, region)
	switch {
	case err != nil && hasLetters(s):
		return fail("contains letters; write the number with digits only")
	case errors.Is(err, phonenumbers.ErrInvalidCountryCode):
		if region == "ZZ" || s[0] == '+' {
			return fail("has an unknown country code")
		}
		return fail("has no country code; start it with + and the country code")
	case errors.Is(err, phonenumbers.ErrNotANumber):
		return fail("is not a phone number")
	case errors.Is(err, phonenumbers.ErrTooShortNSN), errors.Is(err, phonenumbers.ErrTooShortAfterIDD):
		return fail("too short to be a phone number")
	case errors.Is(err, phonenumbers.ErrNumTooLong):
		return fail("too long to be a phone number")
	case err != nil:
		return fail("is not a phone number: " + err.Error())
	}
	if ext := num.GetExtension(); ext != "" {
		return fail("has extension " + ext + "; the dialer cannot dial extensions, so remove it")
	}
	if hasLetters(s) {
		return fail("contains letters; write the number with digits only")
	}
	if !phonenumbers.IsValidNumber(num) {
		where := "a valid number"
		if s[0] != '+' && int(num.GetCountryCode()) == phonenumbers.GetCountryCodeForRegion(region) {
			where = "a valid " + region + " number"
		}
		switch phonenumbers.IsPossibleNumberWithReason(num) {
		case phonenumbers.TOO_SHORT:
			return fail("not " + where + " (too short)")
		case phonenumbers.TOO_LONG:
			return fail("not " + where + " (too long)")
		case phonenumbers.IS_POSSIBLE_LOCAL_ONLY:
			return fail("not " + where + " (no area code?)")
		}
		return fail("not " + where)
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}

// twoNumbers reports whether s lists more than one number: two parts, split at ; , / | & or
// a line break, that each hold at least 7 digits ("4155550101;4155550102"). An extension
// ("415 555 0123 x12") has too few digits to count.
func twoNumbers(s string) bool {
	parts := strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(";,/|&\n", r) })
	n := 0
	for _, p := range parts {
		if countDigits(p) >= 7 {
			n++
		}
	}
	return n >= 2
}

func countDigits(s string) int {
	n := 0
	for _, r := range s {
		if r >= '0' && r <= '9' {
			n++
		}
	}
	return n
}

// hasLetters reports whether s holds a letter, in any script.
func hasLetters(s string) bool {
	return strings.ContainsFunc(s, unicode.IsLetter)
}
