package metrics

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/campaign/campaigntest"
	"github.com/dialerhq/dialer/internal/redistest"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// testDB is this package's Redis test database (see package redistest).
const testDB = 12

func setup(tb testing.TB) (*redis.Client, *campaign.Store) {
	tb.Helper()
	rdb, _ := redistest.Setup(tb, testDB)
	return rdb, campaign.NewStore(rdb)
}

// nopEnqueuer accepts every dial task and keeps none: the tests read the store, not a queue.
type nopEnqueuer struct{}

func (nopEnqueuer) EnqueueDial(context.Context, campaign.AttemptRef, time.Time) error { return nil }

// contactsCSV has 5 rows: 1 and 4 dialable, 2 and 5 invalid, 3 a duplicate of 1.
const contactsCSV = "First Name,phone,note\r\n" +
	"Ann,(415) 555-0101,\r\n" +
	"Bob,not a number,\r\n" +
	"Cy,+1 415 555 0101,same as Ann\r\n" +
	"Di,415.555.0102,\r\n" +
	"Ed,415-555-0103\r\n"

// seedCampaign uploads contactsCSV as a new campaign.
func seedCampaign(tb testing.TB, store *campaign.Store) *campaign.Campaign {
	tb.Helper()
	open := func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(contactsCSV)), nil }
	c, err := store.Upload(context.Background(), campaigntest.File(tb, ""), "contacts.csv", open, nopEnqueuer{}, campaign.UploadOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// mustFlush flushes each recorder.
func mustFlush(tb testing.TB, recs ...*Recorder) {
	tb.Helper()
	for _, r := range recs {
		if err := r.Flush(context.Background()); err != nil {
			tb.Fatal(err)
		}
	}
}

// mustHashes reads each key's hash, key -> field -> value; a key that does not exist (Redis
// keeps no empty hash) is left out.
func mustHashes(tb testing.TB, rdb *redis.Client, keys ...string) map[string]map[string]string {
	tb.Helper()
	out := map[string]map[string]string{}
	for _, key := range keys {
		m, err := rdb.HGetAll(context.Background(), key).Result()
		if err != nil {
			tb.Fatal(err)
		}
		if len(m) > 0 {
			out[key] = m
		}
	}
	return out
}

// serve starts Handler(c) on a loopback test server and returns its /metrics URL.
func serve(tb testing.TB, c *Collector) string {
	tb.Helper()
	srv := httptest.NewServer(Handler(c))
	tb.Cleanup(srv.Close)
	return srv.URL + "/metrics"
}

// mustScrape GETs url and returns the status code and body.
func mustScrape(tb testing.TB, url string) (int, string) {
	tb.Helper()
	resp, err := http.Get(url)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// samples parses a text exposition into series -> value, e.g.
// `dialer_dials_total{campaign="c1"}` -> "3", keeping the series whose metric name starts
// with one of prefixes.
func samples(tb testing.TB, body string, prefixes ...string) map[string]string {
	tb.Helper()
	out := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			tb.Fatalf("exposition line without a value: %q", line)
		}
		series, value := line[:i], line[i+1:]
		for _, p := range prefixes {
			if strings.HasPrefix(series, p) {
				out[series] = value
				break
			}
		}
	}
	return out
}

// mustScrapeSamples scrapes url, fails unless it answers 200, and returns samples(prefixes).
func mustScrapeSamples(tb testing.TB, url string, prefixes ...string) map[string]string {
	tb.Helper()
	code, body := mustScrape(tb, url)
	if code != http.StatusOK {
		tb.Fatalf("GET %s: %d\n%s", url, code, body)
	}
	return samples(tb, body, prefixes...)
}

// newFailingClient returns a second client of rdb's database whose commands fail (with
// redistest.ErrUnreachable) while the outage's Down is set.
func newFailingClient(tb testing.TB, rdb *redis.Client) (*redis.Client, *redistest.Outage) {
	tb.Helper()
	c := redistest.NewClient(tb, rdb)
	outage := &redistest.Outage{}
	c.AddHook(outage)
	return c, outage
}

// mustEnqueue enqueues a task of type t to queue q and returns its ID.
func mustEnqueue(tb testing.TB, client *asynq.Client, q, t string, opts ...asynq.Option) string {
	tb.Helper()
	info, err := client.Enqueue(asynq.NewTask(t, nil), append([]asynq.Option{asynq.Queue(q)}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	return info.ID
}
