package testutil

import (
	"errors"
	"fmt"
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

// fatalTB records what WantErr fails with instead of stopping the test.
type fatalTB struct {
	testing.TB
	failed string
}

func (f *fatalTB) Helper()                           {}
func (f *fatalTB) Fatal(args ...any)                 { f.failed = fmt.Sprint(args...) }
func (f *fatalTB) Fatalf(format string, args ...any) { f.failed = fmt.Sprintf(format, args...) }

func TestWantErr(t *testing.T) {
	boom := errors.New("it went boom")
	tests := []struct {
		name       string
		err        error
		want       string
		wantDone   bool
		wantFailed string
	}{
		{name: "no error wanted, none", err: nil, want: ""},
		{name: "no error wanted, one", err: boom, want: "", wantFailed: "it went boom"},
		{name: "error wanted, the same", err: boom, want: "it went boom", wantDone: true},
		{name: "error wanted, none", err: nil, want: "it went boom", wantDone: true, wantFailed: `error = <nil>, want "it went boom"`},
		{name: "error wanted, only part", err: boom, want: "boom", wantDone: true, wantFailed: `error = it went boom, want "boom"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := &fatalTB{TB: t}
			if done := WantErr(tb, tt.err, tt.want); done != tt.wantDone || tb.failed != tt.wantFailed {
				t.Errorf("WantErr(%v, %q) = %v, failed with %q; want %v, %q", tt.err, tt.want, done, tb.failed, tt.wantDone, tt.wantFailed)
			}
		})
	}
}
