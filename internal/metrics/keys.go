package metrics

// Every Redis key this package owns is built here. They share the hash tag {metrics}, so in
// Redis Cluster they live in one slot and a Recorder flushes them in one MULTI/EXEC.
//
//	dialer:{metrics}:dials                   HASH  campaign ID -> dials begun
//	dialer:{metrics}:dials_per_minute:ID     HASH  Unix minute (Unix seconds / 60) -> dials
//	                                               campaign ID began in that minute
//	dialer:{metrics}:rate_limit_waits        HASH  campaign ID -> waits for a calls-per-second grant
//	dialer:{metrics}:rate_limit_wait_seconds HASH  campaign ID -> seconds spent in those waits (float)
//	dialer:{metrics}:api_errors              HASH  "op:status" (e.g. "connect:429", "get:0") -> errors
//	dialer:{metrics}:poll_fallbacks          HASH  campaign ID -> call ends learnt by polling Get Call
//	dialer:{metrics}:webhook_events          HASH  event type (or "other") -> webhook events accepted
//	dialer:{metrics}:webhook_rejected        HASH  reason -> webhook requests refused
//	dialer:{metrics}:webhook_record_seconds  HASH  bucket upper bound ("0.005" … "10", "+Inf") ->
//	                                               observations in that bucket alone (not
//	                                               cumulative); "sum" -> seconds (float);
//	                                               "count" -> observations
//
// Nothing expires: the hashes hold one field per campaign or label value, a few bytes each;
// a campaign's per-minute hash one field per minute it dialed in (a 10-hour campaign: 600),
// deleted with the campaign (Forget).
const keyPrefix = "dialer:{metrics}:"

func dialsKey() string { return keyPrefix + "dials" }

func dialsPerMinuteKey(id string) string { return keyPrefix + "dials_per_minute:" + id }

func rateLimitWaitsKey() string { return keyPrefix + "rate_limit_waits" }

func rateLimitWaitSecondsKey() string { return keyPrefix + "rate_limit_wait_seconds" }

func apiErrorsKey() string { return keyPrefix + "api_errors" }

func pollFallbacksKey() string { return keyPrefix + "poll_fallbacks" }

func webhookEventsKey() string { return keyPrefix + "webhook_events" }

func webhookRejectedKey() string { return keyPrefix + "webhook_rejected" }

func webhookRecordKey() string { return keyPrefix + "webhook_record_seconds" }

// Fields of the webhook_record_seconds hash besides its buckets.
const (
	fieldSum   = "sum"
	fieldCount = "count"
	fieldInf   = "+Inf"
)
