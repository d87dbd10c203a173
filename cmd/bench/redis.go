package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/dialerhq/dialer/internal/lab"
	"github.com/dialerhq/dialer/internal/redisconn"
	"github.com/redis/go-redis/v9"
)

// The databases the benchmark uses, each flushed before use. Keeping them apart lets the
// workers of the dial benchmark run without seeing the upload's 100,000 pending tasks.
const (
	dbUpload    = 0 // `dialer upload` of the generated contact file
	dbEnqueue   = 1 // raw asynq Enqueue
	dbDial      = 2 // the dial-rate and concurrency campaigns
	dbReport    = 3 // the report export's finished campaign
	dbLive      = 4 // the live-calls campaigns
	dbWebhook   = 5 // the webhook measure's campaigns, and the dialer serve that records them
	dbConsole   = 6 // the console measure's 1,000 campaigns and its large one
	dbAPI       = 7 // the API measure's dialing campaign, and the dialer serve that reads it
	dbCampaigns = 8 // the campaigns measure's campaigns on one account
)

// databases lists every database the benchmark uses, to flush on exit.
var databases = []int{dbUpload, dbEnqueue, dbDial, dbReport, dbLive, dbWebhook, dbConsole, dbAPI, dbCampaigns}

// redisServer is the Redis the benchmark runs on: a redis-server it started itself, or the
// server --redis-url names.
type redisServer struct {
	// base is the server's URL; its database part is replaced by url.
	base *url.URL
	// version is the server's redis_version, e.g. "7.0.15".
	version string
	// started is the redis-server the benchmark started, nil with --redis-url.
	started *lab.Redis
}

// startRedis starts a redis-server from PATH on a free loopback port, with persistence off
// and its working directory in dir, and waits until it answers PING. Close stops it.
func startRedis(ctx context.Context, dir string) (*redisServer, error) {
	r, err := lab.StartRedis(ctx, dir, lab.Volatile)
	if errors.Is(err, lab.ErrNoRedisServer) {
		return nil, fmt.Errorf("%w or pass --redis-url", err)
	}
	if err != nil {
		return nil, err
	}
	return &redisServer{base: &url.URL{Scheme: "redis", Host: r.Addr()}, version: r.Version, started: r}, nil
}

// useRedis connects to the server at rawURL (any database in it is ignored) and reads its
// version. Nothing is flushed until open.
func useRedis(ctx context.Context, rawURL string) (*redisServer, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("--redis-url %s: %v", redisconn.Redact(rawURL), err)
	}
	s := &redisServer{base: u}
	rdb, err := redisconn.Open(ctx, s.url(0))
	if err != nil {
		return nil, fmt.Errorf("--redis-url: %w", err)
	}
	defer rdb.Close()
	if s.version, err = lab.InfoField(ctx, rdb, "server", "redis_version"); err != nil {
		return nil, err
	}
	return s, nil
}

// url returns the server's URL with database db, as REDIS_URL for the dialer's commands.
func (s *redisServer) url(db int) string {
	u := *s.base
	u.Path = "/" + strconv.Itoa(db)
	u.RawPath = ""
	return u.String()
}

// describe says which server this is, for the output's header; without a password.
func (s *redisServer) describe() string {
	if s.started != nil {
		return fmt.Sprintf("redis-server %s (started by bench, persistence off)", s.version)
	}
	u := *s.base
	u.Path, u.RawPath = "", ""
	return fmt.Sprintf("redis-server %s at %s (databases %d-%d, flushed)", s.version, redisconn.Redact(u.String()), databases[0], databases[len(databases)-1])
}

// open connects to database db and flushes it.
func (s *redisServer) open(ctx context.Context, db int) (*redis.Client, error) {
	rdb, err := redisconn.Open(ctx, s.url(db))
	if err != nil {
		return nil, err
	}
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("flush database %d: %w", db, err)
	}
	return rdb, nil
}

// openScratch opens database db, flushed (redisServer.open), for a measure that fills it,
// and returns it with the function that ends the measure's use of it: it empties the
// database again (flushAsync, even once ctx is canceled; a failure is a progress line
// "label: error") and closes the client.
func (b *bench) openScratch(ctx context.Context, db int, label string) (*redis.Client, func(), error) {
	rdb, err := b.redis.open(ctx, db)
	if err != nil {
		return nil, nil, err
	}
	return rdb, func() {
		if err := flushAsync(context.WithoutCancel(ctx), rdb); err != nil {
			b.Progress("%s: %v", label, err)
		}
		rdb.Close()
	}, nil
}

// flushAsync empties rdb's database with FLUSHDB ASYNC, which frees it in a background
// thread instead of blocking Redis for seconds (a million finished contacts take 5 GB), and
// waits until INFO memory's lazyfree_pending_objects is 0, so that the freeing does not run
// into the next measure's CPU figures. It gives up waiting after 2 minutes.
func flushAsync(ctx context.Context, rdb *redis.Client) error {
	if err := rdb.FlushDBAsync(ctx).Err(); err != nil {
		return fmt.Errorf("flush database %d: %w", rdb.Options().DB, err)
	}
	return waitFreed(ctx, rdb)
}

// waitFreed waits (2 minutes at most) until Redis's background thread has freed every
// object an UNLINK or FLUSHDB ASYNC handed it, so that used_memory no longer counts them.
func waitFreed(ctx context.Context, rdb *redis.Client) error {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		pending, err := lab.InfoField(ctx, rdb, "memory", "lazyfree_pending_objects")
		if err != nil || pending == "0" {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("database %d: %s objects still to free after 2 minutes", rdb.Options().DB, pending)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Close stops the redis-server the benchmark started and waits for it to exit. On a server
// named by --redis-url it flushes the databases the benchmark used instead, so that up to a
// million contacts are not left behind; it does so even when ctx has ended.
func (s *redisServer) Close(ctx context.Context) {
	if s.started != nil {
		s.started.Close()
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	for _, db := range databases {
		if rdb, err := s.open(ctx, db); err == nil {
			rdb.Close()
		}
	}
}

// memory is what INFO memory says of the server's memory, in bytes.
type memory struct {
	// used is used_memory: every byte Redis allocated through its allocator, every database
	// included. It does not count the Lua interpreter's own heap (used_memory_lua), which
	// Redis allocates apart, nor the allocator's fragmentation (used_memory_rss shows that).
	used int64
	// clients is mem_clients_normal: the clients' query and reply buffers, which follow the
	// open connections, not the data.
	clients int64
	// scripts is used_memory_scripts_eval: the bodies of the Lua scripts run, which Redis
	// keeps until SCRIPT FLUSH; the dialer's are a fixed few KB.
	scripts int64
	// rss is used_memory_rss: what the process holds from the operating system.
	rss int64
	// connections is connected_clients. Each holds some 38 KB of used_memory, of which
	// mem_clients_normal counts about 24 KB, so two readings compare only with as many open.
	connections int64
}

// data is m.used less the clients' buffers and the script cache.
func (m memory) data() int64 { return m.used - m.clients - m.scripts }

// readMemory reads INFO memory. With reset, on a server only the bench uses, it first
// frees what Redis keeps of the commands it ran, which a reading taken after a campaign
// would otherwise count as the campaign's data:
//   - every other client connection, some 38 KB each (CLIENT KILL TYPE normal SKIPME yes;
//     go-redis opens them again when needed);
//   - the latency histogram Redis 7 allocates for each command the first time it runs
//     (latency-tracking, on by default), about 24 KB a command, some 30 commands' worth
//     (CONFIG RESETSTAT);
//   - the slow log, the last 128 commands slower than 10 ms with their arguments, up to
//     some 200 KB, more of it the busier the machine (SLOWLOG RESET).
func readMemory(ctx context.Context, rdb *redis.Client, reset bool) (memory, error) {
	if reset {
		if err := rdb.ClientKillByFilter(ctx, "TYPE", "normal", "SKIPME", "yes").Err(); err != nil {
			return memory{}, fmt.Errorf("CLIENT KILL: %w", err)
		}
		if err := rdb.ConfigResetStat(ctx).Err(); err != nil {
			return memory{}, fmt.Errorf("CONFIG RESETSTAT: %w", err)
		}
		if err := rdb.SlowLogReset(ctx).Err(); err != nil {
			return memory{}, fmt.Errorf("SLOWLOG RESET: %w", err)
		}
	}
	info, err := rdb.Info(ctx, "memory", "clients").Result()
	if err != nil {
		return memory{}, fmt.Errorf("INFO memory clients: %w", err)
	}
	var m memory
	fields := map[string]*int64{"used_memory": &m.used, "mem_clients_normal": &m.clients,
		"used_memory_scripts_eval": &m.scripts, "used_memory_rss": &m.rss, "connected_clients": &m.connections}
	for line := range strings.Lines(info) {
		name, v, _ := strings.Cut(strings.TrimSpace(line), ":")
		if p := fields[name]; p != nil {
			if *p, err = strconv.ParseInt(v, 10, 64); err != nil {
				return memory{}, fmt.Errorf("INFO %s %q: %w", name, v, err)
			}
			delete(fields, name)
		}
	}
	for name := range fields {
		return memory{}, fmt.Errorf("INFO has no %s (redis-server 7 or later has)", name)
	}
	return m, nil
}

// settledMemory is readMemory once the data has not changed for a second (Redis shrinks an
// emptied key table in its background cycle, a step every 100 ms), or after 15 s.
func settledMemory(ctx context.Context, rdb *redis.Client, reset bool) (memory, error) {
	last, err := readMemory(ctx, rdb, reset)
	if err != nil {
		return memory{}, err
	}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return memory{}, ctx.Err()
		case <-time.After(time.Second):
		}
		now, err := readMemory(ctx, rdb, reset)
		if err != nil || now.data() == last.data() {
			return now, err
		}
		last = now
	}
	return last, nil
}

// usedMemory returns INFO memory's used_memory: bytes allocated by the whole server, every
// database included.
func usedMemory(ctx context.Context, rdb *redis.Client) (int64, error) {
	return infoInt(ctx, rdb, "memory", "used_memory")
}

// infoInt returns the whole number field of INFO section (lab.InfoField); the error is the
// command's, or says that the field is missing or not a whole number.
func infoInt(ctx context.Context, rdb *redis.Client, section, field string) (int64, error) {
	v, err := lab.InfoField(ctx, rdb, section, field)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("INFO %s %s %q: %w", section, field, v, err)
	}
	return n, nil
}

// serverCPU returns the CPU time the server has used, user and system, in seconds: INFO
// cpu's used_cpu_user plus used_cpu_sys.
func serverCPU(ctx context.Context, rdb *redis.Client) (float64, error) {
	var total float64
	for _, field := range []string{"used_cpu_user", "used_cpu_sys"} {
		v, err := lab.InfoField(ctx, rdb, "cpu", field)
		if err != nil {
			return 0, err
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0, fmt.Errorf("INFO cpu %s %q: %w", field, v, err)
		}
		total += f
	}
	return total, nil
}

// commandsProcessed returns INFO stats' total_commands_processed: every command the server
// has run since it started, from every client.
func commandsProcessed(ctx context.Context, rdb *redis.Client) (int64, error) {
	return infoInt(ctx, rdb, "stats", "total_commands_processed")
}

// redisTotals are Redis's running totals of commands and CPU seconds.
type redisTotals struct {
	commands int64
	cpu      float64
}

// redisCounters reads Redis's running totals now: commandsProcessed and serverCPU. The
// difference of two readings (since) is what Redis ran and spent between them, for every
// client.
func redisCounters(ctx context.Context, rdb *redis.Client) (redisTotals, error) {
	cmds, err := commandsProcessed(ctx, rdb)
	if err != nil {
		return redisTotals{}, err
	}
	cpu, err := serverCPU(ctx, rdb)
	return redisTotals{commands: cmds, cpu: cpu}, err
}

// redisSpent runs f and returns its result with what Redis ran and spent meanwhile, for
// every client: the difference of redisCounters read before and after f. f's error is
// returned as it is.
func redisSpent[T any](ctx context.Context, rdb *redis.Client, f func() (T, error)) (T, redisTotals, error) {
	var zero T
	before, err := redisCounters(ctx, rdb)
	if err != nil {
		return zero, redisTotals{}, err
	}
	v, err := f()
	if err != nil {
		return zero, redisTotals{}, err
	}
	after, err := redisCounters(ctx, rdb)
	if err != nil {
		return zero, redisTotals{}, err
	}
	return v, after.since(before), nil
}

// since is what Redis ran and spent from reading before to reading t.
func (t redisTotals) since(before redisTotals) redisTotals {
	return redisTotals{commands: t.commands - before.commands, cpu: t.cpu - before.cpu}
}
