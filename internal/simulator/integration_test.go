package simulator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/interactly"
	"github.com/dialerhq/dialer/internal/testutil"
	"github.com/google/go-cmp/cmp"
)

// setupClient serves s on loopback and returns a real interactly.Client for
// it that shares the simulator's fake clock, so retries wait no real time.
// Concurrent workers all advance that one clock, so the retry budget is
// long enough not to run out on another worker's waits.
func setupClient(tb testing.TB, s *Server, clock *testutil.Clock) *interactly.Client {
	tb.Helper()
	srv := httptest.NewServer(s)
	tb.Cleanup(srv.Close)
	c, err := interactly.New(interactly.Config{
		BaseURL:     srv.URL,
		APIKey:      testKey,
		HTTPClient:  srv.Client(),
		RetryBudget: time.Hour,
		Now:         clock.Now,
		Sleep:       clock.Sleep,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func request(number, key string) *interactly.ConnectCallRequest {
	return &interactly.ConnectCallRequest{
		PhoneNumberID: "3b1f6a2e-9c1d-4e7a-8f2b-5d6c7e8f9a0b",
		Customer:      interactly.Customer{Number: number, Name: "Jane Doe"},
		AssistantID:   "6601a2b3c4d5e6f708192a3c",
		AssistantOverrides: map[string]any{
			"dynamicVariables": map[string]string{"appointmentDate": "Friday 3pm"},
		},
		Metadata:       map[string]any{"campaignId": "c1"},
		IdempotencyKey: key,
	}
}

// TestClientLostResponse: every Connect Call creates the call and answers
// 504. The client must find the call by its idempotency key instead of
// dialing again.
func TestClientLostResponse(t *testing.T) {
	s, clock := mustServer(t, Config{Faults: Faults{LostResponse: 1}})
	c := setupClient(t, s, clock)
	call, err := c.ConnectCall(context.Background(), request("+14155550123", "c1:1:1"))
	if err != nil {
		t.Fatalf("ConnectCall: %v", err)
	}
	stats := s.Stats()
	if stats.Dials != 1 || stats.DialsByKey["c1:1:1"] != 1 || stats.Faults["lost"] != 1 {
		t.Fatalf("stats %+v, want exactly one dial, lost once", stats)
	}
	if d := s.Dials()[0]; call.ID != d.CallID {
		t.Errorf("client returned %q, simulator created %q", call.ID, d.CallID)
	}
	if got := stats.Requests; got["connect"] != 1 || got["list"] < 1 {
		t.Errorf("requests %v, want one connect and a list", got)
	}

	// Without a key the client cannot tell, and must not dial again.
	_, err = c.ConnectCall(context.Background(), request("+14155550124", ""))
	var apiErr *interactly.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusGatewayTimeout || !apiErr.Retryable {
		t.Fatalf("keyless ConnectCall error %v, want a retryable 504", err)
	}
	if got := s.Stats().DialsByNumber["+14155550124"]; got != 1 {
		t.Errorf("keyless number dialed %d times, want 1", got)
	}
}

// TestClientLifecycle follows one call from connect to analysis through the
// client, then ends another through its monitor.controlUrl.
func TestClientLifecycle(t *testing.T) {
	s, clock := mustServer(t, Config{
		RingMin: 2 * time.Second, RingMax: 2 * time.Second,
		TalkMin: 4 * time.Second, TalkMax: 4 * time.Second,
		AnalysisDelay: time.Second,
	})
	c := setupClient(t, s, clock)
	ctx := context.Background()
	call, err := c.ConnectCall(ctx, request("+14155550123", "c1:1:1"))
	if err != nil {
		t.Fatalf("ConnectCall: %v", err)
	}
	if call.Status != interactly.CallQueued || !strings.HasPrefix(call.ID, "CC-") || call.Metadata["idempotencyKey"] != "c1:1:1" {
		t.Errorf("connect response %+v", call)
	}
	var seen []string
	for !call.Ended() || !call.Analysis.Ready() {
		clock.Advance(250 * time.Millisecond)
		if call, err = c.GetCall(ctx, call.ID); err != nil {
			t.Fatalf("GetCall: %v", err)
		}
		state := string(call.Status) + "/" + string(call.PhoneCallStatus)
		if len(seen) == 0 || seen[len(seen)-1] != state {
			seen = append(seen, state)
		}
		if clock.Now().After(epoch.Add(time.Minute)) {
			t.Fatalf("call never ended: %+v", call)
		}
	}
	want := []string{"queued/trying", "queued/ringing", "ongoing/in-progress", "finished/completed"}
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
	if !call.EndAt.Equal(epoch.Add(6*time.Second)) || call.AssistantCallDuration != 4000 || call.Cost == nil || call.Cost.CallDuration != 4 {
		t.Errorf("end %v duration %dms cost %+v", call.EndAt, call.AssistantCallDuration, call.Cost)
	}
	if !strings.Contains(call.Analysis.Summary, "Jane Doe") || !strings.Contains(call.Analysis.Summary, "Friday 3pm") {
		t.Errorf("summary %q", call.Analysis.Summary)
	}
	var structured struct{ Confirmed, CallbackRequested *bool }
	if err := json.Unmarshal(call.Analysis.StructuredData, &structured); err != nil || structured.Confirmed == nil || structured.CallbackRequested == nil {
		t.Errorf("structuredData %s: %v", call.Analysis.StructuredData, err)
	}
	if len(call.Messages) != 5 || call.Recording == nil || call.PhoneVendor != "twilio" {
		t.Errorf("messages %d recording %+v vendor %q", len(call.Messages), call.Recording, call.PhoneVendor)
	}

	other, err := c.ConnectCall(ctx, request("+14155550125", "c1:2:1"))
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(3 * time.Second)
	if _, err := c.ControlCall(ctx, other.Monitor.ControlURL, interactly.ControlRequest{Type: interactly.ControlEnd}); err != nil {
		t.Fatalf("ControlCall via %s: %v", other.Monitor.ControlURL, err)
	}
	got, err := c.GetCall(ctx, other.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Ended() || got.CallEndTriggerBy != "assistant" || !got.EndAt.Equal(clock.Now()) {
		t.Errorf("after end: %s/%s by %q at %v", got.Status, got.PhoneCallStatus, got.CallEndTriggerBy, got.EndAt)
	}
	if s.Stats().Requests["control"] != 1 {
		t.Errorf("control requests %d", s.Stats().Requests["control"])
	}
}

// TestClientUnderFaults runs many workers' worth of connects through every
// fault at once: each key must be dialed exactly once.
func TestClientUnderFaults(t *testing.T) {
	s, clock := mustServer(t, Config{Seed: 5, Faults: Faults{
		RateLimited: 0.2, ServerError: 0.2, LostResponse: 0.2, GetCallError: 0.3, RetryAfter: time.Second,
	}})
	c := setupClient(t, s, clock)
	const workers, perWorker = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*perWorker)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				key := fmt.Sprintf("c1:%d:1", w*perWorker+i)
				call, err := c.ConnectCall(context.Background(), request(fmt.Sprintf("+1415555%04d", w*perWorker+i), key))
				if err == nil {
					_, err = c.GetCall(context.Background(), call.ID)
				}
				if err != nil {
					errs <- fmt.Errorf("%s: %w", key, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	stats := s.Stats()
	if stats.Dials != workers*perWorker {
		t.Errorf("%d dials, want %d", stats.Dials, workers*perWorker)
	}
	for key, n := range stats.DialsByKey {
		if n != 1 {
			t.Errorf("key %s dialed %d times", key, n)
		}
	}
	if stats.Faults["429"] == 0 || stats.Faults["5xx"] == 0 || stats.Faults["lost"] == 0 || stats.Faults["get-error"] == 0 {
		t.Errorf("faults %v, want every kind injected", stats.Faults)
	}
}

// TestClientUnauthorized checks that a wrong key is a permanent 401.
func TestClientUnauthorized(t *testing.T) {
	s, clock := mustServer(t, Config{})
	srv := httptest.NewServer(s)
	defer srv.Close()
	c, err := interactly.New(interactly.Config{BaseURL: srv.URL, APIKey: "wrong-key-123", HTTPClient: srv.Client(), Now: clock.Now, Sleep: clock.Sleep})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ConnectCall(context.Background(), request("+14155550123", "k"))
	var apiErr *interactly.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 401 || apiErr.Retryable || apiErr.Message != "Invalid or missing API key" {
		t.Fatalf("error %v, want a permanent 401", err)
	}
	if strings.Contains(err.Error(), "wrong-key-123") {
		t.Errorf("key in error %q", err)
	}
	if st := s.Stats(); st.Unauthorized != 1 || st.Dials != 0 {
		t.Errorf("stats %+v", st)
	}
}
