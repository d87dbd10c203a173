package redistest_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/dialerhq/dialer/internal/redistest"
)

func TestSetup(t *testing.T) {
	rdb, _ := redistest.Setup(t, 7)
	ctx := t.Context()
	if err := rdb.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}

	t.Run("OtherClientsReachSameDatabase", func(t *testing.T) {
		opt, err := redis.ParseURL(redistest.URL(rdb))
		if err != nil {
			t.Fatal(err)
		}
		byURL := redis.NewClient(opt)
		defer byURL.Close()
		for how, other := range map[string]*redis.Client{
			"URL " + redistest.URL(rdb): byURL,
			"NewClient":                 redistest.NewClient(t, rdb),
		} {
			if other == rdb {
				t.Errorf("%s returned rdb itself; want a client of its own", how)
			}
			got, err := other.Get(ctx, "k").Result()
			if err != nil || got != "v" {
				t.Errorf("GET k through the client of %s = %q, %v; want \"v\"", how, got, err)
			}
		}
	})

	t.Run("StartsClean", func(t *testing.T) {
		again, _ := redistest.Setup(t, 7)
		if n, err := again.DBSize(ctx).Result(); err != nil || n != 0 {
			t.Fatalf("DBSIZE after Setup = %d, %v; want 0", n, err)
		}
	})
}

func TestURL(t *testing.T) {
	for _, tt := range []struct {
		name string
		opt  redis.Options
		want string
	}{
		{"Plain", redis.Options{Addr: "127.0.0.1:6390", DB: 3}, "redis://127.0.0.1:6390/3"},
		{"Password", redis.Options{Addr: "h:1", Password: "p w", DB: 0}, "redis://:p%20w@h:1/0"},
		{"User", redis.Options{Addr: "h:1", Username: "u", Password: "p", DB: 1}, "redis://u:p@h:1/1"},
		{"Unix", redis.Options{Network: "unix", Addr: "/tmp/r.sock", DB: 2}, "unix:///tmp/r.sock?db=2"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			opt := tt.opt
			rdb := redis.NewClient(&opt)
			defer rdb.Close()
			if got := redistest.URL(rdb); got != tt.want {
				t.Errorf("URL = %q, want %q", got, tt.want)
			}
			back, err := redis.ParseURL(tt.want)
			if err != nil {
				t.Fatal(err)
			}
			if back.Addr != tt.opt.Addr || back.DB != tt.opt.DB || back.Password != tt.opt.Password || back.Username != tt.opt.Username {
				t.Errorf("ParseURL(%q) = %+v, want back %+v", tt.want, back, tt.opt)
			}
		})
	}
}

// TestDatabases: parallel tests that take their database from one Databases never hold a
// number at once; with one number (this package's), they take turns, each on a clean database.
func TestDatabases(t *testing.T) {
	dbs := redistest.NewDatabases(7)
	var mu sync.Mutex
	holding, most := 0, 0
	t.Run("group", func(t *testing.T) {
		for i := range 3 {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				t.Parallel()
				rdb, _ := dbs.Setup(t)
				mu.Lock()
				holding++
				most = max(most, holding)
				mu.Unlock()
				if n, err := rdb.DBSize(t.Context()).Result(); err != nil || n != 0 {
					t.Errorf("DBSIZE after Setup = %d, %v; want 0", n, err)
				}
				if err := rdb.Set(t.Context(), "k", i, 0).Err(); err != nil {
					t.Error(err)
				}
				time.Sleep(20 * time.Millisecond)
				mu.Lock()
				holding--
				mu.Unlock()
			})
		}
	})
	if most != 1 {
		t.Errorf("%d tests held the one database at once; want 1", most)
	}
}

// TestSetupServer: SetupServer gives a clean database that a second client reaches by its
// URL, as a worker process does; on a redis-server of the test's own when there is one.
func TestSetupServer(t *testing.T) {
	rdb := redistest.NewDatabases(7).SetupServer(t)
	ctx := t.Context()
	if n, err := rdb.DBSize(ctx).Result(); err != nil || n != 0 {
		t.Fatalf("DBSIZE after SetupServer = %d, %v; want 0", n, err)
	}
	if err := rdb.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	opt, err := redis.ParseURL(redistest.URL(rdb))
	if err != nil {
		t.Fatal(err)
	}
	other := redis.NewClient(opt)
	defer other.Close()
	if got, err := other.Get(ctx, "k").Result(); err != nil || got != "v" {
		t.Fatalf("GET k through %s = %q, %v; want \"v\"", redistest.URL(rdb), got, err)
	}
}

// TestOutage: while Down is set, the commands Only names (all without Only) fail with
// ErrUnreachable, alone and in pipelines; the others, and all once Down is cleared, pass.
func TestOutage(t *testing.T) {
	rdb, _ := redistest.Setup(t, 7)
	ctx := t.Context()
	outage := &redistest.Outage{Only: "zrem"}
	rdb.AddHook(outage)
	outage.Down.Store(true)
	if err := rdb.ZAdd(ctx, "z", redis.Z{Member: "a"}).Err(); err != nil {
		t.Errorf("ZADD with only ZREM down: %v", err)
	}
	if err := rdb.ZRem(ctx, "z", "a").Err(); !errors.Is(err, redistest.ErrUnreachable) {
		t.Errorf("ZREM while down: %v, want ErrUnreachable", err)
	}
	if _, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.ZCard(ctx, "z")
		p.ZRem(ctx, "z", "a")
		return nil
	}); !errors.Is(err, redistest.ErrUnreachable) {
		t.Errorf("a pipeline with a ZREM while down: %v, want ErrUnreachable", err)
	}
	outage.Only = ""
	if err := rdb.Ping(ctx).Err(); !errors.Is(err, redistest.ErrUnreachable) {
		t.Errorf("PING with every command down: %v, want ErrUnreachable", err)
	}
	outage.Down.Store(false)
	if n, err := rdb.ZRem(ctx, "z", "a").Result(); err != nil || n != 1 {
		t.Errorf("ZREM once up = %d, %v; want 1 (the member the failed ZREMs left)", n, err)
	}
}
