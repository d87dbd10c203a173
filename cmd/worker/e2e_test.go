package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/redistest"
	"github.com/dialerhq/dialer/internal/simulator"
	"github.com/dialerhq/dialer/internal/simulator/simtest"
	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
)

func TestMain(m *testing.M) {
	flag.Parse()
	// The end-to-end tests mostly wait on simulated calls, not on the CPU: unless the command
	// line sets -test.parallel, run up to eight at once rather than GOMAXPROCS.
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		_ = flag.Set("test.parallel", "8")
	}
	code := m.Run()
	if binTemporary {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

var (
	buildOnce    sync.Once
	binDir       string
	binTemporary bool // binDir is a temporary directory, removed by TestMain
	buildErr     error
)

// e2eDatabases are this package's database numbers (see package redistest): each running
// end-to-end test holds one of its own, so that they all run in parallel with
// TEST_REDIS_URL too. TestSmallBesideLarge takes two; TestLiveOperations one per subtest.
// Without TEST_REDIS_URL the tests take them through SetupServer: each gets a redis-server
// of its own when one is installed, as the worker processes' polling of thousands of keys
// costs a miniredis (its ClockTTL) about as much CPU again as the rest of the package.
var e2eDatabases = redistest.NewDatabases(5, 48, 49, 50, 51, 52, 53, 54, 55)

// startCommands begins an end-to-end test: it skips it under -short, runs it in parallel
// with the package's other end-to-end tests and returns the built dialer and worker. The
// test takes its Redis from e2eDatabases.
func startCommands(t *testing.T) (dialer, worker string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the commands")
	}
	t.Parallel()
	return buildCommands(t)
}

// startE2E is startCommands, and returns a clean Redis of the test's own too.
func startE2E(t *testing.T) (dialer, worker string, rdb *redis.Client) {
	t.Helper()
	dialer, worker = startCommands(t)
	rdb = e2eDatabases.SetupServer(t)
	return dialer, worker, rdb
}

// buildCommands returns dialer and worker built from this tree, building them at the first
// call only (for all tests of this package).
//
// They are built into a directory of the user's cache named after this tree
// (dialer-test-bin/<hash of the tree's path>), not a fresh one: go build then relinks only
// what changed since the last run, so a run on unchanged sources spends half a second here
// rather than the 4–15 s of linking both. An exclusive lock on the directory's lock file
// keeps two runs from building into it at once; still, do not run this package's tests
// twice at once on one tree while its sources change (the later build replaces the
// binaries the earlier run starts). Without a cache directory they go to a temporary one.
func buildCommands(t *testing.T) (dialer, worker string) {
	t.Helper()
	buildOnce.Do(func() { binDir, binTemporary, buildErr = build("../../cmd/dialer", "../../cmd/worker") })
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, "dialer"), filepath.Join(binDir, "worker")
}

// build builds the main packages pkgs into the directory buildCommands describes and
// returns it, and whether it is a temporary one.
func build(pkgs ...string) (dir string, temporary bool, err error) {
	root, err := filepath.Abs("../..")
	if err != nil {
		return "", false, err
	}
	dir, err = os.UserCacheDir()
	if err == nil {
		sum := sha256.Sum256([]byte(root))
		dir = filepath.Join(dir, "dialer-test-bin", hex.EncodeToString(sum[:8]))
		err = os.MkdirAll(dir, 0o700)
	}
	if err != nil {
		if dir, err = os.MkdirTemp("", "dialer-bin-"); err != nil {
			return "", false, err
		}
		temporary = true
	}
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return dir, temporary, err
	}
	defer lock.Close() // and so unlocked
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return dir, temporary, fmt.Errorf("lock %s: %w", lock.Name(), err)
	}
	cmd := exec.Command("go", append([]string{"build", "-o", dir + string(os.PathSeparator)}, pkgs...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return dir, temporary, fmt.Errorf("go build: %v\n%s", err, out)
	}
	return dir, temporary, nil
}

// campaignFile is a campaign file of this package's tests, named name, dialing the
// simulator's assistant from its caller ID, with the rest of its keys (YAML lines: contacts,
// retry, rateLimit, ...) after.
func campaignFile(name, keys string) string {
	return "name: " + name + "\nassistantId: 678a253ca6d866573043502e\nphoneNumberId: 5f7b1b1b1b1b1b1b1b1b1b1b\n" + keys
}

var e2eCampaign = campaignFile("e2e", `contacts: {numberColumn: phone, nameColumn: name}
retry: {maxAttempts: 3, retryOn: [busy, no-answer], delay: 500ms}
rateLimit: {callsPerSecond: 5, maxConcurrentCalls: 5}
poll: {interval: 200ms, analysisWait: 2s}
`)

// e2eRow is one contact, what the simulator does with each of its dials, and what the
// report must say.
type e2eRow struct {
	number       string
	script       []string
	wantOutcome  string
	wantAttempts int
}

func e2eRows() []e2eRow {
	var rows []e2eRow
	for i := 1; i <= 30; i++ {
		r := e2eRow{number: fmt.Sprintf("+1 415 555 %04d", 100+i), script: []string{"completed"}, wantOutcome: "completed", wantAttempts: 1}
		switch {
		case i <= 5:
			r.script, r.wantAttempts = []string{"busy", "completed"}, 2
		case i <= 8:
			r.script, r.wantOutcome, r.wantAttempts = []string{"no-answer"}, "no-answer", 3
		case i <= 10:
			r.script, r.wantOutcome = []string{"failed"}, "failed"
		case i == 11:
			r.number, r.script, r.wantOutcome, r.wantAttempts = "555-12", nil, "invalid", 0
		case i == 12:
			r.number, r.script, r.wantOutcome, r.wantAttempts = "(415) 555-0101", nil, "duplicate", 0
		}
		rows = append(rows, r)
	}
	return rows
}

func e2eNumber(raw string) string {
	return "+1" + strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, strings.TrimPrefix(raw, "+1"))
}

// TestEndToEnd uploads a campaign with `dialer upload`, dials it with two `worker`
// processes against the simulator answering with 429s, 5xx, lost responses and slow
// answers, stops one worker (SIGTERM) while it has a call live and starts another, and
// checks the report and what the simulator saw: outcomes and attempts as scripted, every
// column as a dynamic variable, the stopped worker's call resumed rather than dialed again,
// no attempt dialed twice, and the calls-per-second and concurrent-call limits held.
func TestEndToEnd(t *testing.T) {
	dialer, workerBin, rdb := startE2E(t)
	redisURL := redistest.URL(rdb)

	rows := e2eRows()
	script := map[string][]string{}
	for _, r := range rows {
		if r.script != nil {
			script[e2eNumber(r.number)] = r.script
		}
	}
	const apiKey = "e2e-secret-key-3f9a"
	sim, srv := simtest.Serve(t, simulator.Config{
		APIKey: apiKey, Script: script, Seed: 7,
		RingMin: 200 * time.Millisecond, RingMax: 400 * time.Millisecond,
		// Calls long enough that stopping a worker finds one live.
		TalkMin: 600 * time.Millisecond, TalkMax: 900 * time.Millisecond,
		AnalysisDelay: 100 * time.Millisecond,
		Faults: simulator.Faults{
			RateLimited: 0.08, ServerError: 0.08, LostResponse: 0.2,
			Slow: 0.05, SlowDelay: 500 * time.Millisecond,
		},
	})

	dir := t.TempDir()
	campaignPath := filepath.Join(dir, "e2e.yaml")
	contactsPath := filepath.Join(dir, "contacts.csv")
	var csvBuf bytes.Buffer
	cw := csv.NewWriter(&csvBuf)
	_ = cw.Write([]string{"name", "phone", "appointment", "note"})
	for i, r := range rows {
		_ = cw.Write([]string{fmt.Sprintf("Patient %d", i+1), r.number, "Tue 9:30", fmt.Sprintf("row %d, \"quoted\"", i+1)})
	}
	cw.Flush()
	must(t, os.WriteFile(campaignPath, []byte(e2eCampaign), 0o600))
	must(t, os.WriteFile(contactsPath, csvBuf.Bytes(), 0o600))

	env := commandEnv(redisURL, srv.URL, apiKey)
	id, stderr := upload(t, env, dialer, campaignPath, contactsPath)
	if !strings.Contains(stderr, "30 rows: 28 dialable, 1 invalid, 1 duplicate") {
		t.Errorf("upload summary on stderr = %q", stderr)
	}

	workers := map[string]*workerProc{}
	for _, name := range []string{"w1", "w2"} {
		workers[name] = startWorker(t, workerBin, env, name)
	}

	// Stop w1 while it has a call live, and start w3 in its place: the call must be resumed
	// by another worker, not dialed again.
	store := campaign.NewStore(rdb)
	// Only an answered call talks (600–900 ms); a busy, no-answer or failed one ends within
	// its ring, and w1 would then finish it rather than hand it back.
	taken := waitForLiveCall(t, rdb, id, "w1", func(e164 string, attempt int) bool {
		s := script[e164]
		return len(s) > 0 && s[min(attempt, len(s))-1] == "completed"
	})
	must(t, workers["w1"].cmd.Process.Signal(syscall.SIGTERM))
	if err := workers["w1"].cmd.Wait(); err != nil {
		t.Errorf("w1 after SIGTERM with a call live: %v\n%s", err, workers["w1"].logs)
	}
	workers["w3"] = startWorker(t, workerBin, env, "w3")

	waitDone(t, store, id, 2*time.Minute)
	for _, name := range []string{"w2", "w3"} {
		w := workers[name]
		must(t, w.cmd.Process.Signal(syscall.SIGTERM))
		if err := w.cmd.Wait(); err != nil {
			t.Errorf("%s after SIGTERM: %v\n%s", name, err, w.logs)
		}
	}
	resumed := false
	for _, w := range workers {
		if strings.Contains(w.logs.String(), "resuming live call") && strings.Contains(w.logs.String(), taken.callID) {
			resumed = true
		}
		if strings.Contains(w.logs.String(), apiKey) {
			t.Errorf("%s logged the API key", w.cmd.Args[2])
		}
	}
	w1 := workers["w1"].logs.String()
	finishedByW1 := strings.Contains(w1, "call ended") && strings.Contains(w1, taken.callID)
	switch {
	case !resumed && finishedByW1:
		// Correct too: the call ended within w1's shutdown timeout and w1 recorded it.
		t.Logf("w1 finished call %s itself before handing its task back", taken.callID)
	case !resumed:
		t.Errorf("no worker resumed call %s of the stopped w1, nor did w1 finish it", taken.callID)
	}
	if n := sim.Stats().DialsByKey[taken.key]; n != 1 {
		t.Errorf("attempt %s, live when its worker stopped, was dialed %d times", taken.key, n)
	}

	// No retry reached the API before retry.delay had passed since the previous attempt's end,
	// by the API's own endAt (which it publishes to the millisecond).
	checkRetryGaps(t, sim.Dials(), 500*time.Millisecond)

	// Status, as JSON.
	out, _ := runCommand(t, env, dialer, "status", id, "--json")
	var st struct {
		CampaignID string         `json:"campaignId"`
		Total      int            `json:"total"`
		Done       bool           `json:"done"`
		Outcomes   map[string]int `json:"outcomes"`
	}
	must(t, json.Unmarshal([]byte(out), &st))
	wantOutcomes := map[string]int{}
	wantDials := 0
	for _, r := range rows {
		wantOutcomes[r.wantOutcome]++
		wantDials += r.wantAttempts
	}
	if diff := cmp.Diff(wantOutcomes, st.Outcomes); diff != "" || !st.Done || st.Total != 30 || st.CampaignID != id {
		t.Errorf("status --json = %s; outcomes (-want +got):\n%s", out, diff)
	}

	// The report: one row per input row, in order, as scripted.
	report := reportCSV(t, env, dialer, id)
	if len(report) != len(rows)+1 {
		t.Fatalf("report has %d lines, want %d", len(report), len(rows)+1)
	}
	col := map[string]int{}
	for i, h := range report[0] {
		col[h] = i
	}
	for i, r := range rows {
		got := report[i+1]
		if got[col["phone"]] != r.number || got[col["outcome"]] != r.wantOutcome || got[col["attempts"]] != fmt.Sprint(r.wantAttempts) {
			t.Errorf("report row %d: phone %q outcome %q attempts %q; want %q %q %d (error %q)",
				i+1, got[col["phone"]], got[col["outcome"]], got[col["attempts"]], r.number, r.wantOutcome, r.wantAttempts, got[col["error"]])
		}
		if r.wantOutcome == "completed" && (got[col["summary"]] == "" || got[col["call_id"]] == "" || got[col["ended_at"]] == "") {
			t.Errorf("report row %d: completed without summary, call id or end: %q", i+1, got)
		}
	}

	// The attempt report: one row per dial, each with why it was allowed.
	attemptsPath := filepath.Join(dir, "attempts.csv")
	runCommand(t, env, dialer, "report", id, "--attempts", "--out", attemptsPath)
	af, err := os.Open(attemptsPath)
	must(t, err)
	defer af.Close()
	attemptRows, err := csv.NewReader(af).ReadAll()
	must(t, err)
	if len(attemptRows)-1 != wantDials {
		t.Errorf("attempt report has %d rows, want one per dial: %d", len(attemptRows)-1, wantDials)
	}
	for _, r := range attemptRows[1:] {
		// campaign_id … calling_window (15), suppression_check (16), frequency_cap_count (17),
		// caller_id (18)
		if r[15] != "none" || r[16] != "not suppressed" || r[17] != "no cap" || r[6] == "" || r[18] != "5f7b1b1b1b1b1b1b1b1b1b1b" {
			t.Errorf("attempt row without its audit or call id: %q", r)
			break
		}
	}

	// What the simulator saw.
	stats := sim.Stats()
	if stats.Dials != wantDials {
		t.Errorf("simulator saw %d dials, want %d", stats.Dials, wantDials)
	}
	checkDialedOnce(t, stats)
	if stats.MaxDialsInOneSecond > 5 {
		t.Errorf("%d dials began within one second; callsPerSecond is 5", stats.MaxDialsInOneSecond)
	}
	if stats.PeakLiveCalls > 5 {
		t.Errorf("%d calls were live at once; maxConcurrentCalls is 5", stats.PeakLiveCalls)
	}
	if stats.Faults["429"] == 0 || stats.Faults["5xx"] == 0 || stats.Faults["lost"] == 0 {
		t.Errorf("the run met too few faults to mean much: %v", stats.Faults)
	}
	byNumber := map[string]int{}
	for i, r := range rows {
		if r.script != nil { // the duplicate row shares row 1's number
			byNumber[e2eNumber(r.number)] = i
		}
	}
	workersSeen := map[string]bool{}
	for _, d := range sim.Dials() {
		i, ok := byNumber[d.Number]
		if !ok {
			t.Errorf("dialed %s, which is not in the contact file", d.Number)
			continue
		}
		want := map[string]string{"name": fmt.Sprintf("Patient %d", i+1), "phone": rows[i].number, "appointment": "Tue 9:30", "note": fmt.Sprintf("row %d, \"quoted\"", i+1)}
		if diff := cmp.Diff(want, d.DynamicVariables); diff != "" {
			t.Errorf("dynamicVariables of %s (-want +got):\n%s", d.Number, diff)
		}
		if d.Metadata["campaignId"] != id {
			t.Errorf("metadata of %s = %v, want campaignId %s", d.Number, d.Metadata, id)
		}
		contactID := fmt.Sprint(d.Metadata["contactId"])
		attempt := fmt.Sprint(d.Metadata["attempt"])
		w, err := rdb.HGet(t.Context(), "dialer:{"+id+"}:attempt:"+contactID+":"+attempt, "worker").Result()
		must(t, err)
		workersSeen[w] = true
	}
	if !workersSeen["w1"] || !workersSeen["w2"] {
		t.Errorf("dials were made by %v; want w1 and w2 among them", workersSeen)
	}
}

// workerProc is a running worker process and its log.
type workerProc struct {
	cmd  *exec.Cmd
	logs *bytes.Buffer // read only after cmd.Wait
}

// startWorker starts the built worker bin as name with env and the extra flags args. When
// the test ends it is killed, unless the test has waited for it to exit.
func startWorker(t *testing.T, bin string, env []string, name string, args ...string) *workerProc {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"--name", name, "--log-level", "info", "--shutdown-timeout", "200ms"}, args...)...)
	cmd.Env = env
	w := &workerProc{cmd: cmd, logs: &bytes.Buffer{}}
	cmd.Stdout, cmd.Stderr = w.logs, w.logs
	must(t, cmd.Start())
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return w
}

// commandEnv is the environment of a command under test: this process's, with REDIS_URL,
// INTERACTLY_BASE_URL and INTERACTLY_API_KEY set, then more ("NAME=value", …).
func commandEnv(redisURL, baseURL, apiKey string, more ...string) []string {
	env := append(os.Environ(), "REDIS_URL="+redisURL, "INTERACTLY_BASE_URL="+baseURL, "INTERACTLY_API_KEY="+apiKey)
	return append(env, more...)
}

// upload runs the built dialer's upload of a campaign file and a contact file with env and
// returns the campaign ID it printed last and what it wrote on stderr.
func upload(t *testing.T, env []string, dialer, campaignPath, contactsPath string) (id, stderr string) {
	t.Helper()
	out, stderr := runCommand(t, env, dialer, "upload", "--campaign", campaignPath, "--contacts", contactsPath)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return lines[len(lines)-1], stderr
}

// waitDone polls campaign id's status until it is done and returns it; it fails the test,
// with the last status, when within passes first.
func waitDone(t *testing.T, store *campaign.Store, id string, within time.Duration) *campaign.Status {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		st, err := store.Status(t.Context(), id)
		must(t, err)
		if st.Done {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("campaign %s not done after %s: %+v", id, within, st)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkDialedOnce fails the test for every attempt the simulator saw dialed more than once
// (by its idempotency key).
func checkDialedOnce(t *testing.T, stats simulator.Stats) {
	t.Helper()
	for key, n := range stats.DialsByKey {
		if n > 1 {
			t.Errorf("attempt %s dialed %d times", key, n)
		}
	}
}

// liveCall is an attempt whose call was live.
type liveCall struct{ key, callID string }

// waitForLiveCall waits until worker has a call live in campaign id, begun just now, of an
// attempt (of the contact with number e164) for which answered reports true, and returns it.
func waitForLiveCall(t *testing.T, rdb *redis.Client, id, worker string, answered func(e164 string, attempt int) bool) liveCall {
	t.Helper()
	prefix := "dialer:{" + id + "}:attempt:"
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		keys, err := rdb.Keys(t.Context(), prefix+"*").Result()
		must(t, err)
		for _, k := range keys {
			rec, err := rdb.HGetAll(t.Context(), k).Result()
			must(t, err)
			// A call that began just now: answered calls ring 200–400 ms and talk 600–900 ms,
			// so it is live for 500 ms more at least, and still live when its worker has
			// stopped (--shutdown-timeout 200ms).
			started, _ := time.Parse(time.RFC3339Nano, rec["started_at"])
			if rec["state"] != "live" || rec["worker"] != worker || time.Since(started) >= 300*time.Millisecond {
				continue
			}
			contact, attempt, _ := strings.Cut(strings.TrimPrefix(k, prefix), ":")
			n, err := strconv.Atoi(attempt)
			must(t, err)
			e164, err := rdb.HGet(t.Context(), "dialer:{"+id+"}:contact:"+contact, "e164").Result()
			must(t, err)
			if answered(e164, n) {
				return liveCall{key: id + ":" + strings.TrimPrefix(k, prefix), callID: rec["call_id"]}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s had no answered call live within 30s", worker)
	return liveCall{}
}

func runCommand(t *testing.T, env []string, name string, args ...string) (stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, errOut.String())
	}
	return out.String(), errOut.String()
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// checkRetryGaps fails the test when a number's dial reached the API less than delay after
// the end of its previous call, with the end taken to the millisecond as the API reports it.
func checkRetryGaps(t *testing.T, dials []simulator.Dial, delay time.Duration) {
	t.Helper()
	byNumber := map[string][]simulator.Dial{}
	for _, d := range dials {
		byNumber[d.Number] = append(byNumber[d.Number], d)
	}
	retries := 0
	for number, ds := range byNumber {
		slices.SortFunc(ds, func(a, b simulator.Dial) int { return a.At.Compare(b.At) })
		for i := 1; i < len(ds); i++ {
			retries++
			ended := ds[i-1].EndAt.Truncate(time.Millisecond)
			if gap := ds[i].At.Sub(ended); gap < delay {
				t.Errorf("%s: attempt %d reached the API %s after attempt %d ended (%s); want at least retry.delay, %s",
					number, i+1, gap.Round(time.Millisecond), i, ended.Format("15:04:05.000"), delay)
			}
		}
	}
	if retries == 0 {
		t.Error("no number was dialed twice: the retry gaps were not checked")
	}
}
