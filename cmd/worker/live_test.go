package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/redistest"
	"github.com/dialerhq/dialer/internal/simulator"
	"github.com/dialerhq/dialer/internal/simulator/simtest"
	"github.com/redis/go-redis/v9"
)

const (
	liveAPIKey = "live-key-8d2c41"
	liveSecret = "whsec-live-51e0c7"
)

// liveRig is what a live-operations subtest runs on: the built commands, a Redis of its
// own, and a `dialer serve` of its own receiving the simulator's webhooks.
type liveRig struct {
	dialer, worker string
	rdb            *redis.Client
	store          *campaign.Store
	redisURL       string
	serveURL       string
}

// TestLiveOperations runs campaigns through `dialer serve`, two `worker` processes and the
// simulator sending webhooks: finished on webhooks alone (every Get Call failing), on
// polling alone, and with 30% of webhooks lost; paused and resumed across two workers;
// canceled with --hangup. It also checks what serve refuses and serves. The subtests run in
// parallel, each on a Redis and a `dialer serve` of its own.
func TestLiveOperations(t *testing.T) {
	dialer, workerBin := startCommands(t)
	for _, tt := range []struct {
		name string
		run  func(*liveRig, *testing.T)
	}{
		{"refusals and endpoints", (*liveRig).testEndpoints},
		{"webhooks alone", func(rig *liveRig, t *testing.T) {
			rig.finishes(t, simulator.Config{Faults: simulator.Faults{GetCallError: 1}}, true, 0, "200ms")
		}},
		{"polling alone", func(rig *liveRig, t *testing.T) {
			rig.finishes(t, simulator.Config{}, false, 0, "200ms")
		}},
		{"30% of webhooks lost", func(rig *liveRig, t *testing.T) {
			rig.finishes(t, simulator.Config{}, true, 0.3, "1s")
		}},
		{"pause and resume across two workers", (*liveRig).testPause},
		{"cancel --hangup", (*liveRig).testCancelHangup},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rdb := e2eDatabases.SetupServer(t)
			rig := &liveRig{dialer: dialer, worker: workerBin, rdb: rdb, store: campaign.NewStore(rdb), redisURL: redistest.URL(rdb)}
			rig.serveURL = startServe(t, dialer, append(os.Environ(), "REDIS_URL="+rig.redisURL, "INTERACTLY_WEBHOOK_SECRET="+liveSecret), liveSecret)
			tt.run(rig, t)
		})
	}
}

func (rig *liveRig) testEndpoints(t *testing.T) {
	post := func(secret, body string) int {
		req, _ := http.NewRequest(http.MethodPost, rig.serveURL+"/webhooks/interactly", strings.NewReader(body))
		if secret != "" {
			req.Header.Set("x-interactly-secret", secret)
		}
		resp, err := http.DefaultClient.Do(req)
		must(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	msg := `{"message":{"type":"status-update","call":{"id":"CC-x","status":"ongoing"}}}`
	for _, tt := range []struct {
		name, secret, body string
		want               int
	}{
		{"wrong secret", "whsec-guess", msg, 401},
		{"no secret", "", msg, 401},
		{"oversized", liveSecret, `{"message":{"type":"hang","x":"` + strings.Repeat("a", 1<<20) + `"}}`, 413},
		{"malformed", liveSecret, `{"message":`, 400},
		{"unknown call", liveSecret, msg, 200},
	} {
		if got := post(tt.secret, tt.body); got != tt.want {
			t.Errorf("%s: status %d, want %d", tt.name, got, tt.want)
		}
	}
	for path, want := range map[string]string{
		"/healthz":               `"ok"`,
		"/monitoring/":           "<",
		"/monitoring/api/queues": "queues",
		"/metrics":               "dialer_webhook_rejected_total",
	} {
		deadline := time.Now().Add(5 * time.Second) // the rejection counts reach Redis within a second
		for {
			body, status := get(t, rig.serveURL+path)
			if status == 200 && strings.Contains(body, want) {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("GET %s: %d, body without %q:\n%.500s", path, status, want, body)
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

func get(t *testing.T, url string) (string, int) {
	t.Helper()
	resp, err := http.Get(url)
	must(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b), resp.StatusCode
}

// liveSim starts a simulator for one subtest: short calls, webhooks to serve (when webhooks)
// with the given loss, the faults of cfg.
func (rig *liveRig) liveSim(t *testing.T, cfg simulator.Config, webhooks bool, loss float64) (*simulator.Server, string) {
	t.Helper()
	cfg.APIKey = liveAPIKey
	cfg.Seed = 11
	if cfg.RingMin == 0 {
		cfg.RingMin, cfg.RingMax = 200*time.Millisecond, 400*time.Millisecond
		cfg.TalkMin, cfg.TalkMax = 300*time.Millisecond, 600*time.Millisecond
	}
	cfg.AnalysisDelay = 100 * time.Millisecond
	if webhooks {
		cfg.Webhooks = simulator.WebhookConfig{URL: rig.serveURL + "/webhooks/interactly", Secret: liveSecret, Loss: loss}
	}
	sim, srv := simtest.Serve(t, cfg)
	return sim, srv.URL
}

// env is the environment of the commands of a subtest whose simulator is at simURL.
func (rig *liveRig) env(simURL string) []string {
	return commandEnv(rig.redisURL, simURL, liveAPIKey)
}

// upload writes a campaign file (yaml) and a contact file of numbers and uploads them.
func (rig *liveRig) upload(t *testing.T, env []string, yaml string, numbers []string) string {
	t.Helper()
	return uploadNumbers(t, env, rig.dialer, t.TempDir(), "live", yaml, numbers)
}

// workers starts n worker processes with the extra flags args, stopped when the test ends.
func (rig *liveRig) workers(t *testing.T, env []string, n int, args ...string) []*workerProc {
	t.Helper()
	var ws []*workerProc
	for i := 1; i <= n; i++ {
		w := startWorker(t, rig.worker, env, fmt.Sprintf("%s-w%d", strings.ReplaceAll(t.Name(), "/", "-"), i), args...)
		ws = append(ws, w)
	}
	t.Cleanup(func() {
		for _, w := range ws {
			_ = w.cmd.Process.Signal(syscall.SIGTERM)
			if err := w.cmd.Wait(); err != nil {
				t.Errorf("worker after SIGTERM: %v\n%s", err, w.logs)
			}
			if strings.Contains(w.logs.String(), liveAPIKey) {
				t.Error("a worker logged the API key")
			}
		}
	})
	return ws
}

// checkScripted fails the test for every number of want whose row of report (reportRows)
// did not end at want's outcome after want's attempts (as scripted returns them).
func checkScripted(t *testing.T, report map[string]map[string]string, want map[string][2]string) {
	t.Helper()
	for num, w := range want {
		if row := report[num]; row["outcome"] != w[0] || row["attempts"] != w[1] {
			t.Errorf("%s: outcome %q after %s attempts, want %q after %s", num, row["outcome"], row["attempts"], w[0], w[1])
		}
	}
}

// scripted returns n numbers and the simulator script for them: a mix of completed, busy
// then completed, no-answer twice, and failed; want gives each number's outcome and attempts.
func scripted(n, base int) (numbers []string, script map[string][]string, want map[string][2]string) {
	script, want = map[string][]string{}, map[string][2]string{}
	for i := range n {
		num := fmt.Sprintf("+1415555%04d", base+i)
		numbers = append(numbers, num)
		switch i % 4 {
		case 0:
			script[num], want[num] = []string{"completed"}, [2]string{"completed", "1"}
		case 1:
			script[num], want[num] = []string{"busy", "completed"}, [2]string{"completed", "2"}
		case 2:
			script[num], want[num] = []string{"no-answer"}, [2]string{"no-answer", "2"}
		case 3:
			script[num], want[num] = []string{"failed"}, [2]string{"failed", "1"}
		}
	}
	return numbers, script, want
}

var liveCampaign = campaignFile("live", `contacts: {numberColumn: phone, nameColumn: name}
retry: {maxAttempts: 2, retryOn: [busy, no-answer], delay: 300ms}
rateLimit: {callsPerSecond: %d, maxConcurrentCalls: %d}
poll: {interval: %s, analysisWait: 3s}
`)

// reportCSV runs the built dialer's report of campaign id and returns its records, the
// header first.
func reportCSV(t *testing.T, env []string, dialer, id string) [][]string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "report.csv")
	runCommand(t, env, dialer, "report", id, "--out", path)
	f, err := os.Open(path)
	must(t, err)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	must(t, err)
	return recs
}

// reportRows reads campaign id's report, written by the built dialer, as phone_e164 -> row
// (column name -> cell).
func reportRows(t *testing.T, env []string, dialer, id string) map[string]map[string]string {
	t.Helper()
	recs := reportCSV(t, env, dialer, id)
	out := map[string]map[string]string{}
	for _, r := range recs[1:] {
		row := map[string]string{}
		for i, h := range recs[0] {
			row[h] = r[i]
		}
		out[row["phone_e164"]] = row
	}
	return out
}

// finishes runs a 16-contact campaign with two workers against a simulator configured by
// cfg, webhooks and loss, and checks every contact's outcome, attempts and analysis, and
// that no attempt was dialed twice.
func (rig *liveRig) finishes(t *testing.T, cfg simulator.Config, webhooks bool, loss float64, poll string) {
	numbers, script, want := scripted(16, 100+int(time.Now().UnixNano()%50)*20)
	cfg.Script = script
	sim, simURL := rig.liveSim(t, cfg, webhooks, loss)
	env := rig.env(simURL)
	id := rig.upload(t, env, fmt.Sprintf(liveCampaign, 10, 4, poll), numbers)
	rig.workers(t, env, 2)
	waitDone(t, rig.store, id, 90*time.Second)

	report := reportRows(t, env, rig.dialer, id)
	checkScripted(t, report, want)
	for num, row := range report {
		if row["outcome"] == "completed" && row["summary"] == "" {
			t.Errorf("%s: completed without the assistant's analysis: %v", num, row)
		}
	}
	stats := sim.Stats()
	checkDialedOnce(t, stats)
	t.Logf("dials %d, webhook events %+v", stats.Dials, stats.Webhooks)
}

func (rig *liveRig) testPause(t *testing.T) {
	numbers, script, want := scripted(24, 400)
	sim, simURL := rig.liveSim(t, simulator.Config{Script: script}, true, 0)
	env := rig.env(simURL)
	id := rig.upload(t, env, fmt.Sprintf(liveCampaign, 8, 4, "500ms"), numbers)
	// Three tasks at a time each, under a cap of four live calls: both workers dial.
	rig.workers(t, env, 2, "--concurrency", "3")
	deadline := time.Now().Add(30 * time.Second)
	for len(sim.Dials()) < 8 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d dials after 30s", len(sim.Dials()))
		}
		time.Sleep(20 * time.Millisecond)
	}
	runCommand(t, env, rig.dialer, "pause", id)
	paused := time.Now()
	// Nothing may happen for a while: watch that window whole.
	time.Sleep(3 * time.Second)
	before := 0
	for _, d := range sim.Dials() {
		if d.Metadata["campaignId"] != id {
			continue
		}
		if d.At.After(paused.Add(time.Second)) {
			t.Errorf("dial of %s at %s, %s after pause returned", d.Number, d.At.Format(time.RFC3339Nano), d.At.Sub(paused))
		}
		before++
	}
	st, err := rig.store.Status(t.Context(), id)
	must(t, err)
	if st.Control != campaign.ControlPaused || st.Done || st.LiveCalls != 0 {
		t.Errorf("3s after pause: control %q, done %v, live %d; want paused, not done, no live calls", st.Control, st.Done, st.LiveCalls)
	}
	workersSeen := map[string]bool{}
	keys, err := rig.rdb.Keys(t.Context(), "dialer:{"+id+"}:attempt:*").Result()
	must(t, err)
	for _, k := range keys {
		w, _ := rig.rdb.HGet(t.Context(), k, "worker").Result()
		workersSeen[w] = true
	}
	if len(workersSeen) < 2 {
		t.Errorf("dials before the pause came from %v; want both workers", workersSeen)
	}
	t.Logf("%d dials before the pause, %d held", before, st.Held)

	out, _ := runCommand(t, env, rig.dialer, "resume", id)
	if !strings.Contains(out, "resumed") {
		t.Errorf("resume printed %q", out)
	}
	waitDone(t, rig.store, id, 90*time.Second)
	checkScripted(t, reportRows(t, env, rig.dialer, id), want)
	checkDialedOnce(t, sim.Stats())
}

func (rig *liveRig) testCancelHangup(t *testing.T) {
	var numbers []string
	for i := range 10 {
		numbers = append(numbers, fmt.Sprintf("+1415555%04d", 700+i))
	}
	sim, simURL := rig.liveSim(t, simulator.Config{
		RingMin: 100 * time.Millisecond, RingMax: 200 * time.Millisecond,
		TalkMin: time.Minute, TalkMax: time.Minute, // only a hang-up ends them soon
	}, true, 0)
	env := rig.env(simURL)
	id := rig.upload(t, env, fmt.Sprintf(liveCampaign, 5, 3, "500ms"), numbers)
	rig.workers(t, env, 2)
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := rig.store.Status(t.Context(), id)
		must(t, err)
		answered := 0 // rung for longer than RingMax: the conversation is on
		for _, d := range sim.Dials() {
			if time.Since(d.At) > 300*time.Millisecond {
				answered++
			}
		}
		if st.LiveCalls == 3 && answered == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not 3 live calls after 30s: %+v", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
	out, _ := runCommand(t, env, rig.dialer, "cancel", id, "--hangup")
	m := regexp.MustCompile(`(\d+) contacts canceled; (\d+) live calls ended`).FindStringSubmatch(out)
	if m == nil || m[1] != "7" || m[2] != "3" {
		t.Errorf("cancel printed %q; want 7 contacts canceled and 3 live calls ended", out)
	}
	st := waitDone(t, rig.store, id, 20*time.Second)
	if st.Outcomes[campaign.OutcomeCanceled] != 7 || st.Outcomes[campaign.OutcomeCompleted] != 3 {
		t.Errorf("outcomes %v; want 7 canceled and the 3 hung-up calls completed", st.Outcomes)
	}
	if d := sim.Stats().Dials; d != 3 {
		t.Errorf("%d dials; want the 3 before the cancel", d)
	}
	ended := 0
	for _, d := range sim.Dials() {
		if d.EndAt.Sub(d.At) < 30*time.Second {
			ended++
		}
	}
	if ended != 3 {
		t.Errorf("%d calls ended early by the hang-up, want 3", ended)
	}
}
