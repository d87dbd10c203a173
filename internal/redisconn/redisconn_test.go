package redisconn

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dialerhq/dialer/internal/testutil"
)

// TestMain trusts TestOpenTLSWithUser's certificate (trustSelfSigned), then lets all the
// parallel tests run at once: each Open of a URL that nobody answers waits out go-redis's
// dial retries (about 1.7 s), and the tests that start a redis-server wait for it to come
// up; none of them computes.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "redisconn-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := 1
	if err := trustSelfSigned(dir); err != nil {
		fmt.Fprintln(os.Stderr, "trust a self-signed certificate:", err)
	} else {
		code = testutil.RunWaiting(m)
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"},
		{"redis://:s3cret@redis:6379/2", "redis://:xxxxx@redis:6379/2"},
		{"rediss://app:s3cret@redis:6380", "rediss://app:xxxxx@redis:6380"},
		{"redis://:sentinelpw@s1:26379?addr=s2%3A26379&master_name=mymaster&password=masterpw",
			"redis://:xxxxx@s1:26379?addr=s2%3A26379&master_name=mymaster&password=xxxxx"},
		{"redis://s1:26379?master_name=m&sentinel_password=spw", "redis://s1:26379?master_name=m&sentinel_password=xxxxx"},
		{"redis://:pw@host:port:bad", "(unparsable URL)"},
		{"redis://s3cret@redis:6379", "redis://xxxxx@redis:6379"},
		{"redis://s3cret@redis:6379?master_name=m&password=masterpw", "redis://xxxxx@redis:6379?master_name=m&password=xxxxx"},
		{"redis://user:p@ss@redis:6379", "redis://user:xxxxx@redis:6379"},
	}
	for _, tt := range tests {
		if got := Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestOpenErrorsHideSecrets(t *testing.T) {
	t.Parallel() // no server: each Open fails on its own
	for i, tt := range []struct {
		url string
		// sentinel: a Sentinel URL with no sentinel up fails with the context's deadline,
		// whichever it is (Open's own is 5 s); a test deadline of 1 s spares the wait and
		// leaves the error as it is. The others fail at once, and keep Open's own.
		sentinel bool
	}{
		{url: "redis://:pw-one-3a9@127.0.0.1:1/0"},
		{url: "redis://:pw-one-3a9@127.0.0.1:1?master_name=m&password=pw-two-7c1", sentinel: true},
		{url: "redis://:pw-one-3a9@host:port:bad"},
		{url: "redis://:pw-one-3a9@127.0.0.1:1/notadb"},
		{url: "redis://pw-one-3a9@127.0.0.1:1/0"},
		{url: "redis://pw-one-3a9@127.0.0.1:1/notadb"},
		{url: "redis://pw-one-3a9@127.0.0.1:1?master_name=m", sentinel: true},
	} {
		t.Run(fmt.Sprint(i), func(t *testing.T) { // not the URL: the test's name would show the password
			t.Parallel()
			ctx := t.Context()
			if tt.sentinel {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, time.Second)
				defer cancel()
			}
			_, err := Open(ctx, tt.url)
			if err == nil {
				t.Fatalf("Open(%q) succeeded", tt.url)
			}
			if strings.Contains(err.Error(), "pw-one-3a9") || strings.Contains(err.Error(), "pw-two-7c1") {
				t.Errorf("Open error shows a password: %v", err)
			}
			if tt.sentinel && !errors.Is(err, context.DeadlineExceeded) && !strings.Contains(err.Error(), context.DeadlineExceeded.Error()) {
				t.Errorf("Open of a Sentinel URL with no sentinel = %v, want the context's deadline", err)
			}
		})
	}
}

// TestOpenSentinel starts a redis-server with a password and a Sentinel watching it, and
// opens it through the Sentinel URL.
func TestOpenSentinel(t *testing.T) {
	t.Parallel() // its own servers, on ports of its own
	dir := t.TempDir()
	master, sentinel := freePort(t), freePort(t)
	startRedis(t, dir, "m.pid", "--port", fmt.Sprint(master), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--requirepass", "masterpw", "--dir", dir)
	conf := filepath.Join(dir, "sentinel.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nsentinel monitor mymaster 127.0.0.1 %d 1\nsentinel auth-pass mymaster masterpw\n", sentinel, dir, master)), 0o600); err != nil {
		t.Fatal(err)
	}
	startRedis(t, dir, "s.pid", conf, "--sentinel")

	url := fmt.Sprintf("redis://127.0.0.1:%d/3?master_name=mymaster&password=masterpw", sentinel)
	openAndRoundTrip(t, url, "through the Sentinel")
}

// startRedis starts redis-server (or a sentinel) daemonized with args, its pid in
// dir/pidFile, and kills it when the test ends. It skips the test without redis-server.
func startRedis(t *testing.T, dir, pidFile string, args ...string) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not on PATH (.ci/run installs it)")
	}
	pid := filepath.Join(dir, pidFile)
	args = append(args, "--daemonize", "yes", "--pidfile", pid)
	if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-server %v: %v\n%s", args, err, out)
	}
	t.Cleanup(func() {
		if b, err := os.ReadFile(pid); err == nil {
			_ = exec.Command("kill", strings.TrimSpace(string(b))).Run()
		}
	})
}

// openAndRoundTrip opens url with openWhenUp and fails the test unless a SET there reads back
// with GET; how names the way in messages ("over TLS").
func openAndRoundTrip(t *testing.T, url, how string) {
	t.Helper()
	rdb := openWhenUp(t, url)
	if err := rdb.Set(t.Context(), "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if got := rdb.Get(t.Context(), "k").Val(); got != "v" {
		t.Fatalf("GET %s = %q, want v", how, got)
	}
}

// openWhenUp opens url, retrying for up to 10 s while the server starts; the client is
// closed when the test ends.
func openWhenUp(t *testing.T, url string) *redis.Client {
	t.Helper()
	var lastErr error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		rdb, err := Open(t.Context(), url)
		if lastErr = err; err == nil {
			t.Cleanup(func() { rdb.Close() })
			return rdb
		}
	}
	t.Fatalf("could not open %s: %v", Redact(url), lastErr)
	return nil
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
