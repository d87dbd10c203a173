package testutil

import (
	"context"
	"testing"
	"time"
)

func TestClock(t *testing.T) {
	start := Now()
	c := NewClock(start)
	c.Advance(time.Minute)
	c.AdvanceTo(start) // earlier: stays
	if got := c.Now(); !got.Equal(start.Add(time.Minute)) {
		t.Errorf("after Advance(1m) and AdvanceTo(start): %s, want start+1m", got.Sub(start))
	}
	c.AdvanceTo(start.Add(time.Hour))
	if err := c.Sleep(t.Context(), time.Second); err != nil {
		t.Fatal(err)
	}
	if got := c.Now().Sub(start); got != time.Hour+time.Second {
		t.Errorf("after AdvanceTo(start+1h) and Sleep(1s): start+%s", got)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := c.Sleep(ctx, time.Second); err != context.Canceled || c.Now().Sub(start) != time.Hour+time.Second {
		t.Errorf("Sleep on a done context = %v, clock at start+%s; want context.Canceled and no move", err, c.Now().Sub(start))
	}
	c.Set(start)
	if !c.Now().Equal(start) {
		t.Errorf("after Set(start): start+%s", c.Now().Sub(start))
	}
}
