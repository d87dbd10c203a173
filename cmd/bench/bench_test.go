package main

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/lab"
	"github.com/dialerhq/dialer/internal/phone"
	"github.com/dialerhq/dialer/internal/simulator"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/redis/go-redis/v9"
)

// TestWriteContacts checks the generated file: the header of campaigns/example.csv, eight
// cells a row, and numbers that are all valid and distinct once normalised.
func TestWriteContacts(t *testing.T) {
	const rows = 3000 // 25 rounds of the area codes, every number style many times
	var buf bytes.Buffer
	if err := writeContacts(&buf, rows); err != nil {
		t.Fatal(err)
	}
	records, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(contactHeader, records[0]); diff != "" {
		t.Errorf("header (-want +got):\n%s", diff)
	}
	if len(records) != rows+1 {
		t.Fatalf("%d records, want header and %d rows", len(records), rows)
	}
	seen := map[string]int{}
	for i, rec := range records[1:] {
		number := mustNormalize(t, rec[2])
		if j, dup := seen[number]; dup {
			t.Errorf("rows %d and %d share number %s", j+1, i+1, number)
		}
		seen[number] = i
	}
}

// TestContactNumberLast checks the numbers of the last rows the generator can make: valid
// and distinct from one another and from the first rows.
func TestContactNumberLast(t *testing.T) {
	seen := map[string]int{}
	for _, i := range []int{0, 1, len(areaCodes) - 1, len(areaCodes), maxContacts - len(areaCodes), maxContacts - 2, maxContacts - 1} {
		number := mustNormalize(t, contactNumber(i))
		if j, dup := seen[number]; dup {
			t.Errorf("rows %d and %d share number %s", j, i, number)
		}
		seen[number] = i
	}
	if err := writeContacts(io.Discard, maxContacts+1); err == nil {
		t.Errorf("writeContacts(%d rows) = nil, want an error: there are only %d numbers", maxContacts+1, maxContacts)
	}
}

func mustNormalize(tb testing.TB, raw string) string {
	tb.Helper()
	number, err := phone.Normalize(raw, "US")
	if err != nil {
		tb.Fatalf("number %q: %v", raw, err)
	}
	return number
}

// t0 is the origin of the hand-built dial logs.
var t0 = time.Date(2025, 11, 3, 9, 0, 0, 0, time.UTC)

// ms returns t0 plus n milliseconds.
func ms(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }

// call is a dial live over [ms(from), ms(to)); to < 0 means no end known.
func call(from, to int) simulator.Dial {
	d := simulator.Dial{At: ms(from)}
	if to >= 0 {
		d.EndAt = ms(to)
	}
	return d
}

func TestMeanLive(t *testing.T) {
	tests := []struct {
		name     string
		dials    []simulator.Dial
		from, to int
		want     float64
	}{
		{name: "one call over the window", dials: []simulator.Dial{call(0, 10000)}, from: 0, to: 10000, want: 1},
		{
			name: "calls inside, across both edges, and unended",
			// 10 s + 4 s + 2 s (8 to 10 of 8 to 12) + 1 s (0 to 1 of -1 to 1) + 5 s (5 to 10, no end)
			dials: []simulator.Dial{call(0, 10000), call(2000, 6000), call(8000, 12000), call(-1000, 1000), call(5000, -1)},
			from:  0, to: 10000, want: 2.2,
		},
		{name: "calls outside the window", dials: []simulator.Dial{call(0, 1000), call(3000, 4000)}, from: 1000, to: 3000, want: 0},
		{name: "back to back fill one slot", dials: []simulator.Dial{call(0, 500), call(500, 1000), call(1000, 2000)}, from: 0, to: 2000, want: 1},
		{name: "empty window", dials: []simulator.Dial{call(0, 1000)}, from: 500, to: 500, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := meanLive(tt.dials, ms(tt.from), ms(tt.to))
			if diff := cmp.Diff(tt.want, got, cmpApprox); diff != "" {
				t.Errorf("meanLive (-want +got):\n%s", diff)
			}
		})
	}
}

// cmpApprox compares floats to a millionth.
var cmpApprox = cmp.Comparer(func(a, b float64) bool { return a-b < 1e-6 && b-a < 1e-6 })

// every returns n times, step milliseconds apart from 0.
func every(step, n int) []int {
	at := make([]int, n)
	for i := range at {
		at[i] = i * step
	}
	return at
}

func TestAchievedRate(t *testing.T) {
	tests := []struct {
		name string
		at   []int
		want float64
	}{
		{name: "one dial", at: []int{0}, want: 0},
		{name: "20 per second", at: every(50, 41), want: 20},
		{name: "uneven", at: []int{0, 100, 1000}, want: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := make([]time.Time, len(tt.at))
			for i, n := range tt.at {
				at[i] = ms(n)
			}
			if diff := cmp.Diff(tt.want, achievedRate(at), cmpApprox); diff != "" {
				t.Errorf("achievedRate (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseFlagsMeasures(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    []string
		wantErr string
	}{
		{name: "default", want: []string{measureUpload, measureEnqueue, measureDial}},
		{name: "only scale", args: []string{"--only", "report, live"}, want: []string{measureReport, measureLive}},
		{name: "webhooks", args: []string{"--only", "webhooks,dial"}, want: []string{measureDial, measureWebhooks}},
		{name: "webhook clients", args: []string{"--only", "webhooks", "--webhook-clients", "0"}, wantErr: "--webhook-clients 0"},
		{name: "webhook calls", args: []string{"--only", "webhooks", "--webhook-calls", "0"}, wantErr: "--webhook-calls 0"},
		{name: "skip dial", args: []string{"--skip-dial"}, want: []string{measureUpload, measureEnqueue}},
		{name: "skip upload of only", args: []string{"--only", "upload,live", "--skip-upload"}, want: []string{measureLive}},
		{name: "unknown", args: []string{"--only", "report,lve"}, wantErr: `unknown measure "lve"`},
		{name: "nothing left", args: []string{"--skip-upload", "--skip-dial"}, wantErr: "nothing to measure"},
		{name: "live calls", args: []string{"--only", "live", "--live-calls", "0"}, wantErr: "--live-calls 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseFlags(tt.args, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseFlags(%q) = %v, want an error with %q", tt.args, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range allMeasures {
				if cfg.measures[m] {
					got = append(got, m)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("measures (-want +got):\n%s", diff)
			}
		})
	}
}

// mustUploadGenerated uploads rows generated contacts (writeContacts) under spec into store.
func mustUploadGenerated(tb testing.TB, store *campaign.Store, spec lab.Campaign, rows int) *campaign.Campaign {
	tb.Helper()
	c, err := uploadDirect(tb.Context(), store, spec, rows)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// TestSeedFinishedAsStore checks that seedFinished's plain writes leave what a worker's
// Store.ClaimAttempt, RecordCall, FinishAttempt and Finalize leave: in Redis, key by key and
// field by field (but the times the store stamps), and as the store reads it back: contacts,
// attempts and status. The report bench's campaign, and the memory it measures, are only
// realistic while this holds.
func TestSeedFinishedAsStore(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: miniredis.RunT(t).Addr()})
	defer rdb.Close()
	store := campaign.NewStore(rdb)
	ctx := t.Context()
	// Several pipelines, the last one short; pipelines of 50 rather than the bench's
	// seedBatch, for the same paths through seedFinished on a tenth of the rows.
	const batch = 50
	const rows = 2*batch + 7
	spec := lab.Campaign{Name: "bench-report", CPS: 1, MaxLive: 10, Poll: 5 * time.Second, AnalysisWait: 30 * time.Second}
	viaStore, seeded := mustUploadGenerated(t, store, spec, rows), mustUploadGenerated(t, store, spec, rows)

	for n := 1; n <= rows; n++ {
		if _, err := store.ClaimAttempt(ctx, campaign.AttemptRef{CampaignID: viaStore.ID, ContactID: n, Attempt: 1}, "bench-seed", seedAudit); err != nil {
			t.Fatal(err)
		}
		ref := campaign.AttemptRef{CampaignID: viaStore.ID, ContactID: n, Attempt: 1}
		r := wantHookResult(n)
		if _, err := store.RecordCall(ctx, ref, r.CallID, "https://api.interactly.ai/calls/v1/conversations/"+r.CallID+"/control", r.StartedAt); err != nil {
			t.Fatal(err)
		}
		if _, err := store.FinishAttempt(ctx, ref, r); err != nil {
			t.Fatal(err)
		}
		if _, err := store.Finalize(ctx, viaStore.ID, n, campaign.OutcomeCompleted, ""); err != nil {
			t.Fatal(err)
		}
	}
	b := &bench{Lab: &lab.Lab{}}
	if err := b.seedFinished(ctx, rdb, seeded.ID, rows, batch); err != nil {
		t.Fatal(err)
	}

	// In Redis: the same keys, and the same hashes but for the claim's and the outcome's
	// times, which the store stamps with its clock.
	stamped := map[string]bool{"dialing_at": true, "finished_at": true, "first_dial_at": true, "created_at": true, "done_at": true}
	wantKeys, gotKeys := dumpHashes(t, rdb, viaStore.ID, stamped), dumpHashes(t, rdb, seeded.ID, stamped)
	if diff := cmp.Diff(wantKeys, gotKeys); diff != "" {
		t.Errorf("Redis (-via the store +seeded):\n%s", diff)
	}

	for _, n := range []int{1, 2, batch, batch + 1, rows} {
		want, err := store.Contact(ctx, viaStore.ID, n)
		if err != nil {
			t.Fatal(err)
		}
		got, err := store.Contact(ctx, seeded.ID, n)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("contact %d (-via the store +seeded):\n%s", n, diff)
		}
		wantA, err := store.Attempt(ctx, campaign.AttemptRef{CampaignID: viaStore.ID, ContactID: n, Attempt: 1})
		if err != nil {
			t.Fatal(err)
		}
		gotA, err := store.Attempt(ctx, campaign.AttemptRef{CampaignID: seeded.ID, ContactID: n, Attempt: 1})
		if err != nil {
			t.Fatal(err)
		}
		// The store stamps the claim with the time it ran.
		if diff := cmp.Diff(wantA, gotA, cmpopts.IgnoreFields(campaign.Attempt{}, "DialingAt")); diff != "" {
			t.Errorf("attempt %d/1 (-via the store +seeded):\n%s", n, diff)
		}
	}
	want, err := store.Status(ctx, viaStore.ID)
	if err != nil {
		t.Fatal(err)
	}
	got, err := store.Status(ctx, seeded.ID)
	if err != nil {
		t.Fatal(err)
	}
	ignore := cmpopts.IgnoreFields(campaign.Status{}, "CampaignID", "FirstDialAt", "ETASeconds")
	if diff := cmp.Diff(want, got, ignore); diff != "" {
		t.Errorf("status (-via the store +seeded):\n%s", diff)
	}
	if !got.Done {
		t.Errorf("seeded campaign not done: %+v", got)
	}

	// Both reports pass checkReport; a report with two rows swapped or one missing does not.
	for _, c := range []*campaign.Campaign{viaStore, seeded} {
		var report bytes.Buffer
		if _, err := store.WriteReport(ctx, c.ID, &report, campaign.ReportOptions{}); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "report.csv")
		mustWrite(t, path, report.String())
		size, err := checkReport(path, rows)
		if err != nil {
			t.Fatalf("campaign %s: %v", c.ID, err)
		}
		if size != int64(report.Len()) {
			t.Errorf("checkReport size = %d, want %d", size, report.Len())
		}
		lines := strings.SplitAfter(report.String(), "\n")
		lines[5], lines[6] = lines[6], lines[5]
		mustWrite(t, path, strings.Join(lines, ""))
		if _, err := checkReport(path, rows); err == nil || !strings.Contains(err.Error(), "row 5") {
			t.Errorf("checkReport of a report with rows 5 and 6 swapped = %v, want an error about row 5", err)
		}
		lines[5], lines[6] = lines[6], lines[5]
		mustWrite(t, path, strings.Join(lines[:len(lines)-2], "")) // the last line is "" after the last LF
		if _, err := checkReport(path, rows); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%d rows, want %d", rows-1, rows)) {
			t.Errorf("checkReport of a report without its last row = %v, want an error", err)
		}
	}
}

// dumpHashes returns every key of campaign id, its ID replaced by C, as its type and, for a
// hash, its fields but those in skip and those with the campaign's ID in them (the
// campaign hash's id and file).
func dumpHashes(t *testing.T, rdb *redis.Client, id string, skip map[string]bool) map[string]string {
	t.Helper()
	ctx := t.Context()
	keys, err := rdb.Keys(ctx, campaign.KeyTag(id)+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, k := range keys {
		typ, err := rdb.Type(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		name := strings.ReplaceAll(k, id, "C")
		out[name] = typ
		if typ != "hash" || strings.HasSuffix(k, ":campaign") {
			continue
		}
		m, err := rdb.HGetAll(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		for f, v := range m {
			if !skip[f] {
				out[name+" "+f] = v
			}
		}
	}
	return out
}

func mustWrite(tb testing.TB, path, data string) {
	tb.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		tb.Fatal(err)
	}
}

func TestLiveFigures(t *testing.T) {
	sc := liveScenario{name: "live", calls: 1000, workerArgs: []string{"--concurrency", "1100"}, how: "polling"}
	spec := lab.Campaign{MaxLive: 1000, CPS: 50}
	s0 := liveSample{at: t0, workerCPU: 10 * time.Second, benchCPU: time.Second, cpuOK: true, redisCommands: 5000, redisCPU: 2, gets: 100, conns: 10}
	s1 := liveSample{at: t0.Add(time.Minute), workerCPU: 16 * time.Second, benchCPU: 4 * time.Second, cpuOK: true, redisCommands: 95000, redisCPU: 3.5, gets: 12100, conns: 610}
	r := liveResult{meanLive: 1000, minLive: 950, peakLive: 1000, rss: 80e6, peakRSS: 90e6, rssOK: true, dials: 900}
	got := map[string]string{}
	for _, f := range liveFigures(sc, spec, s0, s1, r) {
		got[f.Measure] = f.Value + " | " + f.Met
	}
	want := map[string]string{
		"live: calls live during the window":       "1000 mean, 950 least | met",
		"live: worker CPU":                         "10.0% of a core | ",
		"live: worker RSS":                         "80.0 MB (peak 90.0 MB) | ",
		"live: live calls one worker core carries": "≈ 10,000 | ",
		"live: API connections opened":             "10/s for 200 Get Calls/s | ",
		"live: Redis commands":                     "1,500/s: 1.50 per live call per second, 100 per dial attempt | ",
		"live: Redis CPU":                          "2.5% of a core: ≈ 40,000 live calls or 600 dials/s per core | ",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("live figures (-want +got):\n%s", diff)
	}

	// With webhooks, serve's CPU and the events it answered join the figures.
	sc.name, sc.webhooks = "live-webhooks", true
	s0.serveCPU, s0.hooks = 2*time.Second, 1000
	s1.serveCPU, s1.hooks = 5*time.Second, 10600
	got = map[string]string{}
	for _, f := range liveFigures(sc, spec, s0, s1, r) {
		got[f.Measure] = f.Value
	}
	if v := got["live-webhooks: dialer serve CPU"]; v != "5.0% of a core for 160 events/s" {
		t.Errorf("serve CPU with webhooks = %q", v)
	}
	if v := got["live-webhooks: worker CPU"]; v != "10.0% of a core" {
		t.Errorf("worker CPU with webhooks = %q", v)
	}

	sc.name, sc.webhooks = "live", false
	r.dials, r.peakLive = 0, 1001
	for _, f := range liveFigures(sc, spec, s0, s1, r) {
		switch f.Measure {
		case "live: calls live during the window":
			if f.Met != "MISSED" {
				t.Errorf("peak 1001 of 1000: %s = %q, want MISSED", f.Measure, f.Met)
			}
		case "live: Redis commands", "live: Redis CPU":
			if strings.Contains(f.Value, "Inf") || strings.Contains(f.Value, "NaN") {
				t.Errorf("no dials in the window: %s = %q", f.Measure, f.Value)
			}
		}
	}
}
