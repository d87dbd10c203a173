package schedule

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/redistest"
	"github.com/dialerhq/dialer/internal/testutil"
)

// TestTwoReplicas runs two schedulers, each with its leader loop and its queue server,
// against one Redis: every tick of an "@every 1s" schedule makes exactly one campaign.
//
// It is not parallel with the package's other tests: it counts ticks in a span of wall time.
// The store's clock lags the schedulers' by 900 ms, so that the schedule's first tick
// (CreatedAt, the time it was added rounded down to the second, plus 1 s) is due within
// 100 ms, or is due already and caught up on as a new leader does, and its second, which the
// leader waits for, within 1.1 s. The span, 1.6 s, holds both: the second is taken from the
// queue within the server's 200 ms check interval, leaving 300 ms for the upload.
func TestTwoReplicas(t *testing.T) {
	rdb, _ := redistest.Setup(t, db)
	dir := t.TempDir()
	st := NewStore(rdb)
	st.now = func() time.Time { return testutil.Now().Add(-900 * time.Millisecond) }
	sc, err := st.Add(t.Context(), Schedule{Cron: "@every 1s",
		CampaignPath: writeFile(t, dir, "c.yaml", testCampaign), ContactsPath: writeFile(t, dir, "c.csv", "phone\n4155550101\n")})
	if err != nil {
		t.Fatal(err)
	}
	campaigns := campaign.NewStore(rdb)
	var mu sync.Mutex
	uploads := map[string]int{}
	upload := func(ctx context.Context, s *Schedule, id string) error {
		mu.Lock()
		uploads[id]++
		mu.Unlock()
		return campaigns.CreateCampaign(ctx, &campaign.Campaign{ID: id, Upload: campaign.UploadComplete, CreatedAt: testutil.Now()})
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	ctx, stop := context.WithTimeout(t.Context(), 1600*time.Millisecond)
	defer stop()
	var wg sync.WaitGroup
	for range 2 {
		srv := NewServer(rdb, ServerConfig{Logger: quiet})
		if err := srv.Start(&Handler{Schedules: st, Campaigns: campaigns, Upload: upload, Logger: quiet}); err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer srv.Shutdown()
			_ = NewScheduler(rdb, Config{Logger: quiet, Now: testutil.Now}).Run(ctx)
		}()
	}
	wg.Wait()

	ids, err := campaigns.CampaignIDs(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// The ticks due so far are CreatedAt+1s, +2s, …; each has its own campaign ID.
	ticks := map[string]int{}
	for k := 1; k <= 10; k++ {
		ticks[CampaignID(sc.ID, sc.CreatedAt.Add(time.Duration(k)*time.Second))] = k
	}
	seen := map[int]bool{}
	for _, id := range ids {
		k, ok := ticks[id]
		if !ok {
			t.Errorf("campaign %s is of no tick", id)
		}
		if seen[k] {
			t.Errorf("two campaigns of tick %d", k)
		}
		seen[k] = true
	}
	if len(ids) < 2 {
		t.Errorf("%d campaigns in 1.6s of an @every 1s schedule added as of 0.9s before, want at least 2", len(ids))
	}
	for id, n := range uploads {
		if n != 1 {
			t.Errorf("campaign %s uploaded %d times", id, n)
		}
	}
}

func TestHandlerSkips(t *testing.T) {
	rdb := setup(t)
	ctx := t.Context()
	dir := t.TempDir()
	st := NewStore(rdb)
	sc, err := st.Add(ctx, Schedule{Cron: "@daily",
		CampaignPath: writeFile(t, dir, "c.yaml", testCampaign), ContactsPath: writeFile(t, dir, "c.csv", "phone\n4155550101\n")})
	if err != nil {
		t.Fatal(err)
	}
	campaigns := campaign.NewStore(rdb)
	calls := 0
	h := &Handler{Schedules: st, Campaigns: campaigns, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Upload: func(ctx context.Context, s *Schedule, id string) error {
			calls++
			return campaigns.CreateCampaign(ctx, &campaign.Campaign{ID: id, Upload: campaign.UploadComplete, CreatedAt: testutil.Now()})
		}}
	tick := Tick{ScheduleID: sc.ID, Tick: time.Date(2026, 3, 6, 0, 0, 0, 0, time.UTC)}
	for range 2 {
		if err := h.ProcessTask(ctx, newTickTask(tick)); err != nil {
			t.Fatal(err)
		}
	}
	if calls != 1 {
		t.Errorf("the same tick twice uploaded %d times, want 1", calls)
	}
	if err := st.Remove(ctx, sc.ID); err != nil {
		t.Fatal(err)
	}
	if err := h.ProcessTask(ctx, newTickTask(Tick{ScheduleID: sc.ID, Tick: tick.Tick.Add(24 * time.Hour)})); err != nil || calls != 1 {
		t.Errorf("a removed schedule's tick: err %v, uploads %d; want nil, none", err, calls-1)
	}
}

func newTickTask(t Tick) *asynq.Task {
	b, _ := json.Marshal(t)
	return asynq.NewTask(TypeCreate, b)
}
