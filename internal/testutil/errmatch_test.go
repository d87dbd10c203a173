package testutil

import (
	"errors"
	"testing"
)

func TestErrMatches(t *testing.T) {
	boom := errors.New("it went boom here")
	type call struct {
		err  error
		want string
	}
	for _, c := range []call{{nil, ""}, {boom, "boom"}, {boom, "it went boom here"}} {
		if !ErrMatches(c.err, c.want) {
			t.Errorf("ErrMatches(%v, %q) = false, want true", c.err, c.want)
		}
	}
	for _, c := range []call{{boom, ""}, {nil, "boom"}, {boom, "bang"}} {
		if ErrMatches(c.err, c.want) {
			t.Errorf("ErrMatches(%v, %q) = true, want false", c.err, c.want)
		}
	}
}
