package worker

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/interactly"
	"github.com/dialerhq/dialer/internal/queue"
	"github.com/dialerhq/dialer/internal/simulator"
	"github.com/dialerhq/dialer/internal/testutil"
)

// A poll's Get Call answered 429 with a Retry-After of 30 s is not retried after 30 s by the
// client: the poll's next read, one poll.interval (100 ms) on, is its retry, so the attempt
// sees its call's end, and gives back its slot, within a second or so of it.
func TestPollReadRetriesWithinOneInterval(t *testing.T) {
	fx := setup(t, newFakeAPI(interactly.PhoneCompleted))
	sim, err := simulator.New(simulator.Config{APIKey: "key", RingMin: 5 * time.Millisecond, TalkMin: 5 * time.Millisecond, AnalysisDelay: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	var refused atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/calls/v1/conversations/") && refused.Add(1) <= 2 {
			w.Header().Set("Retry-After", "30")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	api, err := interactly.New(interactly.Config{BaseURL: srv.URL, APIKey: "key"})
	if err != nil {
		t.Fatal(err)
	}
	fx.h.cfg.API = api

	// Well under the 30 s the client would otherwise wait before its retry.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	start := testutil.Now()
	if err := fx.h.ProcessTask(ctx, queue.NewDialTask(campaign.AttemptRef{CampaignID: fx.c.ID, ContactID: 1, Attempt: 1})); err != nil {
		t.Fatalf("ProcessTask after %v: %v", testutil.Now().Sub(start).Round(time.Millisecond), err)
	}
	t.Logf("attempt done %v after it began; Get Call refused %d times", testutil.Now().Sub(start).Round(time.Millisecond), min(refused.Load(), 2))
	if refused.Load() < 3 {
		t.Fatalf("Get Call was asked %d times; want the 2 refusals and a read after them", refused.Load())
	}
	if ct := fx.contact(t); ct.Outcome != campaign.OutcomeCompleted {
		t.Errorf("outcome %q, want completed", ct.Outcome)
	}
}
