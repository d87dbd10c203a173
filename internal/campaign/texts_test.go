package campaign

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
)

// updateGolden rewrites the golden files of TestReportOfLongTexts from what the store writes:
// go test -run TestReportOfLongTexts ./internal/campaign -update-golden. Only for a change
// that means to change the reports.
var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/longtexts-*.csv from the store")

// longTextsCSV is the contact file of buildLongTexts: seven dialable rows, one invalid, one
// duplicate.
const longTextsCSV = "First Name,phone,note\n" +
	"Ann,(415) 555-0101,first\n" +
	"Bob,(415) 555-0102,\"retried, then early\"\n" +
	"Cy,(415) 555-0103,filled later\n" +
	"Di,(415) 555-0104,redialed\n" +
	"Ed,(415) 555-0105,=formula\n" +
	"Flo,not a number,\n" +
	"Gus,+1 415 555 0101,same as Ann\n" +
	"Hal,(415) 555-0108,no analysis\n" +
	"Ivy,(415) 555-0109,analysis after the redial\n"

// longText returns about n bytes of text in several scripts, with commas, quotes, new lines
// and a leading space: what a long summary or transcript-like analysis can hold.
func longText(seed string, n int) string {
	parts := []string{
		" " + seed + ` said "yes, Tuesday at 9:30" and asked about parking; `,
		"la patiente a confirmé le rendez-vous, merci ! ",
		"患者は予約を確認しました。駐車場について質問がありました。",
		"Пациент подтвердил запись,\nпросил напомнить за день. ",
		"🙂 تم تأكيد الموعد، شكراً. ",
		"\tline with a tab, and \"quotes\" — and an em dash.\r\n",
	}
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "%d. %s", i, parts[i%len(parts)])
	}
	return b.String()
}

// longStructured returns structured data of about n bytes: JSON with unicode and nesting.
func longStructured(n int) string {
	items := []map[string]any{}
	for i := 0; ; i++ {
		items = append(items, map[string]any{"q": fmt.Sprintf("question %d: ¿dónde aparcar? 駐車場", i), "answered": i%2 == 0, "score": i})
		b, _ := json.Marshal(map[string]any{"confirmed": true, "appointment": "2026-11-24T09:30", "questions": items})
		if len(b) >= n {
			return string(b)
		}
	}
}

// buildLongTexts builds, through the recording path the workers and the webhook receiver
// use, a campaign whose results carry long texts: multi-KB summaries and structured data
// with unicode, an analysis that came late, a report that came before its call id, retries
// and a redial. It returns the campaign's ID.
func buildLongTexts(t *testing.T, store *Store) string {
	t.Helper()
	ctx := t.Context()
	clock := time.Date(2026, 11, 23, 16, 0, 0, 0, time.UTC)
	store.now = func() time.Time { clock = clock.Add(time.Second); return clock }
	c, err := store.Upload(ctx, mustFile(t), "contacts.csv", opener(longTextsCSV), &fakeEnqueuer{}, UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ref := func(n, a int) AttemptRef { return AttemptRef{CampaignID: c.ID, ContactID: n, Attempt: a} }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	claim := func(n, a int) {
		t.Helper()
		ok, err := store.ClaimAttempt(ctx, ref(n, a), fmt.Sprintf("worker-%d", a), Audit{Window: "none", Suppression: "not suppressed", Frequency: "no cap", CallerID: "p1"})
		must(err)
		if !ok {
			t.Fatalf("attempt %d/%d not claimed", n, a)
		}
	}
	call := func(n, a int) string { return fmt.Sprintf("CC-%d-%d-0c8b5d3e-4a4f-4f8e-9b3c-7a1d2e3f4a5b", n, a) }
	control := func(n, a int) string {
		return "https://api-prod.interactly.ai/calls/v1/conversations/" + call(n, a) + "/control"
	}
	start := func(n, a int) time.Time { return time.Date(2026, 11, 23, 17, n, a, 0, time.UTC) }
	result := func(n, a int, o Outcome) Result {
		return Result{Outcome: o, CallID: call(n, a), StartedAt: start(n, a), EndedAt: start(n, a).Add(95 * time.Second),
			PhoneCallStatus: string(o), EndedBy: "assistant", Cost: "0.1234",
			Recording: "recordings/86a4afaa3d30dc4be902e28c/" + call(n, a) + ".wav"}
	}
	recordCall := func(n, a int) {
		t.Helper()
		live, err := store.RecordCall(ctx, ref(n, a), call(n, a), control(n, a), start(n, a))
		must(err)
		if !live {
			t.Fatalf("attempt %d/%d not live", n, a)
		}
	}
	status := func(want RecordStatus, got RecordStatus, err error) {
		t.Helper()
		must(err)
		if got != want {
			t.Fatalf("RecordResult: %s, want %s", got, want)
		}
	}

	// 1: one call with a 6 KB summary and 3 KB of structured data, from a webhook.
	claim(1, 1)
	recordCall(1, 1)
	r := result(1, 1, OutcomeCompleted)
	r.SuccessEvaluation, r.Summary, r.StructuredData = "true", longText("Ann", 6000), longStructured(3000)
	st, err := store.RecordResult(ctx, ref(1, 1), call(1, 1), r, true)
	status(Recorded, st, err)
	_, err = store.Finalize(ctx, c.ID, 1, OutcomeCompleted, "")
	must(err)

	// 2: no answer, retried; attempt 2's report comes before its call id is recorded.
	claim(2, 1)
	recordCall(2, 1)
	_, err = store.FinishAttempt(ctx, ref(2, 1), result(2, 1, OutcomeNoAnswer))
	must(err)
	must(store.ScheduleNext(ctx, c.ID, 2, 2, start(2, 2)))
	claim(2, 2)
	r = result(2, 2, OutcomeCompleted)
	r.SuccessEvaluation, r.Summary, r.StructuredData = "Excellent", longText("Bob", 1500), `{"confirmed":false,"reason":"wants a call back, après 18h"}`
	st, err = store.RecordResult(ctx, ref(2, 2), call(2, 2), r, true)
	status(RecordEarly, st, err)
	live, err := store.RecordCall(ctx, ref(2, 2), call(2, 2), control(2, 2), start(2, 2))
	must(err)
	if live {
		t.Fatal("attempt 2/2 live after its early report")
	}
	_, err = store.Finalize(ctx, c.ID, 2, OutcomeCompleted, "")
	must(err)

	// 3: recorded by the worker with structured data but no summary; the analysis comes
	// later, without structured data: the first structured data stays.
	claim(3, 1)
	recordCall(3, 1)
	r = result(3, 1, OutcomeCompleted)
	r.StructuredData = longStructured(1200)
	_, err = store.FinishAttempt(ctx, ref(3, 1), r)
	must(err)
	r = result(3, 1, OutcomeCompleted)
	r.SuccessEvaluation, r.Summary, r.Recording = "false", longText("Cy", 900), "recordings/other.wav"
	st, err = store.RecordResult(ctx, ref(3, 1), call(3, 1), r, true)
	status(RecordAnalysis, st, err)
	// A replay changes nothing.
	st, err = store.RecordResult(ctx, ref(3, 1), call(3, 1), r, true)
	status(RecordDone, st, err)
	_, err = store.Finalize(ctx, c.ID, 3, OutcomeCompleted, "")
	must(err)

	// oneCall gives contact n one call, recorded by its worker, that ended with r, and r's
	// outcome as the contact's.
	oneCall := func(n int, r Result) {
		t.Helper()
		claim(n, 1)
		recordCall(n, 1)
		_, err := store.FinishAttempt(ctx, ref(n, 1), r)
		must(err)
		_, err = store.Finalize(ctx, c.ID, n, r.Outcome, r.Error)
		must(err)
	}
	// 4: completed with an analysis, then redialed: attempt 2 is live, so the row shows its
	// call id beside attempt 1's analysis.
	r = result(4, 1, OutcomeCompleted)
	r.SuccessEvaluation, r.Summary, r.StructuredData = "7", longText("Di", 2500), "{}"
	oneCall(4, r)
	// 5: short texts a spreadsheet would run as formulas.
	r = result(5, 1, OutcomeCompleted)
	r.SuccessEvaluation, r.Summary, r.StructuredData = "=1+1", "@SUM(A1) short", `{"x":"-1"}`
	oneCall(5, r)
	// 8: a call that failed, no analysis, no recording.
	r = result(8, 1, OutcomeError)
	r.Error, r.Recording, r.Cost = "the assistant's LLM failed: llm_error 500 (provider openai, retryable)", "", ""
	oneCall(8, r)

	_, err = store.Redial(ctx, c.ID, 4)
	must(err)
	claim(4, 2)
	recordCall(4, 2)

	// 9: recorded without analysis, redialed, and attempt 1's analysis comes while attempt 2
	// is live: attempt 1 gets it, but the row, which shows attempt 2's call id beside attempt
	// 1's result, keeps the texts it showed.
	claim(9, 1)
	recordCall(9, 1)
	_, err = store.FinishAttempt(ctx, ref(9, 1), result(9, 1, OutcomeCompleted))
	must(err)
	_, err = store.Finalize(ctx, c.ID, 9, OutcomeCompleted, "")
	must(err)
	_, err = store.Redial(ctx, c.ID, 9)
	must(err)
	claim(9, 2)
	recordCall(9, 2)
	r = result(9, 1, OutcomeCompleted)
	r.SuccessEvaluation, r.Summary = "true", longText("Ivy", 1800)
	st, err = store.RecordResult(ctx, ref(9, 1), call(9, 1), r, true)
	status(RecordAnalysis, st, err)
	return c.ID
}

// TestReportOfLongTexts checks that the report and the attempt report of a campaign whose
// results carry long texts are byte for byte the golden files, and that the same campaign
// stored as it was before the texts moved out of the contact and attempt hashes
// (testdata/longtexts-redis.json) reports the same.
func TestReportOfLongTexts(t *testing.T) {
	store, rdb := newStore(t)
	id := buildLongTexts(t, store)

	for _, opt := range []ReportOptions{{}, {Raw: true}} {
		golden := map[bool]string{false: "testdata/longtexts-report.csv", true: "testdata/longtexts-report-raw.csv"}[opt.Raw]
		checkGolden(t, golden, id, func(b *bytes.Buffer) error {
			_, err := store.WriteReport(t.Context(), id, b, opt)
			return err
		})
	}
	checkGolden(t, "testdata/longtexts-attempts.csv", id, func(b *bytes.Buffer) error {
		_, err := store.WriteAttemptReport(t.Context(), id, b, ReportOptions{})
		return err
	})

	// The contact and attempt hashes of the calls hold no value longer than Redis's default
	// hash-max-listpack-value, 64 bytes, but the live attempt 4/2's control URL; the texts
	// are in the texts hash, the long ones compressed.
	ctx := t.Context()
	for _, key := range []string{contactKey(id, 1), attemptKey(id, 1, 1), contactKey(id, 2), attemptKey(id, 2, 1),
		attemptKey(id, 2, 2), contactKey(id, 3), attemptKey(id, 3, 1), contactKey(id, 4), attemptKey(id, 4, 1),
		contactKey(id, 5), attemptKey(id, 5, 1), contactKey(id, 9), attemptKey(id, 9, 1)} {
		m, err := rdb.HGetAll(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		for f, v := range m {
			if len(v) > 64 {
				t.Errorf("%s: %s is %d bytes, more than 64", key, f, len(v))
			}
		}
	}
	v, err := rdb.HGet(ctx, textsKey(id), "1:1").Result()
	if err != nil {
		t.Fatal(err)
	}
	if p := textParts(t, v); p[1][0] != 'z' || p[2][0] != 'z' || len(v) > 6000 {
		t.Errorf("texts of attempt 1:1: %d bytes, parts starting %q %q; want the 6 KB summary and 3 KB structured data compressed", len(v), p[1][:1], p[2][:1])
	}
	if n, err := rdb.HLen(ctx, textsKey(id)).Result(); err != nil || n != 8 {
		t.Errorf("texts hash: %d entries (%v), want 8: the 7 attempts with a recording or analysis, and contact 9's copy", n, err)
	}
}

// textParts splits a value of encodeTexts into its encoded parts E, S, D, R.
func textParts(t *testing.T, v string) [4]string {
	t.Helper()
	var p [4]string
	rest := v[1:]
	for i := range 3 {
		var n int
		colon := strings.IndexByte(rest, ':')
		if _, err := fmt.Sscan(rest[:colon], &n); err != nil {
			t.Fatalf("texts %q: %v", v, err)
		}
		p[i], rest = rest[colon+1:colon+1+n], rest[colon+1+n:]
	}
	p[3] = rest
	return p
}

// checkGolden compares what write writes, campaign ID id replaced by CAMPAIGN, with the file
// golden, or rewrites that file under -update-golden.
func checkGolden(t *testing.T, golden, id string, write func(*bytes.Buffer) error) {
	t.Helper()
	var b bytes.Buffer
	if err := write(&b); err != nil {
		t.Fatal(err)
	}
	got := bytes.ReplaceAll(b.Bytes(), []byte(id), []byte("CAMPAIGN"))
	if *updateGolden {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (-want +got):\n%s", golden, cmp.Diff(string(want), string(got)))
	}
}

// dumpedKey is one Redis key of a campaign as dumpCampaign writes it.
type dumpedKey struct {
	Type string `json:"type"`
	// Hash, ZSet (member, score as text), Set or String holds its value, by Type.
	Hash   map[string]string `json:"hash,omitempty"`
	ZSet   [][2]string       `json:"zset,omitempty"`
	Set    []string          `json:"set,omitempty"`
	String string            `json:"string,omitempty"`
}

// dumpCampaign reads every key of campaign id, the ID in key names and values replaced by
// CAMPAIGN.
func dumpCampaign(ctx context.Context, rdb redis.UniversalClient, id string) (map[string]dumpedKey, error) {
	keys, err := rdb.Keys(ctx, campaignKeyPattern(id)).Result()
	if err != nil {
		return nil, err
	}
	slices.Sort(keys)
	out := map[string]dumpedKey{}
	for _, k := range keys {
		typ, err := rdb.Type(ctx, k).Result()
		if err != nil {
			return nil, err
		}
		d := dumpedKey{Type: typ}
		switch typ {
		case "hash":
			d.Hash, err = rdb.HGetAll(ctx, k).Result()
			for f, v := range d.Hash {
				d.Hash[f] = strings.ReplaceAll(v, id, "CAMPAIGN")
			}
		case "zset":
			var zs []redis.Z
			zs, err = rdb.ZRangeWithScores(ctx, k, 0, -1).Result()
			for _, z := range zs {
				d.ZSet = append(d.ZSet, [2]string{fmt.Sprint(z.Member), fmt.Sprint(z.Score)})
			}
		case "set":
			d.Set, err = rdb.SMembers(ctx, k).Result()
			slices.Sort(d.Set)
		case "string":
			d.String, err = rdb.Get(ctx, k).Result()
		default:
			err = fmt.Errorf("key %s: type %s", k, typ)
		}
		if err != nil {
			return nil, err
		}
		out[strings.ReplaceAll(k, id, "CAMPAIGN")] = d
	}
	return out, nil
}

// restoreCampaign writes dump (see dumpCampaign) as campaign id and lists the campaign.
func restoreCampaign(ctx context.Context, rdb redis.UniversalClient, id string, dump map[string]dumpedKey) error {
	for k, d := range dump {
		k = strings.ReplaceAll(k, "CAMPAIGN", id)
		var err error
		switch d.Type {
		case "hash":
			vals := []any{}
			for f, v := range d.Hash {
				vals = append(vals, f, strings.ReplaceAll(v, "CAMPAIGN", id))
			}
			err = rdb.HSet(ctx, k, vals...).Err()
		case "zset":
			for _, z := range d.ZSet {
				var score float64
				fmt.Sscan(z[1], &score)
				if err = rdb.ZAdd(ctx, k, redis.Z{Member: z[0], Score: score}).Err(); err != nil {
					break
				}
			}
		case "set":
			err = rdb.SAdd(ctx, k, d.Set).Err()
		case "string":
			err = rdb.Set(ctx, k, d.String, 0).Err()
		}
		if err != nil {
			return err
		}
	}
	return rdb.ZAdd(ctx, campaignsKey(), redis.Z{Member: id, Score: 1}).Err()
}

// TestReportOfOldLayout checks that a campaign stored before the long texts moved out of the
// contact and attempt hashes, with the row and the analysis inside them
// (testdata/longtexts-redis.json: buildLongTexts as that store wrote it), reports byte for
// byte as the same campaign stored now.
func TestReportOfOldLayout(t *testing.T) {
	store, rdb := newStore(t)
	ctx := t.Context()
	const old = "testdata/longtexts-redis.json"
	if *updateGolden && os.Getenv("DIALER_DUMP_OLD_LAYOUT") != "" {
		id := buildLongTexts(t, store)
		dump, err := dumpCampaign(ctx, rdb, id)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.MarshalIndent(dump, "", " ")
		if err := os.WriteFile(old, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	b, err := os.ReadFile(filepath.Clean(old))
	if err != nil {
		t.Fatal(err)
	}
	var dump map[string]dumpedKey
	if err := json.Unmarshal(b, &dump); err != nil {
		t.Fatal(err)
	}
	const id = "oldlayout0000001"
	if err := restoreCampaign(ctx, rdb, id, dump); err != nil {
		t.Fatal(err)
	}
	for _, opt := range []ReportOptions{{}, {Raw: true}} {
		golden := map[bool]string{false: "testdata/longtexts-report.csv", true: "testdata/longtexts-report-raw.csv"}[opt.Raw]
		checkGolden(t, golden, id, func(b *bytes.Buffer) error {
			_, err := store.WriteReport(ctx, id, b, opt)
			return err
		})
	}
	checkGolden(t, "testdata/longtexts-attempts.csv", id, func(b *bytes.Buffer) error {
		_, err := store.WriteAttemptReport(ctx, id, b, ReportOptions{})
		return err
	})

	// Every contact and attempt reads the same in both layouts, but that a finished
	// attempt no longer keeps its call's control URL.
	now := buildLongTexts(t, store)
	for n := 1; n <= 9; n++ {
		got, err := store.Contact(ctx, id, n)
		if err != nil {
			t.Fatal(err)
		}
		want, err := store.Contact(ctx, now, n)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("contact %d (-now +old layout):\n%s", n, diff)
		}
		list, err := store.Contacts(ctx, id, n, n)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, list[0]); diff != "" {
			t.Errorf("contact %d read by Contacts (-now +old layout):\n%s", n, diff)
		}
		for a := 1; a <= want.Attempts; a++ {
			got, err := store.Attempt(ctx, AttemptRef{CampaignID: id, ContactID: n, Attempt: a})
			if err != nil {
				t.Fatal(err)
			}
			want, err := store.Attempt(ctx, AttemptRef{CampaignID: now, ContactID: n, Attempt: a})
			if err != nil {
				t.Fatal(err)
			}
			if got.State == AttemptDone {
				got.ControlURL = want.ControlURL
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("attempt %d/%d (-now +old layout):\n%s", n, a, diff)
			}
		}
	}
}

// BenchmarkDecodeTexts measures reading back the texts of one attempt with a 3 KB summary
// and 1.2 KB of structured data (both kept compressed), as a report does for each such row.
func BenchmarkDecodeTexts(b *testing.B) {
	v := encodeTexts(Result{SuccessEvaluation: "true", Summary: longText("Ann", 3000), StructuredData: longStructured(1200),
		Recording: "recordings/86a4afaa3d30dc4be902e28c/CC-1-1-0c8b5d3e-4a4f-4f8e-9b3c-7a1d2e3f4a5b.wav"})
	b.ReportMetric(float64(len(v)), "stored-bytes")
	b.SetBytes(int64(len(longText("Ann", 3000)) + len(longStructured(1200))))
	for b.Loop() {
		if _, err := decodeTexts(v); err != nil {
			b.Fatal(err)
		}
	}
}

// TestTextsRoundTrip checks that encodeTexts and decodeTexts give back every text, short or
// long, and that decodeTexts refuses damaged values with errBadTexts.
func TestTextsRoundTrip(t *testing.T) {
	for _, r := range []Result{
		{},
		{SuccessEvaluation: "true"},
		{Summary: longText("Ann", 6000), StructuredData: longStructured(3000), Recording: "r.wav"},
		{Summary: strings.Repeat("x", compressTextAbove+1), Recording: "a:b:c"},
		{StructuredData: "12:ab", Recording: "7:"},
	} {
		v := encodeTexts(r)
		got, err := decodeTexts(v)
		if err != nil {
			t.Fatalf("decodeTexts(%q): %v", v, err)
		}
		if got != textsOf(r) {
			t.Errorf("texts of %+v came back as %+v", textsOf(r), got)
		}
		if r.Summary != "" && len(r.Summary) > compressTextAbove && len(v) >= len(r.Summary) {
			t.Errorf("a %d-byte summary takes %d bytes: not compressed", len(r.Summary), len(v))
		}
	}
	for _, bad := range []string{"x", "a", "a5:=ab", "a2:=a", "a0:0:0:?x", "a0:2:z!0:", "a-1:0:0:"} {
		if _, err := decodeTexts(bad); !errors.Is(err, errBadTexts) {
			t.Errorf("decodeTexts(%q) = %v, want errBadTexts", bad, err)
		}
	}
}
