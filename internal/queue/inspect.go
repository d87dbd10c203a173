package queue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// TaskLease returns when asynq's lease on the running dial task with ID taskID runs out, and
// whether the task has one: only a task a worker is running does. asynq's worker extends the
// lease every 5 s by its heartbeat (a 30 s lease in asynq v0.26); once a lease has run out,
// asynq's recoverer hands the task to another worker. It reads asynq's lease set
// (asynq:{dialer}:lease, task ID -> expiry in Unix seconds), which asynq's Inspector does not
// show; it is for measuring recovery (cmd/chaos) and never used to decide anything. It
// returns an error only if Redis fails.
func TaskLease(ctx context.Context, rdb redis.UniversalClient, taskID string) (expiry time.Time, ok bool, err error) {
	score, err := rdb.ZScore(ctx, asynqKey(Name, "lease"), taskID).Result()
	if errors.Is(err, redis.Nil) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("lease of task %s: %w", taskID, err)
	}
	return time.Unix(int64(score), 0), true, nil
}
