package worker

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/queue"
	"github.com/dialerhq/dialer/internal/ratelimit"
	"github.com/dialerhq/dialer/internal/suppression"
	"github.com/redis/go-redis/v9"
)

// PoolConfig configures Run. Redis and API are required.
type PoolConfig struct {
	Redis redis.UniversalClient
	API   CallAPI
	// Concurrency is how many dial tasks run at once in this process (each mostly waits on
	// a live call). Defaults to 100.
	Concurrency int
	// ShutdownTimeout is how long a stopping process lets running tasks go on before it
	// hands them back to the queue, where another process resumes their calls. Defaults to 5s.
	ShutdownTimeout time.Duration
	// Name, Logger and LogPII are as in Config.
	Name   string
	Logger *slog.Logger
	LogPII bool
}

// Run serves dial tasks for every campaign until ctx is done, then stops taking work, hands
// running tasks back to the queue (their calls resume elsewhere, or here after a restart)
// and returns nil. It returns an error when the asynq server cannot start.
func Run(ctx context.Context, cfg PoolConfig) error {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	q := queue.NewClient(cfg.Redis)
	defer q.Close()
	h, err := New(Config{
		Store:    campaign.NewStore(cfg.Redis),
		Enqueuer: q,
		API:      cfg.API,
		Limiter:  ratelimit.NewLimiter(cfg.Redis),
		Slots:    ratelimit.NewSemaphore(cfg.Redis, ratelimit.SemaphoreConfig{}),
		// Every dial is checked against the global list and its campaign's.
		Suppression: suppression.New(cfg.Redis),
		Name:        cfg.Name,
		Logger:      logger,
		LogPII:      cfg.LogPII,
	})
	if err != nil {
		return err
	}
	srv := queue.NewServer(cfg.Redis, queue.ServerConfig{Concurrency: cfg.Concurrency, ShutdownTimeout: cfg.ShutdownTimeout, Logger: logger})
	if err := srv.Start(h); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	<-ctx.Done()
	srv.Shutdown()
	return nil
}
