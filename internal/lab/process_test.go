package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/testutil"
)

// childEnv names what the test binary does when a test starts it as a child process.
const childEnv = "LAB_TEST_CHILD"

// TestMain lets the tests start this test binary as a child that behaves as childEnv says:
// "sleep" sleeps 30 s (and dies of SIGTERM), "ignore-term" says "ready" and sleeps 30 s
// ignoring SIGTERM, "exit3" prints "bye" and exits 3. As a test binary it runs all the
// parallel tests at once (testutil.RunWaiting): they wait on redis-servers and children.
func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "":
		os.Exit(testutil.RunWaiting(m))
	case "sleep":
		time.Sleep(30 * time.Second)
	case "ignore-term":
		signal.Ignore(syscall.SIGTERM)
		fmt.Println("ready")
		time.Sleep(30 * time.Second)
	case "exit3":
		fmt.Println("bye")
		os.Exit(3)
	}
	os.Exit(0)
}

// child returns a command that runs this test binary as a child doing what.
func child(what string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+what)
	return cmd
}

// mustStart starts cmd with Start, and kills it at the end of the test.
func mustStart(tb testing.TB, cmd *exec.Cmd) *Process {
	tb.Helper()
	p, err := Start(cmd)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = p.Kill()
		<-p.Done()
	})
	return p
}

// TestProcess's subtests run in parallel, each with children of its own.
func TestProcess(t *testing.T) {
	t.Parallel()
	t.Run("StopEndsAProcessWithSIGTERM", func(t *testing.T) {
		t.Parallel()
		p := mustStart(t, child("sleep"))
		if p.Pid() <= 0 || p.Err() != nil || p.State() != nil {
			t.Errorf("running: pid %d, Err %v, State %v; want a pid and neither", p.Pid(), p.Err(), p.State())
		}
		if !p.Stop(10 * time.Second) {
			t.Fatal("Stop: the process did not exit within 10 s of SIGTERM")
		}
		var exit *exec.ExitError
		if !errors.As(p.Err(), &exit) || !strings.Contains(p.Err().Error(), "terminated") {
			t.Errorf("Err = %v, want death by SIGTERM", p.Err())
		}
		if p.State() == nil || p.State().Exited() {
			t.Errorf("State = %v, want a process ended by a signal", p.State())
		}
		if !p.Stop(time.Second) {
			t.Error("Stop of an exited process = false, want true")
		}
		if err := p.Kill(); !errors.Is(err, os.ErrProcessDone) {
			t.Errorf("Kill of an exited process = %v, want os.ErrProcessDone", err)
		}
	})

	t.Run("StopKillsAProcessThatIgnoresSIGTERM", func(t *testing.T) {
		t.Parallel()
		cmd := child("ignore-term")
		var out LockedBuffer
		cmd.Stdout = &out
		p := mustStart(t, cmd)
		waitFor(t, func() bool { return strings.Contains(out.String(), "ready") }, "the child to ignore SIGTERM")
		start := time.Now()
		if p.Stop(300 * time.Millisecond) {
			t.Fatal("Stop = true, want false: the process ignores SIGTERM")
		}
		if took := time.Since(start); took < 300*time.Millisecond {
			t.Errorf("Stop returned after %s, before its timeout", took)
		}
		select {
		case <-p.Done():
		default:
			t.Fatal("Done is open after Stop killed the process")
		}
		if err := p.Err(); err == nil || !strings.Contains(err.Error(), "killed") {
			t.Errorf("Err = %v, want death by SIGKILL", err)
		}
	})

	t.Run("WaitUntil", func(t *testing.T) {
		t.Parallel()
		p := mustStart(t, child("sleep"))
		if p.WaitUntil(time.Now().Add(50 * time.Millisecond)) {
			t.Error("WaitUntil = true for a process still sleeping")
		}
		q := mustStart(t, child("exit3"))
		if !q.WaitUntil(time.Now().Add(10 * time.Second)) {
			t.Error("WaitUntil = false for a process that exits at once")
		}
	})

	t.Run("Kill", func(t *testing.T) {
		t.Parallel()
		p := mustStart(t, child("sleep"))
		if err := p.Signal(syscall.Signal(0)); err != nil {
			t.Errorf("Signal 0 to a running process: %v", err)
		}
		if err := p.Kill(); err != nil {
			t.Fatal(err)
		}
		if p.State() == nil {
			t.Error("State = nil after Kill returned")
		}
	})

	t.Run("Run", func(t *testing.T) {
		t.Parallel()
		cmd := child("exit3")
		var out strings.Builder
		cmd.Stdout = &out
		err := Run(cmd)
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 3 || out.String() != "bye\n" {
			t.Errorf("Run = %v, output %q; want exit status 3 and bye", err, out.String())
		}
		if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 3 {
			t.Errorf("ProcessState = %v after Run", cmd.ProcessState)
		}
		if err := Run(exec.Command("/nonexistent/lab-test")); err == nil {
			t.Error("Run of a missing program: no error")
		}
	})
}

// waitFor polls cond every 10 ms until it holds, failing the test after 10 s.
func waitFor(tb testing.TB, cond func() bool, what string) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("gave up waiting for %s after 10 s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestLockedBuffer(t *testing.T) {
	var b LockedBuffer
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 100 {
				_, _ = b.Write([]byte("x"))
				_ = b.String()
			}
		})
	}
	wg.Wait()
	if got := len(b.String()); got != 400 {
		t.Errorf("%d bytes written, want 400", got)
	}
}

func TestEnv(t *testing.T) {
	t.Setenv("REDIS_URL", "redis://elsewhere:6379/0")
	env := Env("redis://127.0.0.1:41234/3", "http://127.0.0.1:41235", "lab-key")
	cmd := exec.Command("sh", "-c", `printf '%s|%s|%s' "$REDIS_URL" "$INTERACTLY_BASE_URL" "$INTERACTLY_API_KEY"`)
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		t.Skipf("sh: %v", err)
	}
	if want := "redis://127.0.0.1:41234/3|http://127.0.0.1:41235|lab-key"; string(out) != want {
		t.Errorf("the child sees %q, want %q: the three added must win", out, want)
	}
}

func TestServeLoopback(t *testing.T) {
	var conns atomic.Int64
	url, stop, err := ServeLoopback(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello "+r.URL.Path)
	}), func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			conns.Add(1)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Errorf("url = %s, want one on 127.0.0.1", url)
	}
	get := func() (string, error) {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/calls", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return string(body), err
	}
	if body, err := get(); err != nil || body != "hello /calls" {
		t.Errorf("GET /calls = %q, %v", body, err)
	}
	if conns.Load() < 1 {
		t.Error("connState saw no new connection")
	}
	stop()
	http.DefaultClient.CloseIdleConnections()
	if _, err := get(); err == nil {
		t.Error("GET after stop: no error")
	}
}
