package lab

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Process is a child process of a measuring command, started by Start. Its exit is awaited
// in the background: Done is closed once it has exited, and Err then says how.
type Process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once cmd has exited; err is set then
	err  error
}

// Start starts cmd as a child process and waits for its exit in the background. On Linux
// the child gets SIGKILL when this process dies, so that a command killed outright (kill
// -9, a test timeout) leaves no redis-server or worker behind; Start sets cmd.SysProcAttr
// for that and leaves the rest of cmd (Env, Stdout, Stderr, …) as the caller set it. The
// error is exec's, when the program cannot be started.
func Start(cmd *exec.Cmd) (*Process, error) {
	cmd.SysProcAttr = childProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Run starts cmd as Start does and waits for it to exit. The error is Start's, or how the
// process exited (see Process.Err); cmd.ProcessState is set then.
func Run(cmd *exec.Cmd) error {
	p, err := Start(cmd)
	if err != nil {
		return err
	}
	<-p.done
	return p.err
}

// Pid is the process's id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed once the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is how the process exited: nil for status 0, an *exec.ExitError for another status or
// a signal, or an error copying its output. It is nil until Done is closed.
func (p *Process) Err() error {
	select {
	case <-p.done:
		return p.err
	default:
		return nil
	}
}

// State is the exited process's state: its exit status and, through SysUsage, its
// resource use. It is nil until Done is closed.
func (p *Process) State() *os.ProcessState {
	select {
	case <-p.done:
		return p.cmd.ProcessState
	default:
		return nil
	}
}

// Signal sends sig to the process; os.ErrProcessDone once it has exited.
func (p *Process) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// Kill sends the process SIGKILL and waits for it to exit. The error is the signal's, and
// then it does not wait: os.ErrProcessDone when the process had exited already.
func (p *Process) Kill() error {
	if err := p.cmd.Process.Kill(); err != nil {
		return err
	}
	<-p.done
	return nil
}

// WaitUntil waits for the process to exit until deadline, then kills it (SIGKILL) and waits
// for that. It reports whether the process exited before the deadline.
func (p *Process) WaitUntil(deadline time.Time) bool {
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-p.done:
		return true
	case <-t.C:
		_ = p.cmd.Process.Kill()
		<-p.done
		return false
	}
}

// Stop sends the process SIGTERM and waits up to timeout for it to exit, then kills it. It
// reports whether the process exited in time; it does nothing and reports true when the
// process had exited already.
func (p *Process) Stop(timeout time.Duration) bool {
	select {
	case <-p.done:
		return true
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	return p.WaitUntil(time.Now().Add(timeout))
}

// LockedBuffer is a bytes.Buffer that a process may write, as its Stdout or Stderr, while
// another goroutine reads it. The zero value is empty and ready to use.
type LockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *LockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *LockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Env is the environment of a built dialer or worker command that talks to the Redis at
// redisURL (REDIS_URL) and to the Interactly API at apiURL with apiKey
// (INTERACTLY_BASE_URL, INTERACTLY_API_KEY): this process's environment with those three
// added, so that they win over any set already.
func Env(redisURL, apiURL, apiKey string) []string {
	return append(os.Environ(),
		"REDIS_URL="+redisURL,
		"INTERACTLY_BASE_URL="+apiURL,
		"INTERACTLY_API_KEY="+apiKey)
}

// ServeLoopback serves h on a free port of 127.0.0.1 and returns its base URL, e.g.
// "http://127.0.0.1:41234", and a function that stops serving and closes every connection.
// connState, when not nil, is the server's http.Server.ConnState, e.g. to count the
// connections clients open. The error is the listener's.
func ServeLoopback(h http.Handler, connState func(net.Conn, http.ConnState)) (url string, stop func(), err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("listen on a loopback port: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ConnState: connState}
	go func() { _ = srv.Serve(l) }()
	return "http://" + l.Addr().String(), func() { _ = srv.Close() }, nil
}

// freePort returns a TCP port on 127.0.0.1 that nothing listened on a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
