package worker

import (
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/campaign/campaigntest"
	"github.com/dialerhq/dialer/internal/interactly"
	"github.com/redis/go-redis/v9"
)

// A live call whose worker died (its follower lease ran out) is adopted by another worker's
// sweep, followed to its end and followed up, without waiting for asynq to recover the task;
// the task, recovered later, only finds the work done.
func TestAdoptOrphanedCall(t *testing.T) {
	api := newFakeAPI(interactly.PhoneCompleted)
	fx := setup(t, api)
	ctx := t.Context()
	// The dead worker claimed the attempt, placed the call, took a slot and the follower
	// lease, and died: the lease ran out a second ago.
	ref := campaign.AttemptRef{CampaignID: fx.c.ID, ContactID: 1, Attempt: 1}
	campaigntest.Claim(t, fx.store, ref, "dead")
	if _, err := fx.store.RecordCall(ctx, ref, "CC-9", "", callStart); err != nil {
		t.Fatal(err)
	}
	key := fx.c.ID + ":1:1"
	if _, err := fx.h.cfg.Slots.TryAcquire(ctx, campaign.SlotsKey(fx.c.ID), key, 1); err != nil {
		t.Fatal(err)
	}
	now, err := fx.store.RedisTime(ctx)
	if err != nil {
		t.Fatal(err)
	}
	followers := "dialer:{" + fx.c.ID + "}:followers"
	fx.rdb.ZAdd(ctx, followers, redis.Z{Score: float64(now.Add(-time.Second).UnixMilli()), Member: "1:1"})
	fx.rdb.HSet(ctx, "dialer:{"+fx.c.ID+"}:follower", "1:1", "dead-token")
	// The call is still going; it ends a moment after the adoption.
	api.mu.Lock()
	api.calls["CC-9"] = &interactly.Call{ID: "CC-9", Status: interactly.CallOngoing, PhoneCallStatus: interactly.PhoneInProgress, CreatedAt: interactly.Time{Time: callStart}}
	api.onGet = func(n int) {
		if n >= 2 {
			c := api.calls["CC-9"]
			c.Status, c.PhoneCallStatus, c.EndAt = interactly.CallFinished, interactly.PhoneCompleted, interactly.Time{Time: callStart.Add(time.Minute)}
			c.Analysis = &interactly.Analysis{Summary: "Adopted and confirmed.", SuccessEvaluation: "Good"}
		}
	}
	api.mu.Unlock()

	if err := fx.h.adoptOnce(ctx); err != nil {
		t.Fatal(err)
	}
	// While it follows, nobody else can take the call.
	if ok, _ := fx.store.Follow(ctx, campaign.AttemptRef{CampaignID: fx.c.ID, ContactID: 1, Attempt: 1}, "other-worker"); ok {
		t.Error("a second worker took the lease of a call being adopted")
	}
	waitFor(t, "the adopted call's outcome", func() bool { return fx.contact(t).Outcome != "" })
	ct := fx.contact(t)
	if ct.Outcome != campaign.OutcomeCompleted || ct.Last.Summary != "Adopted and confirmed." || len(api.connects) != 0 {
		t.Errorf("outcome %q, summary %q, %d dials; want completed with the analysis, no dial", ct.Outcome, ct.Last.Summary, len(api.connects))
	}
	waitFor(t, "the slot and the lease to be given back", func() bool {
		n, _ := fx.h.cfg.Slots.Count(ctx, campaign.SlotsKey(fx.c.ID))
		left, _ := fx.rdb.ZCard(ctx, followers).Result()
		return n == 0 && left == 0
	})
	// The dead worker's task, recovered by asynq, finds the work done.
	if err := fx.process(t, 1); err != nil {
		t.Fatal(err)
	}
	if len(api.connects) != 0 {
		t.Errorf("the recovered task dialed %d times", len(api.connects))
	}
}

// A call whose follower renews its lease is not adopted.
func TestLiveFollowerIsNotAdopted(t *testing.T) {
	fx := setup(t, newFakeAPI(interactly.PhoneCompleted))
	ctx := t.Context()
	if ok, err := fx.store.Follow(ctx, campaign.AttemptRef{CampaignID: fx.c.ID, ContactID: 1, Attempt: 1}, "alive"); err != nil || !ok {
		t.Fatalf("follow = %v, %v", ok, err)
	}
	now, _ := fx.store.RedisTime(ctx)
	orphans, err := fx.store.Orphans(ctx, []string{fx.c.ID}, now, 0, 10)
	if err != nil || len(orphans) != 0 {
		t.Errorf("orphans = %v, %v; want none while the lease runs", orphans, err)
	}
	later := now.Add(campaign.FollowLease + time.Second)
	if orphans, _ := fx.store.Orphans(ctx, []string{fx.c.ID}, later, 0, 10); len(orphans) != 1 {
		t.Errorf("orphans once the lease ran out = %v, want the one attempt", orphans)
	}
}
