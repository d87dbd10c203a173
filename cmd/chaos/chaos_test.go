package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/lab"
	"github.com/dialerhq/dialer/internal/phone"
	"github.com/dialerhq/dialer/internal/simulator"
	"github.com/google/go-cmp/cmp"
)

// TestChaosShort runs `go run ./cmd/chaos --short` in-process: 300 contacts, 5 kills, one
// Redis restart and API faults, about two minutes. It needs redis-server on PATH and runs
// only with CHAOS=1.
func TestChaosShort(t *testing.T) {
	if os.Getenv("CHAOS") != "1" {
		t.Skip("set CHAOS=1 to run the short chaos scenario (about 2 minutes, needs redis-server)")
	}
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), []string{"--short"}, &stdout, &stderr)
	t.Logf("figures:\n%s", stdout.String())
	if err != nil {
		t.Fatalf("chaos --short: %v\nprogress:\n%s", err, stderr.String())
	}
	for _, want := range []string{"double dials", "lost contacts", "workers killed (kill -9)"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("the figures have no %q line", want)
		}
	}
}

// TestClasses checks each class's expected outcome and attempts against a reading of its
// script under the campaign's retry policy: dial until an outcome is not retried or
// maxAttempts dials are made.
func TestClasses(t *testing.T) {
	for _, c := range classes {
		t.Run(c.name, func(t *testing.T) {
			attempts, outcome := 0, ""
			for attempts < maxAttempts {
				outcome = c.script[min(attempts, len(c.script)-1)]
				attempts++
				if !slices.Contains(retryOn, outcome) {
					break
				}
			}
			if outcome != c.outcome || attempts != c.attempts {
				t.Errorf("script %v makes %s after %d attempts; the class says %s after %d", c.script, outcome, attempts, c.outcome, c.attempts)
			}
			if c.weight <= 0 {
				t.Errorf("weight %d, want more than 0", c.weight)
			}
		})
	}
}

// TestPlan checks the generated campaign: valid, distinct numbers written in E.164, every
// class present, and the same contacts for the same seed.
func TestPlan(t *testing.T) {
	contacts, err := plan(3000, 7)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	perClass := map[string]int{}
	for _, c := range contacts {
		got, err := phone.Normalize(c.number, "US")
		if err != nil || got != c.number {
			t.Fatalf("row %d: number %s normalises to %q, %v; want itself", c.row, c.number, got, err)
		}
		if r, dup := seen[c.number]; dup {
			t.Fatalf("rows %d and %d share %s", r, c.row, c.number)
		}
		seen[c.number] = c.row
		perClass[c.class.name]++
	}
	for _, c := range classes {
		if perClass[c.name] == 0 {
			t.Errorf("no contact of class %q in 3000", c.name)
		}
	}
	again, _ := plan(3000, 7)
	for i := range contacts {
		if again[i].class != contacts[i].class {
			t.Fatalf("row %d: class %q, then %q with the same seed", i+1, contacts[i].class.name, again[i].class.name)
		}
	}
	if got := numberOf(maxContacts - 1); seen[got] != 0 || got == numberOf(0) {
		t.Errorf("the last number %s repeats an earlier one", got)
	}
	for _, n := range []int{0, maxContacts + 1} {
		if _, err := plan(n, 1); err == nil {
			t.Errorf("plan(%d) = nil error, want one", n)
		}
	}
}

// counts are the counts of findings, for comparison.
type counts struct{ Dials, Double, Stray, Lost, Wrong, OffLog int }

func countsOf(f findings) counts {
	return counts{f.dials, f.doubleDials, f.strayDials, f.lost, f.wrong, f.offLog}
}

func TestCheck(t *testing.T) {
	const id = "c1"
	busyThenDone, done, noAnswer := &classes[1], &classes[0], &classes[3]
	contacts := []contact{
		{row: 1, number: numberOf(0), class: busyThenDone},
		{row: 2, number: numberOf(1), class: done},
		{row: 3, number: numberOf(2), class: noAnswer},
	}
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	dial := func(row, attempt int, outcome string) simulator.Dial {
		at = at.Add(time.Second)
		return simulator.Dial{
			At: at, CallID: fmt.Sprintf("CC-%d-%d", row, attempt), Number: contacts[row-1].number, Outcome: outcome,
			// Numbers as JSON decodes them.
			Metadata: map[string]any{"campaignId": id, "contactId": float64(row), "attempt": float64(attempt)},
		}
	}
	rec := func(row, attempt int, outcome string) attemptRow {
		return attemptRow{row: row, attempt: attempt, worker: "w1", callID: fmt.Sprintf("CC-%d-%d", row, attempt), outcome: outcome}
	}
	clean := func() ([]reportRow, []attemptRow, []simulator.Dial) {
		report := []reportRow{
			{phone: numberOf(0), outcome: "completed", attempts: 2},
			{phone: numberOf(1), outcome: "completed", attempts: 1},
			{phone: numberOf(2), outcome: "no-answer", attempts: 3},
		}
		attempts := []attemptRow{rec(1, 1, "busy"), rec(1, 2, "completed"), rec(2, 1, "completed"), rec(3, 1, "no-answer"), rec(3, 2, "no-answer"), rec(3, 3, "no-answer")}
		dials := []simulator.Dial{dial(1, 1, "busy"), dial(2, 1, "completed"), dial(3, 1, "no-answer"), dial(1, 2, "completed"), dial(3, 2, "no-answer"), dial(3, 3, "no-answer")}
		return report, attempts, dials
	}
	tests := []struct {
		name   string
		breaks func(report []reportRow, attempts []attemptRow, dials []simulator.Dial) ([]reportRow, []attemptRow, []simulator.Dial)
		want   counts
	}{
		{name: "as scripted", want: counts{Dials: 6}},
		{
			name: "an attempt dialed twice",
			breaks: func(r []reportRow, a []attemptRow, d []simulator.Dial) ([]reportRow, []attemptRow, []simulator.Dial) {
				second := dial(1, 2, "completed")
				second.CallID = "CC-again"
				return r, a, append(d, second)
			},
			want: counts{Dials: 7, Double: 1},
		},
		{
			name: "a row left pending",
			breaks: func(r []reportRow, a []attemptRow, d []simulator.Dial) ([]reportRow, []attemptRow, []simulator.Dial) {
				r[2].outcome, r[2].attempts = "pending", 2
				return r, a[:5], d[:5]
			},
			want: counts{Dials: 5, Lost: 1},
		},
		{
			name: "a row missing from the report",
			breaks: func(r []reportRow, a []attemptRow, d []simulator.Dial) ([]reportRow, []attemptRow, []simulator.Dial) {
				return r[:2], a, d
			},
			want: counts{Dials: 6, Lost: 1},
		},
		{
			name: "a row given up on",
			breaks: func(r []reportRow, a []attemptRow, d []simulator.Dial) ([]reportRow, []attemptRow, []simulator.Dial) {
				r[0].outcome, r[0].attempts, r[0].errText = "error", 1, "gave up after repeated failures"
				return r, slices.Delete(a, 1, 2), slices.Delete(d, 3, 4)
			},
			want: counts{Dials: 5, Wrong: 1},
		},
		{
			name: "an attempt recorded with another call",
			breaks: func(r []reportRow, a []attemptRow, d []simulator.Dial) ([]reportRow, []attemptRow, []simulator.Dial) {
				a[4].callID = "CC-other"
				return r, a, d
			},
			want: counts{Dials: 6, OffLog: 1},
		},
		{
			name: "an attempt recorded with another outcome",
			breaks: func(r []reportRow, a []attemptRow, d []simulator.Dial) ([]reportRow, []attemptRow, []simulator.Dial) {
				a[0].outcome = "no-answer"
				return r, a, d
			},
			want: counts{Dials: 6, OffLog: 1},
		},
		{
			name: "an attempt never recorded",
			breaks: func(r []reportRow, a []attemptRow, d []simulator.Dial) ([]reportRow, []attemptRow, []simulator.Dial) {
				return r, slices.Delete(a, 5, 6), d
			},
			want: counts{Dials: 6, OffLog: 1},
		},
		{
			name: "a dial past the attempts counted",
			breaks: func(r []reportRow, a []attemptRow, d []simulator.Dial) ([]reportRow, []attemptRow, []simulator.Dial) {
				return r, a, append(d, dial(2, 2, "completed"))
			},
			want: counts{Dials: 7, OffLog: 1},
		},
		{
			name: "dials of something else",
			breaks: func(r []reportRow, a []attemptRow, d []simulator.Dial) ([]reportRow, []attemptRow, []simulator.Dial) {
				other := dial(2, 1, "completed")
				other.Metadata = map[string]any{"campaignId": "c2", "contactId": float64(2), "attempt": float64(1)}
				wrongNumber := dial(2, 1, "completed")
				wrongNumber.Number = numberOf(9)
				noRow := dial(2, 1, "completed")
				noRow.Metadata = map[string]any{"campaignId": id, "contactId": float64(4), "attempt": float64(1)}
				return r, a, append(d, other, wrongNumber, noRow)
			},
			want: counts{Dials: 6, Stray: 3},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			report, attempts, dials := clean()
			if tt.breaks != nil {
				report, attempts, dials = tt.breaks(report, attempts, dials)
			}
			f := check(id, contacts, report, attempts, dials)
			if diff := cmp.Diff(tt.want, countsOf(f)); diff != "" {
				t.Errorf("findings (-want +got):\n%s\nproblems: %q", diff, f.problems)
			}
			if got, want := len(f.problems), tt.want.Double+tt.want.Stray+tt.want.Lost+tt.want.Wrong+tt.want.OffLog; got != want {
				t.Errorf("%d problems described, want %d: %q", got, want, f.problems)
			}
		})
	}
}

func TestReadReports(t *testing.T) {
	report := "name,phone,appointment,phone_e164,outcome,attempts,call_id,error\r\n" +
		"Patient 1,+12015550000,\"Tue 9:30, room 2\",+12015550000,completed,2,CC-1,\n" +
		"Patient 2,+12125550000,Tue 9:45,+12125550000,pending,1,,\n"
	got, err := readReport(strings.NewReader(report))
	if err != nil {
		t.Fatal(err)
	}
	want := []reportRow{{phone: "+12015550000", outcome: "completed", attempts: 2}, {phone: "+12125550000", outcome: "pending", attempts: 1}}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(reportRow{})); diff != "" {
		t.Errorf("readReport (-want +got):\n%s", diff)
	}

	attempts := "campaign_id,row,phone_e164,attempt,worker,claimed_at,call_id,outcome,error\n" +
		"c1,7,+12015550000,2,w3,2026-03-02T09:00:00Z,CC-9,busy,\n"
	gotA, err := readAttempts(strings.NewReader(attempts))
	if err != nil {
		t.Fatal(err)
	}
	wantA := []attemptRow{{row: 7, attempt: 2, worker: "w3", callID: "CC-9", outcome: "busy"}}
	if diff := cmp.Diff(wantA, gotA, cmp.AllowUnexported(attemptRow{})); diff != "" {
		t.Errorf("readAttempts (-want +got):\n%s", diff)
	}

	if _, err := readReport(strings.NewReader("phone_e164,outcome\n+12015550000,completed\n")); err == nil || !strings.Contains(err.Error(), `"attempts"`) {
		t.Errorf("report without an attempts column: error %v, want one naming it", err)
	}
	if _, err := readAttempts(strings.NewReader(strings.Replace(attempts, ",2,w3", ",two,w3", 1))); err == nil {
		t.Error("attempt report with a non-numeric attempt: nil error, want one")
	}
}

func TestEvents(t *testing.T) {
	kills := func(n int) []string { return slices.Repeat([]string{"kill"}, n) }
	tests := []struct {
		kills, restarts, crashes int
		want                     []string
	}{
		{kills: 5, restarts: 1, crashes: 1, want: slices.Concat(kills(2), []string{"restart"}, kills(3), []string{"crash"})},
		{kills: 0, restarts: 0, crashes: 2, want: []string{"crash", "crash"}},
		{kills: 20, restarts: 1, want: slices.Concat(kills(10), []string{"restart"}, kills(10))},
		{kills: 5, restarts: 1, want: slices.Concat(kills(2), []string{"restart"}, kills(3))},
		{kills: 4, restarts: 3, want: []string{"kill", "restart", "kill", "restart", "kill", "restart", "kill"}},
		{kills: 0, restarts: 2, want: []string{"restart", "restart"}},
		{kills: 3, restarts: 0, want: kills(3)},
		{kills: 0, restarts: 0, want: nil},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d kills %d restarts %d crashes", tt.kills, tt.restarts, tt.crashes), func(t *testing.T) {
			if diff := cmp.Diff(tt.want, events(tt.kills, tt.restarts, tt.crashes)); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    func(config) bool
		wantErr string
	}{
		{name: "defaults", want: func(c config) bool {
			return c.scenario == "chaos" && c.contacts == 2000 && c.kills == 20 && c.workers == 3 && c.restarts == 1 && c.baseline &&
				c.campaigns == 3 && c.acctCPS < 3*c.cps && c.acctMaxLive < 3*c.maxLive
		}},
		{name: "short", args: []string{"--short"}, want: func(c config) bool {
			return c.contacts == 300 && c.kills == 5 && c.killEvery == 2*time.Second && c.chaosAfter == 20*time.Second && !c.baseline && c.deadline == 4*time.Minute
		}},
		{name: "short, explicit flags win", args: []string{"--short", "--contacts", "500", "--baseline"}, want: func(c config) bool {
			return c.contacts == 500 && c.kills == 5 && c.baseline
		}},
		{name: "long-call", args: []string{"--scenario", "long-call", "--hold-call", "2m"}, want: func(c config) bool {
			return c.scenario == "long-call" && c.holdCall == 2*time.Minute
		}},
		{name: "unknown scenario", args: []string{"--scenario", "storm"}, wantErr: "--scenario"},
		{name: "too many contacts", args: []string{"--contacts", "100001"}, wantErr: "--contacts"},
		{name: "fault share above 1", args: []string{"--faults", "1.5"}, wantErr: "--faults"},
		{name: "more campaigns than contacts", args: []string{"--contacts", "2", "--campaigns", "3"}, wantErr: "--campaigns"},
		{name: "no account cap", args: []string{"--account-max-concurrent", "0"}, wantErr: "--account-max-concurrent"},
		{name: "call shorter than the task lease", args: []string{"--kill-call", "20s"}, wantErr: "--kill-call"},
		{name: "an argument", args: []string{"now"}, wantErr: `"now"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			cfg, err := parseFlags(tt.args, &stderr)
			switch {
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("parseFlags(%q) error = %v, want one naming %s", tt.args, err, tt.wantErr)
			case tt.wantErr == "" && err != nil:
				t.Errorf("parseFlags(%q): %v", tt.args, err)
			case tt.wantErr == "" && !tt.want(cfg):
				t.Errorf("parseFlags(%q) = %+v", tt.args, cfg)
			}
		})
	}
}

// TestLogEvent reads worker log lines as slog's text handler writes them.
func TestLogEvent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w1.log")
	log := `time=2026-03-02T09:00:00.100Z level=INFO msg="worker started" redis=redis://127.0.0.1:1/0 concurrency=10
time=2026-03-02T09:00:01.250Z level=INFO msg=dialing task=c1:1:10 number=…0100 attempt=10
time=2026-03-02T09:00:02.500Z level=INFO msg=dialing task=c1:1:1 number=…0100 attempt=1
time=2026-03-02T09:01:05.750Z level=INFO msg="resuming live call" task=c1:1:1 call=CC-1
`
	if err := os.WriteFile(path, []byte(log), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		msg, task string
		want      time.Time
		found     bool
	}{
		{"dialing", "c1:1:1", time.Date(2026, 3, 2, 9, 0, 2, 500e6, time.UTC), true},
		{"dialing", "c1:1:10", time.Date(2026, 3, 2, 9, 0, 1, 250e6, time.UTC), true},
		{"resuming live call", "c1:1:1", time.Date(2026, 3, 2, 9, 1, 5, 750e6, time.UTC), true},
		{"resuming live call", "c1:1:10", time.Time{}, false},
		{"dialing", "c1:1", time.Time{}, false},
	}
	for _, tt := range tests {
		at, ok := logEvent(path, tt.msg, tt.task)
		if ok != tt.found || !at.Equal(tt.want) {
			t.Errorf("logEvent(%q, %q) = %v, %v; want %v, %v", tt.msg, tt.task, at, ok, tt.want, tt.found)
		}
	}
}

func TestBoundVerdict(t *testing.T) {
	kill := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		at   time.Time
		want string
	}{
		{kill.Add(75 * time.Second), "met"},
		{kill.Add(resumeBound), "met"},
		{kill.Add(resumeBound + time.Second), "over"},
		{time.Time{}, "BROKEN"},
	} {
		if got := boundVerdict(tt.at, kill, resumeBound); got != tt.want {
			t.Errorf("boundVerdict(kill+%s) = %q, want %q", tt.at.Sub(kill), got, tt.want)
		}
	}
	if resumeBound.Round(time.Second) != 123*time.Second || resumeFloor != 55*time.Second {
		t.Errorf("resume bound %s, floor %s; the command's doc comment says ≈123 s and 55 s", resumeBound, resumeFloor)
	}
}

// TestRecoveries times attempts picked up again from the kill of the last worker that ran
// their task.
func TestRecoveries(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	line := func(after time.Duration, msg, task string) string {
		return fmt.Sprintf("time=%s level=INFO msg=%q task=%s call=CC-1\n", t0.Add(after).Format(time.RFC3339Nano), msg, task)
	}
	logs := map[string]string{
		"w1": line(time.Second, "dialing", "c1:1:1"),
		// c1:1:1 was claimed by w1, killed at 10 s: w2 resumes it at 70 s, is killed at 100 s,
		// and w3 finds its call at 200 s.
		"w2": line(70*time.Second, "resuming live call", "c1:1:1"),
		"w3": line(50*time.Second, "resuming live call", "c1:2:1") + // claimed by w3 itself: after an error
			line(200*time.Second, "found the call of an interrupted dial", "c1:1:1"),
	}
	killed := map[string]time.Duration{"w1": 10 * time.Second, "w2": 100 * time.Second}
	var workers []lab.PoolWorker
	for _, name := range []string{"w1", "w2", "w3"} {
		w := lab.PoolWorker{Name: name, LogPath: filepath.Join(dir, name+".log")}
		if err := os.WriteFile(w.LogPath, []byte(logs[name]), 0o600); err != nil {
			t.Fatal(err)
		}
		if k, ok := killed[name]; ok {
			w.KilledAt = t0.Add(k)
		}
		workers = append(workers, w)
	}
	attempts := []attemptRow{{campaign: "c1", row: 1, attempt: 1, worker: "w1"}, {campaign: "c1", row: 2, attempt: 1, worker: "w3"}}
	got := recoveries(workers, attempts)
	want := recovery{afterKill: []time.Duration{60 * time.Second, 100 * time.Second}, otherwise: 1}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(recovery{})); diff != "" {
		t.Errorf("recoveries (-want +got):\n%s", diff)
	}
	if got, want := got.describe(), "2 after a kill: median 1m40s, longest 1m40s; 1 after an error"; got != want {
		t.Errorf("describe() = %q, want %q", got, want)
	}
	if got := longestPause([]simulator.Dial{{At: t0}, {At: t0.Add(3 * time.Second)}, {At: t0.Add(time.Second)}}); got != "2.0 s" {
		t.Errorf("longestPause = %q, want 2.0 s", got)
	}
}

// TestWriteCampaigns splits the contacts among the campaigns in order, each numbered from
// row 1 in its own file, with weights 1, 2, 3 and the flags' limits.
func TestWriteCampaigns(t *testing.T) {
	contacts, err := plan(10, 3)
	if err != nil {
		t.Fatal(err)
	}
	c := &chaos{Lab: &lab.Lab{Dir: t.TempDir()}, cfg: config{campaigns: 3, cps: 4, maxLive: 5}}
	camps, err := c.writeCampaigns(contacts)
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int
	next := 0
	for k, cc := range camps {
		sizes = append(sizes, len(cc.contacts))
		for i, ct := range cc.contacts {
			if ct.row != i+1 || ct.number != contacts[next].number || ct.class != contacts[next].class {
				t.Errorf("campaign %d row %d: %+v, want row %d of contact %+v", k+1, i+1, ct, i+1, contacts[next])
			}
			next++
		}
		yaml, err := os.ReadFile(cc.campaignPath)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{fmt.Sprintf("name: chaos-%d\n", k+1), fmt.Sprintf("weight: %d\n", k+1), "callsPerSecond: 4, maxConcurrentCalls: 5"} {
			if !strings.Contains(string(yaml), want) {
				t.Errorf("%s has no %q:\n%s", cc.campaignPath, want, yaml)
			}
		}
		csv, err := os.ReadFile(cc.contactsPath)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Count(string(csv), "\n"); got != len(cc.contacts)+1 {
			t.Errorf("%s has %d lines, want a header and %d rows", cc.contactsPath, got, len(cc.contacts))
		}
	}
	if diff := cmp.Diff([]int{3, 3, 4}, sizes); diff != "" || next != len(contacts) {
		t.Errorf("campaign sizes (-want +got):\n%s", diff)
	}
}

// TestCheckRun checks each campaign of a run against its own dials: the same row and
// attempt in two campaigns is two contacts, not a double dial, and a dial of a campaign
// not in the run is stray.
func TestCheckRun(t *testing.T) {
	done := &classes[0]
	camps := []chaosCampaign{
		{file: lab.Campaign{Name: "chaos-1"}, contacts: []contact{{row: 1, number: numberOf(0), class: done}}},
		{file: lab.Campaign{Name: "chaos-2"}, contacts: []contact{{row: 1, number: numberOf(1), class: done}}},
	}
	dial := func(id string, number string) simulator.Dial {
		return simulator.Dial{CallID: "CC-" + id, Number: number, Outcome: "completed",
			Metadata: map[string]any{"campaignId": id, "contactId": float64(1), "attempt": float64(1)}}
	}
	ran := []campaignRun{
		{id: "a", report: []reportRow{{outcome: "completed", attempts: 1}}, attempts: []attemptRow{{campaign: "a", row: 1, attempt: 1, callID: "CC-a", outcome: "completed"}}},
		{id: "b", report: []reportRow{{outcome: "pending"}}},
	}
	f := checkRun(camps, ran, []simulator.Dial{dial("a", numberOf(0)), dial("z", numberOf(1))})
	if diff := cmp.Diff(counts{Dials: 1, Stray: 1, Lost: 1}, countsOf(f)); diff != "" {
		t.Errorf("findings (-want +got):\n%s\nproblems: %q", diff, f.problems)
	}
	if len(f.problems) != 2 || !strings.Contains(f.problems[0], "of campaign z, none of the run's") || !strings.HasPrefix(f.problems[1], "chaos-2: row 1") {
		t.Errorf("problems = %q; want the stray dial of z, then chaos-2's lost row", f.problems)
	}
}

// TestLimitFigures breaks each limit in turn on a dial log and checks that its figure, and
// only its, is BROKEN.
func TestLimitFigures(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	cfg := config{cps: 2, maxLive: 2, acctCPS: 3.5, acctMaxLive: 3}
	dial := func(id string, at, length time.Duration) simulator.Dial {
		return simulator.Dial{At: t0.Add(at), EndAt: t0.Add(at + length), Metadata: map[string]any{"campaignId": id}}
	}
	// Within the limits: a and b each 2 live calls and 2 dials a second at most, the
	// account 3 and 3.
	within := []simulator.Dial{
		dial("a", 0, 900*time.Millisecond), dial("b", 100*time.Millisecond, 3*time.Second), dial("a", 500*time.Millisecond, time.Second),
		dial("a", 1000*time.Millisecond, 400*time.Millisecond), dial("b", 1500*time.Millisecond, 500*time.Millisecond), dial("a", 2600*time.Millisecond, time.Second),
	}
	tests := []struct {
		name  string
		dials []simulator.Dial
		want  []string // the verdicts of the account's live calls and rate, the campaigns' live calls and rate
	}{
		{"within the limits", within, []string{"met", "met", "met", "met"}},
		{"4 dials in a second across the account", append(slices.Clone(within), dial("b", 950*time.Millisecond, 10*time.Millisecond)),
			[]string{"met", "BROKEN", "met", "met"}},
		{"4 calls live across the account", append(slices.Clone(within), dial("b", 2100*time.Millisecond, 2*time.Second), dial("a", 2700*time.Millisecond, time.Second)),
			[]string{"BROKEN", "met", "met", "met"}},
		{"3 calls of one campaign live", []simulator.Dial{dial("a", 0, 3*time.Second), dial("a", 1100*time.Millisecond, 3*time.Second), dial("a", 2200*time.Millisecond, 3*time.Second)},
			[]string{"met", "met", "BROKEN", "met"}},
		{"3 dials of one campaign in a second", []simulator.Dial{dial("a", 0, 10*time.Millisecond), dial("a", 400*time.Millisecond, 10*time.Millisecond), dial("a", 800*time.Millisecond, 10*time.Millisecond)},
			[]string{"met", "met", "met", "BROKEN"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := &runResult{campaigns: []campaignRun{{id: "a"}, {id: "b"}}, dials: tt.dials}
			res.stats.PeakLiveCalls, res.stats.MaxDialsInOneSecond = simulator.PeakLiveCalls(tt.dials), simulator.MaxDialsIn(tt.dials, time.Second)
			var got []string
			for _, f := range limitFigures(cfg, res) {
				got = append(got, f.Met)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("verdicts (-want +got):\n%s", diff)
			}
		})
	}
	if got := closest(within, 3); got != "1.000 s" {
		t.Errorf("closest(within, 3) = %q, want 1.000 s: 4 dials in a row from the one at 0 s to the one at 1 s", got)
	}
}
