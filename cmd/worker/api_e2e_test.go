package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/api/apitest"
	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/lab"
	"github.com/dialerhq/dialer/internal/redistest"
	"github.com/dialerhq/dialer/internal/simulator"
	"github.com/dialerhq/dialer/internal/simulator/simtest"
)

// TestAPIEndToEnd drives a campaign through the built dialer serve's API alone, with two
// built workers dialing the simulator: create (multipart, with an Idempotency-Key and a
// retry), progress until done, the report (byte for byte what `dialer report` writes), the
// contacts, a call control, the accounts and schedules, the refusals of scopes and of
// anonymous callers, and the audit log. Every request and answer is checked against
// openapi.json.
func TestAPIEndToEnd(t *testing.T) {
	dialer, workerBin, rdb := startE2E(t)
	redisURL := redistest.URL(rdb)
	const apiKey = "api-e2e-key-51c0"
	const webhookSecret = "whsec-api-e2e-77d2"

	var numbers []string
	script := map[string][]string{}
	for i := 1; i <= 12; i++ {
		n := fmt.Sprintf("+1415555%04d", 300+i)
		numbers = append(numbers, n)
		if i%4 == 0 {
			script[n] = []string{"busy", "completed"}
		}
	}
	_, simSrv := simtest.Serve(t, simulator.Config{
		APIKey: apiKey, Script: script, Seed: 3,
		RingMin: 100 * time.Millisecond, RingMax: 200 * time.Millisecond,
		TalkMin: 200 * time.Millisecond, TalkMax: 400 * time.Millisecond, AnalysisDelay: 50 * time.Millisecond,
	})
	env := commandEnv(redisURL, simSrv.URL, apiKey)

	// Tokens exist before serve starts, so even its loopback address asks for them.
	token := map[string]string{}
	for _, scope := range []string{"read", "operate", "admin"} {
		out, _ := runCommand(t, env, dialer, "token", "create", "--name", "e2e-"+scope, "--scope", scope)
		token[scope] = strings.TrimSpace(out)
	}
	c := &apitest.Client{BaseURL: startServe(t, dialer, append(env, "INTERACTLY_WEBHOOK_SECRET="+webhookSecret), webhookSecret, apiKey), V: apitest.NewValidator(t)}

	var contacts strings.Builder
	contacts.WriteString("name,phone,note\n")
	for i, n := range numbers {
		fmt.Fprintf(&contacts, "Patient %d,%s,\"row %d, quoted\"\n", i+1, n, i+1)
	}
	contacts.WriteString("Nobody,not a number,\n")
	yaml := campaignFile("api-e2e", "contacts: {numberColumn: phone, nameColumn: name}\nretry: {maxAttempts: 2, retryOn: [busy], delay: 300ms}\n"+
		"rateLimit: {callsPerSecond: 10, maxConcurrentCalls: 4}\npoll: {interval: 100ms, analysisWait: 1s}\n")
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	part, _ := mw.CreateFormFile("campaign", "api-e2e.yaml")
	_, _ = part.Write([]byte(yaml))
	part, _ = mw.CreateFormFile("contacts", "patients.csv")
	_, _ = part.Write([]byte(contacts.String()))
	must(t, mw.Close())

	// Anonymous and too-low scopes are refused before anything is stored.
	if status, _, _ := c.Do(t, "POST", "/api/v1/campaigns", "", mw.FormDataContentType(), body.Bytes()); status != 401 {
		t.Fatalf("anonymous create: %d", status)
	}
	if status, _, _ := c.Do(t, "POST", "/api/v1/campaigns", token["read"], mw.FormDataContentType(), body.Bytes()); status != 403 {
		t.Fatalf("create with a read token: %d", status)
	}
	status, hdr, got := c.Do(t, "POST", "/api/v1/campaigns", token["operate"], mw.FormDataContentType(), body.Bytes(), "Idempotency-Key", "e2e-1")
	if status != 201 {
		t.Fatalf("create: %d %s", status, got)
	}
	var st campaign.Status
	must(t, json.Unmarshal(got, &st))
	id := st.CampaignID
	if hdr.Get("Location") != "/api/v1/campaigns/"+id || st.Total != 13 || st.Invalid != 1 {
		t.Errorf("create answered %s, Location %q", got, hdr.Get("Location"))
	}
	// A retry of the same create answers with the same campaign and makes none.
	status, hdr, got = c.Do(t, "POST", "/api/v1/campaigns", token["operate"], mw.FormDataContentType(), body.Bytes(), "Idempotency-Key", "e2e-1")
	if status != 200 || hdr.Get("Idempotent-Replayed") != "true" || !strings.Contains(string(got), id) {
		t.Errorf("a retried create: %d %s", status, got)
	}

	for _, name := range []string{"w1", "w2"} {
		startWorker(t, workerBin, env, name)
	}
	if status, _, _ := c.Do(t, "POST", "/api/v1/campaigns/"+id+"/pause", token["read"], "", nil); status != 403 {
		t.Errorf("pause with a read token: %d", status)
	}

	deadline := time.Now().Add(90 * time.Second)
	for {
		status, _, got := c.Do(t, "GET", "/api/v1/campaigns/"+id, token["read"], "", nil)
		if status != 200 {
			t.Fatalf("GET campaign: %d %s", status, got)
		}
		must(t, json.Unmarshal(got, &st))
		if st.Done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not done within 90 s: %s", got)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if st.Outcomes[campaign.OutcomeCompleted] != 12 || st.Attempts != 15 {
		t.Errorf("final status %+v: want 12 completed over 15 attempts", st)
	}

	status, hdr, report := c.Do(t, "GET", "/api/v1/campaigns/"+id+"/report.csv", token["operate"], "", nil)
	cliReport, _ := runCommand(t, env, dialer, "report", id, "--out", "-")
	if status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/csv") || string(report) != cliReport {
		t.Errorf("report.csv through the API (%d, %d bytes) differs from dialer report (%d bytes):\n%s\n---\n%s", status, len(report), len(cliReport), report, cliReport)
	}
	if status, _, _ := c.Do(t, "GET", "/api/v1/campaigns/"+id+"/report.csv", token["read"], "", nil); status != 403 {
		t.Errorf("report with a read token: %d", status)
	}
	status, _, got = c.Do(t, "GET", "/api/v1/campaigns/"+id+"/contacts?outcome=completed&limit=5", token["operate"], "", nil)
	var page struct {
		Contacts []struct {
			Attempts []struct {
				CallID string `json:"callId"`
			} `json:"attempts"`
		} `json:"contacts"`
		NextCursor string `json:"nextCursor"`
	}
	must(t, json.Unmarshal(got, &page))
	if status != 200 || len(page.Contacts) != 5 || page.NextCursor == "" || len(page.Contacts[0].Attempts) == 0 || page.Contacts[0].Attempts[0].CallID == "" {
		t.Errorf("contacts: %d %s", status, got)
	}
	status, _, got = c.Do(t, "GET", "/api/v1/campaigns/"+id+"/rejected.csv", token["operate"], "", nil)
	if status != 200 || !strings.HasPrefix(string(got), "line,outcome,reason,name,phone,note\n14,invalid,") {
		t.Errorf("rejected.csv: %d %s", status, got)
	}
	// Call control, through the one implementation `dialer call` uses: the call has ended,
	// so a say is refused (409), and a read token may not control calls at all.
	callID := page.Contacts[0].Attempts[0].CallID
	say := []byte(`{"type": "say", "message": "One moment, please."}`)
	if status, _, got := c.Do(t, "POST", "/api/v1/calls/"+callID+"/control", token["read"], "application/json", say); status != 403 {
		t.Errorf("call control with a read token: %d %s", status, got)
	}
	if status, _, got := c.Do(t, "POST", "/api/v1/calls/"+callID+"/control", token["operate"], "application/json", say); status != 409 || !strings.Contains(string(got), "has ended") {
		t.Errorf("say on an ended call: %d %s", status, got)
	}
	// Accounts and schedules are readable with a read token; an account names its key's
	// variable, never the key.
	status, _, got = c.Do(t, "GET", "/api/v1/accounts", token["read"], "", nil)
	if status != 200 || !strings.Contains(string(got), `"apiKeyEnv":"INTERACTLY_API_KEY"`) || strings.Contains(string(got), apiKey) {
		t.Errorf("accounts: %d %s", status, got)
	}
	if status, _, got = c.Do(t, "GET", "/api/v1/schedules", token["read"], "", nil); status != 200 || string(got) != "{\"schedules\":[]}\n" {
		t.Errorf("schedules: %d %q", status, got)
	}
	if status, _, _ = c.Do(t, "POST", "/api/v1/campaigns/"+id+"/cancel", token["operate"], "", nil); status != 409 {
		t.Errorf("cancel of a finished campaign: %d", status)
	}

	status, _, got = c.Do(t, "GET", "/api/v1/audit", token["admin"], "", nil)
	var audit struct {
		Entries []struct{ Actor, Action, Result string } `json:"entries"`
	}
	must(t, json.Unmarshal(got, &audit))
	var actions []string
	for _, e := range audit.Entries {
		actions = append(actions, e.Actor+" "+e.Action+" "+e.Result)
	}
	want := []string{
		"e2e-operate POST /api/v1/campaigns/{id}/cancel Conflict",
		"e2e-operate POST /api/v1/calls/{callId}/control Conflict",
		"e2e-read POST /api/v1/calls/{callId}/control Forbidden",
		"e2e-read POST /api/v1/campaigns/{id}/pause Forbidden",
		"e2e-operate POST /api/v1/campaigns ok",
		"e2e-operate POST /api/v1/campaigns ok",
		"e2e-read POST /api/v1/campaigns Forbidden",
	}
	if status != 200 || strings.Join(actions[:min(len(actions), len(want))], "\n") != strings.Join(want, "\n") {
		t.Errorf("audit log, newest first:\n%s\nwant first\n%s", strings.Join(actions, "\n"), strings.Join(want, "\n"))
	}
}

// startServe starts the built dialer serve on a free loopback port with env and returns
// its base URL. It is stopped (SIGTERM) when the test ends, and must then exit cleanly
// without having logged any of secrets.
func startServe(t *testing.T, dialer string, env []string, secrets ...string) string {
	t.Helper()
	cmd := exec.Command(dialer, "serve", "--addr", "127.0.0.1:0", "--log-level", "warn")
	cmd.Env = env
	stderr, err := cmd.StderrPipe()
	must(t, err)
	must(t, cmd.Start())
	logs := &lab.LockedBuffer{}
	addr := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`dialer serve on (\S+):`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			fmt.Fprintln(logs, sc.Text())
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Errorf("dialer serve after SIGTERM: %v\n%s", err, logs)
		}
		for _, secret := range secrets {
			if strings.Contains(logs.String(), secret) {
				t.Error("dialer serve logged a secret")
			}
		}
	})
	select {
	case a := <-addr:
		return "http://" + a
	case <-time.After(20 * time.Second):
		t.Fatalf("dialer serve did not start:\n%s", logs)
		return ""
	}
}
