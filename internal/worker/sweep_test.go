package worker

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/account"
	"github.com/dialerhq/dialer/internal/callerid"
	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/campaign/campaigntest"
	"github.com/dialerhq/dialer/internal/interactly"
	"github.com/dialerhq/dialer/internal/testutil"
)

// A slot whose attempt is recorded as finished is freed within seconds, whoever held it and
// whatever became of its release (here: none came, as when a worker dies between recording
// the result and giving the slot back, or Redis lost the release in a crash): the campaign's,
// the account's and the caller ID's. Slots of attempts not finished stay held.
func TestSweepFreesSlotsOfFinishedAttempts(t *testing.T) {
	yaml := strings.Replace(testCampaign, "phoneNumberId: num-1", "phoneNumberIds: [{id: num-1, number: \"+14155550100\", maxConcurrentCalls: 5}]", 1)
	fx := setupWith(t, newFakeAPI(interactly.PhoneCompleted), yaml, nil)
	ctx := t.Context()
	accts := account.NewStore(fx.rdb)
	if err := accts.Set(ctx, account.Account{Name: account.Default, MaxConcurrentCalls: 5}); err != nil {
		t.Fatal(err)
	}
	fx.h.cfg.Accounts = accts
	fx.h.cfg.SweepEvery = 100 * time.Millisecond

	id := fx.c.ID
	finished, live, unclaimed := id+":1:1", id+":1:2", id+":1:3"
	for a := 1; a <= 2; a++ {
		ref := campaign.AttemptRef{CampaignID: id, ContactID: 1, Attempt: a}
		campaigntest.Claim(t, fx.store, ref, "w1")
		if _, err := fx.store.RecordCall(ctx, ref, "CC-"+string(rune('0'+a)), "", testutil.Now()); err != nil {
			t.Fatal(err)
		}
	}
	campaigntest.Finish(t, fx.store, campaign.AttemptRef{CampaignID: id, ContactID: 1, Attempt: 1}, campaign.Result{Outcome: campaign.OutcomeCompleted})
	keys := []string{campaign.SlotsKey(id), account.SlotsKey(account.Default), callerid.SlotsKey("num-1")}
	for _, key := range keys {
		for _, holder := range []string{finished, live, unclaimed} {
			if ok, err := fx.h.cfg.Slots.TryAcquire(ctx, key, holder, 10); err != nil || !ok {
				t.Fatalf("take %s for %s: %v %v", key, holder, ok, err)
			}
		}
	}

	sctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); fx.h.SweepSlots(sctx) }()
	defer func() { stop(); <-done }()

	want := []string{live, unclaimed}
	held := func(key string) []string {
		hs, err := fx.h.cfg.Slots.Holders(ctx, key, 10)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(hs)
		return hs
	}
	start := testutil.Now()
	freed := testutil.Eventually(5*time.Second, func() bool {
		for _, key := range keys {
			if !slices.Equal(held(key), want) {
				return false
			}
		}
		return true
	})
	for _, key := range keys {
		if got := held(key); !slices.Equal(got, want) {
			t.Errorf("%s held by %v, want %v (the finished attempt's slot freed, the others kept)", key, got, want)
		}
	}
	if freed {
		t.Logf("freed after %v", testutil.Now().Sub(start).Round(time.Millisecond))
	}
}
