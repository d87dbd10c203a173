package ratelimit_test

import (
	"context"
	"fmt"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/dialerhq/dialer/internal/ratelimit"
)

// exampleRedis starts an in-process Redis (miniredis) for an example and returns a client of
// it and a function that closes both; a worker passes its own client of the dialer's Redis.
func exampleRedis() (*redis.Client, func()) {
	mr := miniredis.NewMiniRedis()
	if err := mr.Start(); err != nil {
		panic(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	return rdb, func() { rdb.Close(); mr.Close() }
}

func ExampleSemaphore() {
	rdb, stop := exampleRedis()
	defer stop()

	ctx := context.Background()
	sem := ratelimit.NewSemaphore(rdb, ratelimit.SemaphoreConfig{Lease: time.Minute})
	const key, maxLive = "dialer:{c1}:slots", 2
	for _, attempt := range []string{"1:1", "2:1", "3:1"} {
		ok, err := sem.TryAcquire(ctx, key, attempt, maxLive)
		fmt.Println(attempt, ok, err)
	}
	if err := sem.Release(ctx, key, "1:1"); err != nil {
		panic(err)
	}
	ok, err := sem.TryAcquire(ctx, key, "3:1", maxLive)
	fmt.Println("3:1 once 1:1 is over:", ok, err)
	// Output:
	// 1:1 true <nil>
	// 2:1 true <nil>
	// 3:1 false <nil>
	// 3:1 once 1:1 is over: true <nil>
}

func ExampleLimiter_Wait() {
	rdb, stop := exampleRedis()
	defer stop()

	lim := ratelimit.NewLimiter(rdb)
	for range 3 {
		waited, err := lim.Wait(context.Background(), "dialer:{c1}:cps", 10)
		fmt.Println("dial after", waited.Round(100*time.Millisecond), err)
	}
	// Output:
	// dial after 0s <nil>
	// dial after 100ms <nil>
	// dial after 100ms <nil>
}
