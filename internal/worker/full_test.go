package worker

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/interactly"
	"github.com/dialerhq/dialer/internal/queue"
	"github.com/dialerhq/dialer/internal/redisconn"
	"github.com/dialerhq/dialer/internal/redistest"
)

// TestFullRedisHoldsTheWork runs a dial on a real redis-server that reaches its maxmemory
// under noeviction: the handler holds the task (a RetryLaterError, which asynq does not count
// against MaxRetry) and gives the contact no outcome; once memory is freed, the same task
// completes the contact.
func TestFullRedisHoldsTheWork(t *testing.T) {
	t.Parallel() // a redis-server of its own
	rdb, _ := redistest.StartServer(t)
	fx := setupOn(t, rdb, newFakeAPI(interactly.PhoneCompleted), testCampaign, nil)

	ctx := t.Context()
	redistest.LimitMemory(t, rdb, 512<<10)
	filler := strings.Repeat("x", 8<<10)
	for i := 0; ; i++ {
		err := rdb.Set(ctx, fmt.Sprint("filler:", i), filler, 0).Err()
		if redisconn.IsFull(err) {
			break
		}
		if err != nil || i > 10_000 {
			t.Fatalf("filling Redis: %v after %d keys", err, i)
		}
	}

	var later *queue.RetryLaterError
	if err := fx.process(t, 1); !errors.As(err, &later) || !strings.Contains(later.Reason, "Redis is full") {
		t.Fatalf("dial under a full Redis = %v, want a RetryLaterError saying Redis is full", err)
	}
	if ct := fx.contact(t); ct.Outcome != "" {
		t.Fatalf("contact got outcome %q under a full Redis; want none: it is held, not failed", ct.Outcome)
	}

	if err := rdb.ConfigSet(ctx, "maxmemory", "0").Err(); err != nil {
		t.Fatal(err)
	}
	if err := fx.process(t, 1); err != nil {
		t.Fatalf("dial once memory is freed: %v", err)
	}
	if ct := fx.contact(t); ct.Outcome != campaign.OutcomeCompleted || ct.Attempts != 1 {
		t.Errorf("outcome %q after %d attempts once memory is freed; want completed after 1", ct.Outcome, ct.Attempts)
	}
}
