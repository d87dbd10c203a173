package metrics

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/dialerhq/dialer/internal/clock"
	"github.com/redis/go-redis/v9"
)

// Ops of Recorder.APIError: which Interactly call failed.
const (
	OpConnect = "connect" // POST Connect Call
	OpGet     = "get"     // GET a call
	OpList    = "list"    // GET List Calls
	OpControl = "control" // POST a call's controlUrl
)

// Reasons of Recorder.WebhookRejected that the webhook receiver is expected to use. Other
// short snake_case constants are accepted too.
const (
	RejectUnauthorized = "unauthorized" // missing or wrong x-interactly-secret
	RejectTooLarge     = "too_large"    // body over the size limit
	RejectMalformed    = "malformed"    // body is not the JSON of a server message
)

// other is the label value that stands for every value outside a label's known set, so that
// nothing a caller (or a webhook sender) passes can grow the number of series without bound.
const other = "other"

// webhookTypes are the server-message types Interactly documents; any other type counts as
// "other".
var webhookTypes = map[string]bool{
	"status-update": true, "conversation-update": true, "end-of-call-report": true,
	"hang": true, "error": true,
}

var apiOps = map[string]bool{OpConnect: true, OpGet: true, OpList: true, OpControl: true}

// recordBuckets are the upper bounds, in seconds, of the dialer_webhook_record_seconds
// histogram's buckets (Prometheus' default buckets), plus the implicit +Inf. Changing them
// keeps old counts right: Collect folds a stored bucket into the next bound above it.
var recordBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// RecorderConfig configures NewRecorderWithConfig. The zero value works.
type RecorderConfig struct {
	// FlushInterval is how often Run writes the counts gathered since the last flush to
	// Redis. Figures on /metrics lag by up to this much. Defaults to 1s.
	FlushInterval time.Duration
	// FlushTimeout bounds one flush, including the last one Run makes when its context
	// ends. Defaults to 2s.
	FlushTimeout time.Duration
	// Logger receives flush failures from Run: the first of a run of failures (at Warn) and
	// the recovery (at Info), not one line per second while Redis is away. Defaults to
	// slog.Default().
	Logger *slog.Logger
	// Now is the clock that places each dial in its minute of DialsPerMinute. Defaults to
	// time.Now.
	Now func() time.Time
}

// WithDefaults returns c with each zero field set to its default.
func (c RecorderConfig) WithDefaults() RecorderConfig {
	if c.FlushInterval == 0 {
		c.FlushInterval = time.Second
	}
	if c.FlushTimeout == 0 {
		c.FlushTimeout = 2 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate reports the first field of c that is out of range, after defaults.
func (c RecorderConfig) Validate() error {
	if c.FlushInterval <= 0 {
		return fmt.Errorf("metrics: RecorderConfig.FlushInterval %v: must be positive", c.FlushInterval)
	}
	if c.FlushTimeout <= 0 {
		return fmt.Errorf("metrics: RecorderConfig.FlushTimeout %v: must be positive", c.FlushTimeout)
	}
	return nil
}

// Recorder counts what one process does (dials, rate-limit waits, API errors, poll
// fallbacks, webhook events) in memory and adds the counts to hashes in Redis (see keys.go),
// where a Collector in any replica reads the whole fleet's totals. Recording an event takes
// a mutex and a map update, no Redis round trip; Run (or Flush) moves the counts to Redis.
//
// A Recorder is safe for concurrent use; one per process is enough. A nil *Recorder is valid:
// every method does nothing (Flush and Run return nil at once), so code that may run without
// metrics needs no nil checks.
//
// Counts are at least once: a flush whose reply is lost (the connection breaks after Redis
// ran the MULTI) is kept and written again, so such a failure may count some events twice.
// Counts not yet flushed when a process dies are lost.
type Recorder struct {
	rdb redis.UniversalClient
	cfg RecorderConfig

	mu sync.Mutex
	d  deltas // counts since the last successful flush
}

// deltas are counts not yet in Redis, each kept as the hash field it will be added to. Its
// maps are made on first use, so the zero value is empty and swapping in a fresh one costs
// nothing.
type deltas struct {
	ints      map[hashField]int64   // HINCRBY
	floats    map[hashField]float64 // HINCRBYFLOAT: seconds
	perMinute map[minuteKey]int64   // HINCRBY of dialsPerMinuteKey(campaign), field minute
}

// hashField is one field of one of the hashes of keys.go. The keys are constants, so making
// one costs no allocation.
type hashField struct {
	key   string
	field string
}

// minuteKey is one campaign's minute: Unix time / 60. It is kept apart from hashField so
// that Dial builds no key string; write does, once per flush.
type minuteKey struct {
	campaign string
	minute   int64
}

// bucketFields are the webhook_record_seconds hash fields of recordBuckets' bounds, then
// fieldInf.
var bucketFields = func() []string {
	out := make([]string, 0, len(recordBuckets)+1)
	for _, le := range recordBuckets {
		out = append(out, strconv.FormatFloat(le, 'g', -1, 64))
	}
	return append(out, fieldInf)
}()

// NewRecorder returns a Recorder on rdb (not nil) with the default RecorderConfig. Start its
// Run in a goroutine, or call Flush yourself.
func NewRecorder(rdb redis.UniversalClient) *Recorder {
	return NewRecorderWithConfig(rdb, RecorderConfig{})
}

// NewRecorderWithConfig returns a Recorder on rdb (not nil) configured by cfg (zero fields
// take their defaults). It panics if cfg is invalid, as reported by Validate.
func NewRecorderWithConfig(rdb redis.UniversalClient, cfg RecorderConfig) *Recorder {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	return &Recorder{rdb: rdb, cfg: cfg}
}

// Dial counts one dial begun for campaignID (dialer_dials_total{campaign}), and in its
// minute of the campaign's DialsPerMinute series.
func (r *Recorder) Dial(campaignID string) {
	if r == nil {
		return
	}
	minute := r.cfg.Now().Unix() / 60
	r.mu.Lock()
	inc(&r.d.ints, hashField{dialsKey(), campaignID}, 1)
	inc(&r.d.perMinute, minuteKey{campaignID, minute}, 1)
	r.mu.Unlock()
}

// RateLimitWait counts one wait for campaignID's calls-per-second limit and the time spent
// in it (dialer_rate_limit_waits_total and dialer_rate_limit_wait_seconds_total, by
// campaign). A negative waited counts as 0.
func (r *Recorder) RateLimitWait(campaignID string, waited time.Duration) {
	if r == nil {
		return
	}
	secs := max(waited, 0).Seconds()
	r.mu.Lock()
	inc(&r.d.ints, hashField{rateLimitWaitsKey(), campaignID}, 1)
	inc(&r.d.floats, hashField{rateLimitWaitSecondsKey(), campaignID}, secs)
	r.mu.Unlock()
}

// APIError counts one failed Interactly call (dialer_api_errors_total{op,status}). op is
// OpConnect, OpGet, OpList or OpControl (anything else counts as "other"); status is the HTTP
// status, or 0 for a network error or timeout (outside 0-599 counts as "other").
func (r *Recorder) APIError(op string, status int) {
	if r == nil {
		return // before the field is built
	}
	if !apiOps[op] {
		op = other
	}
	code := other
	if status >= 0 && status <= 599 {
		code = strconv.Itoa(status)
	}
	r.count(apiErrorsKey(), op+":"+code)
}

// PollFallback counts one call of campaignID whose end was learnt by polling Get Call rather
// than from a webhook (dialer_poll_fallbacks_total{campaign}).
func (r *Recorder) PollFallback(campaignID string) {
	r.count(pollFallbacksKey(), campaignID)
}

// WebhookEvent counts one webhook event accepted (dialer_webhook_events_total{type}).
// eventType is the server message's type as received; the types Interactly documents
// (status-update, conversation-update, end-of-call-report, hang, error) are kept and any
// other counts as "other".
func (r *Recorder) WebhookEvent(eventType string) {
	if !webhookTypes[eventType] {
		eventType = other
	}
	r.count(webhookEventsKey(), eventType)
}

// WebhookRejected counts one webhook request refused (dialer_webhook_rejected_total{reason}).
// reason should be a constant such as RejectUnauthorized, RejectTooLarge or RejectMalformed,
// never text from the request: anything that is not 1-32 characters of a-z, 0-9 and "_"
// (starting with a letter) counts as "other".
func (r *Recorder) WebhookRejected(reason string) {
	if !isSnakeCase(reason) {
		reason = other
	}
	r.count(webhookRejectedKey(), reason)
}

// count adds 1 to field of the hash key. On a nil Recorder it does nothing.
func (r *Recorder) count(key, field string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	inc(&r.d.ints, hashField{key, field}, 1)
	r.mu.Unlock()
}

// WebhookRecordLatency observes d, the time from an end-of-call-report's arrival to its
// outcome being recorded, in the dialer_webhook_record_seconds histogram (Prometheus' default
// buckets: 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5 and 10 seconds, and +Inf). A
// negative d counts as 0.
func (r *Recorder) WebhookRecordLatency(d time.Duration) {
	if r == nil {
		return
	}
	secs := max(d, 0).Seconds()
	i := sort.SearchFloat64s(recordBuckets, secs) // first bound >= secs; len = +Inf
	r.mu.Lock()
	inc(&r.d.ints, hashField{webhookRecordKey(), bucketFields[i]}, 1)
	inc(&r.d.ints, hashField{webhookRecordKey(), fieldCount}, 1)
	inc(&r.d.floats, hashField{webhookRecordKey(), fieldSum}, secs)
	r.mu.Unlock()
}

// Flush adds the counts gathered since the last successful flush to Redis in one MULTI/EXEC.
// On failure the counts are kept, merged with those recorded meanwhile, for the next flush,
// and the error says so. With nothing to write it makes no round trip.
func (r *Recorder) Flush(ctx context.Context) error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	d := r.d
	r.d = deltas{}
	r.mu.Unlock()
	if d.empty() {
		return nil
	}
	_, err := r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		d.write(ctx, p)
		return nil
	})
	if err != nil {
		r.mu.Lock()
		r.d.merge(&d)
		r.mu.Unlock()
		return fmt.Errorf("metrics: flush counts to Redis (kept for the next flush): %w", err)
	}
	return nil
}

// Run flushes every FlushInterval until ctx ends, then flushes once more (within
// FlushTimeout, even though ctx is done) and returns that last flush's error, or nil. A
// failed periodic flush is logged and its counts are retried at the next one.
func (r *Recorder) Run(ctx context.Context) error {
	if r == nil {
		return nil
	}
	// Not cancelled with ctx: a flush cut off after Redis ran it would count twice.
	flushCtx := context.WithoutCancel(ctx)
	failures := 0
	clock.Every(ctx, r.cfg.FlushInterval, func() bool {
		err := r.flushWithin(flushCtx)
		switch {
		case err != nil && failures == 0:
			r.cfg.Logger.Warn("metrics flush failed; retrying every interval", "interval", r.cfg.FlushInterval, "err", err)
			failures++
		case err != nil:
			failures++
		case failures > 0:
			r.cfg.Logger.Info("metrics flush recovered", "failedFlushes", failures)
			failures = 0
		}
		return true
	})
	return r.flushWithin(flushCtx)
}

func (r *Recorder) flushWithin(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.FlushTimeout)
	defer cancel()
	return r.Flush(ctx)
}

// inc adds n to (*m)[k], making the map on first use.
func inc[K comparable, V int64 | float64](m *map[K]V, k K, n V) {
	if *m == nil {
		*m = make(map[K]V)
	}
	(*m)[k] += n
}

func (d *deltas) empty() bool {
	return len(d.ints) == 0 && len(d.floats) == 0 && len(d.perMinute) == 0
}

// write queues on p one HINCRBY (HINCRBYFLOAT for seconds) per count.
func (d *deltas) write(ctx context.Context, p redis.Pipeliner) {
	for k, n := range d.ints {
		p.HIncrBy(ctx, k.key, k.field, n)
	}
	for k, s := range d.floats {
		p.HIncrByFloat(ctx, k.key, k.field, s)
	}
	for k, n := range d.perMinute {
		p.HIncrBy(ctx, dialsPerMinuteKey(k.campaign), strconv.FormatInt(k.minute, 10), n)
	}
}

// merge adds o's counts to d.
func (d *deltas) merge(o *deltas) {
	addAll(&d.ints, o.ints)
	addAll(&d.floats, o.floats)
	addAll(&d.perMinute, o.perMinute)
}

// addAll adds each count of src to *dst, making the map on first use.
func addAll[K comparable, V int64 | float64](dst *map[K]V, src map[K]V) {
	for k, n := range src {
		inc(dst, k, n)
	}
}

// isSnakeCase reports whether s is 1-32 characters of a-z, 0-9 and "_", starting with a letter.
func isSnakeCase(s string) bool {
	if len(s) == 0 || len(s) > 32 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}
