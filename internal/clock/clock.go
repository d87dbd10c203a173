// Package clock holds the dialer's one way to wait on the wall clock while honouring a
// context: the worker's backoffs, the rate limiter's turns, the Interactly client's retries and
// cmd/chaos's pauses all wait with Sleep, and the lease renewals, metrics flushes and samplers
// repeat with Every, so that a stopping process never sits out a timer.
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

// Every calls f every d, the first time d from now, until ctx ends or f returns false. A call
// of f that takes longer than d delays the next one rather than queueing calls up, and once
// ctx has ended f is not called again, even if a tick was due. Every returns when ctx ends or f
// returns false, with its ticker stopped. d must be positive.
func Every(ctx context.Context, d time.Duration, f func() bool) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if ctx.Err() != nil || !f() {
			return
		}
	}
}
