package metrics

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/campaign/campaigntest"
	"github.com/dialerhq/dialer/internal/redistest"
	"github.com/google/go-cmp/cmp"
	"github.com/hibiken/asynq"
)

func TestScrapeShowsFleetTotals(t *testing.T) {
	rdb, store := setup(t)
	c := seedCampaign(t, store)
	// Two processes, as a worker and a serve replica would be.
	worker, replica := NewRecorder(rdb), NewRecorder(rdb)

	worker.Dial(c.ID)
	worker.Dial(c.ID)
	replica.Dial(c.ID)
	worker.Dial("gone") // a campaign the store does not list: left out of the scrape
	worker.RateLimitWait(c.ID, 1500*time.Millisecond)
	replica.RateLimitWait(c.ID, 250*time.Millisecond)
	worker.APIError(OpConnect, 429)
	replica.APIError(OpConnect, 429)
	replica.APIError(OpGet, 0)
	worker.APIError("delete", 503)
	worker.PollFallback(c.ID)
	replica.WebhookEvent("end-of-call-report")
	replica.WebhookEvent("end-of-call-report")
	replica.WebhookEvent("transcript")
	worker.WebhookEvent("status-update")
	replica.WebhookRejected(RejectUnauthorized)
	replica.WebhookRejected("Bad Reason!")
	mustFlush(t, worker, replica)

	url := serve(t, NewCollector(rdb, store, nil))
	want := map[string]string{
		`dialer_dials_total{campaign="` + c.ID + `"}`:                   "3",
		`dialer_rate_limit_waits_total{campaign="` + c.ID + `"}`:        "2",
		`dialer_rate_limit_wait_seconds_total{campaign="` + c.ID + `"}`: "1.75",
		`dialer_api_errors_total{op="connect",status="429"}`:            "2",
		`dialer_api_errors_total{op="get",status="0"}`:                  "1",
		`dialer_api_errors_total{op="other",status="503"}`:              "1",
		`dialer_poll_fallbacks_total{campaign="` + c.ID + `"}`:          "1",
		`dialer_webhook_events_total{type="end-of-call-report"}`:        "2",
		`dialer_webhook_events_total{type="other"}`:                     "1",
		`dialer_webhook_events_total{type="status-update"}`:             "1",
		`dialer_webhook_rejected_total{reason="other"}`:                 "1",
		`dialer_webhook_rejected_total{reason="unauthorized"}`:          "1",
	}
	prefixes := []string{
		"dialer_dials_total", "dialer_rate_limit_wait", "dialer_api_errors_total",
		"dialer_poll_fallbacks_total", "dialer_webhook_events_total", "dialer_webhook_rejected_total",
	}
	if diff := cmp.Diff(want, mustScrapeSamples(t, url, prefixes...)); diff != "" {
		t.Errorf("scrape (-want +got):\n%s", diff)
	}

	// Another replica's handler shows the same; flushing again without events adds nothing.
	mustFlush(t, worker, replica)
	code, body := mustScrape(t, serve(t, NewCollector(rdb, store, nil)))
	if code != http.StatusOK {
		t.Fatalf("second replica: %d\n%s", code, body)
	}
	if diff := cmp.Diff(want, samples(t, body, prefixes...)); diff != "" {
		t.Errorf("second replica's scrape (-want +got):\n%s", diff)
	}
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total"} {
		if !strings.Contains(body, "\n"+name+" ") {
			t.Errorf("scrape has no %s", name)
		}
	}
	if strings.Contains(body, `campaign="gone"`) {
		t.Errorf("scrape shows a campaign the store does not list")
	}
}

func TestCampaignMetrics(t *testing.T) {
	rdb, store := setup(t)
	c := seedCampaign(t, store) // 5 rows: 1 and 4 dialable, 2 and 5 invalid, 3 duplicate
	ctx := t.Context()
	start := time.Date(2026, 11, 21, 17, 0, 0, 0, time.UTC)
	for _, n := range []int{1, 4} {
		ref := campaign.AttemptRef{CampaignID: c.ID, ContactID: n, Attempt: 1}
		campaigntest.Claim(t, store, ref, "w1")
		if _, err := store.RecordCall(ctx, ref, fmt.Sprintf("CC-%d", n), "", start); err != nil {
			t.Fatal(err)
		}
	}
	// Contact 4 ends busy; contact 1's call is still live.
	campaigntest.Finish(t, store, campaign.AttemptRef{CampaignID: c.ID, ContactID: 4, Attempt: 1}, campaign.Result{Outcome: campaign.OutcomeBusy, CallID: "CC-4"})
	if _, err := store.Finalize(ctx, c.ID, 4, campaign.OutcomeBusy, ""); err != nil {
		t.Fatal(err)
	}

	// A next attempt waits in the hopper: a wait, not a failure.
	if err := store.EnqueueDial(ctx, campaign.AttemptRef{CampaignID: c.ID, ContactID: 1, Attempt: 2}, start.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}

	want := map[string]string{
		`dialer_attempts_waiting{campaign="` + c.ID + `"}`: "1",
		`dialer_live_calls{campaign="` + c.ID + `"}`:       "1",
		`dialer_contacts{campaign="` + c.ID + `"}`:         "5",
		`dialer_attempts_total{campaign="` + c.ID + `"}`:   "2",
	}
	counts := map[campaign.Outcome]int{campaign.OutcomeBusy: 1, campaign.OutcomeInvalid: 2, campaign.OutcomeDuplicate: 1}
	for _, o := range campaign.Outcomes { // every known outcome, zeros included
		want[fmt.Sprintf("dialer_outcomes_total{campaign=%q,outcome=%q}", c.ID, o)] = strconv.Itoa(counts[o])
	}
	code, body := mustScrape(t, serve(t, NewCollector(rdb, store, nil)))
	if code != http.StatusOK {
		t.Fatalf("scrape: %d\n%s", code, body)
	}
	got := samples(t, body, "dialer_outcomes_total", "dialer_live_calls", "dialer_contacts", "dialer_attempts_total", "dialer_attempts_waiting")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("scrape (-want +got):\n%s", diff)
	}
	wantTypes := map[string]string{
		"dialer_outcomes_total": "counter", "dialer_live_calls": "gauge",
		"dialer_contacts": "gauge", "dialer_attempts_total": "counter", "dialer_attempts_waiting": "gauge",
	}
	for name, typ := range wantTypes {
		if !strings.Contains(body, "\n# TYPE "+name+" "+typ+"\n") {
			t.Errorf("%s is not of type %s", name, typ)
		}
	}
}

func TestOnlyTheMostRecentCampaigns(t *testing.T) {
	rdb, store := setup(t)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const n = MaxCampaigns + 2
	r := NewRecorder(rdb)
	for i := range n {
		id := fmt.Sprintf("c%03d", i)
		err := store.CreateCampaign(t.Context(), &campaign.Campaign{
			ID: id, File: *campaigntest.File(t, ""), Upload: campaign.UploadInProgress, CreatedAt: base.Add(time.Duration(i) * time.Minute),
		})
		if err != nil {
			t.Fatal(err)
		}
		r.Dial(id)
	}
	// A deleted campaign is no longer listed: its recorded dials are not shown either, and
	// one more old campaign moves into the window.
	if err := store.DeleteCampaign(t.Context(), "c050"); err != nil {
		t.Fatal(err)
	}
	// One caught halfway through DeleteCampaign (its keys gone, still listed) is left out
	// too, rather than failing the scrape.
	keys, err := rdb.Keys(t.Context(), "dialer:{c060}:*").Result()
	if err != nil || len(keys) == 0 {
		t.Fatalf("keys of c060 = %q, %v", keys, err)
	}
	if err := rdb.Del(t.Context(), keys...).Err(); err != nil {
		t.Fatal(err)
	}
	mustFlush(t, r)

	got := mustScrapeSamples(t, serve(t, NewCollector(rdb, store, nil)), "dialer_contacts", "dialer_dials_total")
	want := map[string]string{}
	for i := n - MaxCampaigns - 1; i < n; i++ { // c001 … c101 but c050
		if i == 50 {
			continue
		}
		id := fmt.Sprintf("c%03d", i)
		want[`dialer_dials_total{campaign="`+id+`"}`] = "1" // listed, so still reported
		if i != 60 {
			want[`dialer_contacts{campaign="`+id+`"}`] = "0"
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("scrape (-want +got):\n%s", diff)
	}
}

func TestHistogram(t *testing.T) {
	rdb, store := setup(t)
	a, b := NewRecorder(rdb), NewRecorder(rdb)
	// Binary fractions, so the sum is exact; bounds are inclusive (le).
	for _, d := range []time.Duration{0, -time.Second, 3906250 * time.Nanosecond} { // 2^-8 s
		a.WebhookRecordLatency(d) // le 0.005
	}
	b.WebhookRecordLatency(7812500 * time.Nanosecond) // 2^-7 s: le 0.01
	b.WebhookRecordLatency(250 * time.Millisecond)    // on the 0.25 bound
	a.WebhookRecordLatency(500 * time.Millisecond)    // on the 0.5 bound
	b.WebhookRecordLatency(time.Second)               // on the 1 bound
	a.WebhookRecordLatency(16 * time.Second)          // +Inf
	mustFlush(t, a, b)

	want := map[string]string{
		`dialer_webhook_record_seconds_bucket{le="0.005"}`: "3",
		`dialer_webhook_record_seconds_bucket{le="0.01"}`:  "4",
		`dialer_webhook_record_seconds_bucket{le="0.025"}`: "4",
		`dialer_webhook_record_seconds_bucket{le="0.05"}`:  "4",
		`dialer_webhook_record_seconds_bucket{le="0.1"}`:   "4",
		`dialer_webhook_record_seconds_bucket{le="0.25"}`:  "5",
		`dialer_webhook_record_seconds_bucket{le="0.5"}`:   "6",
		`dialer_webhook_record_seconds_bucket{le="1"}`:     "7",
		`dialer_webhook_record_seconds_bucket{le="2.5"}`:   "7",
		`dialer_webhook_record_seconds_bucket{le="5"}`:     "7",
		`dialer_webhook_record_seconds_bucket{le="10"}`:    "7",
		`dialer_webhook_record_seconds_bucket{le="+Inf"}`:  "8",
		`dialer_webhook_record_seconds_sum`:                "17.76171875",
		`dialer_webhook_record_seconds_count`:              "8",
	}
	url := serve(t, NewCollector(rdb, store, nil))
	code, body := mustScrape(t, url)
	if code != http.StatusOK {
		t.Fatalf("scrape: %d\n%s", code, body)
	}
	if diff := cmp.Diff(want, samples(t, body, "dialer_webhook_record_seconds")); diff != "" {
		t.Errorf("histogram (-want +got):\n%s", diff)
	}
	if !strings.Contains(body, "\n# TYPE dialer_webhook_record_seconds histogram\n") {
		t.Errorf("dialer_webhook_record_seconds is not a histogram:\n%s", body)
	}

	// A bucket stored under a bound no longer used counts under the next bound above it.
	if err := rdb.HIncrBy(t.Context(), webhookRecordKey(), "0.3", 2).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.HIncrBy(t.Context(), webhookRecordKey(), fieldCount, 2).Err(); err != nil {
		t.Fatal(err)
	}
	got := mustScrapeSamples(t, url, "dialer_webhook_record_seconds_bucket")
	for le, n := range map[string]string{"0.25": "5", "0.5": "8", "10": "9", "+Inf": "10"} {
		if s := `dialer_webhook_record_seconds_bucket{le="` + le + `"}`; got[s] != n {
			t.Errorf("%s = %q; want %s", s, got[s], n)
		}
	}
}

func TestEmptyRedis(t *testing.T) {
	rdb, store := setup(t)
	inspector := asynq.NewInspectorFromRedisClient(rdb)
	got := mustScrapeSamples(t, serve(t, NewCollector(rdb, store, inspector)), "dialer_")
	// Only the histogram, empty: no campaign, no counter, no queue yet.
	want := map[string]string{
		`dialer_webhook_record_seconds_sum`:   "0",
		`dialer_webhook_record_seconds_count`: "0",
	}
	for _, le := range []string{"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"} {
		want[`dialer_webhook_record_seconds_bucket{le="`+le+`"}`] = "0"
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("scrape of an empty Redis (-want +got):\n%s", diff)
	}
}

func TestQueueMetrics(t *testing.T) {
	rdb, store := setup(t)
	client := asynq.NewClientFromRedisClient(rdb)
	inspector := asynq.NewInspectorFromRedisClient(rdb)
	mustEnqueue(t, client, "dialer", "campaign:dial")
	toArchive := mustEnqueue(t, client, "dialer", "campaign:dial")
	mustEnqueue(t, client, "dialer", "campaign:dial", asynq.ProcessIn(time.Hour))
	mustEnqueue(t, client, "default", "other:task") // not a dialer queue: not reported
	if err := inspector.ArchiveTask("dialer", toArchive); err != nil {
		t.Fatal(err)
	}

	url := serve(t, NewCollector(rdb, store, inspector))
	// notify has no task yet, so no queue: absent, and the scrape still succeeds.
	want := map[string]string{
		`dialer_queue_tasks{queue="dialer",state="pending"}`:   "1",
		`dialer_queue_tasks{queue="dialer",state="active"}`:    "0",
		`dialer_queue_tasks{queue="dialer",state="scheduled"}`: "1",
		`dialer_queue_tasks{queue="dialer",state="retry"}`:     "0",
		`dialer_queue_tasks{queue="dialer",state="archived"}`:  "1",
	}
	if diff := cmp.Diff(want, mustScrapeSamples(t, url, "dialer_queue_tasks")); diff != "" {
		t.Errorf("queue sizes (-want +got):\n%s", diff)
	}

	mustEnqueue(t, client, "notify", "notify:send")
	want[`dialer_queue_tasks{queue="notify",state="pending"}`] = "1"
	for _, s := range []string{"active", "scheduled", "retry", "archived"} {
		want[`dialer_queue_tasks{queue="notify",state="`+s+`"}`] = "0"
	}
	if diff := cmp.Diff(want, mustScrapeSamples(t, url, "dialer_queue_tasks")); diff != "" {
		t.Errorf("queue sizes once notify exists (-want +got):\n%s", diff)
	}
}

func TestScrapeFailsWhenRedisFails(t *testing.T) {
	rdb, store := setup(t)
	seedCampaign(t, store)
	r := NewRecorder(rdb)
	r.Dial("c1")
	mustFlush(t, r)

	failing, hook := newFailingClient(t, rdb)
	hook.Down.Store(true)

	tests := []struct {
		name      string
		collector *Collector
		wantErr   string
	}{
		{"Campaigns", NewCollector(rdb, campaign.NewStore(failing), nil), "list campaigns in Redis"},
		{"Counters", NewCollector(failing, store, nil), "read counters from Redis"},
		{"Queues", NewCollector(rdb, store, asynq.NewInspectorFromRedisClient(failing)), "list asynq queues"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := mustScrape(t, serve(t, tt.collector))
			if code != http.StatusInternalServerError {
				t.Errorf("status %d; want 500", code)
			}
			if !strings.Contains(body, tt.wantErr) || !strings.Contains(body, redistest.ErrUnreachable.Error()) {
				t.Errorf("body does not name the failure (%q, %q):\n%s", tt.wantErr, redistest.ErrUnreachable, body)
			}
			if strings.Contains(body, "dialer_dials_total{") {
				t.Errorf("a failed scrape still served figures:\n%s", body)
			}
		})
	}
}
