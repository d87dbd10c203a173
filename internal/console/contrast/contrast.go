// Package contrast computes WCAG 2 contrast ratios, so that tests can hold the console's
// colours to level AA: 4.5:1 for text, 3:1 for large text (24 px, or 18.66 px bold). It
// reads colours as CSS writes them (#rgb, #rrggbb, rgb(), rgba()) and as a browser's
// getComputedStyle reports them.
package contrast

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Color is an sRGB colour with alpha, each channel 0 to 1.
type Color struct{ R, G, B, A float64 }

// String is c as CSS: #rrggbb, or rgba() when it is not opaque.
func (c Color) String() string {
	b := func(x float64) int { return int(math.Round(x * 255)) }
	if c.A < 1 {
		return fmt.Sprintf("rgba(%d, %d, %d, %.2f)", b(c.R), b(c.G), b(c.B), c.A)
	}
	return fmt.Sprintf("#%02x%02x%02x", b(c.R), b(c.G), b(c.B))
}

// Parse reads a CSS colour: #rgb, #rrggbb, rgb(r, g, b), rgba(r, g, b, a) (also with spaces
// instead of commas and "/ a"), or transparent. Other forms (names, hsl()) are an error
// that quotes s.
func Parse(s string) (Color, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	switch {
	case s == "transparent":
		return Color{}, nil
	case strings.HasPrefix(s, "#"):
		h := s[1:]
		if len(h) == 3 {
			h = string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
		}
		if len(h) != 6 {
			break
		}
		n, err := strconv.ParseUint(h, 16, 32)
		if err != nil {
			break
		}
		return Color{float64(n>>16&0xff) / 255, float64(n>>8&0xff) / 255, float64(n&0xff) / 255, 1}, nil
	case strings.HasPrefix(s, "rgb(") || strings.HasPrefix(s, "rgba("):
		inner := s[strings.IndexByte(s, '(')+1:]
		inner, ok := strings.CutSuffix(inner, ")")
		if !ok {
			break
		}
		parts := strings.FieldsFunc(inner, func(r rune) bool { return r == ',' || r == ' ' || r == '/' })
		if len(parts) != 3 && len(parts) != 4 {
			break
		}
		var v [4]float64
		v[3] = 1
		bad := false
		for i, p := range parts {
			pct := strings.HasSuffix(p, "%")
			x, err := strconv.ParseFloat(strings.TrimSuffix(p, "%"), 64)
			switch {
			case err != nil:
				bad = true
			case pct && i < 3:
				x = x * 255 / 100
			case pct:
				x /= 100
			}
			v[i] = x
		}
		if bad {
			break
		}
		return Color{v[0] / 255, v[1] / 255, v[2] / 255, v[3]}, nil
	}
	return Color{}, fmt.Errorf("colour %q: want #rgb, #rrggbb, rgb() or rgba()", s)
}

// MustParse is Parse for colours written in code; it panics on an error.
func MustParse(s string) Color {
	c, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return c
}

// Over is c drawn over the opaque colour bg: what the eye sees of a translucent colour.
func (c Color) Over(bg Color) Color {
	a := c.A
	return Color{c.R*a + bg.R*(1-a), c.G*a + bg.G*(1-a), c.B*a + bg.B*(1-a), 1}
}

// Luminance is c's relative luminance (WCAG 2), 0 for black to 1 for white; alpha is
// ignored.
func (c Color) Luminance() float64 {
	lin := func(x float64) float64 {
		if x <= 0.04045 {
			return x / 12.92
		}
		return math.Pow((x+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(c.R) + 0.7152*lin(c.G) + 0.0722*lin(c.B)
}

// Ratio is the contrast ratio of fg on the opaque bg, from 1 to 21. A translucent fg is
// first drawn over bg.
func Ratio(fg, bg Color) float64 {
	if fg.A < 1 {
		fg = fg.Over(bg)
	}
	l1, l2 := fg.Luminance(), bg.Luminance()
	if l1 < l2 {
		l1, l2 = l2, l1
	}
	return (l1 + 0.05) / (l2 + 0.05)
}

// Large reports whether text of sizePx CSS pixels and CSS font-weight is large text for
// WCAG: at least 24 px, or 18.66 px (14 pt) and bold (700 or more).
func Large(sizePx float64, weight int) bool {
	return sizePx >= 24 || (sizePx >= 18.66 && weight >= 700)
}

// AA is the least contrast ratio WCAG level AA asks of text: 3 for large text, else 4.5.
func AA(large bool) float64 {
	if large {
		return 3
	}
	return 4.5
}
