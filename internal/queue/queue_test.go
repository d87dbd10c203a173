package queue

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/redistest"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// setup returns a clean database of this package (2, see package redistest) and a Client of
// it, closed when the test ends. It marks t parallel where the database is t's own
// (redistest.Parallel).
func setup(t *testing.T) (*redis.Client, *Client) {
	t.Helper()
	redistest.Parallel(t)
	rdb, _ := redistest.Setup(t, 2)
	c := NewClient(rdb)
	t.Cleanup(func() { c.Close() })
	return rdb, c
}

func TestCeilSecond(t *testing.T) {
	base := time.Unix(1_800_000_000, 0)
	for _, tt := range []struct {
		name string
		in   time.Time
		want time.Time
	}{
		{"whole", base, base},
		{"a nanosecond past", base.Add(1), base.Add(time.Second)},
		{"most of a second past", base.Add(999 * time.Millisecond), base.Add(time.Second)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := CeilSecond(tt.in); !got.Equal(tt.want) {
				t.Errorf("CeilSecond(%s) = %s, want %s", tt.in.Format(time.RFC3339Nano), got.Format(time.RFC3339Nano), tt.want.Format(time.RFC3339Nano))
			}
		})
	}
}

// TestScheduledDialNeverEarly enqueues dials due at fractional seconds on a real asynq server
// and checks that none starts before it is due: asynq alone keeps whole seconds, rounded down.
func TestScheduledDialNeverEarly(t *testing.T) {
	rdb, c := setup(t)
	var mu sync.Mutex
	started := map[int]time.Time{}
	all := make(chan struct{})
	const n = 6
	srv := NewServer(rdb, ServerConfig{Concurrency: n})
	err := srv.Start(asynq.HandlerFunc(func(_ context.Context, task *asynq.Task) error {
		d, err := ParseDialTask(task)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		started[d.ContactID] = time.Now()
		if len(started) == n {
			close(all)
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	// Due in the next whole second at fractions up to .99 of it: asynq's forwarder, which
	// looks once a second, runs one of them early unless it looks in the last 10 ms. They
	// are enqueued before that second begins (the one after, when less than 300 ms are
	// left of this one), so the forwarder's one look in it finds them all.
	fractions := [n]time.Duration{200, 400, 600, 800, 950, 990}
	due := map[int]time.Time{}
	base := time.Now().Add(300 * time.Millisecond).Truncate(time.Second).Add(time.Second)
	for i := 1; i <= n; i++ {
		due[i] = base.Add(fractions[i-1] * time.Millisecond)
		if err := c.EnqueueDial(t.Context(), campaign.AttemptRef{CampaignID: "c1", ContactID: i, Attempt: 2}, due[i]); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-all:
	case <-time.After(15 * time.Second):
		t.Fatalf("%d of %d dials ran within 15 s", len(started), n)
	}
	mu.Lock()
	defer mu.Unlock()
	for i := 1; i <= n; i++ {
		if early := due[i].Sub(started[i]); early > 0 {
			t.Errorf("dial %d started %s before it was due", i, early)
		}
	}
}

// TestDialTaskPayload checks the dial task's JSON wire shape, {"c","n","a"}: tasks queued by
// an earlier version must still run, and a task queued now must run on an earlier worker.
func TestDialTaskPayload(t *testing.T) {
	ref := campaign.AttemptRef{CampaignID: "c1", ContactID: 12, Attempt: 3}
	task := NewDialTask(ref)
	if task.Type() != TypeDial {
		t.Errorf("type %q, want %q", task.Type(), TypeDial)
	}
	const wire = `{"c":"c1","n":12,"a":3}`
	if got := string(task.Payload()); got != wire {
		t.Errorf("payload %s, want %s", got, wire)
	}
	got, err := ParseDialTask(asynq.NewTask(TypeDial, []byte(wire)))
	if err != nil || got != ref {
		t.Errorf("ParseDialTask(%s) = %v, %v; want %v", wire, got, err, ref)
	}
	for _, bad := range []string{`{"c":"c1","n":0,"a":1}`, `{"n":1,"a":1}`, `{"c":"c1","n":1}`, `not json`} {
		if _, err := ParseDialTask(asynq.NewTask(TypeDial, []byte(bad))); err == nil {
			t.Errorf("ParseDialTask(%s) succeeded, want an error", bad)
		}
	}
}
