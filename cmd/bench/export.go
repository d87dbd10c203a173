package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/clock"
	"github.com/dialerhq/dialer/internal/lab"
	"github.com/dialerhq/dialer/internal/operator"
	"github.com/dialerhq/dialer/internal/queue"
	"github.com/dialerhq/dialer/internal/redisconn"
	"github.com/dialerhq/dialer/internal/retention"
	"github.com/redis/go-redis/v9"
)

// Targets of the report export: a million rows in under 10 s, in under 100 MB.
const (
	reportTargetRows = 1000000
	reportTargetTime = 10 * time.Second
	reportTargetRSS  = 100e6
)

// seedGoroutines is how many goroutines record the export campaign's results at once, and
// seedBatch how many contacts' results each writes in one pipeline.
const (
	seedGoroutines = 4
	seedBatch      = 500
)

// seedStart is when the export campaign's first generated call starts.
var seedStart = time.Date(2025, 11, 3, 15, 0, 0, 0, time.UTC)

// seedResult returns the result of the one call of generated contact n (1-based): completed,
// with a call id, start and end times, and the assistant's analysis, a summary of about 200
// characters with a comma and quotes, and structured data, as the worker records them.
func seedResult(n int) campaign.Result {
	rec := contactRecord(n-1, make([]string, len(contactHeader)))
	start := seedStart.Add(time.Duration(n) * 20 * time.Millisecond)
	endedBy := "assistant"
	if n%3 == 0 {
		endedBy = "customer"
	}
	return campaign.Result{
		Outcome:           campaign.OutcomeCompleted,
		CallID:            fmt.Sprintf("CC-%08x-%04x-4%03x-8%03x-%012x", n, n%0xffff, n%0xfff, (n*7)%0xfff, uint64(n)*2654435761),
		StartedAt:         start,
		EndedAt:           start.Add(time.Duration(45+n%120) * time.Second),
		PhoneCallStatus:   "completed",
		EndedBy:           endedBy,
		SuccessEvaluation: "true",
		Summary: fmt.Sprintf(`%s %s confirmed the appointment on %s at %s with %s at %s. They asked whether to "bring the insurance card", and said a text the day before suits them best.`,
			rec[0], rec[1], rec[3], rec[4], rec[6], rec[5]),
		// Keys in order, as encoding/json writes an object decoded into a map (the simulator's
		// server messages, renderHookEvents): the receiver stores the text as it comes.
		StructuredData: fmt.Sprintf(`{"appointmentDate":%q,"appointmentTime":%q,"confirmed":true,"questions":["insurance card"],"reminderChannel":"sms"}`,
			rec[3], rec[4]),
	}
}

// The keys and hash fields seedFinished writes, as internal/campaign's keys.go, record.go and
// store.go name them. TestSeedFinishedAsStore fails when they drift apart.
func seedContactKey(id string, n int) string {
	return campaign.KeyTag(id) + "contact:" + strconv.Itoa(n)
}

func seedAttemptKey(id string, n, a int) string {
	return campaign.KeyTag(id) + "attempt:" + strconv.Itoa(n) + ":" + strconv.Itoa(a)
}

func seedOutcomesKey(id string) string { return campaign.KeyTag(id) + "outcomes" }

// seedHopperKey is the campaign's hopper of attempts waiting to be dialed: a finished
// attempt has left it.
func seedHopperKey(id string) string { return campaign.KeyTag(id) + "hopper" }

func seedCountersKey(id string) string { return campaign.KeyTag(id) + "counters" }

// seedTextsKey is the campaign's hash of its attempts' analyses and recording paths, by
// "N:A" (campaign.EncodeTexts).
func seedTextsKey(id string) string { return campaign.KeyTag(id) + "texts" }

// seedResultFields are r as the hash fields Store.FinishAttempt writes to the attempt and the
// contact: all but its texts, which go to seedTextsKey.
func seedResultFields(r campaign.Result) []any {
	return []any{
		"attempt_outcome", string(r.Outcome), "call_id", r.CallID,
		"started_at", r.StartedAt.UTC().Format(time.RFC3339Nano), "ended_at", r.EndedAt.UTC().Format(time.RFC3339Nano),
		"phone_call_status", r.PhoneCallStatus, "ended_by", r.EndedBy,
		"error", r.Error, "cost", r.Cost,
	}
}

// seedAudit is the audit of every seeded attempt: a campaign without window or cap, dialing
// from one caller ID.
var seedAudit = campaign.Audit{Window: "none", Suppression: "not suppressed", Frequency: "no cap", CallerID: "5f7b1b1b1b1b1b1b1b1b1b1b"}

// seedFinished gives contacts 1..rows of campaign id one finished attempt each,
// wantHookResult(n) (seedResult's analysis, with the cost and recording path an
// end-of-call-report brings), and the final outcome completed: what a worker's
// Store.ClaimAttempt, RecordCall, FinishAttempt and Finalize would leave in Redis, written as
// plain HSETs (the attempt hash, the contact hash, the texts hash) and counts (outcomes,
// attempts), batch contacts a pipeline (seedBatch in the bench) from seedGoroutines
// goroutines. Calling those methods instead costs three Lua round trips a contact, and took
// over 2 minutes for a million contacts on the 2-core machine of the figures; this takes
// seconds. It reports progress every 10 s.
func (b *bench) seedFinished(ctx context.Context, rdb redis.UniversalClient, id string, rows, batch int) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next, done atomic.Int64
	var wg sync.WaitGroup
	for range seedGoroutines {
		wg.Go(func() {
			for ctx.Err() == nil {
				from := int(next.Add(int64(batch))) - batch + 1
				if from > rows {
					return
				}
				to := min(from+batch-1, rows)
				if err := seedBatchOf(ctx, rdb, id, from, to); err != nil {
					cancel(fmt.Errorf("record results of contacts %d-%d: %w", from, to, err))
					return
				}
				done.Add(int64(to - from + 1))
			}
		})
	}
	stopProgress := runEvery(10*time.Second, func() {
		b.Progress("report: recorded %s of %s results", lab.Thousands(int(done.Load())), lab.Thousands(rows))
	})
	wg.Wait()
	stopProgress()
	return context.Cause(ctx)
}

// seedBatchOf writes contacts from..to's finished attempts (see seedFinished) in one pipeline.
func seedBatchOf(ctx context.Context, rdb redis.UniversalClient, id string, from, to int) error {
	_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		texts := make([]any, 0, 2*(to-from+1))
		for n := from; n <= to; n++ {
			r := wantHookResult(n)
			claimed := r.StartedAt.Add(-2 * time.Second).UTC().Format(time.RFC3339Nano)
			result := seedResultFields(r)
			attempt := []any{"state", string(campaign.AttemptDone), "dialing_at", claimed, "worker", "bench-seed",
				"audit_zones", seedAudit.Zones, "audit_zone_source", seedAudit.ZoneSource, "audit_local_time", seedAudit.LocalTime,
				"audit_window", seedAudit.Window, "audit_suppression", seedAudit.Suppression, "audit_frequency", seedAudit.Frequency,
				"caller_id", seedAudit.CallerID}
			p.HSet(ctx, seedAttemptKey(id, n, 1), append(attempt, result...)...)
			contact := []any{"attempts", 1, "outcome", string(r.Outcome), "finished_at", r.EndedAt.UTC().Format(time.RFC3339Nano), "texts", 1}
			p.HSet(ctx, seedContactKey(id, n), append(contact, result...)...)
			texts = append(texts, strconv.Itoa(n)+":1", campaign.EncodeTexts(r))
			p.ZRem(ctx, seedHopperKey(id), strconv.Itoa(n)+":1")
		}
		p.HSet(ctx, seedTextsKey(id), texts...)
		p.HIncrBy(ctx, seedOutcomesKey(id), string(campaign.OutcomeCompleted), int64(to-from+1))
		p.HIncrBy(ctx, seedCountersKey(id), "attempts", int64(to-from+1))
		p.HSetNX(ctx, seedCountersKey(id), "first_dial_at", seedStart.Add(-2*time.Second).Format(time.RFC3339Nano))
		return nil
	})
	return err
}

// runEvery calls f every d until the returned stop is called.
func runEvery(d time.Duration, f func()) (stop func()) {
	ctx, quit := context.WithCancel(context.Background())
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		clock.Every(ctx, d, func() bool {
			f()
			return true
		})
	}()
	return func() {
		quit()
		<-finished
	}
}

// benchReport measures the built `dialer report` of a campaign of --report-rows contacts that
// are all finished: uploaded by `dialer upload`, then given a completed call with its
// analysis each (seedFinished). It reports the export's wall time, its peak RSS and the
// report's size, and checks the report: a header and one row per contact, in order, each
// with its call id.
func (b *bench) benchReport(ctx context.Context) ([]lab.Figure, error) {
	rows := b.cfg.reportRows
	rdb, done, err := b.openScratch(ctx, dbReport, "report")
	if err != nil {
		return nil, err
	}
	defer done()
	store := campaign.NewStore(rdb)
	// On its own redis-server the bench resets Redis's per-command statistics before each
	// reading (see readMemory); on a server --redis-url names it leaves them alone.
	reset := b.redis.started != nil
	mem0, err := readMemory(ctx, rdb, reset)
	if err != nil {
		return nil, err
	}

	b.Progress("report: uploading %s rows with dialer upload", lab.Thousands(rows))
	spec := lab.Campaign{Name: "bench-report", CPS: 1, MaxLive: 10, Poll: 5 * time.Second, AnalysisWait: 30 * time.Second}
	u, err := b.runUpload(ctx, spec, rows, dbReport)
	if err != nil {
		return nil, err
	}
	if err := checkUploaded(ctx, rdb, u.id, rows, false); err != nil {
		return nil, err
	}
	mem1, err := readMemory(ctx, rdb, reset)
	if err != nil {
		return nil, err
	}
	b.Progress("report: recording a completed call for each of %s contacts", lab.Thousands(rows))
	seedFrom := time.Now()
	if err := b.onOwnConnections(ctx, func(rdb *redis.Client) error {
		return b.seedFinished(ctx, rdb, u.id, rows, seedBatch)
	}); err != nil {
		return nil, fmt.Errorf("record results of campaign %s: %w", u.id, err)
	}
	seedTook := time.Since(seedFrom)
	// What a finished campaign holds: workers ran its dial tasks (asynq deletes a task
	// once it succeeds), and a retention sweep marked it done.
	clock := &shiftedClock{}
	if _, err := b.sweep(ctx, clock, u.id); err != nil {
		return nil, err
	}
	if err := waitFreed(ctx, rdb); err != nil {
		return nil, err
	}
	st, err := store.Status(ctx, u.id)
	if err != nil {
		return nil, err
	}
	if !st.Done || st.Outcomes[campaign.OutcomeCompleted] != rows {
		return nil, fmt.Errorf("campaign %s after recording results: done %t, %d of %d completed", u.id, st.Done, st.Outcomes[campaign.OutcomeCompleted], rows)
	}
	mem2, err := readMemory(ctx, rdb, reset)
	if err != nil {
		return nil, err
	}
	b.Progress("report: recorded in %s (%s contacts/s); Redis holds %.1f GB", seedTook.Round(100*time.Millisecond), lab.Thousands(int(float64(rows)/seedTook.Seconds())), float64(mem2.used)/1e9)

	b.Progress("report: dialer report of %s rows", lab.Thousands(rows))
	out := filepath.Join(b.Dir, "bench-report.csv")
	defer os.Remove(out)
	ex, spent, err := redisSpent(ctx, rdb, func() (*dialerRun, error) { return b.runReport(ctx, u.id, out) })
	if err != nil {
		return nil, err
	}
	size, err := checkReport(out, rows)
	if err != nil {
		return nil, err
	}
	b.Progress("report: %s in %s", ex.stderr, ex.wall.Round(10*time.Millisecond))

	// Retention: a sweep once the default retention has passed deletes the campaign.
	clock.shift.Store(int64(retention.DefaultRetention + time.Hour))
	res, err := b.sweep(ctx, clock, "")
	if err != nil {
		return nil, err
	}
	if res.Deleted != 1 {
		return nil, fmt.Errorf("retention sweep after %s deleted %d campaigns, want 1", retention.DefaultRetention, res.Deleted)
	}
	if err := waitFreed(ctx, rdb); err != nil {
		return nil, err
	}
	// Redis shrinks its key tables in its own background cycle, every 100 ms a step.
	raw3, err := settledMemory(ctx, rdb, false)
	if err != nil {
		return nil, err
	}
	mem3, err := readMemory(ctx, rdb, reset)
	if err != nil {
		return nil, err
	}
	keysLeft, err := rdb.DBSize(ctx).Result()
	if err != nil {
		return nil, err
	}
	campaignMem := mem2.data() - mem0.data()
	data := mem3.data() - mem0.data()
	histograms := "not reset here (a server --redis-url names keeps them), so they count"
	if reset {
		histograms = fmt.Sprintf("%s KB freed by the resets", lab.Thousands(int((raw3.used-mem3.used)/1000)))
	}

	r1 := wantHookResult(1)
	// Scale the target to the rows exported: 10 s for a million.
	targetTime := time.Duration(min(float64(reportTargetTime)*float64(rows)/reportTargetRows, float64(24*time.Hour)))
	rss := lab.Figure{
		Measure: "report: peak RSS of dialer report", Value: "n/a (Linux only)", Target: "< 100 MB",
		Note: "ru_maxrss of the report process over its whole life; MB of 10^6 bytes",
	}
	if ex.rssOK {
		rss.Value = fmt.Sprintf("%.1f MB", float64(ex.rss)/1e6)
		rss.Met = verdict(ex.rss < reportTargetRSS)
	}
	return []lab.Figure{{
		Measure: fmt.Sprintf("report: %s rows, wall time", lab.Thousands(rows)),
		Value:   fmt.Sprintf("%.2f s (%s rows/s)", ex.wall.Seconds(), lab.Thousands(int(float64(rows)/ex.wall.Seconds()))),
		Target:  fmt.Sprintf("< %s s", trimFloat(targetTime.Seconds())),
		Met:     verdict(ex.wall < targetTime),
		Note: fmt.Sprintf("start to exit of the built `dialer report ID --out FILE` of a campaign uploaded by `dialer upload` whose every contact then got a completed call with its analysis (%d-char summary, structured data) and recording path, written as the attempt, contact and texts hashes the store writes (pipelined HSETs, %.1f s); meanwhile the report process used %.1f s of CPU and redis-server %.1f s",
			len(seedResult(1).Summary), seedTook.Seconds(), ex.cpu.Seconds(), spent.cpu),
	}, rss, {
		Measure: "report: Redis memory per finished contact",
		Value:   fmt.Sprintf("%s B (%s B at upload + %s B of results)", lab.Thousands(int(campaignMem/int64(rows))), lab.Thousands(int((mem1.data()-mem0.data())/int64(rows))), lab.Thousands(int((mem2.data()-mem1.data())/int64(rows)))),
		Note: fmt.Sprintf("INFO used_memory less client buffers and the script cache (see the next figure) after the upload and after the results, less before, ÷ rows (%.1f MB in all), on a redis-server with %s: at upload the contact hash, its row in the rows hash, its phone index entry and hopper entry; finished, the contact hash and the attempt hash with the result, and the attempt's texts (%d-char summary, %d-char structured data, success evaluation, %d-char recording path) in the texts hash, once the hopper entries and tasks are gone and a retention sweep marked the campaign done (dropping the phone index)",
			float64(campaignMem)/1e6, listpackConfig(ctx, rdb), len(r1.Summary), len(r1.StructuredData), len(r1.Recording)),
	}, {
		Measure: "report: Redis memory after retention",
		Value: fmt.Sprintf("data %+d B against the baseline (%.3f%% of the campaign's %.1f MB); %d keys left",
			data, 100*float64(data)/float64(campaignMem), float64(campaignMem)/1e6, keysLeft),
		Target: "data back to baseline (±1%)",
		Met:    verdict(abs(data) <= campaignMem/100 && keysLeft == 0 && mem3.connections == mem0.connections),
		Note: fmt.Sprintf("INFO used_memory once a retention sweep (internal/retention: the campaign's retention passed) deleted the campaign and Redis's lazy free finished, less the same before the upload, each read right after CONFIG RESETSTAT and SLOWLOG RESET, which free the latency histogram Redis 7 keeps for each command once it has run (about 24 KB a command) and the slow log (the last 128 commands slower than 10 ms, with their arguments): no data, %s; and less what is no data: client buffers (mem_clients_normal, %+d B; %d and %d connections open, the others closed before each reading, as each holds some 38 KB) and the cached Lua scripts (used_memory_scripts_eval, %+d B); used_memory before the reset was %+d B against the baseline, and the process's RSS %+.1f MB (jemalloc keeps freed pages a while)",
			histograms, mem3.clients-mem0.clients, mem0.connections, mem3.connections, mem3.scripts-mem0.scripts, raw3.used-mem0.used, float64(mem3.rss-mem0.rss)/1e6),
	}, {
		Measure: "report: size",
		Value:   fmt.Sprintf("%s bytes (%.0f B/row)", lab.Thousands(int(size)), float64(size)/float64(rows)),
		Note:    fmt.Sprintf("the report file: header and %s rows of %d columns, checked to be CSV with every row's call id in input order", lab.Thousands(rows), len(contactHeader)+len(campaign.ReportColumns)),
	}}, nil
}

// listpackConfig says how the server keeps small hashes compact: its hash-max-listpack-value
// and hash-max-listpack-entries (Redis 7's defaults are 64 and 512), or that CONFIG GET is not
// allowed.
func listpackConfig(ctx context.Context, rdb *redis.Client) string {
	cfg, err := rdb.ConfigGet(ctx, "hash-max-listpack-*").Result()
	if err != nil {
		return fmt.Sprintf("hash-max-listpack-value unknown (CONFIG GET: %v)", err)
	}
	return fmt.Sprintf("hash-max-listpack-value %s and hash-max-listpack-entries %s", cfg["hash-max-listpack-value"], cfg["hash-max-listpack-entries"])
}

// onOwnConnections runs f on a client of the report database of its own, closed when f
// returns: every open connection holds some 38 KB of Redis memory (buffers and the client
// record), no data, so the memory readings are taken with none but their own open.
func (b *bench) onOwnConnections(ctx context.Context, f func(rdb *redis.Client) error) error {
	rdb, err := redisconn.Open(ctx, b.redis.url(dbReport))
	if err != nil {
		return err
	}
	defer rdb.Close()
	return f(rdb)
}

// sweep runs one retention sweep (internal/retention) of the report database at clock's
// time, on its own connections. With id set it first deletes campaign id's dial tasks, as
// workers that ran them would have.
func (b *bench) sweep(ctx context.Context, clock *shiftedClock, id string) (retention.Result, error) {
	var res retention.Result
	err := b.onOwnConnections(ctx, func(rdb *redis.Client) error {
		if id != "" {
			q := queue.NewClient(rdb)
			defer q.Close()
			if _, err := q.DeleteCampaignTasks(ctx, id); err != nil {
				return err
			}
		}
		op := operator.New(rdb, operator.Config{Now: clock.Now})
		defer op.Close()
		sweeper, err := retention.New(retention.Config{Operator: op, Now: clock.Now, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			return err
		}
		res, err = sweeper.Sweep(ctx)
		return err
	})
	return res, err
}

// runReport runs the built `dialer report id --out out` against the report database and
// returns what it cost.
func (b *bench) runReport(ctx context.Context, id, out string) (*dialerRun, error) {
	return b.runDialer(ctx, dbReport, "report", id, "--out", out)
}

// checkReport checks the report at path of a campaign seeded by seedFinished: a header
// ending in campaign.ReportColumns, then rows rows, row n holding generated contact n's
// cells and seedResult(n)'s call id. It returns the file's size in bytes.
func checkReport(path string, rows int) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReaderSize(f, 1<<20))
	r.ReuseRecord = true
	header, err := r.Read()
	if err != nil {
		return 0, fmt.Errorf("report %s: header: %w", path, err)
	}
	wantHeader := append(slices.Clone(contactHeader), campaign.ReportColumns...)
	if !slices.Equal(header, wantHeader) {
		return 0, fmt.Errorf("report %s: header %q, want %q", path, header, wantHeader)
	}
	callID := len(contactHeader) + slices.Index(campaign.ReportColumns, "call_id")
	outcome := len(contactHeader) + slices.Index(campaign.ReportColumns, "outcome")
	want := make([]string, len(contactHeader))
	for n := 1; ; n++ {
		rec, err := r.Read()
		if err == io.EOF {
			if n-1 != rows {
				return 0, fmt.Errorf("report %s: %d rows, want %d", path, n-1, rows)
			}
			break
		}
		if err != nil {
			return 0, fmt.Errorf("report %s: %w", path, err)
		}
		if n > rows {
			return 0, fmt.Errorf("report %s: more than %d rows", path, rows)
		}
		// Every 1,000th row in full; the rest by call id alone, which is unique to the row.
		if n%1000 == 1 && !slices.Equal(rec[:len(contactHeader)], contactRecord(n-1, want)) {
			return 0, fmt.Errorf("report %s: row %d starts %q, want %q", path, n, rec[:len(contactHeader)], want)
		}
		if rec[callID] != seedResult(n).CallID || rec[outcome] != string(campaign.OutcomeCompleted) {
			return 0, fmt.Errorf("report %s: row %d has call id %q and outcome %q, want %q and completed", path, n, rec[callID], rec[outcome], seedResult(n).CallID)
		}
	}
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// shiftedClock is the wall clock moved forward by shift nanoseconds, so that the bench can
// let a campaign's retention pass without waiting for it.
type shiftedClock struct{ shift atomic.Int64 }

// Now returns the shifted time.
func (c *shiftedClock) Now() time.Time { return time.Now().Add(time.Duration(c.shift.Load())) }

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}
