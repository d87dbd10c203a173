package campaign

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseRetention(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{in: "30d", want: 30 * 24 * time.Hour},
		{in: "1d", want: 24 * time.Hour},
		{in: "12h", want: 12 * time.Hour},
		{in: "90m", want: 90 * time.Minute},
		{in: "0d", wantErr: true},
		{in: "-2h", wantErr: true},
		{in: "30 days", wantErr: true},
		{in: "1.5d", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseRetention(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseRetention(%q) = %s, %v; want %s (error %v)", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestRetentionKey(t *testing.T) {
	base := "name: r\nassistantId: a\nphoneNumberId: p\ncontacts: {numberColumn: phone}\n"
	f, err := Parse("c.yaml", []byte(base+"retention: 7d\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := RetentionOf(&Campaign{File: *f}, time.Hour); got != 7*24*time.Hour {
		t.Errorf("retention 7d = %s", got)
	}
	f, err = Parse("c.yaml", []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	if got := RetentionOf(&Campaign{File: *f}, time.Hour); got != time.Hour {
		t.Errorf("no retention key = %s, want the default 1h", got)
	}

	_, err = Parse("c.yaml", []byte(base+"retention: 30 days\n"))
	var fe *FileError
	if !errors.As(err, &fe) {
		t.Fatalf("retention: 30 days = %v, want a *FileError", err)
	}
	want := &FileError{Path: "c.yaml", Line: 5, Column: 12, Key: "retention",
		Msg: `must be a number of days such as 30d, or a duration such as 12h, got "30 days"`}
	if diff := cmp.Diff(want, fe); diff != "" {
		t.Errorf("error (-want +got):\n%s", diff)
	}
}
