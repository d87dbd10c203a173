package testutil

import (
	"strings"
	"testing"
)

// ErrMatches reports whether err is what a table test's wantErr asks for: no error when want
// is "", else an error whose message contains want. The caller says what failed, with its
// own message.
func ErrMatches(err error, want string) bool {
	if want == "" {
		return err == nil
	}
	return err != nil && strings.Contains(err.Error(), want)
}

// WantErr checks err against a table case's wantErr, to the letter, and reports whether the
// case ends there. When want is "", a non-nil err fails the test at once and WantErr returns
// false, so the caller goes on to check what it got. Otherwise err must be an error whose
// message is exactly want, or the test fails at once ("error = <err>, want <want>"); WantErr
// then returns true and the caller returns.
//
//	got, err := Resolve(tt.in)
//	if testutil.WantErr(t, err, tt.wantErr) {
//		return
//	}
func WantErr(tb testing.TB, err error, want string) bool {
	tb.Helper()
	if want == "" {
		if err != nil {
			tb.Fatal(err)
		}
		return false
	}
	if err == nil || err.Error() != want {
		tb.Fatalf("error = %v, want %q", err, want)
	}
	return true
}
