package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/metrics"
	"github.com/dialerhq/dialer/internal/notify"
	"github.com/dialerhq/dialer/internal/redisconn"
	"github.com/dialerhq/dialer/internal/webhook"
	"github.com/hibiken/asynq"
	"github.com/hibiken/asynqmon"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"
)

// WebhookSecretEnv names the environment variable holding the assistant server's secret.
const webhookSecretEnv = "INTERACTLY_WEBHOOK_SECRET"

// runServe serves Interactly's webhooks, /healthz, /metrics and asynqmon, and delivers the
// campaigns' notifications, until ctx is done. It keeps nothing of its own: run as many
// replicas as you like behind one address.
func runServe(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "serve", "[--addr HOST:PORT]")
	addr := fs.String("addr", ":8080", "listen address")
	notifyConcurrency := fs.Int("notify-concurrency", 10, "notifications sent at once by this process")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("%w: serve takes no arguments", errUsage)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("%w: --log-level %q: want debug, info, warn or error", errUsage, *logLevel)
	}
	logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))
	secret := e.getenv(webhookSecretEnv)
	if secret == "" {
		logger.Warn(webhookSecretEnv + " is not set: webhooks are accepted from anyone who can reach this address; set it to the assistant server's secret")
	}

	// Three connections: asynqmon's inspector and the notification server close theirs
	// when they stop.
	rdb, err := openRedis(ctx, e)
	if err != nil {
		return err
	}
	defer rdb.Close()
	monitorRDB, err := openRedis(ctx, e)
	if err != nil {
		return err
	}
	notifyRDB, err := openRedis(ctx, e)
	if err != nil {
		monitorRDB.Close()
		return err
	}

	store := campaign.NewStore(rdb)
	recorder := metrics.NewRecorder(rdb)
	hooks, err := webhook.New(webhook.Config{Store: store, Secret: secret, Metrics: recorder, Logger: logger})
	if err != nil {
		return err
	}
	monitor := asynqmon.New(asynqmon.Options{RootPath: "/monitoring", RedisConnOpt: ownedClient{monitorRDB}})
	defer monitor.Close()
	inspector := asynq.NewInspectorFromRedisClient(rdb)
	notifier, err := notify.New(notify.Config{Store: store, Logger: logger})
	if err != nil {
		return err
	}

	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/interactly", hooks)
	mux.HandleFunc("GET /healthz", healthz(rdb))
	mux.Handle("GET /metrics", metrics.Handler(metrics.NewCollector(rdb, store, inspector)))
	mux.Handle("/monitoring/", monitor)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (choose another with --addr)", *addr, err)
	}
	logger.Info("serving", "addr", ln.Addr().String(), "webhooks", "/webhooks/interactly", "redis", redisconn.Redact(e.getenv(redisconn.EnvVar)))
	fmt.Fprintf(e.stderr, "dialer serve on %s: POST /webhooks/interactly, GET /healthz, GET /metrics, /monitoring/\n", ln.Addr())

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		shut, cancel := context.WithTimeout(context.WithoutCancel(gctx), 10*time.Second)
		defer cancel()
		return srv.Shutdown(shut)
	})
	g.Go(func() error { return recorder.Run(gctx) })
	g.Go(func() error {
		return notify.Run(gctx, ownedClient{notifyRDB}, notifier, *notifyConcurrency, logger)
	})
	return g.Wait()
}

// healthz answers 200 {"status":"ok"} when Redis answers a PING within 2 s, else 503.
func healthz(rdb redis.UniversalClient) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "application/json")
		if err := rdb.Ping(ctx).Err(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_ = json.NewEncoder(w).Encode(map[string]string{"status": "unavailable", "error": "Redis does not answer"})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"status": "ok"})
	}
}

// ownedClient hands asynq a Redis client of its own, as an asynq.RedisConnOpt; asynq closes
// it when it stops. It carries REDIS_URL's settings, Sentinel included, which asynq's own
// option types would have to repeat.
type ownedClient struct{ c redis.UniversalClient }

func (o ownedClient) MakeRedisClient() any { return o.c }
