package retention

// Every Redis key this package owns is built here.
//
//	dialer:retention:leader   STR  the lock that elects the one sweeper (schedule.Leader)
//
// When a campaign was first seen done is kept in its own record (done_at in
// dialer:{C}:campaign, see campaign.Store.MarkDone), so it goes with the campaign.
func leaderKey() string { return "dialer:retention:leader" }
