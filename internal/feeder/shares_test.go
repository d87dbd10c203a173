package feeder

import (
	"fmt"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/account"
	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/ratelimit"
	"github.com/dialerhq/dialer/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// mustUpload uploads a campaign of rows contacts with the given weight and its own limits
// of 5 live calls and 100 calls per second, and returns its ID.
func mustUpload(t *testing.T, store *campaign.Store, name string, weight, rows int) string {
	t.Helper()
	yaml := fmt.Sprintf("name: %s\nweight: %d\n", name, weight) + strings.SplitN(testCampaign, "\n", 3)[2]
	f, err := campaign.ParseChecked(name+".yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	var csv strings.Builder
	csv.WriteString("phone\n")
	for i := range rows {
		fmt.Fprintf(&csv, "+1415555%04d\n", 1000*weight+i)
	}
	open := func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(csv.String())), nil }
	c, err := store.Upload(t.Context(), f, name+".csv", open, nil, campaign.UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

// newFeeder returns a Feeder on rdb, closed when t ends, whose clock runs a millisecond
// ahead: an upload parks its rows due at its instant rounded up to the millisecond, which a
// feed in that same millisecond would not reach yet (a real feed tick comes later).
func newFeeder(t *testing.T, rdb *redis.Client) *Feeder {
	t.Helper()
	fd, err := New(Config{Redis: rdb})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fd.queue.Close() })
	fd.now = func() time.Time { return time.Now().Add(time.Millisecond) }
	return fd
}

// TestFeedSharesTheAccount feeds three campaigns of weights 1, 2 and 3 on an account of 6
// live calls and 6 calls per second, each with work enough to fill it. Each campaign's share
// (what `dialer status` and `dialer list` show) is 1:2:3 of both limits, and says why its
// rows wait: the account's calls per second while it has free slots, the account's cap once
// the account's slots are full, or paused. The tasks handed to asynq stay within each
// share. Every key the feeder and the uploads wrote that names a campaign carries its ID as
// a hash tag, so that a campaign's keys can live on one Redis Cluster shard.
func TestFeedSharesTheAccount(t *testing.T) {
	rdb, _ := redistest.Setup(t, testDB)
	ctx := t.Context()
	store := campaign.NewStore(rdb)
	if err := account.NewStore(rdb).Set(ctx, account.Account{Name: account.Default, CallsPerSecond: 6, MaxConcurrentCalls: 6}); err != nil {
		t.Fatal(err)
	}
	ids := []string{mustUpload(t, store, "w1", 1, 20), mustUpload(t, store, "w2", 2, 20), mustUpload(t, store, "w3", 3, 20)}
	fd := newFeeder(t, rdb)
	shares := func() []campaign.Share {
		t.Helper()
		fd.shared = fd.shared.AddDate(0, 0, -1) // write the shares at this feed
		if err := fd.Feed(ctx); err != nil {
			t.Fatal(err)
		}
		out := make([]campaign.Share, len(ids))
		for i, id := range ids {
			st, err := store.Status(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if st.Share == nil {
				t.Fatalf("campaign of weight %d has no share after a feed", i+1)
			}
			if st.Ready > st.Share.Slots {
				t.Errorf("campaign of weight %d: %d tasks handed to asynq, more than its share of %d slots", i+1, st.Ready, st.Share.Slots)
			}
			out[i] = *st.Share
		}
		return out
	}

	for i, sh := range shares() {
		w := i + 1
		if sh.Slots != w || math.Abs(sh.CallsPerSecond-float64(w)) > 1e-9 || sh.Waiting != "account calls per second" {
			t.Errorf("campaign of weight %d: share %d slots, %g calls/s, waiting for %q; want %d, %d and \"account calls per second\"", w, sh.Slots, sh.CallsPerSecond, sh.Waiting, w, w)
		}
	}

	// The account's live calls fill its cap (other campaigns' calls, or these'): every
	// campaign now waits for the account's cap.
	slots := ratelimit.NewSemaphore(rdb, ratelimit.SemaphoreConfig{})
	for i := range 6 {
		if err := slots.Hold(ctx, account.SlotsKey(account.Default), fmt.Sprintf("other:%d:1", i)); err != nil {
			t.Fatal(err)
		}
	}
	for i, sh := range shares() {
		if sh.Waiting != "account cap" {
			t.Errorf("campaign of weight %d with the account's 6 slots taken waits for %q, want \"account cap\"", i+1, sh.Waiting)
		}
	}
	if err := store.Pause(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	if sh := shares()[0]; sh.Waiting != "paused" {
		t.Errorf("the paused campaign waits for %q, want \"paused\"", sh.Waiting)
	}

	var bad []string
	iter := rdb.Scan(ctx, 0, "*", 1000).Iterator()
	keys := 0
	for iter.Next(ctx) {
		key := iter.Val()
		keys++
		for _, id := range ids {
			if strings.Contains(key, id) && !strings.HasPrefix(key, "asynq:") && !strings.HasPrefix(key, campaign.KeyTag(id)) {
				bad = append(bad, key)
			}
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	if len(bad) > 0 || keys == 0 {
		t.Errorf("keys naming a campaign outside its hash tag (of %d keys): %q", keys, bad)
	}
	if tag := campaign.KeyTag(ids[0]); !strings.Contains(tag, "{"+ids[0]+"}") {
		t.Errorf("campaign.KeyTag(%q) = %q, want the ID in braces", ids[0], tag)
	}
}

// TestFeedWaitsForTheCampaign feeds one campaign on an account without caps: its share is
// its own rateLimit, and its rows wait for its own calls per second while it has free
// slots, then for its own cap once its 5 slots are held.
func TestFeedWaitsForTheCampaign(t *testing.T) {
	rdb, _ := redistest.Setup(t, testDB)
	ctx := t.Context()
	store := campaign.NewStore(rdb)
	id := mustUpload(t, store, "alone", 1, 20)
	fd := newFeeder(t, rdb)
	share := func() campaign.Share {
		t.Helper()
		fd.shared = fd.shared.AddDate(0, 0, -1) // write the share at this feed
		if err := fd.Feed(ctx); err != nil {
			t.Fatal(err)
		}
		st, err := store.Status(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if st.Share == nil {
			t.Fatal("no share after a feed")
		}
		return *st.Share
	}
	if sh := share(); sh.Slots != 5 || sh.CallsPerSecond != 100 || sh.Waiting != "calls per second" {
		t.Errorf("share %+v; want its own 5 slots and 100 calls/s, waiting for \"calls per second\"", sh)
	}
	slots := ratelimit.NewSemaphore(rdb, ratelimit.SemaphoreConfig{})
	for i := range 5 {
		if err := slots.Hold(ctx, campaign.SlotsKey(id), fmt.Sprintf("%s:%d:1", id, 100+i)); err != nil {
			t.Fatal(err)
		}
	}
	if sh := share(); sh.Waiting != "campaign cap" {
		t.Errorf("with its 5 slots held the campaign waits for %q, want \"campaign cap\"", sh.Waiting)
	}
}
