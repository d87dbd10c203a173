package queue

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/testutil"
)

// TestTaskLease runs a dial task on a real asynq server and reads its lease while the handler
// runs, and again after it returned.
func TestTaskLease(t *testing.T) {
	rdb, c := setup(t)
	running, done := make(chan struct{}), make(chan struct{})
	srv := NewServer(rdb, ServerConfig{Concurrency: 1})
	if err := srv.Start(asynq.HandlerFunc(func(context.Context, *asynq.Task) error {
		close(running)
		<-done
		return nil
	})); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	task := campaign.AttemptRef{CampaignID: "c1", ContactID: 3, Attempt: 1}
	if _, ok, err := TaskLease(t.Context(), rdb, task.String()); err != nil || ok {
		t.Fatalf("TaskLease before the task ran = %v, %v; want no lease", ok, err)
	}
	if err := c.EnqueueDial(t.Context(), task, time.Time{}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-running:
	case <-time.After(15 * time.Second):
		t.Fatal("the task did not start within 15 s")
	}
	now := time.Now()
	expiry, ok, err := TaskLease(t.Context(), rdb, task.String())
	if err != nil || !ok {
		t.Fatalf("TaskLease while running = %v, %v; want a lease", ok, err)
	}
	// asynq's lease is 30 s, in whole seconds.
	if left := expiry.Sub(now); left < 20*time.Second || left > 31*time.Second {
		t.Errorf("lease runs out in %s; want about 30 s", left)
	}
	close(done)
	testutil.WaitFor(t, 10*time.Second, "the lease to go once the task returned", func() bool {
		_, ok, err := TaskLease(t.Context(), rdb, task.String())
		return err == nil && !ok
	})
}
