// Command bench measures the dialer on a real Redis and prints each figure beside its target:
//
//   - upload: the built `dialer upload` of a generated contact file (--rows rows, 8 columns,
//     every number a distinct valid US number): wall time, rows per second, the process's
//     peak RSS, and the Redis memory each contact takes, its asynq task included;
//   - raw asynq Enqueue of as many dial tasks from 1 and from 16 goroutines, the ceiling the
//     upload's enqueue stage works under;
//   - dial rate: a campaign at callsPerSecond 20, dialed by --workers built `worker`
//     processes against the Interactly simulator served in-process: the rate achieved and
//     the most dials begun in any second;
//   - concurrency: a campaign capped at 20 live calls of 2–4 s: the peak of live calls and
//     the mean share of the cap in use while work was waiting;
//   - double dials over both campaigns.
//
// Run it from the repository with redis-server on PATH; the default run takes about two
// minutes on two cores:
//
//	go run ./cmd/bench
//	go run ./cmd/bench --rows 1000000 --skip-dial
//
// It builds dialer and worker into a temporary directory and starts its own redis-server on
// a free loopback port with persistence off (or, given --redis-url, uses that server's
// databases 0, 1 and 2, FLUSHING them before and after), and removes all of it on exit,
// Ctrl-C included. Progress goes to stderr and the results table to stdout. A missed target
// is a finding, not a failure: the exit status is 0 unless something broke (a command
// failed, a campaign did not finish).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	interrupted := ctx.Err() != nil
	stop()
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
		os.Exit(2)
	case interrupted:
		fmt.Fprintln(os.Stderr, "bench: interrupted; cleaned up")
		os.Exit(130)
	default:
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// config is the command line.
type config struct {
	rows         int    // contacts uploaded, and tasks enqueued raw
	dialContacts int    // contacts of the dial-rate campaign
	capContacts  int    // contacts of the concurrency campaign
	workers      int    // worker processes
	redisURL     string // a server to use instead of starting one
	skipUpload   bool
	skipDial     bool
}

// parseFlags parses args into a config; help and errors go to stderr.
func parseFlags(args []string, stderr io.Writer) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&cfg.rows, "rows", 100000, fmt.Sprintf("contacts in the uploaded file, and tasks in each raw Enqueue run (at most %d)", maxContacts))
	fs.IntVar(&cfg.dialContacts, "dial-contacts", 400, "contacts of the dial-rate campaign, dialed at 20 per second")
	fs.IntVar(&cfg.capContacts, "cap-contacts", 300, "contacts of the concurrency campaign, 20 calls of 2-4 s at a time")
	fs.IntVar(&cfg.workers, "workers", 4, "worker processes dialing the campaigns")
	fs.StringVar(&cfg.redisURL, "redis-url", "", "use this Redis server instead of starting redis-server; its databases 0, 1 and 2 are FLUSHED before and after (any database in the URL is ignored)")
	fs.BoolVar(&cfg.skipUpload, "skip-upload", false, "skip the upload and raw Enqueue measures")
	fs.BoolVar(&cfg.skipDial, "skip-dial", false, "skip the dial-rate and concurrency measures")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: go run ./cmd/bench [flags]\n\nMeasures upload, enqueue, dial rate and concurrency on a real Redis (redis-server on PATH)\nand prints each figure beside its target.\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
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
	case cfg.skipUpload && cfg.skipDial:
		return cfg, errors.New("--skip-upload and --skip-dial together leave nothing to measure")
	}
	return cfg, nil
}

// bench holds what every measure shares.
type bench struct {
	cfg            config
	dir            string // temporary directory, removed on exit
	dialer, worker string // the built commands
	redis          *redisServer
	log            io.Writer // progress lines
}

// progress writes one progress line.
func (b *bench) progress(format string, args ...any) {
	fmt.Fprintf(b.log, "bench: "+format+"\n", args...)
}

// run builds the commands, starts Redis, runs every measure not skipped and prints the
// table to stdout.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "dialer-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	b := &bench{cfg: cfg, dir: dir, log: stderr}
	// Cleaning up can take seconds (workers hand back their tasks): say so at once.
	defer context.AfterFunc(ctx, func() { b.progress("interrupted; stopping workers and redis-server") })()

	b.progress("building dialer and worker")
	if b.dialer, b.worker, err = build(ctx, root, dir); err != nil {
		return err
	}
	if cfg.redisURL == "" {
		b.progress("starting redis-server")
		b.redis, err = startRedis(ctx, dir)
	} else {
		b.redis, err = useRedis(ctx, cfg.redisURL)
	}
	if err != nil {
		return err
	}
	defer b.redis.Close(ctx)

	var figs []figure
	for _, m := range []struct {
		skip    bool
		measure func(context.Context) ([]figure, error)
	}{
		{cfg.skipUpload, b.benchUpload},
		{cfg.skipUpload, b.benchEnqueue},
		{cfg.skipDial, b.benchDial},
	} {
		if m.skip {
			continue
		}
		f, err := m.measure(ctx)
		if err != nil {
			return err
		}
		figs = append(figs, f...)
	}
	header := fmt.Sprintf("dialer bench: %s, %d CPUs, %s %s/%s, %s",
		cpuModel(), runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH, b.redis.describe())
	return printReport(stdout, header, figs)
}
