package feeder

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDivideSlots(t *testing.T) {
	tests := []struct {
		name   string
		total  int
		claims []claim
		want   []int
	}{
		{"weights 1:2:3 of 12", 12, []claim{{0, 1, 10}, {0, 2, 10}, {0, 3, 10}}, []int{2, 4, 6}},
		{"weights 1:2:3 of 6", 6, []claim{{0, 1, 10}, {0, 2, 10}, {0, 3, 10}}, []int{1, 2, 3}},
		{"a small campaign's unused share goes to the others", 12, []claim{{0, 1, 1}, {0, 1, 20}, {0, 1, 20}}, []int{1, 6, 5}},
		{"a higher tier takes what it wants first", 10, []claim{{0, 1, 10}, {5, 1, 6}}, []int{4, 6}},
		{"a higher tier wanting everything starves a lower one", 10, []claim{{0, 5, 10}, {1, 1, 20}}, []int{0, 10}},
		{"nobody wants anything", 10, []claim{{0, 1, 0}, {0, 2, 0}}, []int{0, 0}},
		{"more room than wanted", 100, []claim{{0, 1, 3}, {0, 2, 5}}, []int{3, 5}},
		{"rounding never gives more than total", 5, []claim{{0, 1, 10}, {0, 1, 10}, {0, 1, 10}}, []int{2, 2, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := divideSlots(tt.total, tt.claims)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("divideSlots(%d) (-want +got):\n%s", tt.total, diff)
			}
		})
	}
}

func TestDivideRate(t *testing.T) {
	got := divide(6, []claim{{0, 1, 5}, {0, 2, 5}, {0, 3, 1}})
	want := []float64{5.0 / 3, 10.0 / 3, 1}
	for i := range want {
		if d := got[i] - want[i]; d > 1e-9 || d < -1e-9 {
			t.Fatalf("divide(6) = %v, want %v", got, want)
		}
	}
}
