// Package frequency caps how often one phone number is dialed across every campaign: at most
// Cap.MaxCalls dials in any window of Cap.Per.
//
// A Counter keeps one sliding-window log per number in Redis (see keys.go) and judges time by
// the Redis server's clock (TIME inside Lua), so every worker process of every campaign shares
// one count. A worker takes before it dials, with the attempt as holder, so that a retried
// task does not count its dial twice:
//
//	res, err := freq.Take(ctx, "+14155550101", "c123:17:1", frequency.Cap{MaxCalls: 3, Per: 24 * time.Hour})
//	if err != nil { ... }
//	if !res.Allowed {
//		... put the task back, due at res.RetryAt ...
//	}
//	... dial ...
package frequency
