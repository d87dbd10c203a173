package lab

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// PoolConfig says how a Pool starts its worker processes.
type PoolConfig struct {
	// Bin is the worker command to run, e.g. Lab.Worker, and Env its environment (see Env).
	Bin string
	Env []string
	// Prefix names the workers: Prefix1, Prefix2, … in start order. Each is started as
	// Bin --name NAME Args...
	Prefix string
	Args   []string
	// LogDir, when set, is the directory each worker writes its standard output and error
	// to, as NAME.log (PoolWorker.LogPath); when empty, a worker's output is kept in memory.
	LogDir string
	// Replace starts another worker whenever one exits by itself (not by Kill or Stop), so
	// that a run goes on with as many workers.
	Replace bool
	// Log, when not nil, is told of each such replacement, as Lab.Progress would be.
	Log func(format string, args ...any)
}

// PoolWorker is what a Pool tells of one of its workers.
type PoolWorker struct {
	Name    string
	Pid     int       // its process id
	LogPath string    // the file of its output; "" when the pool keeps it in memory
	Started time.Time // when it was started
	// KilledAt is when the pool sent it SIGKILL (Kill), zero if it did not.
	KilledAt time.Time
}

// Pool is a set of worker processes of a measuring command, started by Start (through
// lab.Start: they die with the command on Linux), that may be killed one at a time and
// replaced, and stopped together. Its methods may be called from several goroutines.
type Pool struct {
	cfg    PoolConfig
	exited chan struct{} // closed at the first exit the pool did not cause

	mu         sync.Mutex
	live       []*poolProc // running, not being killed or stopped
	all        []*poolProc
	stopping   bool
	unexpected []string // workers that exited by themselves, with why and their last log lines
}

// poolProc is one worker process of a Pool.
type poolProc struct {
	PoolWorker // KilledAt is guarded by Pool.mu
	process    *Process
	logs       *LockedBuffer // its output when the pool keeps it in memory
	done       chan struct{} // closed once it has exited and the pool has taken note; err is set then
	err        error
	ended      bool // killed or stopped by the pool: its exit is expected
}

// NewPool returns a pool of workers as cfg says, none started yet.
func NewPool(cfg PoolConfig) *Pool {
	return &Pool{cfg: cfg, exited: make(chan struct{})}
}

// Start starts n more workers. The error is the first worker's that could not be started
// (see StartOne); those started before it keep running until Stop.
func (p *Pool) Start(n int) error {
	for range n {
		if _, err := p.StartOne(); err != nil {
			return err
		}
	}
	return nil
}

// errStopped is StartOne's error once Stop has been called.
var errStopped = errors.New("the pool is stopped")

// StartOne starts one more worker and returns its name. The error is creating its log file
// or starting the process, or says that Stop has been called.
func (p *Pool) StartOne() (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopping {
		return "", errStopped
	}
	w := &poolProc{PoolWorker: PoolWorker{Name: p.cfg.Prefix + strconv.Itoa(len(p.all)+1)}, done: make(chan struct{})}
	cmd := exec.Command(p.cfg.Bin, append([]string{"--name", w.Name}, p.cfg.Args...)...)
	cmd.Env = p.cfg.Env
	var f *os.File
	if p.cfg.LogDir != "" {
		w.LogPath = filepath.Join(p.cfg.LogDir, w.Name+".log")
		var err error
		if f, err = os.Create(w.LogPath); err != nil {
			return "", err
		}
		cmd.Stdout, cmd.Stderr = f, f
	} else {
		w.logs = &LockedBuffer{}
		cmd.Stdout, cmd.Stderr = w.logs, w.logs
	}
	var err error
	if w.process, err = Start(cmd); err != nil {
		if f != nil {
			f.Close()
		}
		return "", fmt.Errorf("start worker %s: %w", w.Name, err)
	}
	w.Pid, w.Started = w.process.Pid(), time.Now()
	p.live = append(p.live, w)
	p.all = append(p.all, w)
	go p.watch(w, f)
	return w.Name, nil
}

// watch waits for w to exit. An exit the pool did not cause is recorded as unexpected,
// closes Exited, and with PoolConfig.Replace has the worker replaced.
func (p *Pool) watch(w *poolProc, f *os.File) {
	<-w.process.Done()
	w.err = w.process.Err()
	if f != nil {
		f.Close()
	}
	p.mu.Lock()
	expected, stopping := w.ended, p.stopping
	if !expected {
		p.live = removeProc(p.live, w)
		p.unexpected = append(p.unexpected, fmt.Sprintf("%s exited by itself after %s: %v; its last lines:\n%s",
			w.Name, time.Since(w.Started).Round(time.Second), w.err, w.tail(10)))
		if len(p.unexpected) == 1 {
			close(p.exited)
		}
	}
	p.mu.Unlock()
	close(w.done)
	if !expected && p.cfg.Replace && !stopping {
		p.logf("worker %s exited by itself (%v); starting another", w.Name, w.err)
		// Stop may come meanwhile: then StartOne starts none, and that is no failure.
		if _, err := p.StartOne(); err != nil && !errors.Is(err, errStopped) {
			p.logf("could not replace %s: %v", w.Name, err)
		}
	}
}

func (p *Pool) logf(format string, args ...any) {
	if p.cfg.Log != nil {
		p.cfg.Log(format, args...)
	}
}

func removeProc(ps []*poolProc, w *poolProc) []*poolProc {
	for i, q := range ps {
		if q == w {
			return append(ps[:i:i], ps[i+1:]...)
		}
	}
	return ps
}

// Exited is closed when a worker first exits by itself, not by Kill or Stop.
func (p *Pool) Exited() <-chan struct{} { return p.exited }

// Live returns the workers running, in start order, but for those being killed or
// stopped.
func (p *Pool) Live() []PoolWorker {
	p.mu.Lock()
	defer p.mu.Unlock()
	return snapshot(p.live)
}

// Kill kills the running worker called name with SIGKILL and waits for it to exit, without
// replacing it. The error says that no such worker is running, or is the signal's.
func (p *Pool) Kill(name string) error {
	p.mu.Lock()
	var w *poolProc
	for _, q := range p.live {
		if q.Name == name {
			w = q
			break
		}
	}
	if w == nil {
		p.mu.Unlock()
		return fmt.Errorf("kill -9 %s: no such worker is running", name)
	}
	w.ended, w.KilledAt = true, time.Now()
	p.live = removeProc(p.live, w)
	p.mu.Unlock()
	if err := w.process.Kill(); err != nil {
		return fmt.Errorf("kill -9 %s: %w", name, err)
	}
	<-w.done
	return nil
}

// Workers returns every worker started so far, killed and exited ones included, in start
// order.
func (p *Pool) Workers() []PoolWorker {
	p.mu.Lock()
	defer p.mu.Unlock()
	return snapshot(p.all)
}

// snapshot returns what ps are now; the caller holds Pool.mu.
func snapshot(ps []*poolProc) []PoolWorker {
	out := make([]PoolWorker, len(ps))
	for i, w := range ps {
		out[i] = w.PoolWorker
	}
	return out
}

// Killed returns the names of the workers killed by Kill so far.
func (p *Pool) Killed() map[string]bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]bool{}
	for _, w := range p.all {
		if !w.KilledAt.IsZero() {
			out[w.Name] = true
		}
	}
	return out
}

// UnexpectedExits returns a line for each worker that exited by itself so far: its name,
// after how long, how it exited, and its last 10 lines of output.
func (p *Pool) UnexpectedExits() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.unexpected...)
}

// LogLines returns the non-empty lines the workers wrote so far, in start order, each
// prefixed with "worker NAME: ".
func (p *Pool) LogLines() []string {
	p.mu.Lock()
	all := append([]*poolProc(nil), p.all...)
	p.mu.Unlock()
	var lines []string
	for _, w := range all {
		out, err := w.output()
		if err != nil {
			lines = append(lines, fmt.Sprintf("worker %s: (%v)", w.Name, err))
			continue
		}
		for line := range strings.Lines(out) {
			if line = strings.TrimSpace(line); line != "" {
				lines = append(lines, fmt.Sprintf("worker %s: %s", w.Name, line))
			}
		}
	}
	return lines
}

// Stop sends every running worker SIGTERM and waits up to timeout for each to exit, then
// kills those left. It returns one error for each worker that did not exit 0 in time, with
// its last 10 lines of output. After Stop, a worker's exit is no longer replaced; a second
// Stop does nothing.
func (p *Pool) Stop(timeout time.Duration) []error {
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
			errs = append(errs, fmt.Errorf("worker %s did not exit within %s of SIGTERM; its last lines:\n%s", w.Name, timeout, w.tail(10)))
		case w.err != nil:
			errs = append(errs, fmt.Errorf("worker %s after SIGTERM: %v; its last lines:\n%s", w.Name, w.err, w.tail(10)))
		}
	}
	return errs
}

// output returns what w wrote so far.
func (w *poolProc) output() (string, error) {
	if w.logs != nil {
		return w.logs.String(), nil
	}
	data, err := os.ReadFile(w.LogPath)
	return string(data), err
}

// tail returns the last n lines w wrote, indented, or why they cannot be read.
func (w *poolProc) tail(n int) string {
	out, err := w.output()
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return tailLines(out, n)
}

// tailLines returns the last n lines of text, each indented by two spaces, for an error message.
func tailLines(text string, n int) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  " + strings.Join(lines, "\n  ")
}
