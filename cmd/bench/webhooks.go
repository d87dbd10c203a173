package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/interactly"
	"github.com/dialerhq/dialer/internal/lab"
	"github.com/dialerhq/dialer/internal/simulator"
	"github.com/redis/go-redis/v9"
)

// Targets of the webhook measure.
const (
	// recordTarget bounds the p99 time from an end-of-call-report's arrival to its outcome
	// being recorded.
	recordTarget = 50 * time.Millisecond
	// wakeTarget bounds the p99 time from an end-of-call-report's sending to the worker
	// following the call acting on it.
	wakeTarget = 100 * time.Millisecond
	// busyTarget is the share of the cap that should be busy while work waits.
	busyTarget = 0.9
)

// hookWindow is how many calls one client of the throughput measure has under way at once:
// it sends the first event of each, then the second of each, and so on, so that the events
// of different calls interleave as live traffic's do, each call's in order.
const hookWindow = 4

// seedLiveGoroutines is how many goroutines claim attempts and record their calls at once.
const seedLiveGoroutines = 8

// recordMetric is the histogram `dialer serve` exposes of the time from an
// end-of-call-report's arrival to its result being recorded.
const recordMetric = "dialer_webhook_record_seconds"

// benchWebhooks measures webhooks through one built `dialer serve`: the events per second it
// accepts and their latency, end-of-call-reports included (webhookThroughput); how soon a
// worker acts on a call's end-of-call-report (webhookWakeup); and how busy the concurrency
// cap is kept while work waits, polling only and with webhooks (webhookSlots).
func (b *bench) benchWebhooks(ctx context.Context) ([]lab.Figure, error) {
	rdb, done, err := b.openScratch(ctx, dbWebhook, "webhooks")
	if err != nil {
		return nil, err
	}
	defer done()
	secret := newSecret()
	b.Progress("webhooks: starting dialer serve")
	srv, err := startServe(ctx, b.Dialer, b.redis.url(dbWebhook), secret)
	if err != nil {
		return nil, err
	}
	defer srv.stop(15 * time.Second)

	figs, err := b.webhookThroughput(ctx, rdb, srv, secret)
	if err != nil {
		return nil, err
	}
	if err := flushAsync(ctx, rdb); err != nil {
		return nil, err
	}

	sw := &simSwitch{}
	apiURL, stopAPI, err := lab.ServeLoopback(sw, nil)
	if err != nil {
		return nil, fmt.Errorf("serve the simulator: %w", err)
	}
	defer stopAPI()
	wake, err := b.webhookWakeup(ctx, rdb, srv, secret, sw, apiURL)
	if err != nil {
		return nil, err
	}
	slots, err := b.webhookSlots(ctx, rdb, srv, secret, sw, apiURL)
	if err != nil {
		return nil, err
	}
	if logs := srv.logLines(); len(logs) > 0 {
		b.Progress("webhooks: dialer serve logged %d warnings or errors; the first: %s", len(logs), logs[0])
	}
	return append(append(figs, wake...), slots...), nil
}

// dropTasks is a campaign.Enqueuer that enqueues nothing: the throughput measure's contacts
// are given their calls by hand, and no worker runs.
type dropTasks struct{}

// EnqueueDial drops the task.
func (dropTasks) EnqueueDial(context.Context, campaign.AttemptRef, time.Time) error { return nil }

// uploadDirect uploads rows generated contacts (writeContacts) under spec with the store
// itself, enqueuing no dial task.
func uploadDirect(ctx context.Context, store *campaign.Store, spec lab.Campaign, rows int) (*campaign.Campaign, error) {
	f, err := campaign.ParseChecked(spec.Name+".yaml", []byte(campaignFile(spec).YAML()))
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := writeContacts(&buf, rows); err != nil {
		return nil, err
	}
	open := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil }
	c, err := store.Upload(ctx, f, spec.Name+".csv", open, dropTasks{}, campaign.UploadOptions{})
	if err != nil {
		return nil, fmt.Errorf("upload %d generated contacts: %w", rows, err)
	}
	return c, nil
}

// forEachContact calls f for contacts 1..rows from goroutines goroutines at once, and
// returns the first error, after which no more calls begin.
func forEachContact(ctx context.Context, rows, goroutines int, f func(ctx context.Context, n int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for ctx.Err() == nil {
				n := int(next.Add(1))
				if n > rows {
					return
				}
				if err := f(ctx, n); err != nil {
					cancel(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return context.Cause(ctx)
}

// seedLive claims attempt 1 of contacts 1..rows of campaign id and records its call,
// seedResult(n)'s call id and start, as a worker does once Connect Call answers, from
// seedLiveGoroutines goroutines: every contact then has a live call awaiting its events.
func seedLive(ctx context.Context, store *campaign.Store, id string, rows int) error {
	return forEachContact(ctx, rows, seedLiveGoroutines, func(ctx context.Context, n int) error {
		r := seedResult(n)
		ok, err := store.ClaimAttempt(ctx, campaign.AttemptRef{CampaignID: id, ContactID: n, Attempt: 1}, "bench-webhooks", seedAudit)
		if err == nil && !ok {
			err = errors.New("already claimed")
		}
		if err == nil {
			_, err = store.RecordCall(ctx, campaign.AttemptRef{CampaignID: id, ContactID: n, Attempt: 1}, r.CallID, "", r.StartedAt)
		}
		if err != nil {
			return fmt.Errorf("contact %d: %w", n, err)
		}
		return nil
	})
}

// posted is what the throughput measure's clients saw.
type posted struct {
	all, reports []time.Duration // the latency of every event, and of end-of-call-reports
	wall         time.Duration   // from the first send to the last answer
}

// postEvents sends the server messages of calls 1..calls of campaign id (renderHookEvents)
// to url with the secret, from clients keep-alive connections at once. Client i sends the
// events of calls i+1, i+1+clients, …, hookWindow calls at a time, interleaved; each
// request waits for the answer before the next. Any answer but a 2xx, or a failed request,
// stops every client and is returned as the error.
func postEvents(ctx context.Context, url, secret, id string, calls, clients int) (*posted, error) {
	tr := &http.Transport{MaxIdleConns: clients, MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients,
		IdleConnTimeout: time.Minute, DisableCompression: true}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	all := make([][]time.Duration, clients)
	reports := make([][]time.Duration, clients)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range clients {
		wg.Go(func() {
			mine := (calls - i + clients - 1) / clients
			all[i] = make([]time.Duration, 0, mine*len(hookEventTypes))
			reports[i] = make([]time.Duration, 0, mine)
			for first := i + 1; first <= calls; first += clients * hookWindow {
				var window []int
				for n := first; n <= calls && len(window) < hookWindow; n += clients {
					window = append(window, n)
				}
				bodies := make([][len(hookEventTypes)][]byte, len(window))
				for j, n := range window {
					bodies[j] = renderHookEvents(id, n)
				}
				for ev := range hookEventTypes {
					for j, n := range window {
						d, err := postEvent(ctx, hc, url, secret, bodies[j][ev])
						if err != nil {
							cancel(fmt.Errorf("POST the %s of call %d (event %d of 4): %w", hookEventTypes[ev], n, ev+1, err))
							return
						}
						all[i] = append(all[i], d)
						if ev == hookReport {
							reports[i] = append(reports[i], d)
						}
					}
				}
			}
		})
	}
	wg.Wait()
	p := &posted{wall: time.Since(start)}
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	for i := range clients {
		p.all = append(p.all, all[i]...)
		p.reports = append(p.reports, reports[i]...)
	}
	return p, nil
}

// postEvent POSTs one server message with the secret and returns how long the answer took,
// from sending to the end of its body. An answer outside 2xx is an error naming its status
// and body.
func postEvent(ctx context.Context, hc *http.Client, url, secret string, body []byte) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(interactly.SecretHeader, secret)
	start := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	reply, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	d := time.Since(start)
	if err != nil {
		return d, fmt.Errorf("read the answer: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return d, fmt.Errorf("dialer serve answered %s: %s", resp.Status, bytes.TrimSpace(reply))
	}
	return d, nil
}

// verifyRecorded checks that attempt 1 of every contact 1..rows of campaign id is done with
// wantHookResult(n), read with Store.Attempt from seedLiveGoroutines goroutines, and that no
// call is counted live any more.
func verifyRecorded(ctx context.Context, store *campaign.Store, id string, rows int) error {
	err := forEachContact(ctx, rows, seedLiveGoroutines, func(ctx context.Context, n int) error {
		rec, err := store.Attempt(ctx, campaign.AttemptRef{CampaignID: id, ContactID: n, Attempt: 1})
		if err != nil {
			return err
		}
		got, want := normalizeResult(rec.Result), normalizeResult(wantHookResult(n))
		if rec.State != campaign.AttemptDone || got != want {
			return fmt.Errorf("attempt %s/%d/1 after its end-of-call-report: state %q, result\n  %+v\nwant done with\n  %+v", id, n, rec.State, got, want)
		}
		return nil
	})
	if err != nil {
		return err
	}
	st, err := store.Status(ctx, id)
	if err != nil {
		return err
	}
	if st.LiveCalls != 0 {
		return fmt.Errorf("campaign %s: %d calls still counted live after every end-of-call-report was recorded", id, st.LiveCalls)
	}
	return nil
}

// normalizeResult returns r with its times in UTC and without monotonic readings, so that
// results compare with ==.
func normalizeResult(r campaign.Result) campaign.Result {
	r.StartedAt, r.EndedAt = r.StartedAt.UTC().Round(0), r.EndedAt.UTC().Round(0)
	return r
}

// scrapeRecordHistogram scrapes serve's /metrics until its recordMetric histogram counts at
// least want observations (the receiver's counts reach Redis once a second) or 10 s have
// passed, and returns the histogram.
func scrapeRecordHistogram(ctx context.Context, srv *serveProc, want int) ([]bucket, uint64, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		text, err := srv.scrape(ctx)
		if err != nil {
			return nil, 0, err
		}
		buckets, count, err := parseHistogram(text, recordMetric)
		if err != nil {
			return nil, 0, fmt.Errorf("GET /metrics of dialer serve: %w", err)
		}
		if count >= uint64(want) {
			return buckets, count, nil
		}
		if time.Now().After(deadline) {
			return nil, 0, fmt.Errorf("GET /metrics of dialer serve: %s counts %d end-of-call-reports 10 s after the last was answered, want %d", recordMetric, count, want)
		}
		select {
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// webhookThroughput measures the events per second one `dialer serve` accepts and their
// latency: it seeds --webhook-calls live calls (uploadDirect, seedLive), posts each call's
// four server messages from --webhook-clients clients (postEvents), checks every attempt is
// recorded with its report's result (verifyRecorded), and reads serve's own record-latency
// histogram from /metrics.
func (b *bench) webhookThroughput(ctx context.Context, rdb *redis.Client, srv *serveProc, secret string) ([]lab.Figure, error) {
	calls, clients := b.cfg.webhookCalls, b.cfg.webhookClients
	store := campaign.NewStore(rdb)
	b.Progress("webhooks: seeding %s live calls", lab.Thousands(calls))
	spec := lab.Campaign{Name: "bench-webhooks", CPS: 1, MaxLive: 10, Poll: 5 * time.Second, AnalysisWait: 30 * time.Second}
	c, err := uploadDirect(ctx, store, spec, calls)
	if err != nil {
		return nil, err
	}
	if err := checkUploaded(ctx, rdb, c.ID, calls, false); err != nil {
		return nil, err
	}
	if err := seedLive(ctx, store, c.ID, calls); err != nil {
		return nil, fmt.Errorf("seed live calls of campaign %s: %w", c.ID, err)
	}
	st, err := store.Status(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	if st.LiveCalls != calls {
		return nil, fmt.Errorf("campaign %s after seeding: %d live calls, want %d", c.ID, st.LiveCalls, calls)
	}

	events := calls * len(hookEventTypes)
	b.Progress("webhooks: posting %s events (%s calls × 4) from %d clients to dialer serve", lab.Thousands(events), lab.Thousands(calls), clients)
	redis0, err := redisCounters(ctx, rdb)
	if err != nil {
		return nil, err
	}
	serve0, ok1 := procCPU(srv.pid())
	bench0, ok2 := procCPU(os.Getpid())
	res, err := postEvents(ctx, srv.url(webhookPath), secret, c.ID, calls, clients)
	if err != nil {
		return nil, fmt.Errorf("webhooks: %w\n%s", err, strings.Join(srv.logLines(), "\n"))
	}
	serve1, ok3 := procCPU(srv.pid())
	bench1, ok4 := procCPU(os.Getpid())
	_, servePeak, rssOK := procRSS(srv.pid())
	redis1, err := redisCounters(ctx, rdb)
	if err != nil {
		return nil, err
	}
	used := redis1.since(redis0)
	rate := float64(events) / res.wall.Seconds()
	b.Progress("webhooks: %s events in %s (%s/s); checking every attempt", lab.Thousands(events), res.wall.Round(10*time.Millisecond), lab.Thousands(int(rate)))
	if err := verifyRecorded(ctx, store, c.ID, calls); err != nil {
		return nil, err
	}
	buckets, count, err := scrapeRecordHistogram(ctx, srv, calls)
	if err != nil {
		return nil, err
	}

	all, reports := summarize(res.all), summarize(res.reports)
	secs := res.wall.Seconds()
	setup := fmt.Sprintf("%s calls of one campaign, each claimed and its call recorded live beforehand; per call a status-update (ringing), a status-update (in-progress), a conversation-update of %d messages and an end-of-call-report with the analysis (%d-char summary, structured data), %d–%d bytes, in that order per call and calls interleaved, POSTed with the secret from %d keep-alive clients, each awaiting its answer",
		lab.Thousands(calls), hookMessages, len(seedResult(1).Summary), len(renderHookEvents(c.ID, 1)[0]), len(renderHookEvents(c.ID, 1)[hookReport]), clients)
	figs := []lab.Figure{{
		Measure: "webhooks: events one dialer serve accepts",
		Value:   fmt.Sprintf("%s events/s", lab.Thousands(int(rate))),
		Note: fmt.Sprintf("events ÷ the %.1f s from the first POST to the last answer, every answer 2xx (any other fails the bench), then every attempt read back with Store.Attempt: done with its report's outcome, call, times, analysis, cost and recording, and no call left live; %s; the clients run in this bench, on the same %d cores as serve and Redis",
			secs, setup, runtime.NumCPU()),
	}, {
		Measure: "webhooks: latency of every event",
		Value:   all.String(),
		Note:    fmt.Sprintf("from the POST to the end of the answer at the client, over all %s events", lab.Thousands(all.n)),
	}, {
		Measure: "webhooks: end-of-call-report to recorded outcome",
		Value:   reports.String(),
		Target:  "p99 < " + targetMillis(recordTarget),
		Met:     verdict(reports.p99 < recordTarget),
		Note:    fmt.Sprintf("the latency of the %s end-of-call-reports alone: serve answers once the result is recorded in Redis and announced to the workers, so this bounds the time from the report to the recorded outcome", lab.Thousands(reports.n)),
	}}
	bound, _ := quantileBound(buckets, count, 0.99)
	figs = append(figs, lab.Figure{
		Measure: "webhooks: serve's own p99 record time",
		Value:   "≤ " + trimFloat(1000*bound) + " ms",
		Target:  "p99 < " + targetMillis(recordTarget),
		Met:     verdict(bound < recordTarget.Seconds()),
		Note: fmt.Sprintf("the upper bound of the bucket of %s (GET /metrics of dialer serve) holding the 99th percentile of its %s observations: from a report's arrival to its result recorded, inside serve",
			recordMetric, lab.Thousands(int(count))),
	})
	cpu := lab.Figure{Measure: "webhooks: dialer serve CPU", Value: "n/a (Linux only)",
		Note: "user + system time of the serve process (/proc/PID/stat) over the POSTs ÷ their wall time"}
	if ok1 && ok2 && ok3 && ok4 {
		serveCores := (serve1 - serve0).Seconds() / secs
		cpu.Value = fmt.Sprintf("%.0f%% of a core: ≈ %s events/s per core", 100*serveCores, lab.Thousands(int(rate/serveCores)))
		cpu.Note += fmt.Sprintf("; meanwhile this bench's clients, rendering and posting the events, used %.0f%% and redis-server %.0f%%, of the machine's %d cores",
			100*(bench1-bench0).Seconds()/secs, 100*used.cpu/secs, runtime.NumCPU())
	}
	rss := lab.Figure{Measure: "webhooks: dialer serve peak RSS", Value: "n/a (Linux only)",
		Note: "VmHWM of the serve process after the POSTs; MB of 10^6 bytes"}
	if rssOK {
		rss.Value = fmt.Sprintf("%.1f MB", float64(servePeak)/1e6)
	}
	figs = append(figs, cpu, rss, lab.Figure{
		Measure: "webhooks: Redis commands per event",
		Value:   fmt.Sprintf("%.2f (%.1f per call)", float64(used.commands)/float64(events), float64(used.commands)/float64(calls)),
		Note:    "INFO stats total_commands_processed over the POSTs ÷ events, every client's: the end-of-call-report's record script, counted as its EVALSHA and each command it runs (status-updates that do not end the call, and conversation-updates, touch no Redis), serve's once-a-second metrics flush and its notification queue's polling",
	})
	return figs, nil
}

// pooledClient is an HTTP client that keeps up to 64 idle connections to one host, as many
// as the simulator posts at once, instead of net/http's default 2.
func pooledClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConns: 64, MaxIdleConnsPerHost: 64, IdleConnTimeout: time.Minute}}
}

// targetMillis formats a target in whole milliseconds, e.g. "50 ms".
func targetMillis(d time.Duration) string {
	return trimFloat(float64(d)/float64(time.Millisecond)) + " ms"
}

// checkHooks returns an error when the simulator failed to deliver a server message.
func checkHooks(name string, st simulator.WebhookStats) error {
	failed := 0
	for _, n := range st.Failed {
		failed += n
	}
	if failed > 0 {
		return fmt.Errorf("%s: %d server messages not accepted by dialer serve; the last: %s", name, failed, st.LastError)
	}
	return nil
}
