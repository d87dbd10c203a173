// Command bench measures the dialer on a real Redis and prints each figure beside its Target:
//
//   - upload: the built `dialer upload` of a generated contact file (--rows rows, 8 columns,
//     every number a distinct valid US number): wall time, rows per second, the process's
//     peak RSS, and the Redis memory each contact takes, its asynq task included;
//   - enqueue: raw asynq Enqueue of as many dial tasks from 1 and from 16 goroutines, the
//     ceiling the upload's enqueue stage works under;
//   - dial: a campaign at callsPerSecond 20, dialed by --workers built `worker` processes
//     against the Interactly simulator served in-process: the rate achieved, the most dials
//     begun in any second, the Redis operations and CPU each dial attempt costs and so the
//     dials per second one Redis core serves; then a campaign capped at 20 live calls of
//     2–4 s: the peak of live calls and the mean share of the cap in use while work was
//     waiting; and double dials over both campaigns;
//   - report (only with --only): the built `dialer report` of a campaign of --report-rows
//     contacts (1,000,000) uploaded by `dialer upload`, each then given a completed call
//     with its analysis: wall time, peak RSS and the report's size;
//   - live (only with --only): one built `worker` holding --live-calls live calls (1,000)
//     of about --live-talk (60 s), polling each every 5 s: its CPU and RSS, and what Redis
//     runs and spends, over a minute once the calls are up; and so the live calls one core
//     carries, in the worker and in Redis. Then the same with webhooks: a built `dialer
//     serve` receives the simulator's server messages, and its CPU is measured too;
//   - webhooks (only with --only): a built `dialer serve` receiving the server messages of
//     --webhook-calls live calls (20,000; a ringing and an in-progress status-update, a
//     conversation-update and an end-of-call-report with the analysis each) from
//     --webhook-clients keep-alive clients (32): the events per second it accepts, their
//     latency and the end-of-call-reports' (the time to the recorded outcome, checked
//     afterwards for every attempt), serve's own record-time p99 from its /metrics, its CPU
//     and RSS, and the Redis commands per event; then how soon one worker acts on a call's
//     end-of-call-report at poll.interval 30s (report to the contact's finished_at); and
//     the share of maxConcurrentCalls busy while work waits in the concurrency campaign at
//     poll.interval 5s, polling only and with webhooks;
//   - console (only with --only): the web console's server time, handler in process on the
//     real Redis: the campaigns page with --console-campaigns campaigns (1,000) stored,
//     unfiltered and filtered by state and by name; and a page of the rows table of a
//     campaign of --console-rows rows (1,000,000) uploaded by `dialer upload`, at its start,
//     middle and end, and a filtered page that finds nothing in its scan budget;
//   - api (only with --only): --api-clients keep-alive clients (200) reading one campaign's
//     status through a built `dialer serve`'s API (GET /api/v1/campaigns/{id}, read token)
//     for --api-seconds (20 s) while --workers workers dial that campaign at 20 calls per
//     second: the requests per second, their latency, serve's CPU and Redis's commands and
//     CPU per request;
//   - campaigns (only with --only): several campaigns on one Interactly account, dialed by
//     built workers: a small campaign's time beside a large, slow one as a ratio of its
//     time alone (one worker); then three campaigns of weights 1, 2 and 3 under the default
//     account capped at 6 live calls and 6 calls per second (--workers workers): each one's
//     share of the live calls while all had work, and from the simulator's dial log the
//     most dials in any 1 s and the most live calls across the account.
//
// Run it from the repository with redis-server on PATH. The default run (upload, enqueue,
// dial) takes about two minutes on two cores; report takes about two more, live about five
// and webhooks about three:
//
//	go run ./cmd/bench
//	go run ./cmd/bench --rows 1000000 --skip-dial
//	go run ./cmd/bench --only report,live
//	go run ./cmd/bench --only webhooks
//	go run ./cmd/bench --only console
//	go run ./cmd/bench --only api
//	go run ./cmd/bench --only campaigns
//
// It builds dialer and worker into a temporary directory and starts its own redis-server on
// a free loopback port with persistence off (or, given --redis-url, uses that server's
// databases 0 to 8, FLUSHING them before and after), and removes all of it on exit,
// Ctrl-C included. `dialer serve` listens on a free loopback port with a fresh random
// webhook secret that is never printed. Progress goes to stderr and the results table to
// stdout. A missed target is a finding, not a failure: the exit status is 0 unless
// something broke (a command failed, a campaign did not finish, a webhook was refused, a
// recorded result was wrong).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/dialerhq/dialer/internal/lab"
)

func main() { lab.Main("bench", run) }

// The measures, as --only names them.
const (
	measureUpload    = "upload"    // `dialer upload` of --rows contacts
	measureEnqueue   = "enqueue"   // raw asynq Enqueue of --rows tasks
	measureDial      = "dial"      // dial rate and concurrency with --workers workers
	measureReport    = "report"    // `dialer report` of --report-rows finished contacts
	measureLive      = "live"      // one worker holding --live-calls live calls, polling and with webhooks
	measureWebhooks  = "webhooks"  // `dialer serve` receiving webhooks, and workers woken by them
	measureConsole   = "console"   // the web console's campaigns page and rows table
	measureAPI       = "api"       // the operator API's status reads while a campaign dials
	measureCampaigns = "campaigns" // several campaigns on one account: small beside large, shares, account caps
)

// allMeasures lists every measure in the order they run.
var allMeasures = []string{measureUpload, measureEnqueue, measureDial, measureReport, measureLive, measureWebhooks, measureConsole, measureAPI, measureCampaigns}

// defaultMeasures are the measures run without --only: the three long ones are left out
// (report takes about 2 minutes, live about 5, webhooks about 3).
var defaultMeasures = []string{measureUpload, measureEnqueue, measureDial}

// config is the command line.
type config struct {
	rows             int           // contacts uploaded, and tasks enqueued raw
	dialContacts     int           // contacts of the dial-rate campaign
	capContacts      int           // contacts of the concurrency campaign
	workers          int           // worker processes
	reportRows       int           // contacts of the report export
	liveCalls        int           // live calls one worker holds
	liveTalk         time.Duration // mean talk time of the live measure's calls
	webhookCalls     int           // calls whose events the webhook measure posts
	webhookClients   int           // concurrent clients posting them
	consoleCampaigns int           // campaigns on the console's campaigns page
	consoleRows      int           // rows of the console's large campaign
	apiClients       int           // concurrent clients of the API measure
	apiDuration      time.Duration // how long they read
	redisURL         string        // a server to use instead of starting one
	// measures are the measures to run, from --only less --skip-upload and --skip-dial.
	measures map[string]bool
}

// parseFlags parses args into a config; help and errors go to stderr.
func parseFlags(args []string, stderr io.Writer) (config, error) {
	var cfg config
	var only string
	var skipUpload, skipDial bool
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&cfg.rows, "rows", 100000, fmt.Sprintf("contacts in the uploaded file, and tasks in each raw Enqueue run (at most %d)", maxContacts))
	fs.IntVar(&cfg.dialContacts, "dial-contacts", 400, "contacts of the dial-rate campaign, dialed at 20 per second")
	fs.IntVar(&cfg.capContacts, "cap-contacts", 300, "contacts of the concurrency campaign, 20 calls of 2-4 s at a time")
	fs.IntVar(&cfg.workers, "workers", 4, "worker processes dialing the campaigns")
	fs.IntVar(&cfg.reportRows, "report-rows", 1000000, "contacts of the report export measure, each with a final outcome and a call's analysis")
	fs.IntVar(&cfg.liveCalls, "live-calls", 1000, "live calls one worker process holds in the live measure (maxConcurrentCalls; --concurrency is 10% more)")
	fs.DurationVar(&cfg.liveTalk, "live-talk", time.Minute, "mean talk time of the live measure's calls (each within ±5 s of it, after 1-2 s of ringing)")
	fs.IntVar(&cfg.webhookCalls, "webhook-calls", 20000, "calls whose 4 server messages each the webhook measure posts to dialer serve")
	fs.IntVar(&cfg.webhookClients, "webhook-clients", 32, "keep-alive clients posting the webhook measure's events at once")
	fs.IntVar(&cfg.consoleCampaigns, "console-campaigns", 1000, "campaigns in Redis while the console measure renders the campaigns page")
	fs.IntVar(&cfg.consoleRows, "console-rows", 1000000, "rows of the campaign whose rows table the console measure pages through")
	fs.IntVar(&cfg.apiClients, "api-clients", 200, "keep-alive clients reading a campaign's status through the API at once")
	fs.DurationVar(&cfg.apiDuration, "api-seconds", 20*time.Second, "how long the API measure's clients read")
	fs.StringVar(&only, "only", strings.Join(defaultMeasures, ","), "comma-separated measures to run, from "+strings.Join(allMeasures, ", ")+"; report (about 2 min), live (about 5 min), webhooks (about 3 min), console, api and campaigns (about 2 min) run only when named")
	fs.StringVar(&cfg.redisURL, "redis-url", "", fmt.Sprintf("use this Redis server instead of starting redis-server; its databases %d to %d are FLUSHED before and after (any database in the URL is ignored)", databases[0], databases[len(databases)-1]))
	fs.BoolVar(&skipUpload, "skip-upload", false, "skip the upload and raw Enqueue measures")
	fs.BoolVar(&skipDial, "skip-dial", false, "skip the dial-rate and concurrency measures")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: go run ./cmd/bench [flags]\n\nMeasures upload, enqueue, dial rate and concurrency, and with --only report export, live\ncalls and webhooks, on a real Redis (redis-server on PATH), and prints each figure beside its\ntarget.\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	cfg.measures = map[string]bool{}
	for name := range strings.SplitSeq(only, ",") {
		name = strings.TrimSpace(name)
		if !slices.Contains(allMeasures, name) {
			return cfg, fmt.Errorf("--only %q: unknown measure %q; want some of %s, comma-separated", only, name, strings.Join(allMeasures, ","))
		}
		cfg.measures[name] = true
	}
	if skipUpload {
		delete(cfg.measures, measureUpload)
		delete(cfg.measures, measureEnqueue)
	}
	if skipDial {
		delete(cfg.measures, measureDial)
	}
	switch {
	case fs.NArg() > 0:
		return cfg, fmt.Errorf("unexpected argument %q; see --help", fs.Arg(0))
	case cfg.rows < 1 || cfg.rows > maxContacts:
		return cfg, fmt.Errorf("--rows %d: want 1 to %d", cfg.rows, maxContacts)
	case cfg.dialContacts < 2 || cfg.dialContacts > maxContacts:
		return cfg, fmt.Errorf("--dial-contacts %d: want 2 to %d", cfg.dialContacts, maxContacts)
	case cfg.capContacts < 2 || cfg.capContacts > maxContacts:
		return cfg, fmt.Errorf("--cap-contacts %d: want 2 to %d", cfg.capContacts, maxContacts)
	case cfg.workers < 1:
		return cfg, fmt.Errorf("--workers %d: want at least 1", cfg.workers)
	case cfg.reportRows < 1 || cfg.reportRows > maxContacts:
		return cfg, fmt.Errorf("--report-rows %d: want 1 to %d", cfg.reportRows, maxContacts)
	case cfg.liveCalls < 1 || cfg.liveCalls > maxContacts/10:
		return cfg, fmt.Errorf("--live-calls %d: want 1 to %d", cfg.liveCalls, maxContacts/10)
	case cfg.liveTalk < 10*time.Second:
		return cfg, fmt.Errorf("--live-talk %s: want at least 10s (calls last it ±5 s)", cfg.liveTalk)
	case cfg.webhookCalls < 1 || cfg.webhookCalls > maxContacts:
		return cfg, fmt.Errorf("--webhook-calls %d: want 1 to %d", cfg.webhookCalls, maxContacts)
	case cfg.webhookClients < 1 || cfg.webhookClients > 1000:
		return cfg, fmt.Errorf("--webhook-clients %d: want 1 to 1000", cfg.webhookClients)
	case cfg.consoleCampaigns < 1 || cfg.consoleCampaigns > 100000:
		return cfg, fmt.Errorf("--console-campaigns %d: want 1 to 100000", cfg.consoleCampaigns)
	case cfg.consoleRows < 1 || cfg.consoleRows > maxContacts:
		return cfg, fmt.Errorf("--console-rows %d: want 1 to %d", cfg.consoleRows, maxContacts)
	case cfg.apiClients < 1 || cfg.apiClients > 10000:
		return cfg, fmt.Errorf("--api-clients %d: want 1 to 10000", cfg.apiClients)
	case cfg.apiDuration < time.Second:
		return cfg, fmt.Errorf("--api-seconds %s: want at least 1s", cfg.apiDuration)
	case len(cfg.measures) == 0:
		return cfg, errors.New("--only, --skip-upload and --skip-dial leave nothing to measure")
	}
	return cfg, nil
}

// bench holds what every measure shares: the lab (its temporary directory, removed on exit,
// the built commands and the progress lines), the command line and the Redis.
type bench struct {
	*lab.Lab
	cfg   config
	redis *redisServer
}

// run builds the commands, starts Redis, runs every measure not skipped and prints the
// table to stdout.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	l, err := lab.Open(ctx, lab.Options{Command: "bench", Log: stderr})
	if err != nil {
		return err
	}
	defer l.Close()
	b := &bench{Lab: l, cfg: cfg}
	if cfg.redisURL == "" {
		b.Progress("starting redis-server")
		b.redis, err = startRedis(ctx, b.Dir)
	} else {
		b.redis, err = useRedis(ctx, cfg.redisURL)
	}
	if err != nil {
		return err
	}
	defer b.redis.Close(ctx)

	measures := map[string]func(context.Context) ([]lab.Figure, error){
		measureUpload:    b.benchUpload,
		measureEnqueue:   b.benchEnqueue,
		measureDial:      b.benchDial,
		measureReport:    b.benchReport,
		measureLive:      b.benchLive,
		measureWebhooks:  b.benchWebhooks,
		measureConsole:   b.benchConsole,
		measureAPI:       b.benchAPI,
		measureCampaigns: b.benchCampaigns,
	}
	var figs []lab.Figure
	for _, name := range allMeasures {
		if !cfg.measures[name] {
			continue
		}
		f, err := measures[name](ctx)
		if err != nil {
			return err
		}
		figs = append(figs, f...)
	}
	header := fmt.Sprintf("dialer bench: %s, %d CPUs, %s %s/%s, %s",
		cpuModel(), runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH, b.redis.describe())
	return lab.PrintFigures(stdout, header, figs)
}
