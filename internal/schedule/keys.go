package schedule

// The Redis keys of this package:
//
//	dialer:schedules                  HASH    schedule ID -> Schedule as JSON
//	dialer:scheduler:leader           STR     random token of the scheduler that leads (PX 15s)
//	dialer:schedules:changed          PUBSUB  a schedule was added or removed
const keyPrefix = "dialer:"

func schedulesKey() string { return keyPrefix + "schedules" }

func leaderKey() string { return keyPrefix + "scheduler:leader" }

func changedChannel() string { return keyPrefix + "schedules:changed" }
