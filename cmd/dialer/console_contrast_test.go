package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/dialerhq/dialer/internal/console/contrast"
)

// textColorsJS lists, for every visible piece of text on the page (text nodes, form
// controls' values and placeholders, SVG text), its colour, font size and weight, and the
// background colours behind it from the element outwards, as the browser computed them.
// Hidden text (display: none, the 1-px .sr-only clip) is left out: nobody sees it.
const textColorsJS = `(() => {
  const out = [];
  const seen = new Set();
  const visible = el => {
    const r = el.getBoundingClientRect();
    if (r.width <= 1 || r.height <= 1) return false;
    for (let e = el; e; e = e.parentElement) {
      const cs = getComputedStyle(e);
      if (cs.visibility === "hidden" || cs.display === "none" || cs.opacity === "0") return false;
    }
    return true;
  };
  const backgrounds = el => {
    const bgs = [];
    for (let e = el; e; e = e.parentElement) {
      const bg = getComputedStyle(e).backgroundColor;
      bgs.push(bg);
      if (!bg.startsWith("rgba") && bg !== "transparent") break;
    }
    return bgs;
  };
  const name = el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\s+/).join(".") : "");
  const add = (el, color, text, pseudo) => {
    const key = name(el) + "|" + color + "|" + (pseudo || "");
    if (seen.has(key)) return;
    seen.add(key);
    const cs = getComputedStyle(el, pseudo || null);
    out.push({where: name(el) + (pseudo || ""), text: text.trim().slice(0, 40), color, size: parseFloat(cs.fontSize), weight: parseInt(cs.fontWeight, 10), bgs: backgrounds(el)});
  };
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    const el = n.parentElement;
    if (!el || !n.textContent.trim() || el.closest("script, style, option") || !visible(el)) continue;
    const svg = el.closest("svg");
    add(el, svg ? getComputedStyle(el).fill : getComputedStyle(el).color, n.textContent);
  }
  for (const el of document.querySelectorAll("input:not([type=hidden]):not([type=file]), select, textarea, button")) {
    if (!visible(el) || el.disabled) continue;
    add(el, getComputedStyle(el).color, el.value || el.textContent || "");
    if (el.placeholder && !el.value) add(el, getComputedStyle(el, "::placeholder").color, el.placeholder, "::placeholder");
  }
  for (const el of document.querySelectorAll("[data-label]")) {
    if (!visible(el)) continue;
    const cs = getComputedStyle(el, "::before");
    if (cs.content && cs.content !== "none" && cs.display !== "none") add(el, cs.color, el.dataset.label, "::before");
  }
  return out;
})()`

// textColor is one entry of textColorsJS.
type textColor struct {
	Where  string   `json:"where"`
	Text   string   `json:"text"`
	Color  string   `json:"color"`
	Size   float64  `json:"size"`
	Weight int      `json:"weight"`
	Bgs    []string `json:"bgs"`
}

// lowContrast returns a line for each entry whose contrast is below WCAG AA: 4.5:1, or 3:1
// for large text. The background is the entry's backgrounds composed from the page's
// (white when none is opaque) inwards.
func lowContrast(entries []textColor) ([]string, error) {
	var low []string
	for _, e := range entries {
		fg, err := contrast.Parse(e.Color)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.Where, err)
		}
		bg := contrast.MustParse("#fff")
		for i := len(e.Bgs) - 1; i >= 0; i-- {
			c, err := contrast.Parse(e.Bgs[i])
			if err != nil {
				return nil, fmt.Errorf("%s background: %w", e.Where, err)
			}
			bg = c.Over(bg)
		}
		ratio := contrast.Ratio(fg, bg)
		if need := contrast.AA(contrast.Large(e.Size, e.Weight)); ratio < need {
			low = append(low, fmt.Sprintf("%s %q: %s on %s is %.2f:1, AA needs %.1f:1", e.Where, e.Text, fg, bg, ratio, need))
		}
	}
	return low, nil
}

// checkContrast fails with every piece of text on the current page whose contrast is below
// WCAG AA.
func checkContrast(page string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		var entries []textColor
		if err := chromedp.Evaluate(textColorsJS, &entries).Do(ctx); err != nil {
			return err
		}
		if len(entries) == 0 {
			return fmt.Errorf("%s: the contrast check found no text", page)
		}
		low, err := lowContrast(entries)
		if err != nil {
			return fmt.Errorf("%s: %w", page, err)
		}
		if len(low) > 0 {
			return fmt.Errorf("%s: text below WCAG AA contrast:\n%s", page, strings.Join(low, "\n"))
		}
		return nil
	})
}

// TestLowContrast: the check behind checkContrast finds a grey that just misses AA, and a
// translucent background that makes dark text too faint, and passes large text at 3:1.
func TestLowContrast(t *testing.T) {
	entries := []textColor{
		{Where: "p.ok", Color: "rgb(26, 26, 26)", Size: 16, Weight: 400, Bgs: []string{"rgba(0, 0, 0, 0)", "rgb(255, 255, 255)"}},
		{Where: "p.grey", Color: "rgb(119, 119, 119)", Size: 16, Weight: 400, Bgs: []string{"rgb(255, 255, 255)"}},
		{Where: "h1.large", Color: "rgb(119, 119, 119)", Size: 24, Weight: 400, Bgs: []string{"rgb(255, 255, 255)"}},
		{Where: "span.dim", Color: "rgb(85, 85, 85)", Size: 16, Weight: 400, Bgs: []string{"rgba(0, 0, 0, 0.5)"}},
	}
	low, err := lowContrast(entries)
	if err != nil {
		t.Fatal(err)
	}
	if len(low) != 2 || !strings.HasPrefix(low[0], "p.grey") || !strings.HasPrefix(low[1], "span.dim") {
		t.Errorf("low contrast found:\n%s\nwant p.grey (4.48:1) and span.dim", strings.Join(low, "\n"))
	}
}
