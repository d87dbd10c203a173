package worker

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/dialerhq/dialer/internal/account"
	"github.com/dialerhq/dialer/internal/callerid"
	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/clock"
	"github.com/dialerhq/dialer/internal/feeder"
	"github.com/dialerhq/dialer/internal/frequency"
	"github.com/dialerhq/dialer/internal/metrics"
	"github.com/dialerhq/dialer/internal/notify"
	"github.com/dialerhq/dialer/internal/queue"
	"github.com/dialerhq/dialer/internal/ratelimit"
	"github.com/dialerhq/dialer/internal/schedule"
	"github.com/dialerhq/dialer/internal/suppression"
	"github.com/dialerhq/dialer/internal/window"
	"github.com/hibiken/asynq"
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
	// Active, when set, limits the hours this process takes work, in ActiveZone: outside
	// them it runs no tasks (those running at the close are handed back to the queue).
	// Defaults to always.
	Active     *window.Window
	ActiveZone *time.Location
	// FrequencyCap limits dials per number across campaigns whose file sets none.
	// Defaults to none.
	FrequencyCap *frequency.Cap
	// Metrics counts dials, waits and poll fallbacks; Run flushes it. Defaults to a new
	// Recorder on Redis (build it yourself to count API errors from the API client too).
	Metrics *metrics.Recorder
	// APIFor returns the client of an account whose API key is in environment variable
	// env, other than INTERACTLY_API_KEY (API). Nil: API serves every account.
	APIFor func(env string) (CallAPI, error)
	// Feeder tunes this process's feeder (package feeder); Redis and Logger are filled in.
	Feeder feeder.Config
	// CampaignRecheck is as in Config: how soon an edit of a campaign takes effect here.
	// Defaults to 1s.
	CampaignRecheck time.Duration
	// Name, Logger, LogPII and Now are as in Config; Now also tells the active hours.
	Name   string
	Logger *slog.Logger
	LogPII bool
	Now    func() time.Time
}

// Run serves dial tasks for every campaign until ctx is done, then stops taking work, hands
// running tasks back to the queue (their calls resume elsewhere, or here after a restart)
// and returns nil. With Active set it does the same at each close of the active hours, and
// starts again at the next opening. It returns an error when the asynq server cannot start.
func Run(ctx context.Context, cfg PoolConfig) error {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	store := campaign.NewStore(cfg.Redis)
	notifier := asynq.NewClientFromRedisClient(cfg.Redis)
	defer notifier.Close()
	rec := cfg.Metrics
	if rec == nil {
		rec = metrics.NewRecorder(cfg.Redis)
	}
	slots := ratelimit.NewSemaphore(cfg.Redis, ratelimit.SemaphoreConfig{})
	h, err := New(Config{
		Store:     store,
		Enqueuer:  store, // retries are parked in the hopper, like everything else
		API:       cfg.API,
		APIFor:    cfg.APIFor,
		Accounts:  account.NewStore(cfg.Redis),
		Limiter:   ratelimit.NewLimiter(cfg.Redis),
		Slots:     slots,
		Notifier:  notify.NewEnqueuer(notifier, store),
		Metrics:   rec,
		CallerIDs: callerid.New(cfg.Redis, slots),
		// Every dial is checked against the global list and its campaign's.
		Suppression:         suppression.New(cfg.Redis),
		Frequency:           frequency.New(cfg.Redis),
		DefaultFrequencyCap: cfg.FrequencyCap,
		CampaignRecheck:     cfg.CampaignRecheck,
		Name:                cfg.Name,
		Now:                 cfg.Now,
		Logger:              logger,
		LogPII:              cfg.LogPII,
	})
	if err != nil {
		return err
	}
	fcfg := cfg.Feeder
	fcfg.Redis, fcfg.Slots, fcfg.Logger = cfg.Redis, slots, logger
	feed, err := feeder.New(fcfg)
	if err != nil {
		return err
	}
	// The feeder gives asynq the dial tasks campaigns can start; webhooks announce ends;
	// dead workers' calls are adopted; the metrics go to Redis every second. All stop when
	// Run returns, the metrics after a last flush.
	bg, stop := context.WithCancel(ctx)
	flushed := make(chan struct{})
	go feed.Run(bg)
	go h.ListenForEnds(bg)
	go h.AdoptOrphans(bg)
	// One worker at a time frees the slots of finished attempts; another takes over within
	// the lock's 10 s TTL when it dies.
	sweeper := schedule.NewLeader(cfg.Redis, schedule.LeaderConfig{Key: SweepLeaderKey, TTL: 10 * time.Second, RenewInterval: 2 * time.Second})
	go func() {
		_ = sweeper.Run(bg, h.SweepSlots, func(err error) { logger.Warn("slot sweeper lock", "err", err) })
	}()
	go func() {
		defer close(flushed)
		if err := rec.Run(bg); err != nil {
			logger.Warn("last flush of metrics", "err", err)
		}
	}()
	defer func() { stop(); <-flushed }()
	zones := []*time.Location{cfg.ActiveZone}
	nowFunc := cfg.Now
	if nowFunc == nil {
		nowFunc = time.Now
	}
	for {
		now := nowFunc()
		var closes time.Time // zero: serve until ctx is done
		if cfg.Active != nil {
			if !cfg.Active.OpenAt(now, cfg.ActiveZone) {
				opens := cfg.Active.NextOpening(now, zones)
				logger.Info("outside active hours; taking no work", "active", cfg.Active.String(), "opens", opens.Format(time.RFC3339))
				if clock.Sleep(ctx, opens.Sub(now)) != nil {
					return nil
				}
				continue
			}
			closes = cfg.Active.ClosesAt(now, cfg.ActiveZone)
		}
		if err := serve(ctx, cfg, h, logger, nowFunc, closes); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// tasks is n with "task" or "tasks".
func tasks(n int64) string {
	if n == 1 {
		return "1 task"
	}
	return fmt.Sprintf("%d tasks", n)
}

// serve runs an asynq server for h until ctx is done or, when closes is not zero, until
// closes; then it stops taking work and hands running tasks back to the queue.
func serve(ctx context.Context, cfg PoolConfig, h *Handler, logger *slog.Logger, nowFunc func() time.Time, closes time.Time) error {
	var handedBack atomic.Int64
	srv := queue.NewServer(cfg.Redis, queue.ServerConfig{
		Concurrency: cfg.Concurrency, ShutdownTimeout: cfg.ShutdownTimeout, Logger: logger,
		HandedBack: func() { handedBack.Add(1) },
	})
	if err := srv.Start(h.Dispatched()); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	defer func() {
		srv.Shutdown()
		logger.Info(fmt.Sprintf("handed back %s; stopped", tasks(handedBack.Load())))
	}()
	if closes.IsZero() {
		<-ctx.Done()
		return nil
	}
	logger.Info("taking work", "until", closes.Format(time.RFC3339))
	_ = clock.Sleep(ctx, closes.Sub(nowFunc()))
	return nil
}
