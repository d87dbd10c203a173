package campaign

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/contactcsv"
	"github.com/dialerhq/dialer/internal/redistest"
	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
)

// fakeEnqueuer records dial tasks; with failAfter > 0 it fails from that call on.
type fakeEnqueuer struct {
	mu        sync.Mutex
	tasks     []string
	failAfter int
}

func (f *fakeEnqueuer) EnqueueDial(_ context.Context, ref AttemptRef, _ time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failAfter > 0 && len(f.tasks) >= f.failAfter {
		return errors.New("redis went away")
	}
	f.tasks = append(f.tasks, fmt.Sprintf("%s:%d:%d", ref.CampaignID, ref.ContactID, ref.Attempt))
	return nil
}

func mustFile(tb testing.TB) *File {
	tb.Helper()
	return mustFileWith(tb, "")
}

// mustFileWith reads a campaign file of the test's keys and extra as ParseFile does (with
// defaults, validated and normalised).
func mustFileWith(tb testing.TB, extra string) *File {
	tb.Helper()
	f, err := ParseChecked("test.yaml", []byte(`
name: reminders
assistantId: a1
phoneNumberId: p1
contacts:
  numberColumn: phone
  nameColumn: First Name
`+extra))
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

func opener(s string) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(s)), nil }
}

const contactsCSV = "\ufeffFirst Name,phone,note\r\n" +
	"Ann,(415) 555-0101,\"likes mornings, not evenings\"\r\n" +
	"Bob,not a number,\r\n" +
	"Cy,+1 415 555 0101,same as Ann\r\n" +
	"Di,415.555.0102,\"multi\nline\"\r\n" +
	"Ed,415-555-0103\r\n"

// newStore returns a Store on a clean test Redis (database 1, the package's), and the client.
func newStore(tb testing.TB) (*Store, *redis.Client) {
	tb.Helper()
	rdb, _ := redistest.Setup(tb, 1)
	return NewStore(rdb), rdb
}

// uploadContacts returns a Store on a fresh test Redis and the campaign it uploaded: mustFile
// with contactsCSV, its dial tasks given to a fakeEnqueuer that is not kept.
func uploadContacts(tb testing.TB) (*Store, *Campaign) {
	tb.Helper()
	store, _ := newStore(tb)
	c, err := store.Upload(tb.Context(), mustFile(tb), "contacts.csv", opener(contactsCSV), &fakeEnqueuer{}, UploadOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	return store, c
}

func TestUpload(t *testing.T) {
	store, _ := newStore(t)
	enq := &fakeEnqueuer{}
	c, err := store.Upload(t.Context(), mustFile(t), "contacts.csv", opener(contactsCSV), enq, UploadOptions{Enqueuers: 3, BatchSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	counts := []int{c.Rows, c.Dialable, c.Invalid, c.Duplicate}
	if diff := cmp.Diff([]int{5, 2, 2, 1}, counts); diff != "" {
		t.Errorf("rows, dialable, invalid, duplicate (-want +got):\n%s", diff)
	}
	slices.Sort(enq.tasks)
	if diff := cmp.Diff([]string{c.ID + ":1:1", c.ID + ":4:1"}, enq.tasks); diff != "" {
		t.Errorf("enqueued (-want +got):\n%s", diff)
	}

	got, err := store.Campaign(t.Context(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Upload != UploadComplete || got.Rows != 5 || !slices.Equal(got.Header, []string{"First Name", "phone", "note"}) {
		t.Errorf("stored campaign: upload %q, rows %d, header %q", got.Upload, got.Rows, got.Header)
	}

	contacts, err := store.Contacts(t.Context(), c.ID, 1, 5)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Number, Name string
		Outcome      Outcome
		Error        string
		Fields       []string
	}
	var rows []row
	for _, ct := range contacts {
		rows = append(rows, row{ct.Number, ct.Name, ct.Outcome, ct.Last.Error, ct.Fields})
	}
	want := []row{
		{"+14155550101", "Ann", "", "", []string{"Ann", "(415) 555-0101", "likes mornings, not evenings"}},
		{"", "Bob", OutcomeInvalid, rows[1].Error, []string{"Bob", "not a number", ""}},
		{"+14155550101", "Cy", OutcomeDuplicate, "same number +14155550101 as line 2; dialed once, for that line", []string{"Cy", "+1 415 555 0101", "same as Ann"}},
		{"+14155550102", "Di", "", "", []string{"Di", "415.555.0102", "multi\nline"}},
		{"", "Ed", OutcomeInvalid, "row has 2 fields, header has 3", []string{"Ed", "415-555-0103"}},
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("contacts (-want +got):\n%s", diff)
	}
	if rows[1].Error == "" {
		t.Errorf("invalid row carries no reason")
	}

	st, err := store.Status(t.Context(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.Finished != 3 || st.Done || st.Outcomes[OutcomeInvalid] != 2 || st.Outcomes[OutcomeDuplicate] != 1 {
		t.Errorf("status after upload: %+v", st)
	}
}

func TestUploadRefusesBadInputAndKeepsNothing(t *testing.T) {
	tests := []struct {
		name     string
		csv      string
		file     string // appended to the campaign file
		wantErr  string
		wantType any
	}{
		{
			name:     "no number column",
			csv:      "First Name,mobile\nAnn,4155550101\n",
			wantErr:  `contacts.csv: no column "phone" (named by contacts.numberColumn in the campaign file); the header has "First Name", "mobile"`,
			wantType: &ColumnError{},
		},
		{
			name:     "no time zone column",
			csv:      "First Name,phone\nAnn,4155550101\n",
			file:     "defaultTimezone: America/New_York\ncallingWindow: {start: \"09:00\", end: \"20:00\", timezone: contact, timezoneColumn: tz}\n",
			wantErr:  `no column "tz" (named by callingWindow.timezoneColumn`,
			wantType: &ColumnError{},
		},
		{
			name:     "bare quote deep in the file",
			csv:      "First Name,phone\nAnn,4155550101\nBob,415\"5550102\n",
			wantErr:  "contacts.csv:3:",
			wantType: &contactcsv.CSVError{},
		},
		{
			name:    "header only",
			csv:     "First Name,phone\n",
			wantErr: "no rows",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store, rdb := newStore(t)
			enq := &fakeEnqueuer{}
			_, err := store.Upload(t.Context(), mustFileWith(t, tt.file), "contacts.csv", opener(tt.csv), enq, UploadOptions{})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
			if tt.wantType != nil {
				target := tt.wantType
				switch target.(type) {
				case *ColumnError:
					var e *ColumnError
					if !errors.As(err, &e) {
						t.Errorf("err %T is not a *ColumnError", err)
					}
				case *contactcsv.CSVError:
					var e *contactcsv.CSVError
					if !errors.As(err, &e) {
						t.Errorf("err %T is not a *contactcsv.CSVError", err)
					}
				}
			}
			if len(enq.tasks) != 0 {
				t.Errorf("enqueued %d tasks for a refused file", len(enq.tasks))
			}
			if keys := rdb.Keys(t.Context(), "*").Val(); len(keys) != 0 {
				t.Errorf("a refused upload left keys: %q", keys)
			}
		})
	}
}

func TestUploadFailingMidwayDeletesTheCampaign(t *testing.T) {
	rdb, _ := redistest.Setup(t, 1)
	var b strings.Builder
	b.WriteString("phone\n")
	for i := range 300 {
		fmt.Fprintf(&b, "+1 415 555 %04d\n", i)
	}
	enq := &fakeEnqueuer{failAfter: 50}
	f := mustFile(t)
	f.Contacts.NameColumn = ""
	_, err := NewStore(rdb).Upload(t.Context(), f, "contacts.csv", opener(b.String()), enq, UploadOptions{BatchSize: 16})
	if err == nil || !strings.Contains(err.Error(), "redis went away") {
		t.Fatalf("err = %v, want the enqueuer's error", err)
	}
	if keys := rdb.Keys(t.Context(), "dialer:*").Val(); len(keys) != 0 {
		t.Errorf("a failed upload left %d keys, e.g. %q", len(keys), keys[0])
	}
}

func TestAttemptRecords(t *testing.T) {
	store, c := uploadContacts(t)
	ctx := t.Context()
	for i, want := range []bool{true, false} {
		ok, err := store.ClaimAttempt(ctx, AttemptRef{CampaignID: c.ID, ContactID: 1, Attempt: 1}, "w1", Audit{})
		if err != nil || ok != want {
			t.Fatalf("claim #%d = %v, %v; want %v", i+1, ok, err, want)
		}
	}
	start := time.Date(2026, 11, 21, 17, 0, 0, 0, time.UTC)
	if _, err := store.RecordCall(ctx, AttemptRef{CampaignID: c.ID, ContactID: 1, Attempt: 1}, "CC-1", "http://x/control", start); err != nil {
		t.Fatal(err)
	}
	if st, _ := store.Status(ctx, c.ID); st.LiveCalls != 1 || st.Attempts != 1 {
		t.Errorf("live %d, attempts %d; want 1, 1", st.LiveCalls, st.Attempts)
	}
	r := Result{Outcome: OutcomeCompleted, CallID: "CC-1", StartedAt: start, EndedAt: start.Add(time.Minute),
		PhoneCallStatus: "completed", EndedBy: "assistant", SuccessEvaluation: "Good", Summary: "Confirmed.", StructuredData: `{"confirmed":true}`}
	if _, err := store.FinishAttempt(ctx, AttemptRef{CampaignID: c.ID, ContactID: 1, Attempt: 1}, r); err != nil {
		t.Fatal(err)
	}
	att, err := store.Attempt(ctx, AttemptRef{CampaignID: c.ID, ContactID: 1, Attempt: 1})
	if err != nil {
		t.Fatal(err)
	}
	if att.State != AttemptDone || att.CallID != "CC-1" {
		t.Errorf("attempt = %+v", att)
	}
	if diff := cmp.Diff(r, att.Result); diff != "" {
		t.Errorf("attempt result (-want +got):\n%s", diff)
	}
	for i, want := range []Finalized{FinalizedNow, FinalizedBefore} {
		res, err := store.Finalize(ctx, c.ID, 1, OutcomeCompleted, "")
		if err != nil || res != want {
			t.Fatalf("finalize #%d = %v, %v; want %v", i+1, res, err, want)
		}
	}
	// Contact 4 is the other dialable one.
	if _, err := store.Finalize(ctx, c.ID, 4, OutcomeBusy, ""); err != nil {
		t.Fatal(err)
	}
	st, err := store.Status(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantOutcomes := map[Outcome]int{OutcomeCompleted: 1, OutcomeBusy: 1, OutcomeInvalid: 2, OutcomeDuplicate: 1}
	if diff := cmp.Diff(wantOutcomes, st.Outcomes); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	if !st.Done || st.LiveCalls != 0 || st.ETASeconds != 0 {
		t.Errorf("status = %+v; want done, no live calls", st)
	}
}

// fakeSuppressor suppresses the numbers it holds, for the campaign it is asked about.
type fakeSuppressor map[string]bool

func (f fakeSuppressor) SuppressedMany(_ context.Context, _ string, numbers []string) ([]bool, error) {
	out := make([]bool, len(numbers))
	for i, n := range numbers {
		out[i] = f[n]
	}
	return out, nil
}

func TestUploadSuppressed(t *testing.T) {
	store, _ := newStore(t)
	enq := &fakeEnqueuer{}
	sup := fakeSuppressor{"+14155550102": true}
	c, err := store.Upload(t.Context(), mustFile(t), "contacts.csv", opener(contactsCSV), enq, UploadOptions{ID: "csup", Suppressor: sup})
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != "csup" || c.Dialable != 1 || c.Suppressed != 1 {
		t.Errorf("campaign %s: %d dialable, %d suppressed; want csup, 1, 1", c.ID, c.Dialable, c.Suppressed)
	}
	if diff := cmp.Diff([]string{"csup:1:1"}, enq.tasks); diff != "" {
		t.Errorf("enqueued (-want +got):\n%s", diff)
	}
	di, err := store.Contact(t.Context(), c.ID, 4)
	if err != nil {
		t.Fatal(err)
	}
	if di.Outcome != OutcomeSuppressed || di.Last.Error != SuppressedReason || di.Number != "+14155550102" {
		t.Errorf("suppressed contact = %+v", di)
	}
	st, err := store.Status(t.Context(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.Suppressed != 1 || st.Outcomes[OutcomeSuppressed] != 1 {
		t.Errorf("status counts %d suppressed rows, outcomes %v", st.Suppressed, st.Outcomes)
	}
}

// A contact file as Excel on Windows saves "CSV (Comma delimited)": Windows-1252, CRLF, a
// quoted cell with a comma. Without an encoding it is refused before anything is stored,
// at its first accented byte; with encoding windows-1252 (given, or from the campaign file)
// every row loads as written.
func TestUploadExcelWindows1252(t *testing.T) {
	data, err := os.ReadFile("../contactcsv/testdata/excel-windows-1252.csv")
	if err != nil {
		t.Fatal(err)
	}
	const path = "../contactcsv/testdata/excel-windows-1252.csv"
	t.Run("refused without an encoding", func(t *testing.T) {
		store, rdb := newStore(t)
		_, err := store.Upload(t.Context(), mustFile(t), path, opener(string(data)), &fakeEnqueuer{}, UploadOptions{})
		var ce *contactcsv.CSVError
		if !errors.As(err, &ce) || ce.Line != 2 || ce.Column != 4 {
			t.Fatalf("Upload = %v, want a *contactcsv.CSVError at line 2 column 4", err)
		}
		for _, want := range []string{path + ":2:4:", "0xE9", `"CSV UTF-8 (Comma delimited)"`, "--encoding windows-1252"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
		if keys := rdb.Keys(t.Context(), "*").Val(); len(keys) != 0 {
			t.Errorf("a refused upload stored %q", keys)
		}
	})
	for name, tc := range map[string]struct {
		extra string
		opt   UploadOptions
	}{
		"with --encoding":               {opt: UploadOptions{Encoding: contactcsv.EncodingWindows1252}},
		"with contacts.encoding":        {extra: "  encoding: windows-1252\n"},
		"the option wins over the file": {extra: "  encoding: utf-8\n", opt: UploadOptions{Encoding: contactcsv.EncodingWindows1252}},
	} {
		t.Run(name, func(t *testing.T) {
			store, _ := newStore(t)
			c, err := store.Upload(t.Context(), mustFileWith(t, tc.extra), path, opener(string(data)), &fakeEnqueuer{}, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			if c.Rows != 5 || c.Dialable != 5 {
				t.Errorf("rows %d, dialable %d; want 5 and 5", c.Rows, c.Dialable)
			}
			got, err := store.Contacts(t.Context(), c.ID, 1, 5)
			if err != nil {
				t.Fatal(err)
			}
			var names, notes []string
			for _, ct := range got {
				names = append(names, ct.Name)
				notes = append(notes, ct.Fields[2])
			}
			if diff := cmp.Diff([]string{"José", "François", "Zoë", "Jürgen Müller", "Núñez, Ana"}, names); diff != "" {
				t.Errorf("names (-want +got):\n%s", diff)
			}
			if notes[0] != "Señor café" || notes[4] != "€20 co-pay" {
				t.Errorf("notes %q", notes)
			}
		})
	}
}
