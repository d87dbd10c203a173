// Package clock holds the dialer's one way to wait on the wall clock while honouring a
// context: the worker's backoffs, the rate limiter's turns, the Interactly client's retries and
// cmd/chaos's pauses all wait with Sleep, so that a stopping process never sits out a timer.
package clock

import (
	"context"
	"time"
)

// Sleep waits d, or until ctx ends if that comes first. It returns nil when d passed and
// ctx.Err() when ctx ended first; a d of zero or less returns ctx.Err() at once. Its timer is
// stopped on return, so a cut-short Sleep leaves nothing running.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
