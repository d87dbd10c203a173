package retention

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/archive"
	"github.com/dialerhq/dialer/internal/audit"
	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/operator"
	"github.com/dialerhq/dialer/internal/queue"
	"github.com/dialerhq/dialer/internal/redistest"
	"github.com/dialerhq/dialer/internal/suppression"
	"github.com/dialerhq/dialer/internal/testutil"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

const testDB = 21

type fixture struct {
	rdb   *redis.Client
	op    *operator.Operator
	clock *testutil.Clock
}

func setup(t *testing.T) *fixture {
	t.Helper()
	rdb, _ := redistest.Setup(t, testDB)
	clk := testutil.NewClock(testutil.Now())
	op := operator.New(rdb, operator.Config{Now: clk.Now})
	t.Cleanup(func() { op.Close() })
	return &fixture{rdb: rdb, op: op, clock: clk}
}

// seedDone uploads a two-row campaign with the given extra campaign-file lines and gives
// both rows a final outcome, so the campaign is done.
func (fx *fixture) seedDone(t *testing.T, extra string) string {
	t.Helper()
	c := fx.seed(t, extra)
	ctx := t.Context()
	for n := 1; n <= 2; n++ {
		if _, err := fx.op.Store().Finalize(ctx, c, n, campaign.OutcomeCompleted, ""); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func (fx *fixture) seed(t *testing.T, extra string) string {
	t.Helper()
	yaml := "name: r\nassistantId: a\nphoneNumberId: p\ncontacts: {numberColumn: phone}\n" + extra
	f, err := campaign.Parse("c.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	f.WithDefaults()
	open := func() (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader("name,phone\nAnn,+14155550101\nBob,+14155550102\n")), nil
	}
	c, err := fx.op.Upload(t.Context(), f, "c.csv", open, operator.UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

// campaignKeys counts the keys of campaign id, with SCAN.
func (fx *fixture) campaignKeys(t *testing.T, id string) []string {
	t.Helper()
	var keys []string
	iter := fx.rdb.Scan(t.Context(), 0, "*"+id+"*", 100).Iterator()
	for iter.Next(t.Context()) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return keys
}

func TestSweep(t *testing.T) {
	fx := setup(t)
	ctx := t.Context()
	global := suppression.New(fx.rdb)
	if _, err := global.Add(ctx, "+14155550199"); err != nil {
		t.Fatal(err)
	}
	short := fx.seedDone(t, "retention: 1h\n")
	long := fx.seedDone(t, "")            // the deployment's default
	live := fx.seed(t, "retention: 1h\n") // never done
	// A task of the short campaign left in asynq's archive, and a metrics series of it.
	q := queue.NewClient(fx.rdb)
	defer q.Close()
	if err := q.EnqueueDial(ctx, campaign.AttemptRef{CampaignID: short, ContactID: 1, Attempt: 2}, fx.clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := asynq.NewInspectorFromRedisClient(fx.rdb).ArchiveTask(queue.Name, short+":1:2"); err != nil {
		t.Fatal(err)
	}
	fx.rdb.HSet(ctx, "dialer:{metrics}:dials", short, 2, long, 2)

	var report bytes.Buffer
	if _, err := fx.op.Report(ctx, short, &report, campaign.ReportOptions{}); err != nil {
		t.Fatal(err)
	}

	dir := filepath.Join(t.TempDir(), "archive")
	var logs bytes.Buffer
	log := audit.New(fx.rdb)
	sw, err := New(Config{Operator: fx.op, Default: 48 * time.Hour, Archive: dir, Now: fx.clock.Now, Batch: 2,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)), Audit: log})
	if err != nil {
		t.Fatal(err)
	}
	res, err := sw.Sweep(ctx)
	if err != nil || res != (Result{Seen: 3, Done: 2}) {
		t.Fatalf("first sweep = %+v, %v; want 3 seen, 2 done, nothing deleted", res, err)
	}

	fx.clock.Advance(61 * time.Minute)
	res, err = sw.Sweep(ctx)
	if err != nil || res != (Result{Seen: 3, Done: 2, Archived: 1, Deleted: 1}) {
		t.Fatalf("sweep after 61 minutes = %+v, %v; want the 1h campaign archived and deleted\n%s", res, err, logs.String())
	}
	if keys := fx.campaignKeys(t, short); len(keys) != 0 {
		t.Errorf("keys of the deleted campaign remain: %v", keys)
	}
	if ids, _ := fx.op.Store().CampaignIDs(ctx); len(ids) != 2 {
		t.Errorf("campaign list = %v, want the two others", ids)
	}
	if fx.rdb.HExists(ctx, "dialer:{metrics}:dials", short).Val() || !fx.rdb.HExists(ctx, "dialer:{metrics}:dials", long).Val() {
		t.Error("metrics: the deleted campaign's series should be gone and the other's kept")
	}
	if ok, err := global.Suppressed(ctx, "", "+14155550199"); err != nil || !ok {
		t.Errorf("global suppression list lost its number: %v, %v", ok, err)
	}
	var fromArchive bytes.Buffer
	if _, err := fx.op.Report(ctx, short, &fromArchive, campaign.ReportOptions{}); err != nil {
		t.Fatalf("report of the deleted campaign: %v", err)
	}
	if fromArchive.String() != report.String() {
		t.Errorf("report from the archive:\n%s\nwant as it was in Redis:\n%s", fromArchive.String(), report.String())
	}
	if _, err := archive.ReadManifest(ctx, mustOpen(t, dir), short); err != nil {
		t.Errorf("no manifest in the archive: %v", err)
	}
	entries, _, err := log.List(ctx, audit.ListOptions{})
	if err != nil || len(entries) != 2 || entries[0].Action != "retention delete" || entries[0].Target != short ||
		entries[1].Action != "retention archive" || entries[0].Actor != "retention" {
		t.Errorf("audit log = %+v, %v; want the archive and the delete of %s", entries, err, short)
	}

	fx.clock.Advance(48 * time.Hour)
	res, err = sw.Sweep(ctx)
	if err != nil || res.Deleted != 1 {
		t.Fatalf("sweep after the default retention = %+v, %v; want the default-retention campaign deleted", res, err)
	}
	if _, err := fx.op.Store().Campaign(ctx, live); err != nil {
		t.Errorf("the live campaign was touched: %v", err)
	}
}

func mustOpen(t *testing.T, spec string) archive.Dest {
	t.Helper()
	d, err := archive.Open(spec, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestRun runs the sweeper under its leader lock and waits, with a deadline, for an expired
// campaign to go.
func TestRun(t *testing.T) {
	fx := setup(t)
	id := fx.seedDone(t, "retention: 1h\n")
	if _, err := fx.op.Store().MarkDone(t.Context(), id, fx.clock.Now().Add(-2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	sw, err := New(Config{Operator: fx.op, Now: fx.clock.Now, Interval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- sw.Run(ctx, fx.rdb) }()
	testutil.WaitFor(t, 10*time.Second, "the expired campaign to be deleted", func() bool {
		_, err := fx.op.Store().Campaign(t.Context(), id)
		return err != nil
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
