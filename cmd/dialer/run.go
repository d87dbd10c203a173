package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/interactly"
	"github.com/dialerhq/dialer/internal/redisconn"
	"github.com/dialerhq/dialer/internal/worker"
	"github.com/redis/go-redis/v9"
)

func runRun(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "run", "--campaign FILE.yaml --contacts FILE.csv --out REPORT.csv [--simulate]")
	campaignPath := fs.String("campaign", "", "campaign file (YAML)")
	contactsPath := fs.String("contacts", "", "contact file (CSV with a header row)")
	out := fs.String("out", "", "where to write the report; - for standard output")
	delimiter := fs.String("delimiter", "", `contact file delimiter: "," ";" or "tab" (default: detected)`)
	encoding := fs.String("encoding", "", encodingUsage)
	simulate := fs.Bool("simulate", false, "dial an in-process Interactly simulator instead of the real API")
	concurrency := fs.Int("concurrency", 100, "dial tasks the in-process worker pool runs at once")
	sf := simFlags{getenv: e.getenv}
	sf.register(fs, "sim-")
	if err := parseRequired(e, fs, args, "campaign", "contacts", "out"); err != nil {
		return err
	}

	rdb, closeRedis, err := runRedis(ctx, e)
	if err != nil {
		return err
	}
	defer closeRedis()

	apiCfg := interactly.Config{BaseURL: e.getenv("INTERACTLY_BASE_URL"), APIKey: e.getenv("INTERACTLY_API_KEY")}
	if apiCfg.APIKey == "" && !*simulate {
		return errors.New("INTERACTLY_API_KEY is not set; set it to your Interactly API key, or pass --simulate to try the dialer without calling anyone")
	}
	if *simulate {
		simCfg, err := sf.config(randomKey())
		if err != nil {
			return err
		}
		_, url, err := startSimulator(ctx, "127.0.0.1:0", simCfg)
		if err != nil {
			return err
		}
		apiCfg = interactly.Config{BaseURL: url, APIKey: simCfg.APIKey}
		fmt.Fprintf(e.stderr, "--simulate: dialing the Interactly simulator at %s; no real calls are made\n", url)
	}
	api, err := interactly.New(apiCfg)
	if err != nil {
		return fmt.Errorf("%w (check INTERACTLY_BASE_URL)", err)
	}

	c, err := upload(ctx, e, rdb, *campaignPath, *contactsPath, *delimiter, *encoding)
	if err != nil {
		return err
	}
	// The report is the one this command writes: with the embedded Redis, no later
	// `dialer report` could read the campaign.
	if c.Invalid+c.Duplicate+c.Suppressed > 0 && *out != "-" {
		fmt.Fprintf(e.stderr, "rows not dialed will be in %s with the reason\n", *out)
	}

	poolCtx, stopPool := context.WithCancel(ctx)
	poolDone := make(chan error, 1)
	logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	go func() {
		poolDone <- worker.Run(poolCtx, worker.PoolConfig{Redis: rdb, API: api, Concurrency: *concurrency, Logger: logger})
	}()
	st, waitErr := waitDone(ctx, e, campaign.NewStore(rdb), c.ID)
	if waitErr != nil {
		printInterrupted(e, st, *out)
	}
	stopPool()
	if err := <-poolDone; err != nil {
		return err
	}

	// Write what there is even when interrupted: with the embedded Redis it is gone after this.
	n, err := writeReport(context.WithoutCancel(ctx), e, campaign.NewStore(rdb).WriteReport, c.ID, *out, campaign.ReportOptions{})
	if err != nil {
		return err
	}
	if st != nil {
		fmt.Fprintln(e.stdout)
		printStatus(e.stdout, st)
	}
	if *out != "-" {
		fmt.Fprintf(e.stdout, "report     %s (%d rows)\n", *out, n)
	}
	if waitErr != nil {
		return fmt.Errorf("interrupted before every contact finished; the report holds the outcomes so far: %w", waitErr)
	}
	return nil
}

// printInterrupted says at once, on stderr, what an interrupted run does before it exits:
// what becomes of the live calls, and where the report of what finished goes.
func printInterrupted(e *env, st *campaign.Status, out string) {
	live := 0
	if st != nil {
		live = st.LiveCalls
	}
	calls := count(live, "live call goes", "live calls go")
	var fate string
	switch {
	case live == 0:
		fate = "no call is live"
	case e.getenv(redisconn.EnvVar) == "":
		fate = calls + " on at Interactly, but not recorded: the embedded Redis goes away"
	default:
		fate = calls + " back to the queue; a worker on REDIS_URL records their outcomes"
	}
	report := out
	if out == "-" {
		report = "standard output"
	}
	fmt.Fprintf(e.stderr, "interrupted: stopping, no new dial starts; %s; writing the report of what finished to %s\n", fate, report)
}

// runRedis opens REDIS_URL, or an embedded in-memory Redis when it is not set.
func runRedis(ctx context.Context, e *env) (redis.UniversalClient, func(), error) {
	if url := e.getenv(redisconn.EnvVar); url != "" {
		rdb, err := redisconn.Open(ctx, url)
		if err != nil {
			return nil, nil, err
		}
		return rdb, func() { rdb.Close() }, nil
	}
	m := miniredis.NewMiniRedis()
	if err := m.Start(); err != nil {
		return nil, nil, fmt.Errorf("start embedded Redis: %w", err)
	}
	fmt.Fprintln(e.stderr, "REDIS_URL is not set: using an embedded in-memory Redis; nothing is kept after this command exits (set REDIS_URL for durable state and separate workers)")
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr(), PoolSize: 64})
	return rdb, func() { rdb.Close(); m.Close() }, nil
}

// waitDone draws a progress bar on stderr until campaign id is done or ctx ends, and returns
// the last status read.
func waitDone(ctx context.Context, e *env, store *campaign.Store, id string) (*campaign.Status, error) {
	bar := newProgress(e.stderr)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var last *campaign.Status
	for {
		st, err := store.Status(context.WithoutCancel(ctx), id)
		if err != nil {
			return last, err
		}
		last = st
		bar.draw(st)
		if st.Done {
			bar.end()
			return st, nil
		}
		select {
		case <-ctx.Done():
			bar.end()
			return st, ctx.Err()
		case <-tick.C:
		}
	}
}

// progress draws one line that redraws in place on a terminal, and a line every 5 seconds
// elsewhere (a CI log, a file).
type progress struct {
	w        io.Writer
	terminal bool
	lastLine time.Time
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.terminal = true
		}
	}
	return p
}

func (p *progress) draw(st *campaign.Status) {
	const width = 30
	filled := 0
	if st.Total > 0 {
		filled = width * st.Finished / st.Total
	}
	line := fmt.Sprintf("[%s%s] %d/%d finished · %d live · %d attempts",
		strings.Repeat("#", filled), strings.Repeat(".", width-filled), st.Finished, st.Total, st.LiveCalls, st.Attempts)
	if st.ETASeconds > 0 {
		line += fmt.Sprintf(" · ETA %s", st.ETA().Round(time.Second))
	}
	switch {
	case p.terminal:
		fmt.Fprintf(p.w, "\r\033[K%s", line)
	case time.Since(p.lastLine) >= 5*time.Second || st.Done:
		fmt.Fprintln(p.w, line)
		p.lastLine = time.Now()
	}
}

func (p *progress) end() {
	if p.terminal {
		fmt.Fprintln(p.w)
	}
}
