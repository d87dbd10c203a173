package testutil

import "strings"

// ErrMatches reports whether err is what a table test's wantErr asks for: no error when want
// is "", else an error whose message contains want. The caller says what failed, with its
// own message.
func ErrMatches(err error, want string) bool {
	if want == "" {
		return err == nil
	}
	return err != nil && strings.Contains(err.Error(), want)
}
