// Package worker runs dial tasks: for one attempt of one contact it takes a concurrency slot
// and a calls-per-second token, places the call through Interactly, follows it to its end,
// records the result, and schedules the next attempt or records the final outcome.
//
// Every step is recorded in Redis before the next one starts, so a task that is delivered
// again (its worker died, was stopped, or hit an API error) picks up where the last run
// left off and never dials twice for one attempt:
//
//	attempt state   what a (re)delivered task does
//	new             take slot and token, claim (HSETNX), dial
//	dialing         look the call up by its idempotency key; dial only if Interactly has none
//	live            hold the slot again and resume polling the recorded call id
//	done            schedule the next attempt or record the final outcome (both idempotent)
package worker

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dialerhq/dialer/internal/account"
	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/clock"
	"github.com/dialerhq/dialer/internal/frequency"
	"github.com/dialerhq/dialer/internal/interactly"
	"github.com/dialerhq/dialer/internal/queue"
	"github.com/dialerhq/dialer/internal/ratelimit"
	"github.com/dialerhq/dialer/internal/redisconn"
	"github.com/dialerhq/dialer/internal/window"
	"github.com/hibiken/asynq"
)

// CallAPI is the part of the Interactly API a worker uses; *interactly.Client implements it.
type CallAPI interface {
	ConnectCall(ctx context.Context, req *interactly.ConnectCallRequest) (*interactly.Call, error)
	GetCall(ctx context.Context, id string) (*interactly.Call, error)
	FindCall(ctx context.Context, idempotencyKey string, since time.Time) (*interactly.Call, error)
}

var _ CallAPI = (*interactly.Client)(nil)

// Config holds what a Handler needs. Store, Enqueuer, API, Limiter and Slots are required.
type Config struct {
	Store    *campaign.Store
	Enqueuer campaign.Enqueuer
	API      CallAPI
	Limiter  *ratelimit.Limiter
	Slots    *ratelimit.Semaphore
	// Suppression, when set, is asked right before each dial; a suppressed number gets the
	// outcome suppressed and is not dialed.
	Suppression Suppression
	// Frequency, when set, counts dials per number across campaigns; a campaign's
	// frequencyCap, else DefaultFrequencyCap (nil: none), limits them.
	Frequency           *frequency.Counter
	DefaultFrequencyCap *frequency.Cap
	// Name identifies this worker in attempt records. Defaults to "hostname:pid".
	Name string
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Accounts, when set, holds the accounts campaigns name (package account): their API
	// keys and account-wide limits. Without it every campaign uses API with no account caps.
	Accounts *account.Store
	// APIFor returns the client of the API key in environment variable env, for accounts
	// whose key is not DefaultAPIKeyEnv (API serves those). Nil: API serves every account.
	APIFor func(env string) (CallAPI, error)
	// TokenWait is the longest a dial waits for its calls-per-second turns (campaign and
	// account) before it is parked again; the feeder times dials so that the turn is due
	// when the task arrives. Defaults to 250ms.
	TokenWait time.Duration
	// UploadWait is how long a task of a campaign that is still uploading waits for the
	// upload to finish before it goes back to the queue. Defaults to 30s.
	UploadWait time.Duration
	// CampaignRecheck is how often a cached campaign's file version is compared with
	// Redis's, so that an edit (PATCH, dialer edit) takes effect here within it. Defaults
	// to 1s.
	CampaignRecheck time.Duration
	// CampaignIdle is how long a campaign no task has asked for stays in this process's
	// cache of campaigns; then it is dropped, and read from Redis again if a task asks. The
	// cache so holds the campaigns in use, however many this process has served. Defaults
	// to 10m.
	CampaignIdle time.Duration
	// LogPII logs full phone numbers; otherwise only their last 4 digits. Defaults to false.
	LogPII bool
	// Notifier, when set, is told of each final contact outcome and of each campaign that is
	// done, to send the campaign's notifications. *notify.Enqueuer implements it.
	Notifier Notifier
	// Metrics, when set, counts dials, rate-limit waits and poll fallbacks for Prometheus.
	// *metrics.Recorder implements it.
	Metrics Metrics
	// CallerIDs, when set, picks each dial's caller ID from a campaign's phoneNumberIds and
	// keeps per-number caps. Without it a pool is used round robin, without caps.
	CallerIDs CallerIDs
	// AdoptEvery is how often AdoptOrphans looks for live calls whose worker went quiet.
	// Defaults to 10s.
	AdoptEvery time.Duration
	// AdoptLimit caps the calls this process follows by adoption at once. Defaults to 100.
	AdoptLimit int
	// SweepEvery is how often SweepSlots frees the slots of finished attempts. Defaults to 2s.
	SweepEvery time.Duration
	// RateHeadroom is the share of callsPerSecond left unused. Dials are granted exactly
	// 1/rate apart, but reach Interactly a little late, each by its own amount (scheduling,
	// network). The headroom absorbs that jitter, so that no one-second window there holds
	// more than callsPerSecond. Defaults to 0.025: 25 ms of slack in every second. A dial
	// whose turns are older than half that slack when it is sent (the checks before the
	// send took that long) takes fresh turns first.
	RateHeadroom float64
	// Now is the clock every decision of time is made by: startAt, endAt, calling windows,
	// frequency caps, an attempt's due time, the next attempt's time. Defaults to time.Now.
	Now func() time.Time
}

// Notifier is told of final outcomes; both calls may come more than once for one event (after
// a crash) and must send it once.
type Notifier interface {
	ContactFinished(ctx context.Context, c *campaign.Campaign, contactID int) error
	CampaignFinished(ctx context.Context, c *campaign.Campaign) error
}

// Metrics counts what a worker does, for Prometheus.
type Metrics interface {
	Dial(campaignID string)
	RateLimitWait(campaignID string, waited time.Duration)
	PollFallback(campaignID string)
}

type noMetrics struct{}

func (noMetrics) Dial(string)                         {}
func (noMetrics) RateLimitWait(string, time.Duration) {}
func (noMetrics) PollFallback(string)                 {}

// Handler is the asynq handler of queue.TypeDial tasks.
type Handler struct {
	cfg       Config
	log       *slog.Logger
	now       func() time.Time
	campaigns sync.Map     // campaign ID -> *campaignRules, cached once ready, until an edit or CampaignIdle
	pruned    atomic.Int64 // when pruneCampaigns last looked, Unix ns on the real clock
	accounts  sync.Map     // account name -> cachedAccount
	ends      ends         // attempts waiting on announcements of their calls' ends
	token     string       // this Handler's follower token: Name and a random suffix
	adopting  atomic.Int32
	sweepFrom int // where the next sweep starts among the active campaigns (SweepSlots)
}

var _ asynq.Handler = (*Handler)(nil)

// New returns a Handler. It returns an error naming a missing Config field.
func New(cfg Config) (*Handler, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("worker: Config.Store is required")
	case cfg.Enqueuer == nil:
		return nil, errors.New("worker: Config.Enqueuer is required")
	case cfg.API == nil:
		return nil, errors.New("worker: Config.API is required")
	case cfg.Limiter == nil:
		return nil, errors.New("worker: Config.Limiter is required")
	case cfg.Slots == nil:
		return nil, errors.New("worker: Config.Slots is required")
	}
	if cfg.Name == "" {
		host, _ := os.Hostname()
		cfg.Name = host + ":" + strconv.Itoa(os.Getpid())
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.TokenWait <= 0 {
		cfg.TokenWait = 250 * time.Millisecond
	}
	if cfg.UploadWait <= 0 {
		cfg.UploadWait = 30 * time.Second
	}
	if cfg.CampaignRecheck <= 0 {
		cfg.CampaignRecheck = time.Second
	}
	if cfg.CampaignIdle <= 0 {
		cfg.CampaignIdle = 10 * time.Minute
	}
	if cfg.Metrics == nil {
		cfg.Metrics = noMetrics{}
	}
	if cfg.RateHeadroom <= 0 || cfg.RateHeadroom >= 1 {
		cfg.RateHeadroom = 0.025
	}
	if cfg.AdoptEvery <= 0 {
		cfg.AdoptEvery = 10 * time.Second
	}
	if cfg.AdoptLimit <= 0 {
		cfg.AdoptLimit = 100
	}
	if cfg.SweepEvery <= 0 {
		cfg.SweepEvery = 2 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	var suffix [6]byte
	_, _ = crand.Read(suffix[:])
	token := cfg.Name + "/" + hex.EncodeToString(suffix[:])
	return &Handler{cfg: cfg, log: cfg.Logger, now: cfg.Now, token: token}, nil
}

// ProcessTask runs one attempt of one contact (a queue.TypeDial task). It returns nil when
// the attempt is recorded and its follow-up (next attempt or final outcome) is too, and when
// the task is stale (its campaign was deleted, its contact already has an outcome). It
// returns a *queue.RetryLaterError when the task cannot proceed yet, and another error when
// it should be retried later; on the last of asynq's retries it records outcome error
// instead. A malformed payload is not retried (asynq.SkipRetry).
func (h *Handler) ProcessTask(ctx context.Context, task *asynq.Task) error {
	t, err := queue.ParseDialTask(task)
	if err != nil {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	cr, err := h.campaign(ctx, t.CampaignID)
	if errors.Is(err, campaign.ErrCampaignNotFound) {
		h.log.Warn("dropping task of a campaign that does not exist", "task", t.String())
		return nil
	}
	if err != nil {
		return err
	}
	ct, err := h.cfg.Store.Contact(ctx, t.CampaignID, t.ContactID)
	if err != nil {
		return err
	}
	if ct.ID == 0 {
		h.log.Warn("dropping task of a contact that does not exist", "task", t.String())
		return nil
	}
	if ct.Outcome != "" {
		return nil
	}
	acct, api, err := h.account(ctx, cr.c)
	if err != nil {
		return err
	}
	a := &attempt{h: h, c: cr.c, acct: acct, api: api, window: cr.window, ct: ct, t: t, log: h.log.With("task", t.String())}
	err = a.run(ctx)
	if errors.Is(err, errFinal) || errors.Is(err, errHeld) {
		return nil
	}
	var later *queue.RetryLaterError
	if end := cr.c.File.EndAt; end != nil && errors.As(err, &later) && !h.now().Add(later.In).Before(*end) {
		// The wait would outlast the campaign: what is left of it expires now.
		a.log.Info("the campaign ends before the contact could be called", "reason", later.Reason)
		return h.finalize(ctx, cr.c, t.ContactID, campaign.OutcomeExpired, expiredReason(*end))
	}
	if redisconn.IsFull(err) {
		// Redis refuses writes until memory is freed: no contact is to blame, so hold the
		// work (not counted against MaxRetry) rather than let retries run out into outcome error.
		h.log.Error("Redis is full; dialing is held until memory is freed", "task", t.String(), "err", err)
		return &queue.RetryLaterError{In: jitter(30 * time.Second), Reason: redisconn.FullMessage}
	}
	if refusedKey(err) {
		// Every call of the account would be refused alike: hold the work rather than give
		// every contact the outcome error. It goes on once the key works again.
		return h.keyRefused(ctx, acct, err)
	}
	if err == nil || isRetryLater(err) || ctx.Err() != nil || !lastTry(ctx) {
		return err
	}
	// asynq will not try again: the contact gets a final outcome now rather than never.
	a.log.Error("giving up on attempt", "err", err)
	r := campaign.Result{Outcome: campaign.OutcomeError, Error: "gave up after repeated failures: " + err.Error()}
	if _, ferr := a.finish(ctx, r); ferr != nil {
		return ferr
	}
	return h.finalize(ctx, cr.c, t.ContactID, campaign.OutcomeError, "")
}

// finalize records outcome o (with reason why, when not empty) as contact n's final one and
// tells the Notifier, also when the outcome was set before: the run that set it may have
// died before telling, and the Notifier sends each event once.
func (h *Handler) finalize(ctx context.Context, c *campaign.Campaign, n int, o campaign.Outcome, why string) error {
	res, err := h.cfg.Store.Finalize(ctx, c.ID, n, o, why)
	if err != nil || h.cfg.Notifier == nil {
		return err
	}
	if err := h.cfg.Notifier.ContactFinished(ctx, c, n); err != nil {
		return err
	}
	done := res == campaign.FinalizedCampaign
	if res == campaign.FinalizedBefore {
		st, err := h.cfg.Store.Status(ctx, c.ID)
		if err != nil {
			return err
		}
		done = st.Done
	}
	if done {
		return h.cfg.Notifier.CampaignFinished(ctx, c)
	}
	return nil
}

// campaignRules is a ready campaign and its calling window (nil: none).
type campaignRules struct {
	c      *campaign.Campaign
	window *window.Window
	// checked is when c's version was last compared with Redis's, in Unix nanoseconds on
	// the real clock.
	checked atomic.Int64
	// mu is held by the task comparing c's version with Redis's (see recheck).
	mu sync.Mutex
	// stale is set once an edit (or a delete) of the campaign was seen: c is not its file.
	stale atomic.Bool
	// used is when a task last asked for c, in Unix nanoseconds on the real clock.
	used atomic.Int64
}

// campaign returns campaign id once it is ready, waiting up to UploadWait while it uploads.
// A campaign read once is kept, and its file's version compared with Redis's at most every
// CampaignRecheck (one HMGET): an edit (campaign.Store.SetFile) is read again then, so it
// reaches every worker within about CampaignRecheck. One no task asked for within
// CampaignIdle is dropped (pruneCampaigns).
func (h *Handler) campaign(ctx context.Context, id string) (*campaignRules, error) {
	now := time.Now() // the cache's times are on the real clock, like the recheck's
	h.pruneCampaigns(now)
	if v, ok := h.campaigns.Load(id); ok {
		cr := v.(*campaignRules)
		cr.used.Store(now.UnixNano())
		current, err := h.recheck(ctx, id, cr)
		if err != nil {
			return nil, err
		}
		if current {
			return cr, nil
		}
	}
	// A real-time wait, not a compliance decision: the real clock, like the sleep below.
	deadline := time.Now().Add(h.cfg.UploadWait)
	for {
		c, err := h.cfg.Store.Campaign(ctx, id)
		if err != nil {
			return nil, err
		}
		if c.Upload == campaign.UploadComplete {
			w, err := c.File.Window()
			if err != nil {
				return nil, fmt.Errorf("campaign %s: %w", id, err)
			}
			cr := &campaignRules{c: c, window: w}
			cr.checked.Store(time.Now().UnixNano())
			cr.used.Store(time.Now().UnixNano())
			h.campaigns.Store(id, cr)
			return cr, nil
		}
		if time.Now().After(deadline) {
			return nil, &queue.RetryLaterError{In: 5 * time.Second, Reason: "campaign " + id + " is still uploading"}
		}
		if err := clock.Sleep(ctx, 500*time.Millisecond); err != nil {
			return nil, err
		}
	}
}

// pruneCampaigns drops from the campaign cache each campaign no task asked for within
// CampaignIdle before now. It looks at most once every CampaignIdle/4 (one pass over the
// cache), so most calls cost one atomic load. A task still holding a dropped campaign goes
// on with it; the next task of the campaign reads it again.
func (h *Handler) pruneCampaigns(now time.Time) {
	last := h.pruned.Load()
	if now.UnixNano()-last < int64(h.cfg.CampaignIdle/4) || !h.pruned.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	cutoff := now.Add(-h.cfg.CampaignIdle).UnixNano()
	h.campaigns.Range(func(id, v any) bool {
		if cr := v.(*campaignRules); cr.used.Load() < cutoff {
			h.campaigns.CompareAndDelete(id, cr)
		}
		return true
	})
}

// recheck reports whether cr, campaign id as cached, is still its file: it compares the
// version with Redis's at most every CampaignRecheck (one HMGET). While one task compares,
// the tasks that come meanwhile wait for its answer rather than go on with a file an edit
// may have replaced: they would take calls-per-second turns at the old rate, which holds
// every dial at the new rate back until that turn has passed. An edited campaign is dropped
// from the cache (false); a deleted one returns ErrCampaignNotFound.
func (h *Handler) recheck(ctx context.Context, id string, cr *campaignRules) (bool, error) {
	due := func() bool { return time.Now().UnixNano()-cr.checked.Load() >= int64(h.cfg.CampaignRecheck) }
	if !due() {
		return !cr.stale.Load(), nil
	}
	cr.mu.Lock()
	defer cr.mu.Unlock()
	if cr.stale.Load() || !due() {
		return !cr.stale.Load(), nil // another task compared meanwhile
	}
	vs, err := h.cfg.Store.Versions(ctx, []string{id})
	if err != nil {
		return false, err
	}
	if vs[0] == cr.c.Version {
		cr.checked.Store(time.Now().UnixNano())
		return true, nil
	}
	cr.stale.Store(true)
	h.campaigns.CompareAndDelete(id, cr)
	if vs[0] < 0 {
		return false, fmt.Errorf("campaign %q: %w", id, campaign.ErrCampaignNotFound)
	}
	h.log.Info("campaign edited; reading it again", "campaign", id, "version", vs[0])
	return false, nil
}

// refusedKey reports whether err is Interactly refusing the API key itself (401 or 403),
// which no contact can be blamed for.
func refusedKey(err error) bool {
	var apiErr *interactly.APIError
	return errors.As(err, &apiErr) && (apiErr.Status == http.StatusUnauthorized || apiErr.Status == http.StatusForbidden)
}

// refusedForGood returns err's *interactly.APIError when Interactly refused the request for
// good (not retryable) for a reason of the call itself, and nil otherwise: a retryable
// failure, or a refused API key (refusedKey), which no contact can be blamed for.
func refusedForGood(err error) *interactly.APIError {
	if apiErr := refused(err); apiErr != nil && !refusedKey(err) {
		return apiErr
	}
	return nil
}

// refused returns err's *interactly.APIError when Interactly refused the request (it is not
// retryable, the API key included), and nil otherwise.
func refused(err error) *interactly.APIError {
	var apiErr *interactly.APIError
	if errors.As(err, &apiErr) && !apiErr.Retryable {
		return apiErr
	}
	return nil
}

func isRetryLater(err error) bool {
	var later *queue.RetryLaterError
	return errors.As(err, &later)
}

func lastTry(ctx context.Context) bool {
	n, ok1 := asynq.GetRetryCount(ctx)
	maxRetry, ok2 := asynq.GetMaxRetry(ctx)
	return ok1 && ok2 && n >= maxRetry
}

// jitter returns d plus up to half of d at random.
func jitter(d time.Duration) time.Duration { return d + rand.N(d/2+1) }

// mask shows the last 4 digits of a number, for logs.
func mask(number string) string {
	if len(number) <= 4 {
		return "…"
	}
	return "…" + number[len(number)-4:]
}

// retries reports whether outcome o leads to another attempt under c's retry policy.
func retries(c *campaign.Campaign, o campaign.Outcome) bool {
	return slices.Contains(c.File.Retry.RetryOn, o)
}
