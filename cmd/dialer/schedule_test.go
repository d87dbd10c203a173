package main

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/redistest"
	"github.com/dialerhq/dialer/internal/schedule"
)

func TestSchedule(t *testing.T) {
	redistest.Parallel(t)
	rdb, _ := redistest.Setup(t, 6)
	_, campaignPath, contactsPath := fastFiles(t)
	vars := map[string]string{"REDIS_URL": redistest.URL(rdb)}
	e, stdout, stderr := testEnv(t, vars)

	if err := dispatch(t.Context(), e, []string{"schedule", "add", "--cron", "@every 1s", "--campaign", campaignPath, "--contacts", contactsPath}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	id := lines[len(lines)-1]
	if len(id) != 12 {
		t.Fatalf("last line of stdout = %q, want the schedule ID", id)
	}
	err := dispatch(t.Context(), e, []string{"schedule", "add", "--cron", "0 25 * * *", "--campaign", campaignPath, "--contacts", contactsPath})
	if err == nil || !strings.Contains(err.Error(), "0 25 * * *") {
		t.Errorf("add with hour 25: %v; want an error naming the spec", err)
	}

	stdout.Reset()
	if err := dispatch(t.Context(), e, []string{"schedule", "list"}); err != nil {
		t.Fatal(err)
	}
	if out := stdout.String(); !strings.Contains(out, id) || !strings.Contains(out, "@every 1s") || !strings.Contains(out, contactsPath) {
		t.Errorf("list = %q", out)
	}

	// Two replicas of dialer scheduler: each tick makes one campaign. They run until three
	// ticks have made theirs, and half a second (half a tick) more, in which a second
	// campaign of the last tick would have come; at most 15 s.
	ctx, stop := context.WithTimeout(t.Context(), 15*time.Second)
	defer stop()
	go func() {
		for ctx.Err() == nil {
			if ids, err := campaign.NewStore(rdb).CampaignIDs(ctx); err == nil && len(ids) >= 3 {
				time.Sleep(500 * time.Millisecond)
				stop()
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	var wg sync.WaitGroup
	for range 2 {
		re, _, rerr := testEnv(t, vars)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := dispatch(ctx, re, []string{"scheduler"}); err != nil {
				t.Errorf("scheduler: %v\n%s", err, rerr)
			}
		}()
	}
	wg.Wait()
	ids, err := campaign.NewStore(rdb).CampaignIDs(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	s, err := schedule.NewStore(rdb).Get(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	ticks := map[string]int{}
	for k := 1; k <= 10; k++ {
		ticks[schedule.CampaignID(id, s.CreatedAt.Add(time.Duration(k)*time.Second))] = k
	}
	seen := map[int]bool{}
	for _, c := range ids {
		k, ok := ticks[c]
		if !ok || seen[k] {
			t.Errorf("campaign %s: tick %d, known %v, seen before %v", c, k, ok, seen[k])
		}
		seen[k] = true
		st, err := campaign.NewStore(rdb).Status(t.Context(), c)
		if err != nil || st.Total != 4 {
			t.Errorf("campaign %s: status %+v, %v; want the 4 uploaded rows", c, st, err)
		}
	}
	if len(ids) < 3 {
		t.Errorf("%d campaigns after 15 s of @every 1s, want at least 3", len(ids))
	}

	if err := dispatch(t.Context(), e, []string{"schedule", "remove", id}); err != nil {
		t.Fatal(err)
	}
	err = dispatch(t.Context(), e, []string{"schedule", "remove", id})
	if err == nil || !strings.Contains(err.Error(), id) {
		t.Errorf("second remove: %v; want an error naming %s", err, id)
	}
	_ = stderr
}
