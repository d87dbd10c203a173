package account

import (
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/redistest"
	"github.com/dialerhq/dialer/internal/testutil"
)

// The key hold: a refusal starts it; one probe per step, the step doubling from 1 s up to a
// minute; a log line for the first refusal and then one per 30 s; ClearKeyHold ends it.
func TestKeyHold(t *testing.T) {
	rdb, _ := redistest.Setup(t, 40)
	ctx := t.Context()
	s := NewStore(rdb)
	t0 := testutil.Now().Truncate(time.Millisecond) // the hold keeps Unix ms
	at := func(d time.Duration) time.Time { return t0.Add(d) }

	if c, _, err := s.CheckKeyHold(ctx, "acme", t0); err != nil || c != KeyFree {
		t.Fatalf("before any refusal: %v, %v; want KeyFree", c, err)
	}
	probe, log, err := s.RefuseKey(ctx, "acme", 401, t0)
	if err != nil || !log || !probe.Equal(at(time.Second)) {
		t.Fatalf("first refusal: probe at %v, log %v, %v; want t0+1s and a log line", probe.Sub(t0), log, err)
	}
	if _, log, _ := s.RefuseKey(ctx, "acme", 401, at(500*time.Millisecond)); log {
		t.Error("a second refusal 0.5 s later is logged; want one line per 30 s")
	}
	// Probes at 1, 3, 7, 15, 31, 63, 123 (1 min, the cap), 183 s.
	var probes []time.Duration
	for d := time.Duration(0); d <= 200*time.Second; d += 100 * time.Millisecond {
		c, _, err := s.CheckKeyHold(ctx, "acme", at(d))
		if err != nil {
			t.Fatal(err)
		}
		if c == KeyProbe {
			probes = append(probes, d)
		}
	}
	want := []time.Duration{1, 3, 7, 15, 31, 63, 123, 183}
	if len(probes) != len(want) {
		t.Fatalf("probes at %v, want at %v s", probes, want)
	}
	for i, p := range probes {
		if p != want[i]*time.Second {
			t.Errorf("probe %d at %v, want %v", i+1, p, want[i]*time.Second)
		}
	}
	if _, log, _ := s.RefuseKey(ctx, "acme", 401, at(31*time.Second)); !log {
		t.Error("a refusal 31 s after the last log line is not logged")
	}
	h, err := s.KeyHoldOf(ctx, "acme")
	if err != nil || h == nil || h.Status != 401 || !h.Since.Equal(t0) {
		t.Errorf("KeyHoldOf = %+v, %v; want held since t0 with 401", h, err)
	}
	if held, _ := s.KeyHoldOf(ctx, "other"); held != nil {
		t.Errorf("another account is held: %+v", held)
	}
	if err := s.ClearKeyHold(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	if c, _, err := s.CheckKeyHold(ctx, "acme", at(300*time.Second)); err != nil || c != KeyFree {
		t.Errorf("after ClearKeyHold: %v, %v; want KeyFree", c, err)
	}
}
