package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/dialerhq/dialer/internal/lab"
)

// webhookPath is where `dialer serve` receives Interactly's server messages.
const webhookPath = "/webhooks/interactly"

// serveProc is one built `dialer serve` process listening on a free loopback port.
type serveProc struct {
	proc *lab.Process
	addr string // the host:port it listens on, e.g. "127.0.0.1:41234"
	logs *lab.LockedBuffer
}

// newSecret returns a fresh random webhook secret (26 base32 characters). It goes to serve,
// the simulator and the bench's clients only, and is never printed.
func newSecret() string { return "whsec-" + rand.Text() }

// startServe starts `dialer serve --addr 127.0.0.1:0` (bin) against redisURL, with secret as
// INTERACTLY_WEBHOOK_SECRET, logging warnings and errors only. It returns once serve has
// said where it listens and answers GET /healthz with 200, or an error with its logs when
// it exits or has not done so within 15 s.
func startServe(ctx context.Context, bin, redisURL, secret string) (*serveProc, error) {
	s := &serveProc{logs: &lab.LockedBuffer{}}
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--log-level", "warn")
	cmd.Env = append(os.Environ(), "REDIS_URL="+redisURL, "INTERACTLY_WEBHOOK_SECRET="+secret)
	cmd.Stdout, cmd.Stderr = s.logs, s.logs
	var err error
	if s.proc, err = lab.Start(cmd); err != nil {
		return nil, fmt.Errorf("start dialer serve: %w", err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		if s.addr == "" {
			s.addr = serveAddr(s.logs.String())
		}
		if s.addr != "" && s.healthy(ctx) {
			return s, nil
		}
		select {
		case <-ctx.Done():
			s.stop(5 * time.Second)
			return nil, ctx.Err()
		case <-s.proc.Done():
			return nil, fmt.Errorf("dialer serve exited at start: %v\n%s", s.proc.State(), s.logs)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop(5 * time.Second)
			return nil, fmt.Errorf("dialer serve not serving 15 s after its start (address %q):\n%s", s.addr, s.logs)
		}
	}
}

// serveAddr returns the address in serve's "dialer serve on ADDR: ..." line of logs, or "".
func serveAddr(logs string) string {
	for line := range strings.Lines(logs) {
		if rest, ok := strings.CutPrefix(line, "dialer serve on "); ok {
			if addr, _, ok := strings.Cut(rest, ": "); ok {
				return addr
			}
		}
	}
	return ""
}

// healthy reports whether serve answers GET /healthz with 200.
func (s *serveProc) healthy(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url("/healthz"), nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode == http.StatusOK
}

// url returns the URL of path on serve, e.g. url("/metrics").
func (s *serveProc) url(path string) string { return "http://" + s.addr + path }

// pid is serve's process id.
func (s *serveProc) pid() int { return s.proc.Pid() }

// stop sends serve SIGTERM, waits up to timeout for it to exit and kills it then. It does
// nothing once serve has exited.
func (s *serveProc) stop(timeout time.Duration) { s.proc.Stop(timeout) }

// logLines returns the non-empty lines serve logged, without the line saying where it
// listens.
func (s *serveProc) logLines() []string {
	var lines []string
	for line := range strings.Lines(s.logs.String()) {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "dialer serve on ") {
			lines = append(lines, "dialer serve: "+line)
		}
	}
	return lines
}

// scrape returns the text of serve's GET /metrics.
func (s *serveProc) scrape(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url("/metrics"), nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("GET /metrics of dialer serve: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("GET /metrics of dialer serve: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET /metrics of dialer serve: %s\n%s", resp.Status, body)
	}
	return string(body), nil
}
