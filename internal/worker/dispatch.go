package worker

import (
	"context"
	"errors"
	"time"

	"github.com/dialerhq/dialer/internal/queue"
	"github.com/hibiken/asynq"
)

// Dispatched returns the asynq handler of dial tasks fed from the campaigns' hoppers
// (package feeder). It runs ProcessTask between the hopper's bookkeeping: the attempt stops
// counting as ready when its task starts, and stops counting as dispatched when the task
// ends for good. A task that cannot proceed yet (a *queue.RetryLaterError: no slot, no
// calls-per-second turn, calling window closed, frequency cap, startAt ahead) is parked in
// its campaign's hopper, due when it may proceed, and ends without an asynq retry: a wait
// is not a failure, and asynq's retry count and the queue UI show only real failures.
func (h *Handler) Dispatched() asynq.Handler {
	return asynq.HandlerFunc(func(ctx context.Context, task *asynq.Task) error {
		t, perr := queue.ParseDialTask(task)
		if perr != nil {
			return h.ProcessTask(ctx, task)
		}
		store := h.cfg.Store
		if err := store.Started(ctx, t); err != nil {
			h.log.Warn("record task start", "task", t.String(), "err", err) // the reconciler clears it
		}
		err := h.ProcessTask(ctx, task)
		var later *queue.RetryLaterError
		if errors.As(err, &later) && ctx.Err() == nil {
			// The hopper is on the real clock, which the feeder takes due attempts by (and
			// the store parks by): a due time on Config.Now, when a test moves it, would
			// never come, or come at once.
			at := time.Now().Add(later.In)
			if perr := store.EnqueueDial(ctx, t, at); perr != nil {
				return err // asynq retries it after later.In instead
			}
			h.log.Debug("parked", "task", t.String(), "until", at.UTC().Format(time.RFC3339Nano), "reason", later.Reason)
			err = nil
		}
		if err != nil {
			return err
		}
		if serr := store.Settled(context.WithoutCancel(ctx), t); serr != nil {
			h.log.Warn("record task end", "task", t.String(), "err", serr) // the reconciler looks again
		}
		return nil
	})
}
