package main

import (
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/interactly"
	"github.com/dialerhq/dialer/internal/lab"
	"github.com/dialerhq/dialer/internal/webhook"
	"github.com/dialerhq/dialer/internal/worker"
	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
)

// durations returns the durations of ns milliseconds each.
func durations(ns ...int) []time.Duration {
	d := make([]time.Duration, len(ns))
	for i, n := range ns {
		d[i] = time.Duration(n) * time.Millisecond
	}
	return d
}

func TestPercentile(t *testing.T) {
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{name: "empty", sorted: nil, p: 99, want: 0},
		{name: "one value", sorted: durations(7), p: 50, want: 7 * time.Millisecond},
		{name: "p50 of 1..100", sorted: durations(hundred...), p: 50, want: 50 * time.Millisecond},
		{name: "p99 of 1..100", sorted: durations(hundred...), p: 99, want: 99 * time.Millisecond},
		{name: "p100 of 1..100", sorted: durations(hundred...), p: 100, want: 100 * time.Millisecond},
		{name: "p99 of three is the largest", sorted: durations(1, 2, 30), p: 99, want: 30 * time.Millisecond},
		{name: "p50 of four is the second", sorted: durations(1, 2, 3, 4), p: 50, want: 2 * time.Millisecond},
		{name: "tiny p is the smallest", sorted: durations(5, 6), p: 0.001, want: 5 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("percentile(%v, %v) = %v, want %v", tt.sorted, tt.p, got, tt.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	// 200 values, unsorted: a negative one, 196 of 1 ms, two of 40 ms and one of 90 ms. The
	// 198th smallest is the p99.
	d := durations(90)
	for range 196 {
		d = append(d, time.Millisecond)
	}
	d = append(d, durations(40, 40, -2)...)
	got := summarize(d)
	want := latencies{n: 200, p50: time.Millisecond, p99: 40 * time.Millisecond, max: 90 * time.Millisecond}
	if got != want {
		t.Errorf("summarize = %+v, want %+v", got, want)
	}
	if s := got.String(); s != "p50 1.0 ms, p99 40.0 ms, max 90.0 ms" {
		t.Errorf("String() = %q", s)
	}
	if got := summarize(nil); got != (latencies{}) {
		t.Errorf("summarize(nil) = %+v, want zero", got)
	}
}

// exposition is a /metrics answer as internal/metrics writes it, around the record histogram.
const exposition = `# HELP dialer_webhook_events_total Webhook events accepted, by type.
# TYPE dialer_webhook_events_total counter
dialer_webhook_events_total{type="end-of-call-report"} 1000
# HELP dialer_webhook_record_seconds Seconds from an end-of-call-report's arrival to its outcome being recorded.
# TYPE dialer_webhook_record_seconds histogram
dialer_webhook_record_seconds_bucket{le="0.005"} 700
dialer_webhook_record_seconds_bucket{le="0.01"} 950
dialer_webhook_record_seconds_bucket{le="0.025"} 989
dialer_webhook_record_seconds_bucket{le="0.05"} 995
dialer_webhook_record_seconds_bucket{le="0.1"} 1000
dialer_webhook_record_seconds_bucket{le="+Inf"} 1000
dialer_webhook_record_seconds_sum 4.25
dialer_webhook_record_seconds_count 1000
# HELP dialer_webhook_record_seconds_other A metric whose name starts like it.
dialer_webhook_record_seconds_other 5
`

func TestParseHistogram(t *testing.T) {
	buckets, count, err := parseHistogram(exposition, recordMetric)
	if err != nil {
		t.Fatal(err)
	}
	want := []bucket{{0.005, 700}, {0.01, 950}, {0.025, 989}, {0.05, 995}, {0.1, 1000}, {math.Inf(1), 1000}}
	if diff := cmp.Diff(want, buckets, cmp.AllowUnexported(bucket{})); diff != "" {
		t.Errorf("buckets (-want +got):\n%s", diff)
	}
	if count != 1000 {
		t.Errorf("count = %d, want 1000", count)
	}

	// Out of order, with a timestamp after a value.
	shuffled := "h_bucket{le=\"+Inf\"} 3\nh_bucket{le=\"1\"} 2 1700000000000\nh_count 3\n"
	buckets, count, err = parseHistogram(shuffled, "h")
	if err != nil || count != 3 || len(buckets) != 2 || buckets[0] != (bucket{1, 2}) {
		t.Errorf("parseHistogram(shuffled) = %v, %d, %v; want le 1 first, count 3", buckets, count, err)
	}

	for _, tt := range []struct{ name, text, wantErr string }{
		{"absent", "other_count 3\n", `no le="+Inf" bucket`},
		{"no +Inf", "h_bucket{le=\"1\"} 2\nh_count 2\n", `no le="+Inf" bucket`},
		{"no count", "h_bucket{le=\"+Inf\"} 2\n", "no h_count"},
		{"more labels", "h_bucket{le=\"1\",campaign=\"c\"} 2\nh_bucket{le=\"+Inf\"} 2\nh_count 2\n", "want only an le label"},
		{"bad bound", "h_bucket{le=\"soon\"} 2\nh_count 2\n", `bucket bound "soon"`},
		{"bad value", "h_bucket{le=\"+Inf\"} many\nh_count 2\n", "is not a count"},
		{"negative count", "h_bucket{le=\"+Inf\"} 2\nh_count -1\n", "is not a count"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := parseHistogram(tt.text, "h"); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseHistogram = %v, want an error with %q", err, tt.wantErr)
			}
		})
	}
}

func TestQuantileBound(t *testing.T) {
	buckets, count, err := parseHistogram(exposition, recordMetric)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		buckets []bucket
		count   uint64
		q       float64
		want    float64
		wantOK  bool
	}{
		{name: "median in the first bucket", buckets: buckets, count: count, q: 0.5, want: 0.005, wantOK: true},
		{name: "p95 exactly fills the second", buckets: buckets, count: count, q: 0.95, want: 0.01, wantOK: true},
		{name: "p99 one past the third", buckets: buckets, count: count, q: 0.99, want: 0.05, wantOK: true},
		{name: "p100", buckets: buckets, count: count, q: 1, want: 0.1, wantOK: true},
		{name: "beyond the last bound", buckets: []bucket{{0.1, 98}, {math.Inf(1), 100}}, count: 100, q: 0.99, want: math.Inf(1), wantOK: true},
		{name: "count above every bucket", buckets: []bucket{{0.1, 5}}, count: 10, q: 0.9, want: math.Inf(1), wantOK: true},
		{name: "no observations", buckets: []bucket{{math.Inf(1), 0}}, count: 0, q: 0.99, want: 0, wantOK: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := quantileBound(tt.buckets, tt.count, tt.q)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("quantileBound(q %v) = %v, %t; want %v, %t", tt.q, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestServeAddr(t *testing.T) {
	logs := "time=… level=WARN msg=something\ndialer serve on 127.0.0.1:41234: POST /webhooks/interactly, GET /healthz, GET /metrics, /monitoring/\n"
	if got := serveAddr(logs); got != "127.0.0.1:41234" {
		t.Errorf("serveAddr = %q, want 127.0.0.1:41234", got)
	}
	if got := serveAddr("time=… level=INFO msg=serving\n"); got != "" {
		t.Errorf("serveAddr before the line = %q, want empty", got)
	}
}

func TestContactE164(t *testing.T) {
	for _, i := range []int{0, 1, 2, 3, 4, len(areaCodes), 5 * len(areaCodes), maxContacts - 1} {
		if got, want := contactE164(i), mustNormalize(t, contactNumber(i)); got != want {
			t.Errorf("contactE164(%d) = %s, want %s (contactNumber %q)", i, got, want, contactNumber(i))
		}
	}
}

// TestWebhookEvents sends the generated server messages of a campaign's live calls through
// postEvents to the real webhook receiver, and checks that they are the server messages
// Interactly sends, in order, and that verifyRecorded finds every attempt recorded; and that
// it does not when a report is missing, nor postEvents succeed with the wrong secret.
func TestWebhookEvents(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: miniredis.RunT(t).Addr()})
	defer rdb.Close()
	store := campaign.NewStore(rdb)
	ctx := t.Context()
	const calls, clients = 37, 3 // windows of hookWindow calls, the last ones short
	spec := lab.Campaign{Name: "bench-webhooks", CPS: 1, MaxLive: 10, Poll: 5 * time.Second, AnalysisWait: 30 * time.Second}
	c := mustUploadGenerated(t, store, spec, calls)
	if err := seedLive(ctx, store, c.ID, calls); err != nil {
		t.Fatal(err)
	}
	if err := seedLive(ctx, store, c.ID, 1); err == nil || !strings.Contains(err.Error(), "already claimed") {
		t.Errorf("seedLive again = %v, want an error: already claimed", err)
	}
	if err := verifyRecorded(ctx, store, c.ID, calls); err == nil || !strings.Contains(err.Error(), `state "live"`) {
		t.Errorf("verifyRecorded before any report = %v, want an error about a live attempt", err)
	}

	// The events are server messages of the right types, in order, of contact n's call.
	ev := renderHookEvents(c.ID, 5)
	var types []string
	for i, body := range ev {
		m, err := interactly.ParseServerMessage(body)
		if err != nil {
			t.Fatalf("event %d: %v\n%s", i, err, body)
		}
		types = append(types, m.Type)
		if m.Call.ID != seedResult(5).CallID || fmt.Sprint(m.Call.Metadata["contactId"]) != "5" || m.Call.Metadata["campaignId"] != c.ID {
			t.Errorf("event %d is of call %s, metadata %v", i, m.Call.ID, m.Call.Metadata)
		}
		if ended := m.Call.Ended(); ended != (i == hookReport) {
			t.Errorf("event %d (%s): call ended = %t", i, m.Type, ended)
		}
		if i >= 2 && len(m.Messages) != hookMessages {
			t.Errorf("event %d (%s): %d messages, want %d", i, m.Type, len(m.Messages), hookMessages)
		}
	}
	if diff := cmp.Diff(hookEventTypes[:], types); diff != "" {
		t.Errorf("event types (-want +got):\n%s", diff)
	}
	if got := worker.ResultOf(mustParse(t, ev[hookReport]).FinalCall()); normalizeResult(got) != normalizeResult(wantHookResult(5)) {
		t.Errorf("the report's result:\n  %+v\nwant\n  %+v", got, wantHookResult(5))
	}

	// Through the receiver: every event 2xx, every attempt recorded.
	const secret = "whsec-bench-test"
	h, err := webhook.New(webhook.Config{Store: store, Secret: secret, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	if _, err := postEvents(ctx, srv.URL, "wrong", c.ID, calls, clients); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("postEvents with the wrong secret = %v, want an error with 401", err)
	}
	res, err := postEvents(ctx, srv.URL, secret, c.ID, calls-1, clients)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.all) != (calls-1)*len(hookEventTypes) || len(res.reports) != calls-1 || res.wall <= 0 {
		t.Errorf("posted %d events, %d reports in %v; want %d and %d", len(res.all), len(res.reports), res.wall, (calls-1)*4, calls-1)
	}
	// The last call's report never came.
	if err := verifyRecorded(ctx, store, c.ID, calls); err == nil || !strings.Contains(err.Error(), "/37/1") {
		t.Errorf("verifyRecorded with contact 37 unreported = %v, want an error about it", err)
	}
	if err := verifyRecorded(ctx, store, c.ID, calls-1); err == nil || !strings.Contains(err.Error(), "still counted live") {
		t.Errorf("verifyRecorded of the reported calls with one still live = %v, want an error about it", err)
	}
	if _, err := postEvents(ctx, srv.URL, secret, c.ID, calls, clients); err != nil {
		t.Fatal(err)
	}
	if err := verifyRecorded(ctx, store, c.ID, calls); err != nil {
		t.Error(err)
	}
}

// TestPostEventsOrder checks that one client sends each call's events in order, with the
// calls of a window interleaved.
func TestPostEventsOrder(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		m, err := interactly.ParseServerMessage(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, fmt.Sprintf("%.3s:%v", m.Type, m.Call.Metadata["contactId"]))
		mu.Unlock()
	}))
	defer srv.Close()
	if _, err := postEvents(t.Context(), srv.URL, "s", "c1", hookWindow+1, 1); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{
		"sta:1", "sta:2", "sta:3", "sta:4", "sta:1", "sta:2", "sta:3", "sta:4",
		"con:1", "con:2", "con:3", "con:4", "end:1", "end:2", "end:3", "end:4",
		"sta:5", "sta:5", "con:5", "end:5",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("order of events (-want +got):\n%s", diff)
	}
}

func mustParse(tb testing.TB, body []byte) *interactly.ServerMessage {
	tb.Helper()
	m, err := interactly.ParseServerMessage(body)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// TestReportClock checks that the proxy forwards every event with its secret, answers with
// the target's answer, and notes the arrival of end-of-call-reports only.
func TestReportClock(t *testing.T) {
	var mu sync.Mutex
	var secrets []string
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		secrets = append(secrets, r.Header.Get(interactly.SecretHeader))
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	defer target.Close()
	var ticks atomic.Int64
	arrival := func() time.Time { return t0.Add(time.Duration(ticks.Add(1)) * time.Second) }
	clock := &reportClock{target: target.URL, client: pooledClient(), now: arrival, sent: map[int]time.Time{}}
	proxy := httptest.NewServer(clock)
	defer proxy.Close()

	ev := renderHookEvents("c1", 3)
	for _, body := range ev {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, proxy.URL, strings.NewReader(string(body)))
		req.Header.Set(interactly.SecretHeader, "s3")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		reply, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted || string(reply) != `{"ok":true}` {
			t.Errorf("answer %d %q, want the target's 202", resp.StatusCode, reply)
		}
	}
	mu.Lock()
	if diff := cmp.Diff([]string{"s3", "s3", "s3", "s3"}, secrets); diff != "" {
		t.Errorf("secrets forwarded (-want +got):\n%s", diff)
	}
	mu.Unlock()
	at, ok := clock.sentAt(3)
	// The fourth event is contact 3's end-of-call-report: the clock's fourth reading.
	if want := t0.Add(4 * time.Second); !ok || !at.Equal(want) {
		t.Errorf("sentAt(3) = %v, %t; want the report's arrival, %v", at, ok, want)
	}
	clock.mu.Lock()
	if len(clock.sent) != 1 {
		t.Errorf("noted %d arrivals, want the one report's", len(clock.sent))
	}
	clock.mu.Unlock()

	target.Close()
	resp, err := http.Post(proxy.URL, "application/json", strings.NewReader(string(ev[0])))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("with the target down: %d, want 502", resp.StatusCode)
	}
}
