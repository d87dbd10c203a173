package campaign

import (
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/redistest"
	"github.com/google/go-cmp/cmp"
)

func TestWriteReport(t *testing.T) {
	rdb, _ := redistest.Setup(t, 1)
	store := NewStore(rdb)
	ctx := t.Context()
	c, err := store.Upload(ctx, mustFile(t), "contacts.csv", opener(contactsCSV), &fakeEnqueuer{}, UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 21, 17, 0, 0, 123e6, time.UTC)
	if _, err := store.ClaimAttempt(ctx, c.ID, 1, 1, "w", Audit{}); err != nil {
		t.Fatal(err)
	}
	r := Result{Outcome: OutcomeCompleted, CallID: "CC-1", StartedAt: start, EndedAt: start.Add(90 * time.Second),
		PhoneCallStatus: "completed", EndedBy: "assistant", SuccessEvaluation: "Good",
		Summary: "Ann confirmed, \"Tuesday\".", StructuredData: `{"confirmed":true}`}
	if err := store.FinishAttempt(ctx, c.ID, 1, 1, r); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Finalize(ctx, c.ID, 1, OutcomeCompleted, ""); err != nil {
		t.Fatal(err)
	}

	var b strings.Builder
	n, err := store.WriteReport(ctx, c.ID, &b, ReportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n != 5 {
		t.Errorf("wrote %d rows, want 5", n)
	}
	got, err := csv.NewReader(strings.NewReader(b.String())).ReadAll()
	if err != nil {
		t.Fatalf("the report is not CSV: %v\n%s", err, b.String())
	}
	header := append([]string{"First Name", "phone", "note"}, ReportColumns...)
	want := [][]string{
		header,
		{"Ann", "(415) 555-0101", "likes mornings, not evenings", "+14155550101", "completed", "1", "CC-1",
			"2026-11-21T17:00:00Z", "2026-11-21T17:01:30Z", "completed", "assistant", "Good", "Ann confirmed, \"Tuesday\".", `{"confirmed":true}`, ""},
		{"Bob", "not a number", "", "", "invalid", "0", "", "", "", "", "", "", "", "", got[2][len(header)-1]},
		{"Cy", "+1 415 555 0101", "same as Ann", "+14155550101", "duplicate", "0", "", "", "", "", "", "", "", "", "same number +14155550101 as line 2; dialed once, for that line"},
		{"Di", "415.555.0102", "multi\nline", "+14155550102", "pending", "0", "", "", "", "", "", "", "", "", ""},
		// A short row is padded to the header's width.
		{"Ed", "415-555-0103", "", "", "invalid", "0", "", "", "", "", "", "", "", "", "row has 2 fields, header has 3"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
	if got[2][len(header)-1] == "" {
		t.Error("the invalid row's error cell is empty")
	}
}

func TestWriteAttemptReport(t *testing.T) {
	rdb, _ := redistest.Setup(t, 1)
	store := NewStore(rdb)
	ctx := t.Context()
	c, err := store.Upload(ctx, mustFile(t), "contacts.csv", opener(contactsCSV), &fakeEnqueuer{}, UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	audit := Audit{Zones: "America/Los_Angeles", ZoneSource: "number", LocalTime: "2026-11-20T10:00:00-08:00",
		Window: "mon-fri 09:00-20:00", Suppression: "not suppressed", Frequency: "1 of 3 in 24h0m0s"}
	start := time.Date(2026, 11, 20, 18, 0, 0, 0, time.UTC)
	for a, outcome := range []Outcome{OutcomeBusy, OutcomeCompleted} {
		if _, err := store.ClaimAttempt(ctx, c.ID, 1, a+1, "w1", audit); err != nil {
			t.Fatal(err)
		}
		r := Result{Outcome: outcome, CallID: "CC-" + string(rune('a'+a)), StartedAt: start, EndedAt: start.Add(time.Minute), PhoneCallStatus: string(outcome)}
		if err := store.FinishAttempt(ctx, c.ID, 1, a+1, r); err != nil {
			t.Fatal(err)
		}
	}
	var b strings.Builder
	n, err := store.WriteAttemptReport(ctx, c.ID, &b, ReportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := csv.NewReader(strings.NewReader(b.String())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 || len(got) != 3 {
		t.Fatalf("wrote %d rows, %d lines; want 2 attempts and a header:\n%s", n, len(got), b.String())
	}
	wantHeader := []string{"campaign_id", "row", "phone_e164", "attempt", "worker", "claimed_at", "call_id", "started_at", "ended_at",
		"outcome", "phone_call_status", "ended_by", "contact_local_time", "contact_zones", "zone_source", "calling_window",
		"suppression_check", "frequency_cap_count", "error"}
	if diff := cmp.Diff(wantHeader, got[0]); diff != "" {
		t.Errorf("header (-want +got):\n%s", diff)
	}
	row := map[string]string{}
	for i, h := range got[0] {
		row[h] = got[2][i]
	}
	want := map[string]string{
		"campaign_id": c.ID, "row": "1", "phone_e164": "+14155550101", "attempt": "2", "worker": "w1",
		"claimed_at": row["claimed_at"], "call_id": "CC-b", "started_at": "2026-11-20T18:00:00Z", "ended_at": "2026-11-20T18:01:00Z",
		"outcome": "completed", "phone_call_status": "completed", "ended_by": "",
		"contact_local_time": "2026-11-20T10:00:00-08:00", "contact_zones": "America/Los_Angeles", "zone_source": "number",
		"calling_window": "mon-fri 09:00-20:00", "suppression_check": "not suppressed", "frequency_cap_count": "1 of 3 in 24h0m0s", "error": "",
	}
	if diff := cmp.Diff(want, row); diff != "" {
		t.Errorf("second attempt (-want +got):\n%s", diff)
	}
	if row["claimed_at"] == "" || got[1][3] != "1" || got[1][9] != "busy" {
		t.Errorf("first attempt row = %q", got[1])
	}
}

func TestSafeCell(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"Ann", "Ann"},
		{`=HYPERLINK("http://evil.example","click")`, `'=HYPERLINK("http://evil.example","click")`},
		{"+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"},
		{"-2+3", "-2+3"}, // arithmetic at most
		{"-A1", "'-A1"},
		{"@SUM(A1:A2)", "'@SUM(A1:A2)"},
		{"\t=1+1", "'\t=1+1"},
		{"\r=1+1", "'\r=1+1"},
		{"-12.5", "-12.5"},
		{"+14155550101", "+14155550101"},
		{"+1 415 555 0101", "+1 415 555 0101"},
		{"+1 (415) 555-0101", "+1 (415) 555-0101"},
		{"+1 415 CALL NOW", "'+1 415 CALL NOW"},
		{"-1e6", "-1e6"},
		{"a=b", "a=b"},
	}
	for _, tt := range tests {
		if got := SafeCell(tt.in); got != tt.want {
			t.Errorf("SafeCell(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestReportNeutralisesFormulas checks that a formula in a contact file comes out of the
// report as text, and as written with Raw.
func TestReportNeutralisesFormulas(t *testing.T) {
	rdb, _ := redistest.Setup(t, 1)
	store := NewStore(rdb)
	csvText := "First Name,phone,note\n=1+2,415 555 0101,@SUM(A1)\n"
	c, err := store.Upload(t.Context(), mustFile(t), "contacts.csv", opener(csvText), &fakeEnqueuer{}, UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		opt  ReportOptions
		want []string
	}{
		{ReportOptions{}, []string{"'=1+2", "415 555 0101", "'@SUM(A1)", "+14155550101"}},
		{ReportOptions{Raw: true}, []string{"=1+2", "415 555 0101", "@SUM(A1)", "+14155550101"}},
	} {
		var b strings.Builder
		if _, err := store.WriteReport(t.Context(), c.ID, &b, tt.opt); err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(strings.NewReader(b.String())).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, rows[1][:4]); diff != "" {
			t.Errorf("Raw %v: first row (-want +got):\n%s", tt.opt.Raw, diff)
		}
	}
}
