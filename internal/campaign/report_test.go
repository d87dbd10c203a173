package campaign

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestWriteReport(t *testing.T) {
	store, c := uploadContacts(t)
	ctx := t.Context()
	start := time.Date(2026, 11, 21, 17, 0, 0, 123e6, time.UTC)
	if _, err := store.ClaimAttempt(ctx, AttemptRef{CampaignID: c.ID, ContactID: 1, Attempt: 1}, "w", Audit{}); err != nil {
		t.Fatal(err)
	}
	r := Result{Outcome: OutcomeCompleted, CallID: "CC-1", StartedAt: start, EndedAt: start.Add(90 * time.Second),
		PhoneCallStatus: "completed", EndedBy: "assistant", SuccessEvaluation: "Good",
		Summary: "Ann confirmed, \"Tuesday\".", StructuredData: `{"confirmed":true}`,
		Cost: "0.12", Recording: "recordings/CC-1.wav"}
	if _, err := store.FinishAttempt(ctx, AttemptRef{CampaignID: c.ID, ContactID: 1, Attempt: 1}, r); err != nil {
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
			"2026-11-21T17:00:00Z", "2026-11-21T17:01:30Z", "completed", "assistant", "Good", "Ann confirmed, \"Tuesday\".", `{"confirmed":true}`, "", "0.12", "recordings/CC-1.wav"},
		{"Bob", "not a number", "", "", "invalid", "0", "", "", "", "", "", "", "", "", got[2][len(header)-3], "", ""},
		{"Cy", "+1 415 555 0101", "same as Ann", "+14155550101", "duplicate", "0", "", "", "", "", "", "", "", "", "same number +14155550101 as line 2; dialed once, for that line", "", ""},
		{"Di", "415.555.0102", "multi\nline", "+14155550102", "pending", "0", "", "", "", "", "", "", "", "", "", "", ""},
		// A short row is padded to the header's width.
		{"Ed", "415-555-0103", "", "", "invalid", "0", "", "", "", "", "", "", "", "", "row has 2 fields, header has 3", "", ""},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
	if got[2][len(header)-3] == "" {
		t.Error("the invalid row's error cell is empty")
	}
}

func TestWriteAttemptReport(t *testing.T) {
	store, c := uploadContacts(t)
	ctx := t.Context()
	audit := Audit{Zones: "America/Los_Angeles", ZoneSource: "number", LocalTime: "2026-11-20T10:00:00-08:00",
		Window: "mon-fri 09:00-20:00", Suppression: "not suppressed", Frequency: "1 of 3 in 24h0m0s"}
	start := time.Date(2026, 11, 20, 18, 0, 0, 0, time.UTC)
	for a, outcome := range []Outcome{OutcomeBusy, OutcomeCompleted} {
		if _, err := store.ClaimAttempt(ctx, AttemptRef{CampaignID: c.ID, ContactID: 1, Attempt: a + 1}, "w1", audit); err != nil {
			t.Fatal(err)
		}
		r := Result{Outcome: outcome, CallID: "CC-" + string(rune('a'+a)), StartedAt: start, EndedAt: start.Add(time.Minute), PhoneCallStatus: string(outcome)}
		if _, err := store.FinishAttempt(ctx, AttemptRef{CampaignID: c.ID, ContactID: 1, Attempt: a + 1}, r); err != nil {
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
		"suppression_check", "frequency_cap_count", "caller_id", "error"}
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
		"caller_id": "",
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
	store, _ := newStore(t)
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

// referenceReport is WriteReport as it was before it read ahead and wrote rows itself: one
// batch of Contacts at a time, each row through ReportRecord and encoding/csv. WriteReport
// must write the very same bytes.
func referenceReport(ctx context.Context, s *Store, id string, w io.Writer, opt ReportOptions) (int, error) {
	c, err := s.Campaign(ctx, id)
	if err != nil {
		return 0, err
	}
	cw := csv.NewWriter(w)
	record := ReportHeader(c)
	for i := range record {
		record[i] = opt.cell(record[i])
	}
	if err := cw.Write(record); err != nil {
		return 0, err
	}
	written := 0
	for from := 1; from <= c.Rows; from += 500 {
		contacts, err := s.Contacts(ctx, id, from, min(from+499, c.Rows))
		if err != nil {
			return written, err
		}
		for _, ct := range contacts {
			record = ReportRecord(c, ct, record)
			for i := range record {
				record[i] = opt.cell(record[i])
			}
			if err := cw.Write(record); err != nil {
				return written, err
			}
			written++
		}
	}
	cw.Flush()
	return written, cw.Error()
}

// awkwardCells are contact cells that take every path of the JSON row decoding, the CSV
// quoting and SafeCell.
var awkwardCells = []string{
	"plain", "", "comma, inside", `say "hi"`, "two\nlines", "cr\rhere", " leading space", "\u00a0nbsp first",
	`\.`, `\`, "=1+2", "@SUM(A1)", "-A1", "+1 415 CALL NOW", "-12.5", "<b>&amp;</b>", "Zoë 東京 🙂",
	"line\u2028separator", "tab\tinside", `back\slash`, `"`, ",", "trailing space ",
}

// seedAwkwardCampaign uploads rows contacts whose cells cycle through awkwardCells, with
// invalid, duplicate, short and long rows among them, and gives some of them results whose
// text is as awkward: finished, retried, failed or still pending.
func seedAwkwardCampaign(tb testing.TB, store *Store, rows int) *Campaign {
	tb.Helper()
	ctx := context.Background()
	var b strings.Builder
	b.WriteString("First Name,phone,note,extra\n")
	cw := csv.NewWriter(&b)
	for i := range rows {
		rec := []string{awkwardCells[i%len(awkwardCells)], fmt.Sprintf("(415) 555-%04d", i), awkwardCells[(i*7+3)%len(awkwardCells)], awkwardCells[(i*5+1)%len(awkwardCells)]}
		switch i % 97 {
		case 11:
			rec[1] = "not a number"
		case 23:
			rec[1] = "(415) 555-0000" // row 1's number
		case 41:
			rec = rec[:2] // short
		case 67:
			rec = append(rec, "", "") // a trailing delimiter, cut
		case 89:
			rec = append(rec, "one too many") // long
		}
		if err := cw.Write(rec); err != nil {
			tb.Fatal(err)
		}
	}
	cw.Flush()
	c, err := store.Upload(ctx, mustFile(tb), "awkward.csv", opener(b.String()), &fakeEnqueuer{}, UploadOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	start := time.Date(2026, 11, 21, 17, 0, 0, 123456789, time.UTC)
	for n := 1; n <= rows; n += 3 {
		ct, err := store.Contact(ctx, c.ID, n)
		if err != nil {
			tb.Fatal(err)
		}
		if ct.Number == "" || ct.Outcome != "" {
			continue // never dialed
		}
		outcome := []Outcome{OutcomeCompleted, OutcomeBusy, OutcomeError, OutcomeCompleted}[n%4]
		r := Result{Outcome: outcome, CallID: fmt.Sprintf("CC-%d", n), StartedAt: start.Add(time.Duration(n) * time.Second),
			EndedAt: start.Add(time.Duration(n)*time.Second + 95*time.Second), PhoneCallStatus: string(outcome), EndedBy: "customer"}
		if outcome == OutcomeCompleted {
			r.SuccessEvaluation, r.Summary = "true", awkwardCells[n%len(awkwardCells)]+`: they said "yes", then, after a pause`+"\nagreed."
			r.StructuredData = fmt.Sprintf(`{"confirmed":true,"note":%q}`, awkwardCells[(n+1)%len(awkwardCells)])
		}
		if outcome == OutcomeError {
			r.Error = "=HYPERLINK(\"http://evil.example\")"
		}
		if _, err := store.ClaimAttempt(ctx, AttemptRef{CampaignID: c.ID, ContactID: n, Attempt: 1}, "w", Audit{}); err != nil {
			tb.Fatal(err)
		}
		if _, err := store.FinishAttempt(ctx, AttemptRef{CampaignID: c.ID, ContactID: n, Attempt: 1}, r); err != nil {
			tb.Fatal(err)
		}
		if n%5 != 0 { // every fifth stays pending, as if a retry were due
			if _, err := store.Finalize(ctx, c.ID, n, outcome, ""); err != nil {
				tb.Fatal(err)
			}
		}
	}
	return c
}

// TestWriteReportAsReference checks that WriteReport writes byte for byte what the plain
// loop of referenceReport writes, over many read-ahead batches of awkward cells (7 contacts
// a batch, where WriteReport reads exportBatch, so that miniredis keeps up), safe and raw.
func TestWriteReportAsReference(t *testing.T) {
	store, _ := newStore(t)
	const rows, batch = 100, 7 // 15 batches over both readers, the last one short
	c := seedAwkwardCampaign(t, store, rows)
	for _, opt := range []ReportOptions{{}, {Raw: true}} {
		var want, got bytes.Buffer
		wantN, err := referenceReport(t.Context(), store, c.ID, &want, opt)
		if err != nil {
			t.Fatal(err)
		}
		gotN, err := store.writeReport(t.Context(), c.ID, &got, opt, batch)
		if err != nil {
			t.Fatal(err)
		}
		if gotN != rows || wantN != rows {
			t.Errorf("Raw %v: WriteReport wrote %d rows, the reference %d; want %d", opt.Raw, gotN, wantN, rows)
		}
		if !bytes.Equal(want.Bytes(), got.Bytes()) {
			wl, gl := strings.SplitAfter(want.String(), "\n"), strings.SplitAfter(got.String(), "\n")
			for i := range min(len(wl), len(gl)) {
				if wl[i] != gl[i] {
					t.Fatalf("Raw %v: report differs from the reference first at line %d:\nwant %q\ngot  %q", opt.Raw, i+1, wl[i], gl[i])
				}
			}
			t.Fatalf("Raw %v: report has %d lines, the reference %d", opt.Raw, len(gl), len(wl))
		}
	}
}

// TestReportContactsAsStore sets every field a contact hash can have (contactFields) and
// checks that the report's own read of it makes the same report row as Store.Contact's: a
// field the report needs and does not read (say, one added to Result and to ReportRecord)
// fails here.
func TestReportContactsAsStore(t *testing.T) {
	store, rdb := newStore(t)
	ctx := t.Context()
	c := &Campaign{ID: "c1", Header: []string{"First Name", "phone", "note"}}
	values := map[string]string{
		"row": `["Ann","415 555 0101","say \"hi\""]`, "line": "7", "next_attempt": "2", "attempts": "3",
		"started_at": "2026-11-21T17:00:00.123456789Z", "ended_at": "2026-11-21T17:01:30Z", "next_at": "2026-11-21T18:00:00Z",
	}
	var fields []any
	for _, f := range contactFields {
		v, ok := values[f]
		if !ok {
			v = "value of " + f
		}
		fields = append(fields, f, v)
	}
	if err := rdb.HSet(ctx, contactKey(c.ID, 1), fields...).Err(); err != nil {
		t.Fatal(err)
	}
	// Contact 2 has a row and nothing else, contact 3 does not exist.
	if err := rdb.HSet(ctx, contactKey(c.ID, 2), "row", `["Bo"]`).Err(); err != nil {
		t.Fatal(err)
	}
	got, err := store.reportContacts(ctx, c.ID, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= 3; n++ {
		want, err := store.Contact(ctx, c.ID, n)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(ReportRecord(c, want, nil), ReportRecord(c, &got[n-1], nil)); diff != "" {
			t.Errorf("contact %d: report row (-from Store.Contact +from reportContacts):\n%s", n, diff)
		}
	}
}

// decodeCellsCases are stored rows: json.Marshal's own, and everything else a hash field
// could hold.
var decodeCellsCases = []string{
	`[]`, `[""]`, `["a"]`, `["a","b",""]`, `["comma, inside","say \"hi\""]`, `["\u003cb\u003e"]`,
	`["Zoë 東京"]`, "[\"\xff\"]", "[\"\xed\xa0\x80\"]", "[\"tab\there\"]", `["\\"]`, `["a\/b"]`,
	`null`, ``, `[`, `]`, `"a"`, `[ "a" ]`, `["a",]`, `["a"]]`, `["a",1]`, `[1]`, `["a" ,"b"]`, `{"a":"b"}`,
}

func TestDecodeCells(t *testing.T) {
	for _, row := range decodeCellsCases {
		var want []string
		_ = json.Unmarshal([]byte(row), &want)
		got := decodeCells(row, []string{"before"})
		if diff := cmp.Diff(append([]string{"before"}, want...), got); diff != "" {
			t.Errorf("decodeCells(%q) (-json.Unmarshal +got):\n%s", row, diff)
		}
	}
}

func FuzzDecodeCells(f *testing.F) {
	for _, row := range decodeCellsCases {
		f.Add(row)
	}
	f.Fuzz(func(t *testing.T, row string) {
		var want []string
		_ = json.Unmarshal([]byte(row), &want)
		if got := decodeCells(row, nil); !slices.Equal(want, got) {
			t.Errorf("decodeCells(%q) = %q, json.Unmarshal %q", row, got, want)
		}
	})
}

func TestAppendCSVRecord(t *testing.T) {
	records := [][]string{{}, {""}, {"", ""}, awkwardCells, {"\t"}, {"\u3000ideographic space"}, {"\xff"}, {"a\r\nb"}}
	for _, rec := range records {
		var want bytes.Buffer
		cw := csv.NewWriter(&want)
		if err := cw.Write(rec); err != nil {
			t.Fatal(err)
		}
		cw.Flush()
		if got := appendCSVRecord([]byte("before\n"), rec); string(got) != "before\n"+want.String() {
			t.Errorf("appendCSVRecord(%q) = %q, encoding/csv writes %q", rec, got[len("before\n"):], want.String())
		}
	}
}

func FuzzAppendCSVRecord(f *testing.F) {
	for i, cell := range awkwardCells {
		f.Add(cell, awkwardCells[(i+1)%len(awkwardCells)])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		var want bytes.Buffer
		cw := csv.NewWriter(&want)
		if err := cw.Write([]string{a, b}); err != nil {
			t.Skip() // not a record encoding/csv writes
		}
		cw.Flush()
		if got := appendCSVRecord(nil, []string{a, b}); string(got) != want.String() {
			t.Errorf("appendCSVRecord(%q, %q) = %q, encoding/csv writes %q", a, b, got, want.String())
		}
	})
}

// failingWriter fails every write after the first n bytes.
type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.n -= len(p); w.n < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

// TestWriteReportWriteError checks that a failing writer ends the report at once with its
// error, while later batches are still being read.
func TestWriteReportWriteError(t *testing.T) {
	store, _ := newStore(t)
	// Rows of 10 kB: the first exportBuffer of them is written after 26 rows, of 60.
	var b strings.Builder
	b.WriteString("First Name,phone,note\n")
	for i := range 60 {
		fmt.Fprintf(&b, "P%d,(415) 555-%04d,%s\n", i, i, strings.Repeat("x", 10000))
	}
	c, err := store.Upload(t.Context(), mustFile(t), "big.csv", opener(b.String()), &fakeEnqueuer{}, UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n, err := store.writeReport(t.Context(), c.ID, &failingWriter{n: 0}, ReportOptions{}, 7)
	if err == nil || !strings.Contains(err.Error(), "write report: disk full") {
		t.Fatalf("writeReport to a failing writer = %d, %v; want the write's error", n, err)
	}
	if n >= c.Rows {
		t.Errorf("writeReport to a failing writer went on to row %d of %d", n, c.Rows)
	}
}

// TestReportBOM: with BOM both reports start with a UTF-8 byte-order mark and are otherwise
// the same; without it neither has one.
func TestReportBOM(t *testing.T) {
	store, c := uploadContacts(t)
	for name, write := range map[string]func(context.Context, string, io.Writer, ReportOptions) (int, error){
		"report": store.WriteReport, "attempt report": store.WriteAttemptReport,
	} {
		var plain, bom bytes.Buffer
		if _, err := write(t.Context(), c.ID, &plain, ReportOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := write(t.Context(), c.ID, &bom, ReportOptions{BOM: true}); err != nil {
			t.Fatal(err)
		}
		if bytes.HasPrefix(plain.Bytes(), []byte(utf8BOM)) || !bytes.Equal(bom.Bytes(), append([]byte{0xEF, 0xBB, 0xBF}, plain.Bytes()...)) {
			t.Errorf("%s: without BOM starts %q, with BOM %q", name, plain.Bytes()[:min(8, plain.Len())], bom.Bytes()[:min(8, bom.Len())])
		}
	}
}
