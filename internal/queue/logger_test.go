package queue

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// TestHandedBackIsCounted: asynq's warning per task handed back at shutdown becomes a count
// (the worker logs one summary line), while other warnings stay warnings.
func TestHandedBackIsCounted(t *testing.T) {
	var out bytes.Buffer
	n := 0
	a := slogAdapter{l: slog.New(slog.NewTextHandler(&out, nil)), handedBack: func() { n++ }}
	for range 3 {
		a.Warn("Quitting worker. task id=c1:1:1")
	}
	a.Warn("something else")
	if n != 3 || strings.Contains(out.String(), "Quitting") || !strings.Contains(out.String(), "level=WARN msg=\"something else\"") {
		t.Errorf("handed back %d, log:\n%s\nwant 3 counted, no Quitting line, the other warning kept", n, &out)
	}
}
