// Package ratelimit keeps a campaign's dialing within its two limits, both global across
// every worker process: calls per second (Limiter) and calls live at once (Semaphore).
//
// Both keep their state in Redis and judge time by the Redis server's clock (TIME inside
// Lua), so processes on machines whose clocks disagree still share one schedule. Callers
// pass the keys (package campaign builds them, e.g. dialer:{c123}:slots); a key's state
// is one Redis key, so it lives in one cluster slot.
//
// A worker takes a slot, then a dial token, and keeps the slot until the call is over:
//
//	if _, err := sem.Acquire(ctx, slotsKey, attemptID, maxLive); err != nil { ... }
//	stop := sem.KeepAlive(ctx, slotsKey, attemptID)
//	if _, err := lim.Wait(ctx, rateKey, cps); err != nil { ... }
//	... dial, poll until the call ends ...
//	stop()
//	sem.Release(ctx, slotsKey, attemptID)
package ratelimit
