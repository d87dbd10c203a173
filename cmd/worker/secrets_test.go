package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/lab"
	"github.com/dialerhq/dialer/internal/simulator"
	"github.com/dialerhq/dialer/internal/simulator/simtest"
	"github.com/redis/go-redis/v9"
)

// TestSecretsStayOut runs a campaign with a known API key and Redis password through upload,
// a worker, status and both reports, and through the ways they fail (a wrong key, a wrong
// password, an unreachable Redis), and checks that neither secret appears in any output.
func TestSecretsStayOut(t *testing.T) {
	dialer, workerBin := startCommands(t) // on a miniredis of its own, with or without TEST_REDIS_URL
	const apiKey = "sk-live-secret-9b1e77c4d2"
	const redisPassword = "redis-pw-5f0a13e8c6"
	const webhookSecret = "whsec-3c9d0e7a41"
	const notifySecret = "notify-secret-e2a9f1"

	mr := miniredis.RunT(t)
	mr.RequireAuth(redisPassword)
	redisURL := "redis://:" + redisPassword + "@" + mr.Addr() + "/0"

	// dialer serve receives the simulator's webhooks, and tries to deliver the campaign's
	// notifications to a port where nothing listens: both secrets are in play.
	serveAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	_, srv := simtest.Serve(t, simulator.Config{
		APIKey: apiKey, Mix: map[string]float64{"completed": 1},
		RingMin: 50 * time.Millisecond, TalkMin: 100 * time.Millisecond, AnalysisDelay: -1,
		Webhooks: simulator.WebhookConfig{URL: "http://" + serveAddr + "/webhooks/interactly", Secret: webhookSecret},
	})

	dir := t.TempDir()
	campaignPath := filepath.Join(dir, "c.yaml")
	contactsPath := filepath.Join(dir, "c.csv")
	must(t, os.WriteFile(campaignPath, []byte(e2eCampaign+"notify: {url: \"http://127.0.0.1:1/hook?token=tok-1\", secret: "+notifySecret+"}\n"), 0o600))
	must(t, os.WriteFile(contactsPath, []byte("name,phone\nAnn,415 555 0101\nBob,415 555 0102\n"), 0o600))

	env := commandEnv(redisURL, srv.URL, apiKey)
	var outputs bytes.Buffer // everything every command printed
	run := func(env []string, name string, args ...string) error {
		cmd := exec.Command(name, args...)
		cmd.Env = env
		cmd.Stdout, cmd.Stderr = &outputs, &outputs
		return cmd.Run()
	}

	serve := exec.Command(dialer, "serve", "--addr", serveAddr, "--log-level", "debug")
	serveLogs := &lab.LockedBuffer{}
	serve.Env = append(env, "INTERACTLY_WEBHOOK_SECRET="+webhookSecret)
	serve.Stdout, serve.Stderr = serveLogs, serveLogs
	must(t, serve.Start())
	defer func() {
		if serve.ProcessState == nil {
			_ = serve.Process.Kill()
			_ = serve.Wait()
		}
	}()
	for deadline := time.Now().Add(15 * time.Second); !strings.Contains(serveLogs.String(), "dialer serve on"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("dialer serve did not start:\n%s", serveLogs)
		}
	}
	// A webhook with a wrong secret is refused; the refusal must not echo the right one.
	req, _ := http.NewRequest(http.MethodPost, "http://"+serveAddr+"/webhooks/interactly", strings.NewReader(`{"message":{"type":"hang"}}`))
	req.Header.Set("x-interactly-secret", webhookSecret+"-old")
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	outputs.Write(body)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong webhook secret: status %d", resp.StatusCode)
	}

	// An operator token: token create prints it on stdout, once, and that is the only place
	// it may appear.
	var tokenOut bytes.Buffer
	cmd := exec.Command(dialer, "token", "create", "--name", "ops", "--scope", "admin", "--expires", "1d")
	cmd.Env, cmd.Stdout, cmd.Stderr = env, &tokenOut, &outputs
	must(t, cmd.Run())
	token := strings.TrimSpace(tokenOut.String())
	if !strings.HasPrefix(token, "dlr_") {
		t.Fatalf("token create printed %q", token)
	}
	callAPI := func(tok, method, path string) int {
		req, _ := http.NewRequest(method, "http://"+serveAddr+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		must(t, err)
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		outputs.Write(body)
		fmt.Fprintln(&outputs, resp.Header)
		return resp.StatusCode
	}

	var up bytes.Buffer
	cmd = exec.Command(dialer, "upload", "--campaign", campaignPath, "--contacts", contactsPath)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, &up, &outputs
	must(t, cmd.Run())
	outputs.Write(up.Bytes())
	id := strings.TrimSpace(up.String())

	w := exec.Command(workerBin, "--log-level", "debug")
	var workerLogs bytes.Buffer
	w.Env, w.Stdout, w.Stderr = env, &workerLogs, &workerLogs
	must(t, w.Start())
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr(), Password: redisPassword})
	defer rdb.Close()
	waitDone(t, campaign.NewStore(rdb), id, 30*time.Second)
	must(t, w.Process.Signal(syscall.SIGTERM))
	must(t, w.Wait())
	outputs.Write(workerLogs.Bytes())
	// Let a notification fail once, so its error is logged and kept for status.
	for deadline := time.Now().Add(15 * time.Second); !strings.Contains(serveLogs.String(), "127.0.0.1:1"); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Errorf("no failed notification logged by serve:\n%s", serveLogs)
			break
		}
	}
	// The API with the token, with a forged one (the right ID, a wrong secret), and after
	// revoking it: answers, refusals and serve's logs of them hold no token.
	for _, tt := range []struct {
		tok, method, path string
		want              int
	}{
		{token, "GET", "/api/v1/campaigns/" + id, 200},
		{token, "GET", "/api/v1/campaigns/" + id + "/report.csv", 200},
		{token, "GET", "/api/v1/tokens", 200},
		{token, "GET", "/api/v1/audit", 200},
		{token[:len(token)-6] + "AAAAAA", "GET", "/api/v1/campaigns", 401},
		{token, "POST", "/api/v1/campaigns/" + id + "/pause", 409},
	} {
		if got := callAPI(tt.tok, tt.method, tt.path); got != tt.want {
			t.Errorf("%s %s: %d, want %d", tt.method, tt.path, got, tt.want)
		}
	}
	must(t, run(env, dialer, "token", "list"))
	must(t, run(env, dialer, "token", "list", "--json"))
	must(t, run(env, dialer, "audit"))
	must(t, run(env, dialer, "token", "revoke", "ops"))
	if got := callAPI(token, "GET", "/api/v1/campaigns"); got != 401 {
		t.Errorf("the API with a revoked token: %d", got)
	}
	must(t, serve.Process.Signal(syscall.SIGTERM))
	_ = serve.Wait()
	outputs.WriteString(serveLogs.String())

	for _, args := range [][]string{
		{"status", id}, {"status", id, "--json"},
		{"report", id, "--out", "-"}, {"report", id, "--attempts", "--out", "-"},
	} {
		must(t, run(env, dialer, args...))
	}

	// The ways things fail print their errors, which must not carry the secrets either.
	wrongKey := commandEnv(redisURL, srv.URL, apiKey+"-revoked")
	wrongPassword := append(os.Environ(), "REDIS_URL=redis://:"+redisPassword+"-old@"+mr.Addr()+"/0")
	unreachable := append(os.Environ(), "REDIS_URL=redis://:"+redisPassword+"@127.0.0.1:1/0")
	for _, tt := range []struct {
		env  []string
		args []string
	}{
		{wrongPassword, []string{"status", id}},
		{unreachable, []string{"status", id}},
		{unreachable, []string{"upload", "--campaign", campaignPath, "--contacts", contactsPath}},
	} {
		if err := run(tt.env, dialer, tt.args...); err == nil {
			t.Errorf("dialer %s succeeded with a bad REDIS_URL", strings.Join(tt.args, " "))
		}
	}
	// A worker whose key Interactly refuses logs the refusal.
	must(t, run(env, dialer, "upload", "--campaign", campaignPath, "--contacts", contactsPath))
	refused := exec.Command(workerBin, "--log-level", "debug")
	refusedLogs := &lab.LockedBuffer{} // read while the worker writes
	refused.Env, refused.Stdout, refused.Stderr = wrongKey, refusedLogs, refusedLogs
	must(t, refused.Start())
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(refusedLogs.String(), "refuses the API key") && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	must(t, refused.Process.Signal(syscall.SIGTERM))
	_ = refused.Wait()
	outputs.WriteString(refusedLogs.String())
	if !strings.Contains(refusedLogs.String(), "refuses the API key") {
		t.Errorf("a worker with a refused key did not say so:\n%s", refusedLogs.String())
	}

	all := outputs.String()
	if !strings.Contains(all, "xxxxx") || !strings.Contains(all, "completed") || !strings.Contains(all, `"ops"`) || !strings.Contains(all, "authentication failed") {
		t.Fatalf("the outputs lack what they should hold (a redacted URL, outcomes); the test looks at the wrong thing:\n%s", all)
	}
	for name, secret := range map[string]string{
		"API key": apiKey, "Redis password": redisPassword, "webhook secret": webhookSecret,
		"notify secret": notifySecret, "notify URL token": "tok-1",
		"API token": token, "API token's secret": token[len("dlr_")+16+1:],
	} {
		if i := strings.Index(all, secret); i >= 0 {
			t.Errorf("the %s appears in the output: …%s…", name, all[max(0, i-80):min(len(all), i+len(secret)+20)])
		}
	}
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
