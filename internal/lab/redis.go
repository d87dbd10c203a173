package lab

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

// ErrNoRedisServer is StartRedis's error when there is no redis-server on PATH. It says how
// to install one.
var ErrNoRedisServer = errors.New("redis-server is not on PATH; install Redis (e.g. apt-get install redis-server, brew install redis)")

// Durability is how a started redis-server keeps its data.
type Durability int

const (
	// Volatile keeps the data in memory only (no RDB snapshots, no append-only file): the
	// least the server does besides the commands, for measures.
	Volatile Durability = iota
	// Durable runs the server as production does: appendonly yes, appendfsync everysec, no
	// RDB snapshots, so that a Restart brings back what was written up to a second before.
	Durable
)

// startTimeout is how long a starting redis-server has to answer PING: loading a large
// append-only file takes a while.
const startTimeout = 30 * time.Second

// Redis is a redis-server that a measuring command started for itself, on a free loopback
// port, without a password: its own, to flush, restart and kill.
type Redis struct {
	// Version is the server's redis_version, e.g. "7.0.15".
	Version string

	path       string // the redis-server binary
	dir        string // its working and data directory
	port       int
	durability Durability
	proc       *Process
	logs       *LockedBuffer // its output, for error messages
}

// StartRedis starts a redis-server from PATH on a free port of 127.0.0.1, keeping its data
// as durability says, with its working directory dir (created if missing), and waits until
// it answers PING (30 s at most) and reads its version. Close stops it. The error is
// ErrNoRedisServer, or says why the server did not start, with its output; ctx's error when
// ctx ends first.
func StartRedis(ctx context.Context, dir string, durability Durability) (*Redis, error) {
	path, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, ErrNoRedisServer
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &Redis{path: path, dir: dir, port: port, durability: durability}
	if err := s.start(ctx); err != nil {
		return nil, err
	}
	rdb := s.Client(0)
	defer rdb.Close()
	if s.Version, err = InfoField(ctx, rdb, "server", "redis_version"); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// start runs redis-server on s's port and directory and waits until it answers PING, its
// data loaded.
func (s *Redis) start(ctx context.Context) error {
	// Everything else is Redis's default configuration (hash-max-listpack-value 64 among
	// it), so that what the measures find is what a stock Redis does.
	args := []string{"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--dir", s.dir, "--save", ""}
	if s.durability == Durable {
		args = append(args, "--appendonly", "yes", "--appendfsync", "everysec")
	} else {
		args = append(args, "--appendonly", "no")
	}
	cmd := exec.Command(s.path, args...)
	s.logs = &LockedBuffer{}
	cmd.Stdout, cmd.Stderr = s.logs, s.logs
	proc, err := Start(cmd)
	if err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	s.proc = proc

	rdb := s.Client(0)
	defer rdb.Close()
	deadline := time.Now().Add(startTimeout)
	for {
		// PING answers LOADING while the append-only file is read back.
		err := rdb.Ping(ctx).Err()
		if err == nil {
			return nil
		}
		select {
		case <-proc.Done():
			return fmt.Errorf("redis-server on port %d exited at start:\n%s", s.port, s.logs)
		case <-ctx.Done():
			s.Close()
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Close()
			return fmt.Errorf("redis-server on port %d does not answer PING after %s: %v\n%s", s.port, startTimeout, err, s.logs)
		}
	}
}

// Restart stops the server with SIGTERM (a Durable one writes and syncs its append-only
// file), waits up to 30 s for it to exit, and starts it again on the same directory and
// port, as StartRedis does. It returns how long the server did not answer: from SIGTERM to
// the first PING after. A Volatile server comes back empty.
func (s *Redis) Restart(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	if err := s.proc.Signal(syscall.SIGTERM); err != nil {
		return 0, fmt.Errorf("SIGTERM redis-server: %w", err)
	}
	select {
	case <-s.proc.Done():
	case <-time.After(30 * time.Second):
		return 0, fmt.Errorf("redis-server did not exit within 30s of SIGTERM:\n%s", s.logs)
	}
	if err := s.start(ctx); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// Crash kills the server with SIGKILL, as a crash would (a Durable one keeps what it wrote
// to its append-only file; only a crash of the machine would lose the last second, which
// appendfsync everysec has not synced), waits for it to exit, keeps it down for down,
// and starts it again on the same directory and port, as StartRedis does. It returns how
// long the server did not answer: from SIGKILL to the first PING after, the data loaded.
func (s *Redis) Crash(ctx context.Context, down time.Duration) (time.Duration, error) {
	start := time.Now()
	if err := s.proc.Kill(); err != nil {
		return 0, fmt.Errorf("SIGKILL redis-server: %w", err)
	}
	<-s.proc.Done()
	select {
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-time.After(down - time.Since(start)):
	}
	if err := s.start(ctx); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// Addr is the server's host:port, e.g. "127.0.0.1:41234".
func (s *Redis) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// URL returns the server's URL with database db, as REDIS_URL for the dialer's commands:
// "redis://127.0.0.1:41234/3".
func (s *Redis) URL(db int) string { return "redis://" + s.Addr() + "/" + strconv.Itoa(db) }

// Client returns a new client of database db; the caller closes it. It keeps working across
// a Restart.
func (s *Redis) Client(db int) *redis.Client {
	return redis.NewClient(&redis.Options{Addr: s.Addr(), DB: db})
}

// Close stops the server at once (SIGKILL) and waits for it to exit. Its data is left in
// its directory.
func (s *Redis) Close() {
	if s.proc == nil {
		return
	}
	_ = s.proc.Kill()
	<-s.proc.Done()
}

// infoer is what InfoField needs of a Redis client.
type infoer interface {
	Info(ctx context.Context, section ...string) *redis.StringCmd
}

// InfoField returns field of INFO section as the server writes it, e.g. InfoField(ctx, rdb,
// "server", "redis_version") = "7.0.15". The error says which section or field failed.
func InfoField(ctx context.Context, rdb infoer, section, field string) (string, error) {
	info, err := rdb.Info(ctx, section).Result()
	if err != nil {
		return "", fmt.Errorf("INFO %s: %w", section, err)
	}
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			return v, nil
		}
	}
	return "", fmt.Errorf("INFO %s has no %s", section, field)
}
