package campaign

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/contactcsv"
	"github.com/dialerhq/dialer/internal/redistest"
	"github.com/google/go-cmp/cmp"
)

// TestPreviewMatchesUpload previews campaigns/example.csv and uploads it: the counts and each
// refused row's outcome and reason are the ones Upload stores, and the preview stored nothing.
func TestPreviewMatchesUpload(t *testing.T) {
	f, err := ParseFile("../../campaigns/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("../../campaigns/example.csv")
	if err != nil {
		t.Fatal(err)
	}
	sup := fakeSuppressor{"+14155550124": true}
	rdb, _ := redistest.Setup(t, 1)

	p, err := Preview(t.Context(), f, "example.csv", strings.NewReader(string(data)), PreviewOptions{Suppressor: sup, SampleRows: 2, MaxRefused: 3})
	if err != nil {
		t.Fatal(err)
	}
	if n := rdb.DBSize(t.Context()).Val(); n != 0 {
		t.Fatalf("preview stored %d keys", n)
	}
	store := NewStore(rdb)
	c, err := store.Upload(t.Context(), f, "example.csv", opener(string(data)), &fakeEnqueuer{}, UploadOptions{Suppressor: sup})
	if err != nil {
		t.Fatal(err)
	}
	got := []int{p.Rows, p.Dialable, p.Invalid, p.Duplicate, p.Suppressed}
	want := []int{c.Rows, c.Dialable, c.Invalid, c.Duplicate, c.Suppressed}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("counts (rows, dialable, invalid, duplicate, suppressed) -want +got:\n%s", diff)
	}
	if diff := cmp.Diff([]int{50, 43, 4, 2, 1}, got); diff != "" {
		t.Errorf("example.csv counts -want +got:\n%s", diff)
	}
	if p.Delimiter != "," || p.Header[2] != "phone" {
		t.Errorf("delimiter %q, header %q", p.Delimiter, p.Header)
	}
	if len(p.Refused) != 3 || len(p.Sample) != 2 {
		t.Fatalf("%d refused, %d sample rows; want 3 and 2 (the limits)", len(p.Refused), len(p.Sample))
	}

	full, err := Preview(t.Context(), f, "example.csv", strings.NewReader(string(data)), PreviewOptions{Suppressor: sup})
	if err != nil {
		t.Fatal(err)
	}
	contacts, err := store.Contacts(t.Context(), c.ID, 1, c.Rows)
	if err != nil {
		t.Fatal(err)
	}
	type refusal struct {
		Line    int
		Outcome Outcome
		Reason  string
	}
	var stored []refusal
	for _, ct := range contacts {
		if ct.Outcome != "" {
			stored = append(stored, refusal{ct.Line, ct.Outcome, ct.Last.Error})
		}
	}
	var previewed []refusal
	for _, r := range full.Refused {
		previewed = append(previewed, refusal{r.Line, r.Outcome, r.Reason})
	}
	if diff := cmp.Diff(stored, previewed); diff != "" {
		t.Errorf("refused rows -stored by upload +previewed:\n%s", diff)
	}
	first := full.Sample[0]
	if first.Line != 2 || first.Number != "+14155550101" || first.Name != "Maria" || first.Variables["clinic"] != "Mission Bay" {
		t.Errorf("first sample row = %+v", first)
	}
	if len(full.Openings) != 0 {
		t.Errorf("openings %+v for a campaign without a calling window", full.Openings)
	}
}

// TestPreviewWindow checks the zones and next openings: a window read on each contact's clock,
// with a zone column overriding the number's zone, at a fixed instant.
func TestPreviewWindow(t *testing.T) {
	f := mustFileWith(t, `
defaultTimezone: America/New_York
callingWindow:
  days: [mon, tue, wed, thu, fri]
  start: "09:00"
  end: "17:00"
  timezone: contact
  timezoneColumn: tz
`)
	// Friday 2026-12-04 15:00 UTC: 10:00 in New York (open), 07:00 in Los Angeles (shut).
	now := time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC)
	csv := "First Name,phone,tz\n" +
		"Ann,212 555 0101,\n" +
		"Bob,415 555 0102,\n" +
		"Cy,415 555 0103,America/New_York\n" +
		"Di,415 555 0104,Mars/Olympus\n"
	p, err := Preview(t.Context(), f, "c.csv", strings.NewReader(csv), PreviewOptions{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	want := []ZoneOpening{
		{Zones: "America/Los_Angeles", Contacts: 1, Next: time.Date(2026, 12, 4, 17, 0, 0, 0, time.UTC)},
		{Zones: "America/New_York", Contacts: 2, Next: now, OpenNow: true},
	}
	if diff := cmp.Diff(want, p.Openings); diff != "" {
		t.Errorf("openings -want +got:\n%s", diff)
	}
	if p.Dialable != 4 || p.ZoneErrors != 1 || len(p.Refused) != 1 || p.Refused[0].Line != 5 || p.Refused[0].Outcome != OutcomeError {
		t.Errorf("dialable %d, zone errors %d, refused %+v", p.Dialable, p.ZoneErrors, p.Refused)
	}
	if s := p.Sample[2]; s.ZoneSource != "column" || s.Zones[0] != "America/New_York" {
		t.Errorf("third row zones %q from %q, want America/New_York from column", s.Zones, s.ZoneSource)
	}
}

func TestPreviewErrors(t *testing.T) {
	f := mustFile(t)
	_, err := Preview(t.Context(), f, "c.csv", strings.NewReader("name,tel\nAnn,4155550101\n"), PreviewOptions{})
	var ce *ColumnError
	if !errors.As(err, &ce) || ce.Key != "contacts.numberColumn" {
		t.Errorf("missing number column: %v, want a *ColumnError for contacts.numberColumn", err)
	}
	_, err = Preview(t.Context(), f, "c.csv", strings.NewReader("First Name,phone\n"), PreviewOptions{})
	if !errors.Is(err, errNoRows) {
		t.Errorf("no rows: %v", err)
	}
	_, err = Preview(t.Context(), f, "c.csv", strings.NewReader("First Name,phone\nAnn,\"415\n"), PreviewOptions{})
	var cse *contactcsv.CSVError
	if !errors.As(err, &cse) || cse.Line != 2 {
		t.Errorf("unclosed quote: %v, want a *contactcsv.CSVError on line 2", err)
	}
}

// TestPreviewEncoding: a Windows-1252 file is refused at its first accented byte with
// contactcsv.ErrNotUTF8, and previews whole with Encoding or the campaign file's contacts.encoding.
func TestPreviewEncoding(t *testing.T) {
	data, err := os.ReadFile("../contactcsv/testdata/excel-windows-1252.csv")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Preview(t.Context(), mustFile(t), "x.csv", bytes.NewReader(data), PreviewOptions{})
	var ce *contactcsv.CSVError
	if !errors.Is(err, contactcsv.ErrNotUTF8) || !errors.As(err, &ce) || ce.Line != 2 || ce.Column != 4 {
		t.Errorf("without an encoding: %v, want contactcsv.ErrNotUTF8 at line 2 column 4", err)
	}
	for name, tc := range map[string]struct {
		f   *File
		opt PreviewOptions
	}{
		"option":            {mustFile(t), PreviewOptions{Encoding: contactcsv.EncodingWindows1252}},
		"contacts.encoding": {mustFileWith(t, "  encoding: windows-1252\n"), PreviewOptions{}},
	} {
		pv, err := Preview(t.Context(), tc.f, "x.csv", bytes.NewReader(data), tc.opt)
		if err != nil || pv.Dialable != 5 || pv.Sample[0].Name != "José" {
			t.Errorf("with the encoding by %s: %+v, %v; want 5 dialable, José first", name, pv, err)
		}
	}
}
