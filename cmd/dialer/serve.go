package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/dialerhq/dialer/internal/api"
	"github.com/dialerhq/dialer/internal/audit"
	"github.com/dialerhq/dialer/internal/auth"
	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/console"
	"github.com/dialerhq/dialer/internal/interactly"
	"github.com/dialerhq/dialer/internal/metrics"
	"github.com/dialerhq/dialer/internal/notify"
	"github.com/dialerhq/dialer/internal/operator"
	"github.com/dialerhq/dialer/internal/redisconn"
	"github.com/dialerhq/dialer/internal/webhook"
	"github.com/hibiken/asynq"
	"github.com/hibiken/asynqmon"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"
)

// WebhookSecretEnv names the environment variable holding the assistant server's secret.
const webhookSecretEnv = "INTERACTLY_WEBHOOK_SECRET"

// runServe serves Interactly's webhooks, /healthz and the operator routes (the API,
// /metrics, asynqmon) and delivers the campaigns' notifications, until ctx is done. Without
// INTERACTLY_WEBHOOK_SECRET it refuses to start, unless --insecure-no-webhook-secret is
// given; it then warns at every start. It keeps nothing of its own: run as many replicas as
// you like behind one address.
func runServe(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "serve", "[--addr HOST:PORT] [--admin-addr HOST:PORT] [--insecure-no-auth]")
	addr := fs.String("addr", ":8080", "listen address")
	adminAddr := fs.String("admin-addr", "", "serve the operator routes (API, /metrics, /monitoring/) on this second address only, so --addr carries webhooks and /healthz alone")
	insecureNoAuth := fs.Bool("insecure-no-auth", false, "let every caller without a token in as admin (never on an address others can reach)")
	notifyConcurrency := fs.Int("notify-concurrency", 10, "notifications sent at once by this process")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	insecure := fs.Bool("insecure-no-webhook-secret", false, "serve webhooks without "+webhookSecretEnv+": anyone who can reach --addr may post them (tests on loopback only)")
	trusted := fs.String("console-trusted-proxies", "", "comma-separated addresses or CIDRs of single sign-on proxies (oauth2-proxy) whose X-Forwarded-User/X-Forwarded-Email the console believes")
	proxyScope := fs.String("console-proxy-scope", "read", "scope of a user a trusted proxy vouches for: read, export, operate or admin")
	allowEviction := allowEvictionFlag(fs)
	retentionOpts := addRetentionFlags(fs, e)
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	cc, err := parseConsoleConfig(*trusted, *proxyScope)
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError(fs, "serve takes no arguments")
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("%w: --log-level %q: want debug, info, warn or error", errUsage, *logLevel)
	}
	logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))
	secret := e.getenv(webhookSecretEnv)
	switch {
	case secret == "" && !*insecure:
		return fmt.Errorf("%s is not set: set it to the assistant server's secret (Interactly sends it in the x-interactly-secret header), or pass --insecure-no-webhook-secret to accept webhooks from anyone who can reach --addr", webhookSecretEnv)
	case secret == "":
		logger.Warn("--insecure-no-webhook-secret: " + webhookSecretEnv + " is not set, so webhooks are accepted from anyone who can reach this address; set it to the assistant server's secret")
	}

	rdb, err := openRedis(ctx, e)
	if err != nil {
		return err
	}
	defer rdb.Close()
	if err := checkRedis(ctx, rdb, *allowEviction, logger); err != nil {
		return err
	}
	sweeper, sweepOp, err := retentionOpts.sweeper(rdb, e, logger)
	if err != nil {
		return err
	}
	defer sweepOp.Close()
	h, err := newServeHandlers(ctx, e, rdb, secret, logger, cc)
	if err != nil {
		return err
	}
	defer h.Close()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (choose another with --addr)", *addr, err)
	}
	operatorLn := ln
	var adminLn net.Listener
	if *adminAddr != "" {
		if adminLn, err = net.Listen("tcp", *adminAddr); err != nil {
			ln.Close()
			return fmt.Errorf("listen on %s: %w (choose another with --admin-addr)", *adminAddr, err)
		}
		operatorLn = adminLn
	}
	tokens := auth.NewStore(rdb)
	authn, err := auth.New(auth.Config{
		Tokens:    tokens,
		LocalOpen: isLoopbackListener(operatorLn),
		Insecure:  *insecureNoAuth,
		Logger:    logger,
		Observe:   h.audit.Middleware(logger),
		Failures:  h.failures,
	})
	if err != nil {
		return err
	}
	if err := warnAuth(ctx, logger, tokens, operatorLn, *insecureNoAuth); err != nil {
		return err
	}
	servers := []*http.Server{newHTTPServer(h.handler(authn, adminLn == nil), logger)}
	listeners := []net.Listener{ln}
	if adminLn != nil {
		servers = append(servers, newHTTPServer(h.handler(authn, true), logger))
		listeners = append(listeners, adminLn)
	}

	logger.Info("serving", "addr", ln.Addr().String(), "webhooks", "/webhooks/interactly", "redis", redisconn.Redact(e.getenv(redisconn.EnvVar)))
	if adminLn != nil {
		fmt.Fprintf(e.stderr, "dialer serve on %s: POST /webhooks/interactly, GET /healthz; operator routes on %s: the console at /, /api/v1/, GET /metrics, /monitoring/\n", ln.Addr(), adminLn.Addr())
	} else {
		fmt.Fprintf(e.stderr, "dialer serve on %s: POST /webhooks/interactly, GET /healthz, the console at /, /api/v1/, GET /metrics, /monitoring/\n", ln.Addr())
	}

	g, gctx := errgroup.WithContext(ctx)
	for i, srv := range servers {
		g.Go(func() error {
			if err := srv.Serve(listeners[i]); !errors.Is(err, http.ErrServerClosed) {
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
	}
	g.Go(func() error { return h.recorder.Run(gctx) })
	g.Go(func() error { return sweeper.Run(gctx, rdb) })
	g.Go(func() error {
		return notify.Run(gctx, ownedClient{h.notifyRDB}, h.notifier, *notifyConcurrency, logger)
	})
	return g.Wait()
}

// serveMux builds a listener's handler from the route table, and nothing else, so that the
// table is the whole list of what the listener serves. With operator false it carries only
// the public routes (the public address under --admin-addr). Every route is behind
// auth.CrossOrigin: no state-changing request from another site gets through on a
// browser's ambient credentials.
func serveMux(a *auth.Authenticator, routes []auth.Route, operator bool) http.Handler {
	mux := http.NewServeMux()
	if !operator {
		var public []auth.Route
		for _, rt := range routes {
			if rt.Public {
				public = append(public, rt)
			}
		}
		routes = public
	}
	a.Mount(mux, routes)
	return auth.CrossOrigin(mux)
}

// handler is a listener's whole handler: the route table behind the console's sessions,
// which sign a browser in before the table's own authentication runs.
func (h *serveHandlers) handler(a *auth.Authenticator, operator bool) http.Handler {
	return h.console.Sessions(serveMux(a, h.routes(), operator))
}

func newHTTPServer(h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// warnAuth logs, at every start, who the operator routes let in when that is anyone but
// token holders.
func warnAuth(ctx context.Context, logger *slog.Logger, tokens *auth.Store, operatorLn net.Listener, insecure bool) error {
	if insecure {
		logger.Warn("--insecure-no-auth: every caller without a token is admin on the operator routes (API, /metrics, /monitoring/) of " + operatorLn.Addr().String() + "; create tokens with `dialer token create` and drop the flag")
		return nil
	}
	anyToken, err := tokens.Any(ctx)
	if err != nil {
		return err
	}
	switch {
	case anyToken:
	case isLoopbackListener(operatorLn):
		logger.Info("no token exists: the operator routes of " + operatorLn.Addr().String() + " are open to local callers until one is created with `dialer token create`")
	default:
		logger.Warn("no token exists: the operator routes of " + operatorLn.Addr().String() + " refuse every caller; create one with `dialer token create --name NAME --scope admin`")
	}
	return nil
}

// isLoopbackListener reports whether ln listens on a loopback address only.
func isLoopbackListener(ln net.Listener) bool {
	a, ok := ln.Addr().(*net.TCPAddr)
	return ok && a.IP.IsLoopback()
}

// consoleConfig is what serve's flags say about the console's single sign-on mode.
type consoleConfig struct {
	trustedProxies []netip.Prefix
	proxyScope     auth.Scope
}

// parseConsoleConfig reads --console-trusted-proxies (addresses or CIDRs, comma-separated)
// and --console-proxy-scope.
func parseConsoleConfig(trusted, scope string) (consoleConfig, error) {
	var cc consoleConfig
	for _, s := range strings.Split(trusted, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return cc, fmt.Errorf("%w: --console-trusted-proxies: %q is neither an address nor a CIDR (e.g. 10.0.0.5 or 10.0.0.0/24)", errUsage, s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		cc.trustedProxies = append(cc.trustedProxies, p.Masked())
	}
	sc, err := auth.ParseScope(scope)
	if err != nil {
		return cc, fmt.Errorf("%w: --console-proxy-scope: %v", errUsage, err)
	}
	cc.proxyScope = sc
	return cc, nil
}

// serveHandlers are what dialer serve's routes lead to, with the Redis clients and servers
// they own.
type serveHandlers struct {
	webhooks http.Handler
	healthz  http.Handler
	metrics  http.Handler
	// monitor is asynqmon read-only; monitorAdmin is writable, for admin only.
	monitor, monitorAdmin *asynqmon.HTTPHandler
	// console is the web console at /; api is the REST API under /api/v1; op performs
	// the actions of both; audit records every state-changing call of an operator route.
	console *console.Console
	api     *api.Server
	op      *operator.Operator
	audit   *audit.Log
	// failures counts failed authentications per client address, for the API's
	// Authorization header and the console's sign-in form together.
	failures *auth.Failures

	recorder  *metrics.Recorder
	notifier  *notify.Handler
	notifyRDB redis.UniversalClient
}

// newServeHandlers builds every handler of dialer serve on rdb. Close releases what it opened.
func newServeHandlers(ctx context.Context, e *env, rdb redis.UniversalClient, webhookSecret string, logger *slog.Logger, cc consoleConfig) (*serveHandlers, error) {
	// Connections of their own: asynqmon's inspectors and the notification server close
	// theirs when they stop.
	var owned []redis.UniversalClient
	for range 3 {
		c, err := openRedis(ctx, e)
		if err != nil {
			for _, c := range owned {
				c.Close()
			}
			return nil, err
		}
		owned = append(owned, c)
	}
	store := campaign.NewStore(rdb)
	h := &serveHandlers{
		healthz:      healthz(rdb),
		recorder:     metrics.NewRecorder(rdb),
		monitor:      asynqmon.New(asynqmon.Options{RootPath: "/monitoring", RedisConnOpt: ownedClient{owned[0]}, ReadOnly: true}),
		monitorAdmin: asynqmon.New(asynqmon.Options{RootPath: "/monitoring", RedisConnOpt: ownedClient{owned[1]}}),
		notifyRDB:    owned[2],
	}
	hooks, err := webhook.New(webhook.Config{Store: store, Secret: webhookSecret, Metrics: h.recorder, Logger: logger})
	if err != nil {
		h.Close()
		return nil, err
	}
	h.webhooks = hooks
	h.metrics = metrics.Handler(metrics.NewCollector(rdb, store, asynq.NewInspectorFromRedisClient(rdb)))
	if h.notifier, err = notify.New(notify.Config{Store: store, Redis: rdb, Logger: logger}); err != nil {
		h.Close()
		return nil, err
	}
	// Ending live calls (cancel with hangup) needs the Interactly API; without a key the
	// API answers such a cancel with a problem saying so.
	var calls *interactly.Client
	if e.getenv("INTERACTLY_API_KEY") != "" {
		if calls, err = newAPIClient(e, "dialer serve", interactly.Config{RetryBudget: hangupRetryBudget}); err != nil {
			h.Close()
			return nil, err
		}
	}
	h.op = operator.New(rdb, operator.Config{
		API: calls, APIBaseURL: e.getenv("INTERACTLY_BASE_URL"),
		// Other accounts' calls are ended and steered with their own keys, when set here.
		APIFor: operator.APIFromEnv(e.getenv, e.getenv("INTERACTLY_BASE_URL"), interactly.Config{RetryBudget: hangupRetryBudget, HTTPClient: &http.Client{Timeout: apiRequestTimeout}}),
	})
	h.audit = audit.New(rdb)
	h.api, err = api.New(api.Config{Operator: h.op, Tokens: auth.NewStore(rdb), Audit: h.audit, Redis: rdb, Logger: logger})
	if err != nil {
		h.Close()
		return nil, err
	}
	h.failures = auth.NewFailures(10, time.Minute)
	h.console, err = console.New(console.Config{
		Operator: h.op, Tokens: auth.NewStore(rdb), Audit: h.audit, Logger: logger, SignInFailures: h.failures,
		TrustedProxies: cc.trustedProxies, ProxyScope: cc.proxyScope,
	})
	if err != nil {
		h.Close()
		return nil, err
	}
	return h, nil
}

// Close stops asynqmon's handlers and the operator's queue clients; the notification
// server closes its own client.
func (h *serveHandlers) Close() {
	h.monitor.Close()
	h.monitorAdmin.Close()
	if h.op != nil {
		h.op.Close()
	}
}

// routes is dialer serve's route table: the one place that says who may call what, with
// the API's lines (api.Server.Routes, one per endpoint with its scope). Only the webhook
// receiver (which checks its own secret) and /healthz are public. Add a route here, never
// on the mux directly: the tests walk this table.
func (h *serveHandlers) routes() []auth.Route {
	routes := []auth.Route{
		{Pattern: "POST /webhooks/interactly", Public: true, Handler: h.webhooks},
		{Pattern: "GET /healthz", Public: true, Handler: h.healthz},
		{Pattern: "GET /metrics", Scope: auth.ScopeRead, Handler: h.metrics},
		{Pattern: "/monitoring/", Scope: auth.ScopeRead, Handler: adminOr(h.monitorAdmin, h.monitor)},
	}
	routes = append(routes, h.api.Routes()...)
	return append(routes, h.console.Routes()...)
}

// adminOr sends an admin caller to admin and every other to other.
func adminOr(admin, other http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, _ := auth.FromContext(r.Context()); p.Scope.Includes(auth.ScopeAdmin) {
			admin.ServeHTTP(w, r)
			return
		}
		other.ServeHTTP(w, r)
	})
}

// allowEvictionFlag defines --allow-eviction on fs.
func allowEvictionFlag(fs *flag.FlagSet) *bool {
	return fs.Bool("allow-eviction", false, "start even when Redis's maxmemory-policy may evict keys (queued dials and records could vanish); logs a warning")
}

// checkRedis refuses a Redis that may evict keys, unless allowEviction, and warns about
// appendonly no (see redisconn.CheckSafety). Long-running commands call it at start.
func checkRedis(ctx context.Context, rdb redis.UniversalClient, allowEviction bool, logger *slog.Logger) error {
	return redisconn.CheckSafety(ctx, rdb, redisconn.SafetyOptions{AllowEviction: allowEviction, Production: true, Logger: logger})
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
