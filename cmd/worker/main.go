// Command worker dials for every campaign: an asynq server that runs dial tasks within each
// campaign's calls-per-second and concurrent-call limits. Run as many as you like, on one
// machine or many, against one Redis.
//
//	REDIS_URL=redis://127.0.0.1:6379 INTERACTLY_API_KEY=… worker [--concurrency 100]
//
// --reconcile-every (10s) and --reconcile-grace (30s) set the feeder's reconciler
// (feeder.Config's ReconcileEvery and Grace): a dial task deleted from asynq is rebuilt
// within grace + every of being handed out. Production keeps the defaults; tests shorten them.
//
// SIGINT or SIGTERM stops taking work, hands running tasks back to the queue (their calls are
// resumed, not dialed again) and exits 0.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/dialerhq/dialer/internal/account"
	"github.com/dialerhq/dialer/internal/feeder"
	"github.com/dialerhq/dialer/internal/frequency"
	"github.com/dialerhq/dialer/internal/interactly"
	"github.com/dialerhq/dialer/internal/metrics"
	"github.com/dialerhq/dialer/internal/operator"
	"github.com/dialerhq/dialer/internal/redisconn"
	"github.com/dialerhq/dialer/internal/window"
	"github.com/dialerhq/dialer/internal/worker"
	"github.com/redis/go-redis/v9"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	concurrency := fs.Int("concurrency", 100, "dial tasks run at once by this process; each mostly waits on a live call")
	name := fs.String("name", "", "this worker's name in attempt records (default hostname:pid)")
	logPII := fs.Bool("log-pii", false, "log full phone numbers (default: last 4 digits only)")
	shutdownTimeout := fs.Duration("shutdown-timeout", 5*time.Second, "on SIGTERM, how long running tasks may go on before they are handed back to the queue (their calls resume elsewhere)")
	active := fs.String("active", "", `take work only in these hours, e.g. "mon-fri 08:00-20:00 America/New_York" (default: always)`)
	freqCap := fs.String("frequency-cap", "", `dials per number across all campaigns, for campaigns that set no frequencyCap, e.g. "3/24h" (default: none)`)
	accountCPS := fs.Float64("account-cps", 0, "store this calls-per-second cap for the default account (INTERACTLY_API_KEY), shared by all its campaigns in every worker; `dialer account set default` does the same (default: leave it as stored)")
	accountCalls := fs.Int("account-max-calls", 0, "store this live-call cap for the default account, shared by all its campaigns (default: leave it as stored)")
	logLevel := fs.String("log-level", "info", "debug, info (every dial and call end), warn or error")
	allowEviction := fs.Bool("allow-eviction", false, "start even when Redis's maxmemory-policy may evict keys (queued dials and records could vanish); logs a warning")
	reconcileEvery := fs.Duration("reconcile-every", 10*time.Second, "how often the leading feeder checks handed-out dials against asynq's queue and rebuilds those whose task is gone (deleted in the queue UI, lost with a restore)")
	reconcileGrace := fs.Duration("reconcile-grace", 30*time.Second, "how long a dial must have been handed out before the reconciler checks it; a dial whose task is deleted is rebuilt within grace + every")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: worker [flags]\n\nEnvironment: REDIS_URL (required), INTERACTLY_API_KEY (required),\nINTERACTLY_BASE_URL (default %s).\n\nFlags:\n", interactly.DefaultBaseURL)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *reconcileEvery <= 0 || *reconcileGrace <= 0 {
		return fmt.Errorf("--reconcile-every %s, --reconcile-grace %s: both must be more than 0", *reconcileEvery, *reconcileGrace)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level %q: want debug, info, warn or error", *logLevel)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	activeHours, activeZone, err := parseActive(*active)
	if err != nil {
		return err
	}
	defaultCap, err := parseFrequencyCap(*freqCap)
	if err != nil {
		return err
	}
	if getenv("INTERACTLY_API_KEY") == "" {
		return errors.New("INTERACTLY_API_KEY is not set; set it to your Interactly API key (workers send it as a Bearer token, and never log it)")
	}
	redisURL := getenv(redisconn.EnvVar)
	if redisURL == "" {
		return errors.New("REDIS_URL is not set; point it at the Redis the campaigns were uploaded to, e.g. redis://127.0.0.1:6379")
	}
	rdb, err := redisconn.Open(ctx, redisURL)
	if err != nil {
		return err
	}
	defer rdb.Close()
	if err := redisconn.CheckSafety(ctx, rdb, redisconn.SafetyOptions{AllowEviction: *allowEviction, Production: true, Logger: logger}); err != nil {
		return err
	}
	rec := metrics.NewRecorder(rdb)
	api, err := interactly.New(interactly.Config{
		BaseURL:    getenv("INTERACTLY_BASE_URL"),
		APIKey:     getenv("INTERACTLY_API_KEY"),
		OnAPIError: rec.APIError,
	})
	if err != nil {
		return fmt.Errorf("%w (set INTERACTLY_API_KEY and INTERACTLY_BASE_URL)", err)
	}
	if *accountCPS > 0 || *accountCalls > 0 {
		if err := setDefaultAccount(ctx, rdb, *accountCPS, *accountCalls); err != nil {
			return err
		}
	}
	logger.Info("worker started", "redis", redisconn.Redact(redisURL), "concurrency", *concurrency)
	return worker.Run(ctx, worker.PoolConfig{
		Redis: rdb, API: api, Concurrency: *concurrency, ShutdownTimeout: *shutdownTimeout,
		Active: activeHours, ActiveZone: activeZone, FrequencyCap: defaultCap,
		Name: *name, Logger: logger, LogPII: *logPII, Metrics: rec,
		APIFor: apiFor(getenv, rec.APIError),
		Feeder: feeder.Config{ReconcileEvery: *reconcileEvery, Grace: *reconcileGrace},
	})
}

// setDefaultAccount stores the default account's caps from --account-cps and
// --account-max-calls; a zero keeps what is stored.
func setDefaultAccount(ctx context.Context, rdb redis.UniversalClient, cps float64, calls int) error {
	store := account.NewStore(rdb)
	a, err := store.Get(ctx, account.Default)
	if err != nil {
		return err
	}
	if cps > 0 {
		a.CallsPerSecond = cps
	}
	if calls > 0 {
		a.MaxConcurrentCalls = calls
	}
	if err := store.Set(ctx, *a); err != nil {
		return fmt.Errorf("--account-cps/--account-max-calls: %w", err)
	}
	return nil
}

// apiFor returns the worker.PoolConfig.APIFor of this process: one Interactly client per
// environment variable named by an account, made on first use (operator.APIFromEnv, which
// dialer serve uses too).
func apiFor(getenv func(string) string, onError func(method string, status int)) func(env string) (worker.CallAPI, error) {
	clients := operator.APIFromEnv(getenv, getenv("INTERACTLY_BASE_URL"), interactly.Config{OnAPIError: onError})
	return func(env string) (worker.CallAPI, error) {
		c, err := clients(env)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
}

// parseActive reads --active: a window as window.Parse takes it, then an IANA zone.
func parseActive(spec string) (*window.Window, *time.Location, error) {
	if spec == "" {
		return nil, nil, nil
	}
	i := strings.LastIndex(strings.TrimSpace(spec), " ")
	if i < 0 {
		return nil, nil, fmt.Errorf(`--active %q: want days, hours and a time zone, such as "mon-fri 08:00-20:00 America/New_York"`, spec)
	}
	spec = strings.TrimSpace(spec)
	if _, err := window.Parse(spec); err == nil {
		return nil, nil, fmt.Errorf(`--active %q has no time zone; add the IANA zone the hours are in, such as "%s America/New_York"`, spec, spec)
	}
	zone, err := window.Location(spec[i+1:])
	if err != nil {
		return nil, nil, fmt.Errorf("--active %q: %w", spec, err)
	}
	w, err := window.Parse(spec[:i])
	if err != nil {
		return nil, nil, fmt.Errorf("--active: %w", err)
	}
	return w, zone, nil
}

// parseFrequencyCap reads --frequency-cap: "MAX/DURATION", such as "3/24h".
func parseFrequencyCap(spec string) (*frequency.Cap, error) {
	if spec == "" {
		return nil, nil
	}
	n, per, ok := strings.Cut(spec, "/")
	c := frequency.Cap{}
	var err error
	if ok {
		c.MaxCalls, err = strconv.Atoi(n)
	}
	if ok && err == nil {
		c.Per, err = time.ParseDuration(per)
	}
	if !ok || err != nil || c.Validate() != nil {
		return nil, fmt.Errorf(`--frequency-cap %q: want dials per duration, such as "3/24h"`, spec)
	}
	return &c, nil
}
