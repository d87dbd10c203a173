package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisServer is the redis-server the command starts for itself: durable as production
// runs it (appendonly yes, appendfsync everysec, no RDB snapshots), on a free loopback
// port, with its data in a directory of the run, so that it can be restarted on the same
// data and port.
type redisServer struct {
	path    string // the redis-server binary
	dir     string // its data directory
	port    int
	version string // redis_version, e.g. "7.0.15"

	cmd    *exec.Cmd
	exited chan struct{} // closed once cmd has exited
	logs   *lockedBuffer // cmd's output, for error messages
}

// startRedis starts a redis-server from PATH on a free loopback port with its data in dir
// (created if missing) and waits until it answers PING. Close stops it.
func startRedis(ctx context.Context, dir string) (*redisServer, error) {
	path, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, errors.New("redis-server is not on PATH; install Redis (e.g. apt-get install redis-server, brew install redis)")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &redisServer{path: path, dir: dir, port: port}
	if err := s.start(ctx); err != nil {
		return nil, err
	}
	rdb := s.client(0)
	defer rdb.Close()
	info, err := rdb.Info(ctx, "server").Result()
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("INFO server: %w", err)
	}
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
			s.version = v
		}
	}
	return s, nil
}

// start runs redis-server on s's port and data directory and waits up to 30 s until it
// answers PING, its data loaded.
func (s *redisServer) start(ctx context.Context) error {
	s.exited = make(chan struct{})
	s.logs = &lockedBuffer{}
	s.cmd = exec.Command(s.path,
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--dir", s.dir,
		"--appendonly", "yes", "--appendfsync", "everysec", "--save", "")
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	s.cmd.SysProcAttr = childProcAttr()
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	exited := s.exited
	go func(cmd *exec.Cmd) {
		_ = cmd.Wait()
		close(exited)
	}(s.cmd)

	rdb := s.client(0)
	defer rdb.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		// PING answers LOADING while the append-only file is read back.
		err := rdb.Ping(ctx).Err()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("redis-server on port %d exited at start:\n%s", s.port, s.logs)
		case <-ctx.Done():
			s.Close()
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Close()
			return fmt.Errorf("redis-server on port %d does not answer PING after 30s: %v\n%s", s.port, err, s.logs)
		}
	}
}

// restart stops the server with SIGTERM (it writes and syncs its append-only file and
// exits), waits for it to exit, and starts it again on the same data directory and port.
// It returns how long the server did not answer: from SIGTERM to the first PING after.
func (s *redisServer) restart(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return 0, fmt.Errorf("SIGTERM redis-server: %w", err)
	}
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		return 0, fmt.Errorf("redis-server did not exit within 30s of SIGTERM:\n%s", s.logs)
	}
	if err := s.start(ctx); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// client returns a client of database db.
func (s *redisServer) client(db int) *redis.Client {
	return redis.NewClient(&redis.Options{Addr: s.addr(), DB: db})
}

func (s *redisServer) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// url returns the server's URL with database db, as REDIS_URL for the dialer's commands.
func (s *redisServer) url(db int) string { return "redis://" + s.addr() + "/" + strconv.Itoa(db) }

// Close stops the server at once (SIGKILL) and waits for it to exit.
func (s *redisServer) Close() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
}
