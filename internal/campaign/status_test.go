package campaign

import (
	"math"
	"testing"
	"time"
)

func TestStatusETA(t *testing.T) {
	tests := []struct {
		name string
		secs float64
		want time.Duration
	}{
		{"none yet", -1, 0},
		{"done", 0, 0},
		{"seconds", 90.4, 90400 * time.Millisecond},
		{"a crawling campaign stops at the cap", 1e15, maxETA},
		{"infinite", math.Inf(1), maxETA},
		{"NaN", math.NaN(), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &Status{ETASeconds: tt.secs}
			if got := st.ETA(); got != tt.want {
				t.Errorf("ETA() of %v s = %v, want %v", tt.secs, got, tt.want)
			}
		})
	}
}
