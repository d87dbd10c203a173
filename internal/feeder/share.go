package feeder

import (
	"cmp"
	"math"
	"slices"
)

// claim is one campaign's claim on a limit its account shares: it wants up to want (its
// own cap, or less when it has less work), in priority tier priority, with weight weight.
type claim struct {
	priority int
	weight   float64
	want     float64
}

// divide splits total among claims: higher priority tiers first, each taking what it wants
// if it can; within a tier, in proportion to weight, no claim getting more than it wants
// (what one cannot use goes to the others of its tier, then to the next tier). The result
// is in the order of claims and sums to at most total.
func divide(total float64, claims []claim) []float64 {
	out := make([]float64, len(claims))
	order := make([]int, len(claims))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(claims[b].priority, claims[a].priority) })
	left := total
	for start := 0; start < len(order) && left > 0; {
		end := start
		for end < len(order) && claims[order[end]].priority == claims[order[start]].priority {
			end++
		}
		left -= fill(left, claims, order[start:end], out)
		start = end
	}
	return out
}

// fill shares total among the claims of tier (indexes into claims) by weight, capping each
// at its want, writes each share to out and returns what it gave.
func fill(total float64, claims []claim, tier []int, out []float64) float64 {
	open := slices.Clone(tier)
	given := 0.0
	for len(open) > 0 {
		weights := 0.0
		for _, i := range open {
			weights += claims[i].weight
		}
		left := total - given
		var still []int
		capped := false
		for _, i := range open {
			if fair := left * claims[i].weight / weights; claims[i].want <= fair {
				out[i] = claims[i].want
				given += claims[i].want
				capped = true
			} else {
				still = append(still, i)
			}
		}
		if !capped {
			for _, i := range open {
				out[i] = left * claims[i].weight / weights
				given += out[i]
			}
			return given
		}
		open = still
	}
	return given
}

// divideSlots is divide for whole slots: each share is rounded down, and the slots the
// rounding left over go one each to the claims with the largest remainders, higher tiers
// first, never above a claim's want.
func divideSlots(total int, claims []claim) []int {
	f := divide(float64(total), claims)
	out := make([]int, len(f))
	given := 0
	for i, v := range f {
		out[i] = int(math.Floor(v + 1e-9))
		given += out[i]
	}
	order := make([]int, len(f))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		if c := cmp.Compare(claims[b].priority, claims[a].priority); c != 0 {
			return c
		}
		return cmp.Compare(f[b]-float64(out[b]), f[a]-float64(out[a]))
	})
	for _, i := range order {
		if given >= total {
			break
		}
		if float64(out[i]) < claims[i].want && f[i]-float64(out[i]) > 1e-9 {
			out[i]++
			given++
		}
	}
	return out
}
