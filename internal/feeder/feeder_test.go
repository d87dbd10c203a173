package feeder

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/queue"
	"github.com/dialerhq/dialer/internal/redistest"
	"github.com/hibiken/asynq"
)

const testDB = 23

const testCampaign = `
name: feeder-test
assistantId: 678a253ca6d866573043502e
phoneNumberId: 5f7b1b1b1b1b1b1b1b1b1b1b
contacts: {numberColumn: phone}
rateLimit: {callsPerSecond: 100, maxConcurrentCalls: 5}
`

// TestReconcileRebuildsDeletedTasks feeds a campaign's three contacts to asynq, deletes
// every pending task as an operator could through the queue UI, and checks that the
// reconciler parks the three again (and counts them), that the feeder hands them out
// again, and that a second look finds nothing missing.
func TestReconcileRebuildsDeletedTasks(t *testing.T) {
	rdb, _ := redistest.Setup(t, testDB)
	ctx := t.Context()
	f, err := campaign.ParseChecked("c.yaml", []byte(testCampaign))
	if err != nil {
		t.Fatal(err)
	}
	csv := "phone\n+14155550101\n+14155550102\n+14155550103\n"
	open := func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(csv)), nil }
	store := campaign.NewStore(rdb)
	c, err := store.Upload(ctx, f, "c.csv", open, nil, campaign.UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fd, err := New(Config{Redis: rdb, Grace: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer fd.queue.Close()
	// The first feed has no pace yet: one dial may go; feed until all three are out.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if err := fd.Feed(ctx); err != nil {
			t.Fatal(err)
		}
		st, err := store.Status(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if st.Ready == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 5 s of feeding: %d ready, %d queued; want 3 ready", st.Ready, st.Queued)
		}
		time.Sleep(20 * time.Millisecond)
	}
	insp := asynq.NewInspectorFromRedisClient(rdb)
	if n, err := insp.DeleteAllPendingTasks(queue.Name); err != nil || n != 3 {
		t.Fatalf("deleted %d pending tasks (%v), want 3", n, err)
	}
	// The reconciler looks a second later: past the 1 ms grace.
	fd.now = func() time.Time { return time.Now().Add(time.Second) }
	n, err := fd.Reconcile(ctx)
	if err != nil || n != 3 {
		t.Fatalf("Reconcile = %d, %v; want 3 rebuilt", n, err)
	}
	st, err := store.Status(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.Rebuilt != 3 || st.Queued != 3 || st.Ready != 0 {
		t.Errorf("after reconciling: rebuilt %d, queued %d, ready %d; want 3, 3, 0", st.Rebuilt, st.Queued, st.Ready)
	}
	fd.now = time.Now
	for range 100 {
		if err := fd.Feed(ctx); err != nil {
			t.Fatal(err)
		}
		if q, _ := insp.GetQueueInfo(queue.Name); q != nil && q.Pending == 3 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if q, err := insp.GetQueueInfo(queue.Name); err != nil || q.Pending != 3 {
		t.Fatalf("after feeding again: %+v, %v; want 3 pending tasks", q, err)
	}
	fd.now = func() time.Time { return time.Now().Add(time.Second) }
	if n, err := fd.Reconcile(ctx); err != nil || n != 0 {
		t.Errorf("Reconcile with every task in asynq = %d, %v; want 0", n, err)
	}
}
