package interactly

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// step is one scripted answer.
type step struct {
	status int
	header map[string]string
	body   string
	drop   bool // read the request, then close the connection without answering
}

// recorded is one request the scripted server received.
type recorded struct {
	method, path string
	query        url.Values
	header       http.Header
	body         string
}

// scripted answers each route ("POST /path") with its steps in order,
// repeating the last one, and records every request.
type scripted struct {
	mu    sync.Mutex
	steps map[string][]step
	seen  map[string]int
	got   []recorded
}

func newScripted(steps map[string][]step) *scripted {
	return &scripted{steps: steps, seen: map[string]int{}}
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	route := r.Method + " " + r.URL.Path
	s.mu.Lock()
	s.got = append(s.got, recorded{r.Method, r.URL.Path, r.URL.Query(), r.Header.Clone(), string(body)})
	steps := s.steps[route]
	n := s.seen[route]
	s.seen[route]++
	s.mu.Unlock()
	if len(steps) == 0 {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"detail":"Not Found"}`)
		return
	}
	st := steps[min(n, len(steps)-1)]
	if st.drop {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	for k, v := range st.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(st.status)
	fmt.Fprint(w, st.body)
}

func (s *scripted) count(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[route]
}

func (s *scripted) requests() []recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]recorded(nil), s.got...)
}

const (
	routeConnect = "POST /calls/v1/conversations/connect"
	routeList    = "GET /calls/v1/conversations"
	routeGet     = "GET /calls/v1/conversations/CC-1"
)

func ok(body string) step { return step{status: http.StatusOK, body: body} }

func status(code int) step {
	return step{status: code, body: fmt.Sprintf(`{"message":"%s"}`, http.StatusText(code))}
}

func TestGetCallRetries(t *testing.T) {
	call := ok(`{"id":"CC-1","status":"ongoing"}`)
	tests := []struct {
		name       string
		cfg        Config
		budget     time.Duration // the call's WithRetryBudget: 0 none, < 0 a zero budget
		steps      []step
		wantCalls  int
		wantSleeps []time.Duration
		wantErr    *APIError // nil for success; compared on Status, Retryable, RetryAfter
	}{
		{
			name:      "success at once",
			steps:     []step{call},
			wantCalls: 1,
		},
		{
			name:       "429 honours Retry-After seconds",
			steps:      []step{{status: 429, header: map[string]string{"Retry-After": "3"}}, call},
			wantCalls:  2,
			wantSleeps: []time.Duration{3 * time.Second},
		},
		{
			name:       "429 honours Retry-After date",
			steps:      []step{{status: 429, header: map[string]string{"Retry-After": epoch.Add(5 * time.Second).Format(http.TimeFormat)}}, call},
			wantCalls:  2,
			wantSleeps: []time.Duration{5 * time.Second},
		},
		{
			name:       "5xx retried with exponential backoff",
			steps:      []step{status(500), status(502), status(503), {status: 504, body: "<html>Gateway Time-out</html>"}, call},
			wantCalls:  5,
			wantSleeps: []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second},
		},
		{
			name:       "backoff capped by MaxDelay",
			cfg:        Config{MaxDelay: 700 * time.Millisecond},
			steps:      []step{status(503), status(503), status(503), status(503), call},
			wantCalls:  5,
			wantSleeps: []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, 700 * time.Millisecond, 700 * time.Millisecond},
		},
		{
			name:       "dropped connection retried",
			steps:      []step{{drop: true}, call},
			wantCalls:  2,
			wantSleeps: []time.Duration{250 * time.Millisecond},
		},
		{name: "400 not retried", steps: []step{status(400), call}, wantCalls: 1, wantErr: &APIError{Status: 400}},
		{name: "401 not retried", steps: []step{status(401), call}, wantCalls: 1, wantErr: &APIError{Status: 401}},
		{name: "403 not retried", steps: []step{status(403), call}, wantCalls: 1, wantErr: &APIError{Status: 403}},
		{name: "404 not retried", steps: []step{status(404), call}, wantCalls: 1, wantErr: &APIError{Status: 404}},
		{name: "422 not retried", steps: []step{status(422), call}, wantCalls: 1, wantErr: &APIError{Status: 422}},
		{
			name:       "budget exhausted",
			cfg:        Config{RetryBudget: 10 * time.Second},
			steps:      []step{status(503)},
			wantCalls:  6, // waits 0.25+0.5+1+2+4 = 7.75s; the next 8s would pass 10s
			wantSleeps: []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second},
			wantErr:    &APIError{Status: 503, Retryable: true},
		},
		{
			name:      "Retry-After beyond the budget",
			steps:     []step{{status: 429, header: map[string]string{"Retry-After": "600"}}, call},
			wantCalls: 1,
			wantErr:   &APIError{Status: 429, Retryable: true, RetryAfter: 10 * time.Minute},
		},
		{
			name:       "a context's shorter budget (WithRetryBudget)",
			budget:     time.Second,
			steps:      []step{status(503)},
			wantCalls:  3, // waits 0.25+0.5 = 0.75s; the next 1s would pass 1s
			wantSleeps: []time.Duration{250 * time.Millisecond, 500 * time.Millisecond},
			wantErr:    &APIError{Status: 503, Retryable: true},
		},
		{
			name:      "a context's budget ends before a Retry-After",
			budget:    time.Second,
			steps:     []step{{status: 429, header: map[string]string{"Retry-After": "3"}}, call},
			wantCalls: 1,
			wantErr:   &APIError{Status: 429, Retryable: true, RetryAfter: 3 * time.Second},
		},
		{
			name:       "a context's longer budget is the config's",
			cfg:        Config{RetryBudget: 10 * time.Second},
			budget:     time.Hour,
			steps:      []step{status(503)},
			wantCalls:  6,
			wantSleeps: []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second},
			wantErr:    &APIError{Status: 503, Retryable: true},
		},
		{
			name:      "a context's zero budget never retries",
			budget:    -1,
			steps:     []step{status(503), call},
			wantCalls: 1,
			wantErr:   &APIError{Status: 503, Retryable: true},
		},
		{
			name:      "negative budget never retries",
			cfg:       Config{RetryBudget: -1},
			steps:     []step{status(503), call},
			wantCalls: 1,
			wantErr:   &APIError{Status: 503, Retryable: true},
		},
		{
			name:      "unreadable 200 not retried",
			steps:     []step{ok(`{"id":`), call},
			wantCalls: 1,
			wantErr:   &APIError{Status: 200},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newScripted(map[string][]step{routeGet: tt.steps})
			c, clock := setup(t, srv, tt.cfg)
			ctx := context.Background()
			if tt.budget != 0 {
				ctx = WithRetryBudget(ctx, max(tt.budget, 0))
			}
			got, err := c.GetCall(ctx, "CC-1")
			if n := srv.count(routeGet); n != tt.wantCalls {
				t.Errorf("server saw %d requests, want %d", n, tt.wantCalls)
			}
			if diff := cmp.Diff(tt.wantSleeps, clock.Sleeps()); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("GetCall: %v", err)
				}
				if got.ID != "CC-1" {
					t.Errorf("call id %q, want CC-1", got.ID)
				}
				return
			}
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("error %v is not an *APIError", err)
			}
			gotErr := APIError{Status: apiErr.Status, Retryable: apiErr.Retryable, RetryAfter: apiErr.RetryAfter}
			wantErr := APIError{Status: tt.wantErr.Status, Retryable: tt.wantErr.Retryable, RetryAfter: tt.wantErr.RetryAfter}
			if diff := cmp.Diff(wantErr, gotErr, cmp.AllowUnexported(APIError{})); diff != "" {
				t.Errorf("APIError (-want +got):\n%s", diff)
			}
			if apiErr.Op != "get call" {
				t.Errorf("Op = %q, want get call", apiErr.Op)
			}
		})
	}
}

func listBody(calls ...string) string {
	return fmt.Sprintf(`{"totalCount":%d,"conversations":[%s]}`, len(calls), strings.Join(calls, ","))
}

func TestConnectCallRetries(t *testing.T) {
	created := func(id string) step {
		return step{status: http.StatusCreated, body: fmt.Sprintf(`{"id":%q,"status":"queued","metadata":{"idempotencyKey":"k1"}}`, id)}
	}
	tests := []struct {
		name          string
		key           string
		connect, list []step
		wantPosts     int
		wantLists     int
		wantID        string
		wantStatus    int // of the error; -1 for success
		wantRetryable bool
	}{
		{
			name: "429 sent again without a key", connect: []step{{status: 429, header: map[string]string{"Retry-After": "1"}}, created("CC-1")},
			wantPosts: 2, wantID: "CC-1", wantStatus: -1,
		},
		{
			name: "503 without a key is not sent again", connect: []step{status(503), created("CC-1")},
			wantPosts: 1, wantStatus: 503, wantRetryable: true,
		},
		{
			name: "dropped after write without a key is not sent again", connect: []step{{drop: true}, created("CC-1")},
			wantPosts: 1, wantStatus: 0, wantRetryable: true,
		},
		{
			name: "504 with a key: FindCall finds the call, no second POST", key: "k1",
			connect:   []step{{status: 504, body: "<html>504 Gateway Time-out</html>"}, created("CC-2")},
			list:      []step{ok(listBody(`{"id":"CC-0","metadata":{"idempotencyKey":"k0"}}`, `{"id":"CC-1","metadata":{"idempotencyKey":"k1"}}`))},
			wantPosts: 1, wantLists: 1, wantID: "CC-1", wantStatus: -1,
		},
		{
			// FindCall reads the calls of the last seconds, then of the last minutes.
			name: "504 with a key: FindCall finds nothing, sent again", key: "k1",
			connect:   []step{status(504), created("CC-2")},
			list:      []step{ok(listBody(`{"id":"CC-0","metadata":{"idempotencyKey":"k0"}}`)), ok(listBody(`{"id":"CC-0","metadata":{"idempotencyKey":"k0"}}`))},
			wantPosts: 2, wantLists: 2, wantID: "CC-2", wantStatus: -1,
		},
		{
			name: "dropped after write with a key: FindCall finds nothing, sent again", key: "k1",
			connect:   []step{{drop: true}, created("CC-2")},
			list:      []step{ok(listBody()), ok(listBody())},
			wantPosts: 2, wantLists: 2, wantID: "CC-2", wantStatus: -1,
		},
		{
			name: "500 twice with a key, then found", key: "k1",
			connect:   []step{status(500), status(500), created("CC-9")},
			list:      []step{ok(listBody()), ok(listBody()), ok(listBody(`{"id":"CC-1","metadata":{"idempotencyKey":"k1"}}`))},
			wantPosts: 2, wantLists: 3, wantID: "CC-1", wantStatus: -1,
		},
		{
			name: "FindCall fails: the connect error is returned", key: "k1",
			connect:   []step{status(502), created("CC-2")},
			list:      []step{status(401)},
			wantPosts: 1, wantLists: 1, wantStatus: 502, wantRetryable: true,
		},
		{
			name: "422 is not sent again", key: "k1",
			connect:   []step{{status: 422, body: `{"detail":[{"loc":["body","customer","number"],"msg":"Field required","type":"missing"}]}`}},
			wantPosts: 1, wantStatus: 422,
		},
		{
			name: "401 is not sent again", key: "k1", connect: []step{status(401)},
			wantPosts: 1, wantStatus: 401,
		},
		{
			name: "unreadable 201 is not sent again", key: "k1", connect: []step{{status: 201, body: "{"}},
			wantPosts: 1, wantStatus: 201,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newScripted(map[string][]step{routeConnect: tt.connect, routeList: tt.list})
			c, _ := setup(t, srv, Config{})
			call, err := c.ConnectCall(context.Background(), &ConnectCallRequest{
				PhoneNumberID: "pn1", Customer: Customer{Number: "+14155550123"}, IdempotencyKey: tt.key,
			})
			if n := srv.count(routeConnect); n != tt.wantPosts {
				t.Errorf("server saw %d connect POSTs, want %d", n, tt.wantPosts)
			}
			if n := srv.count(routeList); n != tt.wantLists {
				t.Errorf("server saw %d list GETs, want %d", n, tt.wantLists)
			}
			if tt.wantStatus == -1 {
				if err != nil {
					t.Fatalf("ConnectCall: %v", err)
				}
				if call.ID != tt.wantID {
					t.Errorf("call id %q, want %q", call.ID, tt.wantID)
				}
				return
			}
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("error %v is not an *APIError", err)
			}
			if apiErr.Status != tt.wantStatus || apiErr.Retryable != tt.wantRetryable || apiErr.Op != "connect call" {
				t.Errorf("error %q: status %d retryable %v, want %d %v", err, apiErr.Status, apiErr.Retryable, tt.wantStatus, tt.wantRetryable)
			}
		})
	}
}

func TestConnectCallRequest(t *testing.T) {
	srv := newScripted(map[string][]step{routeConnect: {{status: 201, body: `{"id":"CC-1","status":"queued"}`}}})
	c, _ := setup(t, srv, Config{UserAgent: "dialer-test/1"})
	meta := map[string]any{"campaignId": "c1", "contact": 7}
	_, err := c.ConnectCall(context.Background(), &ConnectCallRequest{
		PhoneNumberID:      "pn1",
		Customer:           Customer{Number: "+14155550123", Name: "Jane Doe"},
		AssistantID:        "as1",
		AssistantOverrides: map[string]any{"dynamicVariables": map[string]string{"day": "Friday"}},
		Metadata:           meta,
		IdempotencyKey:     "c1:7:1",
	})
	if err != nil {
		t.Fatalf("ConnectCall: %v", err)
	}
	if diff := cmp.Diff(map[string]any{"campaignId": "c1", "contact": 7}, meta); diff != "" {
		t.Errorf("caller's metadata changed (-want +got):\n%s", diff)
	}
	reqs := srv.requests()
	if len(reqs) != 1 {
		t.Fatalf("got %d requests, want 1", len(reqs))
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(reqs[0].body), &body); err != nil {
		t.Fatalf("request body %q: %v", reqs[0].body, err)
	}
	want := map[string]any{
		"direction":          "outbound",
		"phoneNumberId":      "pn1",
		"customer":           map[string]any{"number": "+14155550123", "name": "Jane Doe"},
		"assistantId":        "as1",
		"assistantOverrides": map[string]any{"dynamicVariables": map[string]any{"day": "Friday"}},
		"metadata":           map[string]any{"campaignId": "c1", "contact": float64(7), "idempotencyKey": "c1:7:1"},
	}
	if diff := cmp.Diff(want, body); diff != "" {
		t.Errorf("request body (-want +got):\n%s", diff)
	}
	h := reqs[0].header
	for name, want := range map[string]string{
		"Authorization": "Bearer " + testKey,
		"Content-Type":  "application/json",
		"Accept":        "application/json",
		"User-Agent":    "dialer-test/1",
	} {
		if got := h.Get(name); got != want {
			t.Errorf("header %s = %q, want %q", name, got, want)
		}
	}
}

// TestConnectCallDialErrorRetried checks that a request that never left
// (the dial failed) is sent again even without an idempotency key.
func TestConnectCallDialErrorRetried(t *testing.T) {
	srv := newScripted(map[string][]step{routeConnect: {{status: 201, body: `{"id":"CC-1"}`}}})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	var dials int
	var mu sync.Mutex
	transport := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		mu.Lock()
		dials++
		first := dials == 1
		mu.Unlock()
		if first {
			return nil, &net.OpError{Op: "dial", Net: network, Err: errors.New("connect: connection refused")}
		}
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}
	defer transport.CloseIdleConnections()
	c, clock := setup(t, http.NotFoundHandler(), Config{HTTPClient: &http.Client{Transport: transport}})
	c.base = ts.URL
	call, err := c.ConnectCall(context.Background(), &ConnectCallRequest{PhoneNumberID: "pn1", Customer: Customer{Number: "+14155550123"}})
	if err != nil {
		t.Fatalf("ConnectCall: %v", err)
	}
	if call.ID != "CC-1" || srv.count(routeConnect) != 1 || len(clock.Sleeps()) != 1 {
		t.Errorf("call %q after %d POSTs and %d waits, want CC-1 after 1 and 1", call.ID, srv.count(routeConnect), len(clock.Sleeps()))
	}
}

func TestContextCanceled(t *testing.T) {
	t.Run("DuringRequest", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var calls int
		c, _ := setup(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls++
			cancel()
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}), Config{})
		_, err := c.GetCall(ctx, "CC-1")
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("error %v is not context.Canceled", err)
		}
		if IsRetryable(err) || calls != 1 {
			t.Errorf("retryable %v after %d requests, want false after 1", IsRetryable(err), calls)
		}
	})
	t.Run("WhileWaitingToRetry", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		srv := newScripted(map[string][]step{routeGet: {status(503)}})
		c, _ := setup(t, srv, Config{})
		c.sleep = func(ctx context.Context, d time.Duration) error {
			cancel()
			return ctx.Err()
		}
		_, err := c.GetCall(ctx, "CC-1")
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("error %v is not context.Canceled", err)
		}
		if IsRetryable(err) || srv.count(routeGet) != 1 {
			t.Errorf("retryable %v after %d requests, want false after 1", IsRetryable(err), srv.count(routeGet))
		}
		if !strings.Contains(err.Error(), "503") {
			t.Errorf("error %q does not mention the last failure", err)
		}
	})
	t.Run("Before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		srv := newScripted(map[string][]step{routeConnect: {ok(`{"id":"CC-1"}`)}})
		c, _ := setup(t, srv, Config{})
		_, err := c.ConnectCall(ctx, &ConnectCallRequest{PhoneNumberID: "p", Customer: Customer{Number: "+1"}, IdempotencyKey: "k"})
		if !errors.Is(err, context.Canceled) || srv.count(routeConnect) != 0 {
			t.Errorf("error %v after %d requests, want context.Canceled after 0", err, srv.count(routeConnect))
		}
	})
}

func TestListCalls(t *testing.T) {
	srv := newScripted(map[string][]step{"GET /v2/calls/v1/conversations": {ok(listBody(`{"id":"CC-1"}`))}})
	c, _ := setup(t, srv, Config{})
	c.base += "/v2" // a base URL with a path keeps it
	got, err := c.ListCalls(context.Background(), ListCallsParams{
		StartDate: time.Date(2025, 3, 14, 0, 0, 0, 0, time.FixedZone("PDT", -7*3600)),
		EndDate:   time.Date(2025, 3, 15, 0, 0, 0, 0, time.UTC),
		Page:      2, Size: 50, Sort: "startAt",
	})
	if err != nil {
		t.Fatalf("ListCalls: %v", err)
	}
	if diff := cmp.Diff(&CallList{TotalCount: 1, Conversations: []Call{{ID: "CC-1"}}}, got, timeEqual); diff != "" {
		t.Errorf("CallList (-want +got):\n%s", diff)
	}
	wantQuery := url.Values{
		"startDate": {"2025-03-14T07:00:00.000Z"},
		"endDate":   {"2025-03-15T00:00:00.000Z"},
		"page":      {"2"}, "size": {"50"}, "sort": {"startAt"},
	}
	if diff := cmp.Diff(wantQuery, srv.requests()[0].query); diff != "" {
		t.Errorf("query (-want +got):\n%s", diff)
	}
	if _, err := c.ListCalls(context.Background(), ListCallsParams{}); err == nil || !strings.Contains(err.Error(), "StartDate") {
		t.Errorf("ListCalls without dates: error %v, want one naming StartDate", err)
	}
}

// listServer serves List Calls over n calls, the i-th carrying key "k<i>",
// optionally without totalCount.
// listServer answers List Calls over n calls, call i (key "k<i>") created at first plus i
// times every, and lists those created in [startDate, endDate], in creation order, a page
// of them; it appends each query to seen. withTotal sends totalCount.
func listServer(n int, first time.Time, every time.Duration, withTotal bool, seen *[]url.Values, mu *sync.Mutex) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		mu.Lock()
		*seen = append(*seen, q)
		mu.Unlock()
		var page, size int
		fmt.Sscan(q.Get("page"), &page)
		fmt.Sscan(q.Get("size"), &size)
		start, err1 := time.Parse(TimeLayout, q.Get("startDate"))
		end, err2 := time.Parse(TimeLayout, q.Get("endDate"))
		if err1 != nil || err2 != nil {
			http.Error(w, "bad dates", http.StatusBadRequest)
			return
		}
		var in []int
		for i := range n {
			if at := first.Add(time.Duration(i) * every); !at.Before(start) && !at.After(end) {
				in = append(in, i)
			}
		}
		var calls []string
		for j := (page - 1) * size; j < min(page*size, len(in)); j++ {
			calls = append(calls, fmt.Sprintf(`{"id":"CC-%d","metadata":{"idempotencyKey":"k%d"}}`, in[j], in[j]))
		}
		total := ""
		if withTotal {
			total = fmt.Sprintf(`"totalCount":%d,`, len(in))
		}
		fmt.Fprintf(w, `{%s"conversations":[%s]}`, total, strings.Join(calls, ","))
	}
}

// TestFindCall: FindCall reads the calls placed within 5 s of when its call was, then,
// only when that call is not among them, those within 2 minutes (for clocks out of step),
// page by page until it finds it or the calls end.
func TestFindCall(t *testing.T) {
	since := epoch.Add(-30 * time.Second)
	near := url.Values{ // the first query: within 5 s
		"startDate": {since.Add(-5 * time.Second).Format(TimeLayout)},
		"endDate":   {epoch.Add(5 * time.Second).Format(TimeLayout)},
		"page":      {"1"}, "size": {"100"}, "sort": {"startAt"},
	}
	wide := url.Values{ // the first query of the second reading: within 2 minutes
		"startDate": {since.Add(-2 * time.Minute).Format(TimeLayout)},
		"endDate":   {epoch.Add(2 * time.Minute).Format(TimeLayout)},
		"page":      {"1"}, "size": {"100"}, "sort": {"startAt"},
	}
	// A busy account: a call every 100 ms for the two minutes before now, 350 of them
	// within 5 s of since.
	busy, every := epoch.Add(-2*time.Minute), 100*time.Millisecond
	tests := []struct {
		name      string
		calls     int
		first     time.Time     // when call 0 was placed
		every     time.Duration // between calls
		withTotal bool
		key       string
		wantID    string // "" for not found
		wantPages int
		wantWide  bool // the second reading was made
	}{
		{"first page", 30, since, time.Millisecond, true, "k7", "CC-7", 1, false},
		{"third page", 250, since, time.Millisecond, true, "k230", "CC-230", 3, false},
		{"absent, stops at totalCount", 250, since, time.Millisecond, true, "nope", "", 6, true},
		{"absent, no totalCount, stops at an empty page", 150, since, time.Millisecond, false, "nope", "", 6, true},
		{"no calls at all", 0, since, time.Millisecond, true, "k1", "", 2, true},
		// Call 901, placed 100 ms after since, is on the first page of the 5-s range; the
		// 2-minute range has it on its tenth.
		{"a busy account's call just placed", 1200, busy, every, true, "k901", "CC-901", 1, false},
		// Call 300, a minute before since (the API's clock behind this host's), is not
		// within 5 s: 4 pages of those, then the fourth of the 2-minute range.
		{"a busy account's call, clocks a minute apart", 1200, busy, every, true, "k300", "CC-300", 8, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var seen []url.Values
			var mu sync.Mutex
			c, clock := setup(t, listServer(tt.calls, tt.first, tt.every, tt.withTotal, &seen, &mu), Config{})
			if !clock.Now().Equal(epoch) {
				t.Fatalf("the client's clock reads %v, want %v", clock.Now(), epoch)
			}
			got, err := c.FindCall(context.Background(), tt.key, since)
			if err != nil {
				t.Fatalf("FindCall: %v", err)
			}
			var gotID string
			if got != nil {
				gotID = got.ID
			}
			if gotID != tt.wantID || len(seen) != tt.wantPages {
				t.Errorf("found %q after %d pages, want %q after %d", gotID, len(seen), tt.wantID, tt.wantPages)
			}
			if diff := cmp.Diff(near, seen[0]); diff != "" {
				t.Errorf("first page query (-want +got):\n%s", diff)
			}
			i := slices.IndexFunc(seen, func(q url.Values) bool { return q.Get("startDate") == wide.Get("startDate") })
			if (i >= 0) != tt.wantWide {
				t.Errorf("read the 2-minute range: %v, want %v", i >= 0, tt.wantWide)
			}
			if i >= 0 {
				if diff := cmp.Diff(wide, seen[i]); diff != "" {
					t.Errorf("the 2-minute range's first page query (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestControlCall(t *testing.T) {
	success := ok(`{"message":"Call controlled successfully.","data":{"success":true}}`)
	tests := []struct {
		name       string
		controlURL string // "{srv}" is replaced by the server's URL; "id:X" calls ControlCallByID
		req        ControlRequest
		steps      []step
		wantPath   string
		wantPosts  int
		wantErr    bool
	}{
		{
			name: "absolute URL posted exactly as given, misspelling and all", controlURL: "{srv}/calls/v1/convesations/CC-1/control",
			req: ControlRequest{Type: ControlSay, Message: "One moment please."}, steps: []step{success},
			wantPath: "/calls/v1/convesations/CC-1/control", wantPosts: 1,
		},
		{
			name: "relative URL resolved against the base", controlURL: "/calls/v1/conversations/CC-1/control",
			req: ControlRequest{Type: ControlEnd}, steps: []step{success},
			wantPath: "/calls/v1/conversations/CC-1/control", wantPosts: 1,
		},
		{
			name: "by id uses the documented path", controlURL: "id:CC-1",
			req: ControlRequest{Type: ControlDTMF, Message: "1"}, steps: []step{success},
			wantPath: "/calls/v1/conversations/CC-1/control", wantPosts: 1,
		},
		{
			name: "end is sent again after a 503", controlURL: "id:CC-1",
			req: ControlRequest{Type: ControlEnd}, steps: []step{status(503), success},
			wantPath: "/calls/v1/conversations/CC-1/control", wantPosts: 2,
		},
		{
			name: "say is not sent again after a 503", controlURL: "id:CC-1",
			req: ControlRequest{Type: ControlSay, Message: "hi"}, steps: []step{status(503), success},
			wantPath: "/calls/v1/conversations/CC-1/control", wantPosts: 1, wantErr: true,
		},
		{
			name: "say is sent again after a 429", controlURL: "id:CC-1",
			req: ControlRequest{Type: ControlSay, Message: "hi"}, steps: []step{status(429), success},
			wantPath: "/calls/v1/conversations/CC-1/control", wantPosts: 2,
		},
		{name: "empty URL", controlURL: "", req: ControlRequest{Type: ControlEnd}, wantErr: true},
		{name: "not http", controlURL: "mailto:ops@example.com", req: ControlRequest{Type: ControlEnd}, wantErr: true},
		{name: "no type", controlURL: "id:CC-1", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newScripted(map[string][]step{"POST " + tt.wantPath: tt.steps})
			ts := httptest.NewServer(srv)
			defer ts.Close()
			c, _ := setup(t, http.NotFoundHandler(), Config{})
			rebase(t, c, ts.URL)
			var got *ControlResponse
			var err error
			if id, ok := strings.CutPrefix(tt.controlURL, "id:"); ok {
				got, err = c.ControlCallByID(context.Background(), id, tt.req)
			} else {
				got, err = c.ControlCall(context.Background(), strings.ReplaceAll(tt.controlURL, "{srv}", ts.URL), tt.req)
			}
			if n := srv.count("POST " + tt.wantPath); n != tt.wantPosts {
				t.Errorf("server saw %d POSTs to %s, want %d (requests: %v)", n, tt.wantPath, tt.wantPosts, srv.requests())
			}
			if tt.wantErr {
				if err == nil {
					t.Fatal("ControlCall succeeded")
				}
				return
			}
			if err != nil {
				t.Fatalf("ControlCall: %v", err)
			}
			if !got.Data.Success || got.Message != "Call controlled successfully." {
				t.Errorf("response %+v", got)
			}
			var body ControlRequest
			if err := json.Unmarshal([]byte(srv.requests()[0].body), &body); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.req, body); diff != "" {
				t.Errorf("request body (-want +got):\n%s", diff)
			}
		})
	}
}

// TestConnectCallPace checks that Pace is waited for before every send, retries included,
// that OnRetry hears of each failure that is retried, and that Pace's error ends the call
// without a send.
func TestConnectCallPace(t *testing.T) {
	var sends int
	var mu sync.Mutex
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		sends++
		n := sends
		mu.Unlock()
		if n <= 2 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		_, _ = io.WriteString(w, `{"id":"CC-1","status":"queued"}`)
	})
	c, _ := setup(t, h, Config{})
	paced := 0
	var retries []string
	req := &ConnectCallRequest{PhoneNumberID: "p", Customer: Customer{Number: "+14155550101"},
		Pace: func(context.Context) error { paced++; return nil },
		OnRetry: func(err error, wait time.Duration) {
			var apiErr *APIError
			errors.As(err, &apiErr)
			retries = append(retries, fmt.Sprintf("%d in %v", apiErr.Status, wait))
		}}
	if _, err := c.ConnectCall(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	if paced != 3 || sends != 3 {
		t.Errorf("paced %d times for %d sends; want 3 and 3", paced, sends)
	}
	// Each 429 is retried after its Retry-After of 1 s, and OnRetry hears of both.
	if want := []string{"429 in 1s", "429 in 1s"}; !slices.Equal(retries, want) {
		t.Errorf("OnRetry heard %q, want %q", retries, want)
	}

	stop := errors.New("no token")
	req.Pace = func(context.Context) error { return stop }
	if _, err := c.ConnectCall(t.Context(), req); !errors.Is(err, stop) {
		t.Errorf("err = %v, want the pace error", err)
	}
	if sends != 3 {
		t.Errorf("sent despite a pace error: %d sends", sends)
	}
}

// rebase points c at another base URL after setup, as New would have.
func rebase(tb testing.TB, c *Client, base string) {
	tb.Helper()
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatal(err)
	}
	c.base, c.origin = base, origin(u)
}

// TestControlCallSendsKeyToBaseHostOnly posts to controlUrls on the API's
// own host and on other hosts, and checks who received the API key.
func TestControlCallSendsKeyToBaseHostOnly(t *testing.T) {
	success := ok(`{"message":"Call controlled successfully.","data":{"success":true}}`)
	const path = "/calls/v1/conversations/CC-1/control"
	api := newScripted(map[string][]step{"POST " + path: {success}})
	other := newScripted(map[string][]step{"POST " + path: {success}})
	otherSrv := httptest.NewServer(other)
	defer otherSrv.Close()
	c, _ := setup(t, api, Config{})
	apiURL := strings.TrimSuffix(c.base, "/")
	_, apiPort, _ := net.SplitHostPort(strings.TrimPrefix(apiURL, "http://"))

	tests := []struct {
		name       string
		controlURL string
		srv        *scripted
		wantKey    bool
	}{
		{"absolute URL on the API host", apiURL + path, api, true},
		{"API host spelt in upper case", "HTTP://127.0.0.1:" + apiPort + path, api, true},
		{"relative URL", path, api, true},
		{"another port of the same address", otherSrv.URL + path, other, false},
		{"another name for the API host", "http://localhost:" + apiPort + path, api, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(tt.srv.requests())
			if _, err := c.ControlCall(t.Context(), tt.controlURL, ControlRequest{Type: ControlEnd}); err != nil {
				t.Fatalf("ControlCall: %v", err)
			}
			reqs := tt.srv.requests()
			if len(reqs) != before+1 {
				t.Fatalf("server saw %d new requests, want 1", len(reqs)-before)
			}
			got := reqs[len(reqs)-1].header.Get("Authorization")
			switch {
			case tt.wantKey && got != "Bearer "+testKey:
				t.Errorf("Authorization is not the API key (set: %v)", got != "")
			case !tt.wantKey && got != "":
				t.Errorf("the API key went to %s", tt.controlURL)
			}
		})
	}
}

func TestOrigin(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://api-prod.interactly.ai", "https://api-prod.interactly.ai"},
		{"https://API-Prod.Interactly.ai:443/calls", "https://api-prod.interactly.ai"},
		{"http://api-prod.interactly.ai:80", "http://api-prod.interactly.ai"},
		{"http://api-prod.interactly.ai:443", "http://api-prod.interactly.ai:443"},
		{"https://api-prod.interactly.ai:8443", "https://api-prod.interactly.ai:8443"},
		{"https://api-prod.interactly.ai.evil.example", "https://api-prod.interactly.ai.evil.example"},
		{"https://user:pw@api-prod.interactly.ai", "https://api-prod.interactly.ai"},
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := origin(u); got != tt.want {
			t.Errorf("origin(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// The decision itself: http is not https, even on the same host.
	c, err := New(Config{APIKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"http://api-prod.interactly.ai/x", "https://api-qa.interactly.ai/x", "https://api-prod.interactly.ai.evil.example/x"} {
		pu, _ := url.Parse(u)
		if origin(pu) == c.origin {
			t.Errorf("%s counts as the API host %s", u, c.origin)
		}
	}
}

// apiErrors records Config.OnAPIError calls.
type apiErrors struct {
	mu  sync.Mutex
	got []string
}

func (a *apiErrors) record(op string, status int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.got = append(a.got, fmt.Sprintf("%s %d", op, status))
}

func (a *apiErrors) calls() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.got...)
}

func TestOnAPIError(t *testing.T) {
	control := "POST /calls/v1/conversations/CC-1/control"
	tests := []struct {
		name  string
		steps map[string][]step
		call  func(ctx context.Context, c *Client) error
		want  []string
	}{
		{
			// The drop comes first: on a reused connection the transport
			// would retry a GET by itself.
			name:  "every failed attempt of a get, then success",
			steps: map[string][]step{routeGet: {{drop: true}, status(503), {status: 429, header: map[string]string{"Retry-After": "1"}}, ok(`{"id":"CC-1"}`)}},
			call:  func(ctx context.Context, c *Client) error { _, err := c.GetCall(ctx, "CC-1"); return err },
			want:  []string{"get 0", "get 503", "get 429"},
		},
		{
			name:  "a permanent connect failure",
			steps: map[string][]step{routeConnect: {status(422)}},
			call: func(ctx context.Context, c *Client) error {
				_, err := c.ConnectCall(ctx, &ConnectCallRequest{PhoneNumberID: "p", Customer: Customer{Number: "+14155550101"}})
				return err
			},
			want: []string{"connect 422"},
		},
		{
			name: "a connect whose lost response is looked for with list",
			steps: map[string][]step{
				routeConnect: {status(502), {status: http.StatusCreated, body: `{"id":"CC-2"}`}},
				routeList:    {status(500), ok(listBody())},
			},
			call: func(ctx context.Context, c *Client) error {
				_, err := c.ConnectCall(ctx, &ConnectCallRequest{PhoneNumberID: "p", Customer: Customer{Number: "+14155550101"}, IdempotencyKey: "k"})
				return err
			},
			want: []string{"connect 502", "list 500"},
		},
		{
			name:  "control",
			steps: map[string][]step{control: {status(500), ok(`{"data":{"success":true}}`)}},
			call: func(ctx context.Context, c *Client) error {
				_, err := c.ControlCallByID(ctx, "CC-1", ControlRequest{Type: ControlEnd})
				return err
			},
			want: []string{"control 500"},
		},
		{
			name:  "an unreadable 200",
			steps: map[string][]step{routeGet: {ok(`{"id":`)}},
			call:  func(ctx context.Context, c *Client) error { _, err := c.GetCall(ctx, "CC-1"); return err },
			want:  []string{"get 200"},
		},
		{
			name:  "the caller's canceled context is not an API error",
			steps: map[string][]step{routeGet: {ok(`{"id":"CC-1"}`)}},
			call: func(ctx context.Context, c *Client) error {
				ctx, cancel := context.WithCancel(ctx)
				cancel()
				_, err := c.GetCall(ctx, "CC-1")
				return err
			},
		},
		{
			name:  "success reports nothing",
			steps: map[string][]step{routeGet: {ok(`{"id":"CC-1"}`)}},
			call:  func(ctx context.Context, c *Client) error { _, err := c.GetCall(ctx, "CC-1"); return err },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rec apiErrors
			c, _ := setup(t, newScripted(tt.steps), Config{OnAPIError: rec.record})
			_ = tt.call(t.Context(), c)
			if diff := cmp.Diff(tt.want, rec.calls()); diff != "" {
				t.Errorf("OnAPIError calls (-want +got):\n%s", diff)
			}
		})
	}
}

// TestOnAPIErrorTimeout: a request that times out is reported with status 0.
func TestOnAPIErrorTimeout(t *testing.T) {
	release := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	var rec apiErrors
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer close(release)
	c, err := New(Config{
		BaseURL: srv.URL, APIKey: testKey, RetryBudget: -1, OnAPIError: rec.record,
		HTTPClient: &http.Client{Timeout: 50 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetCall(t.Context(), "CC-1"); err == nil {
		t.Fatal("GetCall succeeded")
	}
	if diff := cmp.Diff([]string{"get 0"}, rec.calls()); diff != "" {
		t.Errorf("OnAPIError calls (-want +got):\n%s", diff)
	}
}
