package contrast

import (
	"math"
	"testing"
)

func TestRatio(t *testing.T) {
	for _, tt := range []struct {
		fg, bg string
		want   float64
	}{
		{"#000", "#fff", 21},
		{"#fff", "#fff", 1},
		{"#777777", "#ffffff", 4.48}, // the classic grey that just fails AA
		{"#767676", "rgb(255, 255, 255)", 4.54},
		{"rgba(0, 0, 0, 0.5)", "#fff", 3.98}, // 50% black over white is #808080 (3.95) give or take rounding
		{"#0b57d0", "#fff", 6.39},
	} {
		got := Ratio(MustParse(tt.fg), MustParse(tt.bg))
		if math.Abs(got-tt.want) > 0.01 {
			t.Errorf("Ratio(%s, %s) = %.3f, want %.2f", tt.fg, tt.bg, got, tt.want)
		}
	}
}

func TestParse(t *testing.T) {
	for _, s := range []string{"#abc", "#AABBCC", "rgb(1, 2, 3)", "rgba(1,2,3,0.5)", "rgb(1 2 3 / 50%)", "transparent"} {
		if _, err := Parse(s); err != nil {
			t.Errorf("Parse(%q): %v", s, err)
		}
	}
	for _, s := range []string{"red", "#abcd", "hsl(0, 0%, 0%)", "rgb(1, 2)", "rgb(a, b, c)"} {
		if _, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) took it", s)
		}
	}
	if got := MustParse("#abc").String(); got != "#aabbcc" {
		t.Errorf("String = %s", got)
	}
}

func TestAA(t *testing.T) {
	if AA(Large(16, 400)) != 4.5 || AA(Large(18.66, 700)) != 3 || AA(Large(24, 400)) != 3 || AA(Large(20, 600)) != 4.5 {
		t.Error("AA thresholds wrong")
	}
}
