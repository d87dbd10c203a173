package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/lab"
	"github.com/dialerhq/dialer/internal/redistest"
	"github.com/dialerhq/dialer/internal/testutil"
	"github.com/redis/go-redis/v9"
)

// TestMain runs more parallel tests at once than the machine has cores: they wait, on a
// browser, a simulated call or a schedule's tick.
func TestMain(m *testing.M) { os.Exit(testutil.RunWaiting(m)) }

// testEnv returns an env whose REDIS_URL is a clean test database, and its output buffers.
func testEnv(t *testing.T, vars map[string]string) (*env, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	e := &env{
		getenv: func(k string) string { return vars[k] },
		stdout: &stdout, stderr: &stderr,
	}
	return e, &stdout, &stderr
}

// redisEnv returns a clean test database, an env whose REDIS_URL names it, and the env's
// output buffers. It marks t parallel where the database is t's own (redistest.Parallel); a
// test calls it once.
func redisEnv(t *testing.T) (*redis.Client, *env, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	redistest.Parallel(t)
	rdb, _ := redistest.Setup(t, 6)
	e, stdout, stderr := testEnv(t, map[string]string{"REDIS_URL": redistest.URL(rdb)})
	return rdb, e, stdout, stderr
}

// fastFiles writes fastCampaign and fastContacts into a new temporary directory and returns
// the directory and the two files' paths.
func fastFiles(t *testing.T) (dir, campaignPath, contactsPath string) {
	t.Helper()
	dir = t.TempDir()
	return dir, writeFile(t, dir, "c.yaml", fastCampaign), writeFile(t, dir, "c.csv", fastContacts)
}

// column reads the CSV report r and returns its column i below the header, comma-separated.
func column(t *testing.T, r io.Reader, i int) string {
	t.Helper()
	rows, err := csv.NewReader(r).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var cells []string
	for _, row := range rows[1:] {
		cells = append(cells, row[i])
	}
	return strings.Join(cells, ",")
}

// mustRunner returns a function that runs one dialer command in e and returns what it
// wrote to stdout; it fails the test if the command fails.
func mustRunner(t *testing.T, e *env, stdout *bytes.Buffer) func(args ...string) string {
	return func(args ...string) string {
		t.Helper()
		stdout.Reset()
		if err := dispatch(t.Context(), e, args); err != nil {
			t.Fatalf("dialer %s: %v", strings.Join(args, " "), err)
		}
		return stdout.String()
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const fastCampaign = `
name: cli-test
assistantId: 678a253ca6d866573043502e
phoneNumberId: 5f7b1b1b1b1b1b1b1b1b1b1b
contacts: {numberColumn: phone, nameColumn: name}
retry: {maxAttempts: 2, retryOn: [busy, no-answer], delay: 200ms}
rateLimit: {callsPerSecond: 20, maxConcurrentCalls: 5}
poll: {interval: 100ms, analysisWait: 1s}
`

const fastContacts = "name;phone;slot\nAnn;415 555 0101;9:00\nBob;415 555 0102;9:30\nCy;not a number;10:00\nDi;+1 415 555 0101;10:30\n"

func TestUpload(t *testing.T) {
	_, e, stdout, stderr := redisEnv(t)
	_, campaignPath, contactsPath := fastFiles(t)
	if err := dispatch(t.Context(), e, []string{"upload", "--campaign", campaignPath, "--contacts", contactsPath}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	id := lines[len(lines)-1]
	if len(id) != 16 {
		t.Errorf("last line of stdout = %q, want the campaign ID", id)
	}
	if want := "4 rows: 2 dialable, 1 invalid, 1 duplicate"; !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr = %q, want it to hold %q", stderr, want)
	}

	stdout.Reset()
	if err := dispatch(t.Context(), e, []string{"status", id, "--json"}); err != nil {
		t.Fatal(err)
	}
	var st struct {
		CampaignID string         `json:"campaignId"`
		Total      int            `json:"total"`
		Done       bool           `json:"done"`
		Outcomes   map[string]int `json:"outcomes"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &st); err != nil {
		t.Fatalf("status --json printed %q: %v", stdout, err)
	}
	if st.CampaignID != id || st.Total != 4 || st.Done || st.Outcomes["invalid"] != 1 || st.Outcomes["duplicate"] != 1 {
		t.Errorf("status --json = %s", stdout)
	}

	stdout.Reset()
	if err := dispatch(t.Context(), e, []string{"report", id, "--out", "-"}); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(stdout).ReadAll()
	if err != nil || len(rows) != 5 {
		t.Fatalf("report --out - = %d rows, %v:\n%s", len(rows), err, stdout)
	}
	if rows[3][4] != "invalid" || rows[4][4] != "duplicate" || rows[1][4] != "pending" {
		t.Errorf("report outcomes = %q, %q, %q", rows[1][4], rows[3][4], rows[4][4])
	}

	// Nothing was dialed yet: the attempt report is its header alone.
	stdout.Reset()
	if err := dispatch(t.Context(), e, []string{"report", id, "--attempts", "--out", "-"}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stdout.String(), "campaign_id,row,phone_e164,attempt,") || strings.Count(stdout.String(), "\n") != 1 {
		t.Errorf("report --attempts before any dial = %q", stdout)
	}
}

func TestUploadRefusals(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.yaml", fastCampaign)
	contacts := writeFile(t, dir, "c.csv", fastContacts)
	tests := []struct {
		name     string
		campaign string
		contacts string
		want     []string
	}{
		{
			name:     "unknown key in the campaign file",
			campaign: writeFile(t, dir, "typo.yaml", strings.Replace(fastCampaign, "maxAttempts", "maxAtempts", 1)),
			contacts: contacts,
			want:     []string{"typo.yaml:6", "retry.maxAtempts", "maxAttempts"},
		},
		{
			name:     "bad value in the campaign file",
			campaign: writeFile(t, dir, "cps.yaml", strings.Replace(fastCampaign, "callsPerSecond: 20", "callsPerSecond: -1", 1)),
			contacts: contacts,
			want:     []string{"cps.yaml:7", "rateLimit.callsPerSecond"},
		},
		{
			name:     "no number column",
			campaign: good,
			contacts: writeFile(t, dir, "nophone.csv", "name,mobile\nAnn,4155550101\n"),
			want:     []string{"nophone.csv", `no column "phone"`, "contacts.numberColumn", `"mobile"`},
		},
		{
			name:     "unreadable contact file",
			campaign: good,
			contacts: filepath.Join(dir, "missing.csv"),
			want:     []string{"missing.csv", "no such file"},
		},
		{
			name:     "Excel's Windows-1252 CSV without --encoding",
			campaign: writeFile(t, dir, "first.yaml", strings.Replace(fastCampaign, "nameColumn: name", "nameColumn: First Name", 1)),
			contacts: excelCSV,
			want:     []string{"excel-windows-1252.csv:2:4:", "not UTF-8", `"CSV UTF-8 (Comma delimited)"`, "--encoding windows-1252"},
		},
		{
			name:     "broken quoting",
			campaign: good,
			contacts: writeFile(t, dir, "broken.csv", "name,phone\nAnn,4155550101\nBob,\"415 555 0102\n"),
			want:     []string{"broken.csv:3"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rdb, e, stdout, _ := redisEnv(t)
			err := dispatch(t.Context(), e, []string{"upload", "--campaign", tt.campaign, "--contacts", tt.contacts})
			if err == nil {
				t.Fatalf("upload succeeded; stdout %q", stdout)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if stdout.Len() != 0 {
				t.Errorf("a refused upload printed %q on stdout", stdout)
			}
			if keys := rdb.Keys(t.Context(), "*").Val(); len(keys) != 0 {
				t.Errorf("a refused upload left keys in Redis: %q", keys)
			}
		})
	}
}

// excelCSV is a contact file as Excel on Windows saves "CSV (Comma delimited)": Windows-1252.
const excelCSV = "../../internal/contactcsv/testdata/excel-windows-1252.csv"

func TestUploadEncoding(t *testing.T) {
	rdb, e, stdout, stderr := redisEnv(t)
	dir := t.TempDir()
	campaignPath := writeFile(t, dir, "c.yaml", strings.Replace(fastCampaign, "nameColumn: name", "nameColumn: First Name", 1))
	err := dispatch(t.Context(), e, []string{"upload", "--campaign", campaignPath, "--contacts", excelCSV, "--encoding", "cp1252"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), "5 rows: 5 dialable, 0 invalid") {
		t.Errorf("summary: %s", stderr)
	}
	c, err := campaign.NewStore(rdb).Contact(t.Context(), strings.TrimSpace(stdout.String()), 1)
	if err != nil || c.Name != "José" {
		t.Errorf("contact 1 = %+v, %v; want José", c, err)
	}
	err = dispatch(t.Context(), e, []string{"upload", "--campaign", campaignPath, "--contacts", excelCSV, "--encoding", "ebcdic"})
	if err == nil || !strings.Contains(err.Error(), "use utf-8, windows-1252 or latin-1") {
		t.Errorf("unknown encoding: %v", err)
	}
}

// TestRun runs the one-command path: embedded Redis, in-process simulator and workers.
func TestRun(t *testing.T) {
	t.Parallel() // its own in-memory Redis
	dir, campaignPath, contactsPath := fastFiles(t)
	out := filepath.Join(dir, "report.csv")
	e, stdout, stderr := testEnv(t, map[string]string{})
	err := dispatch(t.Context(), e, []string{"run", "--campaign", campaignPath, "--contacts", contactsPath,
		"--out", out, "--simulate", "--sim-mix", "completed=1", "--sim-ring", "100ms-200ms", "--sim-talk", "200ms"})
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr.String(), "embedded in-memory Redis") {
		t.Errorf("run without REDIS_URL did not say its state is not durable:\n%s", stderr)
	}
	// The report to read is the one run writes: the embedded Redis is gone afterwards.
	if want := "rows not dialed will be in " + out + " with the reason"; !strings.Contains(stderr.String(), want) || strings.Contains(stderr.String(), "dialer report") {
		t.Errorf("run's stderr does not point at %s alone:\n%s", out, stderr)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := column(t, f, 4); got != "completed,completed,invalid,duplicate" {
		t.Errorf("outcomes = %s", got)
	}
	if !strings.Contains(stdout.String(), "done") || !strings.Contains(stdout.String(), out) {
		t.Errorf("summary on stdout = %q", stdout)
	}
}

// TestRunInterrupted: Ctrl-C in run says at once what it does, then writes the report of
// what finished.
func TestRunInterrupted(t *testing.T) {
	t.Parallel() // its own in-memory Redis
	dir, campaignPath, contactsPath := fastFiles(t)
	out := filepath.Join(dir, "report.csv")
	var stdout, stderr lab.LockedBuffer
	e := &env{getenv: func(string) string { return "" }, stdout: &stdout, stderr: &stderr}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- dispatch(ctx, e, []string{"run", "--campaign", campaignPath, "--contacts", contactsPath,
			"--out", out, "--simulate", "--sim-mix", "completed=1", "--sim-ring", "20s", "--sim-talk", "1s"})
	}()
	testutil.WaitFor(t, 10*time.Second, "the upload", func() bool { return strings.Contains(stderr.String(), "uploaded in") })
	cancel()
	var err error
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return 30s after it was interrupted")
	}
	if err == nil || !strings.Contains(err.Error(), "interrupted before every contact finished") {
		t.Errorf("run = %v, want interrupted", err)
	}
	want := "interrupted: stopping, no new dial starts; "
	if !strings.Contains(stderr.String(), want) || !strings.Contains(stderr.String(), "; writing the report of what finished to "+out+"\n") {
		t.Errorf("stderr =\n%s\nwant it to say %q and where the report goes", stderr.String(), want)
	}
	if _, err := os.Stat(out); err != nil {
		t.Errorf("no report after the interruption: %v", err)
	}
}

func TestUsage(t *testing.T) {
	e, _, stderr := testEnv(t, nil)
	if err := dispatch(t.Context(), e, []string{"frobnicate"}); err == nil || exitCode(err) != 2 {
		t.Errorf("unknown command: err %v, exit %d; want usage error, 2", err, exitCode(err))
	}
	if !strings.Contains(stderr.String(), "upload") {
		t.Errorf("usage does not list commands: %q", stderr)
	}
	e, _, _ = testEnv(t, map[string]string{})
	if err := dispatch(t.Context(), e, []string{"status", "abc"}); err == nil || !strings.Contains(err.Error(), "REDIS_URL") {
		t.Errorf("status without REDIS_URL: %v", err)
	}
}

func TestUploadObeysSuppressionLists(t *testing.T) {
	_, e, stdout, stderr := redisEnv(t)
	dir := t.TempDir()
	writeFile(t, dir, "dnc.csv", "number,reason\n(415) 555-0103,asked not to be called\nnot a number,typo\n")
	campaignPath := writeFile(t, dir, "c.yaml", fastCampaign+"suppressionFiles: [dnc.csv]\n")
	contactsPath := writeFile(t, dir, "c.csv", "name,phone\nAnn,415 555 0101\nBob,415 555 0102\nCy,415 555 0103\n")
	if err := dispatch(t.Context(), e, []string{"suppress", "add", "+1 415 555 0102"}); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	if err := dispatch(t.Context(), e, []string{"upload", "--campaign", campaignPath, "--contacts", contactsPath}); err != nil {
		t.Fatalf("upload: %v\n%s", err, stderr)
	}
	id := strings.TrimSpace(stdout.String())
	for _, want := range []string{"3 rows: 1 dialable, 0 invalid, 0 duplicate, 2 suppressed", "dnc.csv:3: not a number:"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr does not say %q:\n%s", want, stderr)
		}
	}
	stdout.Reset()
	if err := dispatch(t.Context(), e, []string{"report", id, "--out", "-"}); err != nil {
		t.Fatal(err)
	}
	if got := column(t, stdout, 3); got != "pending,suppressed,suppressed" {
		t.Errorf("outcomes = %s, want pending,suppressed,suppressed", got)
	}
	// The campaign's own list binds that campaign only.
	stdout.Reset()
	if err := dispatch(t.Context(), e, []string{"suppress", "check", "415 555 0103"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "+14155550103 not suppressed") {
		t.Errorf("suppress check = %q; a campaign's suppressionFiles leaked into the global list", stdout)
	}
}
