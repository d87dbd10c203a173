// Package redistest gives each test a clean Redis: the real server named by TEST_REDIS_URL
// when it is set, an in-process miniredis otherwise (Databases.SetupServer prefers a
// redis-server of the test's own to the miniredis, when one is installed).
//
// Setup flushes its database, so every test package owns one database number and packages
// can run in parallel against one real server without flushing each other:
//
//	1 campaign   2 queue   3 ratelimit   4 worker   5 cmd/worker   6 cmd/dialer   7 redistest
//	8 suppression   9 frequency   10 schedule   11 notify   12 metrics   13 webhook
//	14 callerid   15 auth   16 operator   17 console   18 api   19 campaigntest   20 archive
//	21 retention   22 audit   23 feeder   26 jsonhash   40 account
//	48–55 cmd/worker (with 5: its end-to-end tests' Databases)
//
// A new package takes the next free number (17, …) and adds it here. (interactly needs no
// Redis.) A database in TEST_REDIS_URL is added to that number, which moves every package
// off the low databases of a shared server: redis://127.0.0.1:6379/8 puts ratelimit in
// database 11. The server must have enough databases: start it with --databases 64 (Redis
// has 16 by default), as .ci/run does.
//
// Because Setup flushes, tests of one package that call it must not run in parallel on a
// real server (no t.Parallel; Parallel says so only on miniredis), nor run while another
// `go test` of the same package is running. A package whose tests should run in parallel on
// a real server too owns several numbers and takes them through Databases: each running
// test then holds a database of its own.
//
// Time: miniredis serves TIME (and so the Redis-time leases of package ratelimit and the
// GCRA of ratelimit.Limiter) from the wall clock, like a real server. Setup also turns on its
// ClockTTL, so key TTLs run out with the wall clock as they do on a real server;
// FastForward still shortens them on top. Calling SetTime on the returned miniredis
// freezes TIME: Redis-time leases then never run out and a GCRA never grants again
// until the clock is moved, so tests that use package ratelimit should leave it alone.
package redistest

import (
	"errors"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/dialerhq/dialer/internal/lab"
	"github.com/redis/go-redis/v9"
)

// Setup returns a client of a clean database db for the test, closed when the test ends.
//
// With TEST_REDIS_URL set (e.g. redis://127.0.0.1:6390) it connects to that server, selects
// database db (plus the URL's database, if it names one) and FLUSHDBs it; it never runs
// FLUSHALL. The returned *miniredis.Miniredis is then nil. Without TEST_REDIS_URL it starts
// an in-process miniredis with ClockTTL on (see the package comment) and returns it too.
// It fails the test if the server cannot be reached.
func Setup(tb testing.TB, db int) (*redis.Client, *miniredis.Miniredis) {
	tb.Helper()
	raw := os.Getenv("TEST_REDIS_URL")
	if raw == "" {
		mr := miniredis.RunT(tb)
		mr.ClockTTL(true)
		rdb := redis.NewClient(&redis.Options{Addr: mr.Addr(), DB: db})
		tb.Cleanup(func() { rdb.Close() })
		return rdb, mr
	}

	opt, err := redis.ParseURL(raw)
	if err != nil {
		tb.Fatalf("TEST_REDIS_URL %q: %v", raw, err)
	}
	opt.DB += db
	rdb := redis.NewClient(opt)
	tb.Cleanup(func() { rdb.Close() })
	if err := rdb.FlushDB(tb.Context()).Err(); err != nil {
		tb.Fatalf("flush database %d of TEST_REDIS_URL %q (is the server up, and does it have that many databases?): %v", opt.DB, raw, err)
	}
	return rdb, nil
}

// Parallel marks t to run in parallel with the package's other parallel tests (t.Parallel)
// when Setup gives each test a miniredis of its own, that is without TEST_REDIS_URL. With
// TEST_REDIS_URL the tests of a package share one database, which Setup flushes, so t then
// runs alone, as a test that does not call Parallel.
func Parallel(t *testing.T) {
	t.Helper()
	if os.Getenv("TEST_REDIS_URL") == "" {
		t.Parallel()
	}
}

// Databases is a package's set of database numbers, from which each of its tests takes one
// that no other running test holds, so that the tests can call t.Parallel with or without
// TEST_REDIS_URL. Make one per package with NewDatabases; it is safe for concurrent use.
type Databases struct {
	free chan int
}

// NewDatabases returns the set of database numbers (each listed in the package comment).
// It panics when numbers is empty.
func NewDatabases(numbers ...int) *Databases {
	if len(numbers) == 0 {
		panic("redistest: NewDatabases of no numbers")
	}
	d := &Databases{free: make(chan int, len(numbers))}
	for _, n := range numbers {
		d.free <- n
	}
	return d
}

// Setup takes a number of d that no running test holds, waiting for one when all are held
// (it fails tb if tb's context ends first), and returns Setup(tb, number) on it: a clean
// database of TEST_REDIS_URL's server, or of a miniredis of tb's own without it. The number
// is d's again once tb and its cleanups have ended (the client closed). A test may take more
// than one; then d needs more numbers than tests run at once, or they wait on each other.
func (d *Databases) Setup(tb testing.TB) (*redis.Client, *miniredis.Miniredis) {
	tb.Helper()
	var n int
	select {
	case n = <-d.free:
	case <-tb.Context().Done():
		tb.Fatalf("redistest: none of the package's %d databases was free before the test ended", cap(d.free))
	}
	tb.Cleanup(func() { d.free <- n })
	return Setup(tb, n)
}

// SetupServer is Setup on a real Redis wherever one is at hand, for tests whose commands
// run against Redis for many seconds (end-to-end tests of worker processes): with
// TEST_REDIS_URL it is d.Setup; without it, database 0 of a redis-server of tb's own
// (StartServer, gone when tb ends) when redis-server is on PATH; else d.Setup's miniredis.
//
// A miniredis with ClockTTL on walks and sorts all its keys on every command, so a test
// that keeps thousands of keys and workers polling spends most of its CPU there; a
// redis-server expires keys as production does at a fraction of that cost.
func (d *Databases) SetupServer(tb testing.TB) *redis.Client {
	tb.Helper()
	if os.Getenv("TEST_REDIS_URL") == "" {
		if _, err := exec.LookPath("redis-server"); err == nil {
			rdb, _ := StartServer(tb)
			return rdb
		}
	}
	rdb, _ := d.Setup(tb)
	return rdb
}

// URL returns a redis:// (or rediss://) URL of rdb's server and database, with its user and
// password, for code under test that takes a REDIS_URL, such as a worker subprocess.
func URL(rdb *redis.Client) string {
	opt := rdb.Options()
	u := url.URL{Scheme: "redis", Host: opt.Addr, Path: "/" + strconv.Itoa(opt.DB)}
	if opt.TLSConfig != nil {
		u.Scheme = "rediss"
	}
	if opt.Network == "unix" {
		u = url.URL{Scheme: "unix", Path: opt.Addr, RawQuery: "db=" + strconv.Itoa(opt.DB)}
	}
	switch {
	case opt.Password != "":
		u.User = url.UserPassword(opt.Username, opt.Password)
	case opt.Username != "":
		u.User = url.User(opt.Username)
	}
	return u.String()
}

// NewClient returns another client of rdb's server and database, with connections of its
// own, as a second worker process would have. It is closed when the test ends.
func NewClient(tb testing.TB, rdb *redis.Client) *redis.Client {
	tb.Helper()
	opt := *rdb.Options() // a copy: clients must not share one Options
	c := redis.NewClient(&opt)
	tb.Cleanup(func() { c.Close() })
	return c
}

// StartServer starts a redis-server of the test's own (internal/lab.StartRedis: a free
// port, no persistence), applies settings (name, value, … as CONFIG SET takes them, such as
// "maxmemory-policy", "allkeys-lru") and returns a client of its database 0 and its URL.
// Both are gone when the test ends. It skips the test when redis-server is not installed.
// Tests use it for what miniredis cannot show: memory limits, eviction policies, INFO.
func StartServer(tb testing.TB, settings ...string) (*redis.Client, string) {
	tb.Helper()
	srv, err := lab.StartRedis(tb.Context(), tb.TempDir(), lab.Volatile)
	if errors.Is(err, lab.ErrNoRedisServer) {
		tb.Skip(err)
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(srv.Close)
	rdb := srv.Client(0)
	tb.Cleanup(func() { rdb.Close() })
	for i := 0; i+1 < len(settings); i += 2 {
		if err := rdb.ConfigSet(tb.Context(), settings[i], settings[i+1]).Err(); err != nil {
			tb.Fatalf("CONFIG SET %s %s: %v", settings[i], settings[i+1], err)
		}
	}
	return rdb, srv.URL(0)
}

// LimitMemory sets the maxmemory of rdb's server (one from StartServer, under noeviction)
// to what it uses now plus headroom bytes, so that the test fills it soon.
func LimitMemory(tb testing.TB, rdb *redis.Client, headroom int64) {
	tb.Helper()
	used, err := lab.InfoField(tb.Context(), rdb, "memory", "used_memory")
	if err != nil {
		tb.Fatal(err)
	}
	n, err := strconv.ParseInt(used, 10, 64)
	if err != nil {
		tb.Fatalf("INFO used_memory %q: %v", used, err)
	}
	if err := rdb.ConfigSet(tb.Context(), "maxmemory", strconv.FormatInt(n+headroom, 10)).Err(); err != nil {
		tb.Fatal(err)
	}
}
