package clock

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestSleep(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tt := range []struct {
		name string
		ctx  context.Context
		d    time.Duration
		want error
		min  time.Duration // Sleep returns no earlier than this
		max  time.Duration // and no later
	}{
		{"waits d", context.Background(), 20 * time.Millisecond, nil, 20 * time.Millisecond, 10 * time.Second},
		{"zero", context.Background(), 0, nil, 0, 10 * time.Second},
		{"negative", context.Background(), -time.Second, nil, 0, 10 * time.Second},
		{"ended context, zero", canceled, 0, context.Canceled, 0, 10 * time.Second},
		{"ended context cuts an hour short", canceled, time.Hour, context.Canceled, 0, 10 * time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			err := Sleep(tt.ctx, tt.d)
			took := time.Since(start)
			if !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
				t.Errorf("Sleep = %v, want %v", err, tt.want)
			}
			if took < tt.min || took > tt.max {
				t.Errorf("Sleep took %s, want %s to %s", took, tt.min, tt.max)
			}
		})
	}
}

// TestSleepCutShort ends the context while Sleep waits.
func TestSleepCutShort(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Sleep = %v, want %v", err, context.DeadlineExceeded)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("Sleep took %s after its context's 20 ms deadline", took)
	}
}

// TestEvery counts the calls of f: Every stops when f returns false, and when ctx ends.
func TestEvery(t *testing.T) {
	t.Run("until f returns false", func(t *testing.T) {
		calls := 0
		Every(context.Background(), time.Millisecond, func() bool {
			calls++
			return calls < 3
		})
		if calls != 3 {
			t.Errorf("f called %d times, want 3", calls)
		}
	})
	t.Run("until ctx ends", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		calls := 0
		Every(ctx, time.Millisecond, func() bool {
			calls++
			if calls == 2 {
				cancel() // no call after this one, though ticks keep coming due
				time.Sleep(5 * time.Millisecond)
			}
			return true
		})
		if calls != 2 {
			t.Errorf("f called %d times, want 2", calls)
		}
	})
	t.Run("ended context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		Every(ctx, time.Millisecond, func() bool {
			t.Error("f called after ctx ended")
			return true
		})
	})
}
