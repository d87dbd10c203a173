// Package callerid picks the caller ID of each dial from a campaign's pool
// (campaign.File.CallerIDs) and keeps each number within its cap of live calls.
//
// A campaign file names one phoneNumberId or a pool under phoneNumberIds. With
// callerIdStrategy rotate the pool is dialed from in turn; with local a number in the
// contact's area comes first, then one in its country. Either way the turn is a counter in
// Redis, so every worker process shares one rotation. A number with a cap
// (maxConcurrentCalls, or the file's callerIdMaxConcurrentCalls) is held like a campaign's
// concurrency slot, by a lease of a ratelimit.Semaphore, in a key of its own shared by
// every campaign that dials from it: a trunk carries only so many calls, whoever places them.
//
// A worker picks after taking the campaign's slot, and gives the number back with the slot:
//
//	cid, err := picker.Pick(ctx, c, contact.Number, holder)
//	if errors.Is(err, callerid.ErrAllBusy) { ... give the slot back, try again later ... }
//	stop := picker.KeepAlive(ctx, c, cid.ID, holder)
//	... dial from cid.ID, poll until the call ends ...
//	stop()
//	picker.Release(ctx, c, cid.ID, holder)
package callerid
