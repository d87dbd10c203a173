package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/dialerhq/dialer/internal/lab"
)

// dialerCmd runs the built dialer command with args against env and returns its standard
// output. The error carries its standard error.
func dialerCmd(ctx context.Context, bin string, env []string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := lab.Run(cmd); err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", fmt.Errorf("dialer %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// pool is a set of worker processes that may be killed and replaced, each logging to a
// file of its own in dir.
type pool struct {
	bin         string
	env         []string
	dir         string
	prefix      string // worker names are prefix1, prefix2, …
	concurrency int    // --concurrency of each worker
	log         func(format string, args ...any)

	mu         sync.Mutex
	live       []*proc // running, not being killed or stopped
	all        []*proc
	started    int
	stopping   bool
	unexpected []string // workers that exited by themselves, with why and their last log lines
}

// proc is one worker process.
type proc struct {
	name     string
	logPath  string
	process  *lab.Process
	done     chan struct{} // closed once it has exited and the pool has taken note; err is set then
	err      error
	ended    bool      // killed or stopped by the pool: its exit is expected
	started  time.Time // when it started
	killedAt time.Time // when the pool sent it SIGKILL; zero if it did not
}

// newPool returns a pool of workers of bin, none started yet.
func newPool(bin string, env []string, dir, prefix string, concurrency int, log func(string, ...any)) *pool {
	return &pool{bin: bin, env: env, dir: dir, prefix: prefix, concurrency: concurrency, log: log}
}

// start starts n more workers.
func (p *pool) start(n int) error {
	for range n {
		if _, err := p.startOne(); err != nil {
			return err
		}
	}
	return nil
}

// startOne starts one more worker and returns it.
func (p *pool) startOne() (*proc, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.started++
	w := &proc{name: p.prefix + strconv.Itoa(p.started), done: make(chan struct{})}
	w.logPath = filepath.Join(p.dir, w.name+".log")
	f, err := os.Create(w.logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(p.bin, "--name", w.name, "--log-level", "info",
		"--concurrency", strconv.Itoa(p.concurrency), "--shutdown-timeout", "1s")
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = f, f
	if w.process, err = lab.Start(cmd); err != nil {
		f.Close()
		return nil, fmt.Errorf("start worker %s: %w", w.name, err)
	}
	w.started = time.Now()
	p.live = append(p.live, w)
	p.all = append(p.all, w)
	go p.watch(w, f)
	return w, nil
}

// watch waits for w to exit. An exit the pool did not cause is recorded as unexpected and
// the worker is replaced, so the run goes on with as many workers.
func (p *pool) watch(w *proc, f *os.File) {
	<-w.process.Done()
	w.err = w.process.Err()
	f.Close()
	p.mu.Lock()
	expected, stopping := w.ended, p.stopping
	if !expected {
		p.live = removeProc(p.live, w)
		p.unexpected = append(p.unexpected, fmt.Sprintf("%s exited by itself after %s: %v; its last lines:\n%s",
			w.name, time.Since(w.started).Round(time.Second), w.err, tail(w.logPath, 10)))
	}
	p.mu.Unlock()
	close(w.done)
	if !expected && !stopping {
		p.log("worker %s exited by itself (%v); starting another", w.name, w.err)
		if _, err := p.startOne(); err != nil {
			p.log("could not replace %s: %v", w.name, err)
		}
	}
}

func removeProc(ps []*proc, w *proc) []*proc {
	for i, q := range ps {
		if q == w {
			return append(ps[:i:i], ps[i+1:]...)
		}
	}
	return ps
}

// killRandom kills a worker drawn by rng with SIGKILL, waits for it to exit and starts a
// replacement at once. It returns the names of both.
func (p *pool) killRandom(rng *rand.Rand) (killed, replacement string, err error) {
	p.mu.Lock()
	if len(p.live) == 0 {
		p.mu.Unlock()
		return "", "", errors.New("no worker is running")
	}
	w := p.live[rng.IntN(len(p.live))]
	w.ended, w.killedAt = true, time.Now()
	p.live = removeProc(p.live, w)
	p.mu.Unlock()
	if err := w.process.Kill(); err != nil {
		return "", "", fmt.Errorf("kill -9 %s: %w", w.name, err)
	}
	<-w.done
	r, err := p.startOne()
	if err != nil {
		return w.name, "", err
	}
	return w.name, r.name, nil
}

// kill kills worker w with SIGKILL and waits for it to exit, without replacing it.
func (p *pool) kill(w *proc) error {
	p.mu.Lock()
	w.ended, w.killedAt = true, time.Now()
	p.live = removeProc(p.live, w)
	p.mu.Unlock()
	if err := w.process.Kill(); err != nil {
		return fmt.Errorf("kill -9 %s: %w", w.name, err)
	}
	<-w.done
	return nil
}

// byName returns the worker called name, or nil.
func (p *pool) byName(name string) *proc {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, w := range p.all {
		if w.name == name {
			return w
		}
	}
	return nil
}

// procs returns every worker started so far, in start order.
func (p *pool) procs() []*proc {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*proc(nil), p.all...)
}

// killed returns the names of the workers killed so far.
func (p *pool) killed() map[string]bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]bool{}
	for _, w := range p.all {
		if !w.killedAt.IsZero() {
			out[w.name] = true
		}
	}
	return out
}

// unexpectedExits returns the workers that exited by themselves so far.
func (p *pool) unexpectedExits() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.unexpected...)
}

// stop sends every running worker SIGTERM and waits up to timeout for each to exit, then
// kills those left. It returns one error for each worker that did not exit 0 in time.
func (p *pool) stop(timeout time.Duration) []error {
	p.mu.Lock()
	p.stopping = true
	live := p.live
	p.live = nil
	for _, w := range live {
		w.ended = true
	}
	p.mu.Unlock()
	for _, w := range live {
		_ = w.process.Signal(syscall.SIGTERM)
	}
	deadline := time.Now().Add(timeout)
	var errs []error
	for _, w := range live {
		exited := w.process.WaitUntil(deadline)
		<-w.done
		switch {
		case !exited:
			errs = append(errs, fmt.Errorf("worker %s did not exit within %s of SIGTERM", w.name, timeout))
		case w.err != nil:
			errs = append(errs, fmt.Errorf("worker %s after SIGTERM: %v; its last lines:\n%s", w.name, w.err, tail(w.logPath, 10)))
		}
	}
	return errs
}

// tail returns the last n lines of the file at path, or why it cannot be read.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  " + strings.Join(lines, "\n  ")
}
