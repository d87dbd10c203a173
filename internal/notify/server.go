package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/hibiken/asynq"

	"github.com/dialerhq/dialer/internal/queue"
)

// RetryDelay is the asynq.Config.RetryDelayFunc of the server that runs Queue (unless
// Config.RetryDelay says otherwise). It returns
// the wait before retry n+1 (n counts the retries so far, from 0): a random time between half
// of and all of 2 s·2ⁿ, capped at 5 minutes. That is 1–2 s, then 2–4 s and so on, then
// 2.5–5 minutes from the 8th retry on. The jitter spreads the retries of many events that
// failed together.
func RetryDelay(n int, _ error, _ *asynq.Task) time.Duration {
	d := min(2*time.Second<<min(max(n, 0), 10), 5*time.Minute)
	return d/2 + rand.N(d/2+1)
}

// ShutdownTimeout is how long Run lets running POSTs finish once its context is done. It is
// a little longer than the default HTTP timeout. A POST cut off is handed back to the queue
// and sent again later.
const ShutdownTimeout = defaultHTTPTimeout + 2*time.Second

// Run serves Queue with h until ctx is done. It runs up to concurrency POSTs at once
// (defaults to 10 when not positive) and retries them after h's Config.RetryDelay
// (RetryDelay unless set). When ctx is done it
// stops taking tasks, waits up to ShutdownTimeout for the running ones and returns nil.
// logger receives asynq's own warnings (defaults to slog.Default()). Run returns an error
// when h is nil or Redis cannot be reached at the start.
func Run(ctx context.Context, opt asynq.RedisConnOpt, h *Handler, concurrency int, logger *slog.Logger) error {
	if h == nil {
		return errors.New("notify: Run needs a Handler (see New)")
	}
	if concurrency <= 0 {
		concurrency = 10
	}
	if logger == nil {
		logger = slog.Default()
	}
	srv := asynq.NewServer(opt, asynq.Config{
		Concurrency:              concurrency,
		Queues:                   map[string]int{Queue: 1},
		RetryDelayFunc:           h.cfg.RetryDelay,
		ShutdownTimeout:          ShutdownTimeout,
		DelayedTaskCheckInterval: time.Second,
		TaskCheckInterval:        500 * time.Millisecond,
		Logger:                   queue.AsynqLogger(logger),
		LogLevel:                 asynq.WarnLevel,
	})
	if err := srv.Start(h); err != nil {
		return fmt.Errorf("notify: start serving queue %q: %w", Queue, err)
	}
	if err := srv.Ping(); err != nil {
		srv.Shutdown() // also closes the server's Redis client
		return fmt.Errorf("notify: reach Redis to serve queue %q: %w", Queue, err)
	}
	<-ctx.Done()
	srv.Shutdown()
	return nil
}
