// Package feeder keeps each campaign's dial tasks few: contacts wait in their campaign's
// hopper in Redis (package campaign), and the feeder enqueues for each campaign only the
// dial tasks it can start soon, about its free share of slots and a fraction of a second of
// its share of calls per second. asynq's one queue then never holds a backlog, so a small
// campaign's contacts are never stuck behind a large one's, and no worker goroutine waits
// on a limit: a dial that cannot start is parked back in the hopper (package worker).
//
// Every worker process runs a Feeder; one of them, holding a lease in Redis, leads. The
// leader divides each account's limits among its campaigns (by priority tier, then weight;
// see divide), feeds, and reconciles: a dispatched attempt whose task went missing from
// asynq is parked again (campaign.Store.Rebuild). Taking from a hopper is one atomic
// script, so two leaders for a moment (a lease that ran out under a stalled process) only
// feed a little too much; the workers' own checks of every limit still hold.
package feeder

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/dialerhq/dialer/internal/account"
	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/clock"
	"github.com/dialerhq/dialer/internal/queue"
	"github.com/dialerhq/dialer/internal/ratelimit"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// Config configures New. Redis is required.
type Config struct {
	Redis redis.UniversalClient
	// Slots counts live-call leases; it must use the workers' lease. Defaults to a
	// ratelimit.Semaphore with its defaults, as package worker uses.
	Slots *ratelimit.Semaphore
	// Tick is how often the leader feeds. Defaults to 50ms.
	Tick time.Duration
	// Ahead is how much of a campaign's calls-per-second share is given to workers at once.
	// Defaults to 250ms.
	Ahead time.Duration
	// RateHeadroom is the share of calls per second left unused, as in worker.Config.
	// Defaults to 0.025.
	RateHeadroom float64
	// ReconcileEvery is how often the leader checks dispatched attempts against asynq.
	// Defaults to 10s.
	ReconcileEvery time.Duration
	// Grace is how long an attempt must have been dispatched before the reconciler checks
	// it: an enqueue in flight is not missing. Defaults to 30s.
	Grace time.Duration
	// Lease is how long leadership lasts without renewal. Defaults to 5s.
	Lease time.Duration
	// Recheck is how often the cached campaigns' file versions are compared with Redis's
	// (one pipelined round trip), so that an edit of priority, weight or limits is fed by
	// within it. Defaults to 1s.
	Recheck time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

func (c *Config) withDefaults() {
	if c.Slots == nil {
		c.Slots = ratelimit.NewSemaphore(c.Redis, ratelimit.SemaphoreConfig{})
	}
	if c.Tick <= 0 {
		c.Tick = 50 * time.Millisecond
	}
	if c.Ahead <= 0 {
		c.Ahead = 250 * time.Millisecond
	}
	if c.RateHeadroom <= 0 || c.RateHeadroom >= 1 {
		c.RateHeadroom = 0.025
	}
	if c.ReconcileEvery <= 0 {
		c.ReconcileEvery = 10 * time.Second
	}
	if c.Grace <= 0 {
		c.Grace = 30 * time.Second
	}
	if c.Lease <= 0 {
		c.Lease = 5 * time.Second
	}
	if c.Recheck <= 0 {
		c.Recheck = time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Feeder feeds dial tasks from the campaigns' hoppers to asynq. Run it in every worker.
type Feeder struct {
	cfg      Config
	store    *campaign.Store
	accounts *account.Store
	queue    *queue.Client
	inspect  *asynq.Inspector
	log      *slog.Logger
	token    string
	now      func() time.Time

	campaigns map[string]*campaign.Campaign // ready campaigns, until an edit
	pace      map[string]*pacer             // by campaign
	last      time.Time                     // the last feed
	shared    time.Time                     // when shares were last written
	checked   time.Time                     // when the cached campaigns' versions were last compared
}

// pacer lets a campaign's feeds keep to its calls-per-second share.
type pacer struct {
	allowance float64 // dials that may be fed now
}

// New returns a Feeder. It returns an error when Redis is missing.
func New(cfg Config) (*Feeder, error) {
	if cfg.Redis == nil {
		return nil, errors.New("feeder: Config.Redis is required")
	}
	cfg.withDefaults()
	var b [6]byte
	_, _ = rand.Read(b[:])
	return &Feeder{
		cfg: cfg, store: campaign.NewStore(cfg.Redis), accounts: account.NewStore(cfg.Redis),
		queue: queue.NewClient(cfg.Redis), inspect: asynq.NewInspectorFromRedisClient(cfg.Redis),
		log: cfg.Logger.With("component", "feeder"), token: hex.EncodeToString(b[:]), now: time.Now,
		campaigns: map[string]*campaign.Campaign{}, pace: map[string]*pacer{},
	}, nil
}

// leaderKey holds the leading Feeder's token; it is no campaign's or account's.
const leaderKey = "dialer:feeder:leader"

// leadScript takes or renews the lead.
//
//	KEYS[1] -> dialer:feeder:leader
//	ARGV[1] -> this Feeder's token
//	ARGV[2] -> lease, ms
//
// Returns 1 when this Feeder leads.
var leadScript = redis.NewScript(`
local v = redis.call("GET", KEYS[1])
if v and v ~= ARGV[1] then
  return 0
end
redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2])
return 1
`)

// Run feeds and reconciles while this Feeder leads, and tries to lead otherwise, until ctx
// is done; then it gives the lead up and returns. Redis errors are logged and retried.
func (f *Feeder) Run(ctx context.Context) {
	defer f.queue.Close()
	defer func() {
		_ = f.cfg.Redis.Eval(context.WithoutCancel(ctx), `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`, []string{leaderKey}, f.token).Err()
	}()
	var renewed, reconciled time.Time
	leading := false
	clock.Every(ctx, f.cfg.Tick, func() bool {
		now := time.Now()
		if now.Sub(renewed) >= f.cfg.Lease/5 {
			ok, err := leadScript.Run(ctx, f.cfg.Redis, []string{leaderKey}, f.token, f.cfg.Lease.Milliseconds()).Bool()
			if err != nil {
				if ctx.Err() == nil {
					f.log.Warn("take the feeder lead", "err", err)
				}
				leading = false
				return true
			}
			if ok && !leading {
				f.log.Info("leading the feeder")
				f.last = time.Time{}
			}
			leading, renewed = ok, now
		}
		if !leading {
			return true
		}
		if err := f.Feed(ctx); err != nil && ctx.Err() == nil {
			f.log.Warn("feed", "err", err)
		}
		if now.Sub(reconciled) >= f.cfg.ReconcileEvery {
			reconciled = now
			if n, err := f.Reconcile(ctx); err != nil && ctx.Err() == nil {
				f.log.Warn("reconcile", "err", err)
			} else if n > 0 {
				f.log.Warn("rebuilt dial work whose tasks went missing", "attempts", n)
			}
		}
		return true
	})
}

// view is one campaign at one feed.
type view struct {
	id     string
	c      *campaign.Campaign
	hop    campaign.Hopper
	live   int // slots held
	paused bool
}

// Feed does one round: it divides each account's limits among its campaigns and gives
// asynq the dial tasks each campaign may start now. Run calls it every Tick.
func (f *Feeder) Feed(ctx context.Context) error {
	now := f.now()
	dt := 0.0
	if !f.last.IsZero() {
		dt = now.Sub(f.last).Seconds()
	}
	f.last = now
	ids, err := f.store.ActiveCampaigns(ctx)
	if err != nil {
		return err
	}
	if now.Sub(f.checked) >= f.cfg.Recheck {
		if err := f.recheck(ctx); err != nil {
			return err
		}
		f.checked = now
	}
	var views []*view
	for _, id := range ids {
		c, err := f.campaign(ctx, id)
		if err != nil {
			return err
		}
		if c != nil {
			views = append(views, &view{id: id, c: c})
		}
	}
	vids := make([]string, len(views))
	for i, v := range views {
		vids[i] = v.id
	}
	hops, err := f.store.Hoppers(ctx, vids, now)
	if err != nil {
		return err
	}
	byAccount := map[string][]*view{}
	var order []string
	writeShares := now.Sub(f.shared) >= time.Second
	for i, v := range views {
		v.hop = hops[i]
		if v.hop.Due+v.hop.Later+v.hop.Dispatched == 0 {
			if writeShares {
				f.retireIfDone(ctx, v.id)
			}
			continue
		}
		if v.hop.Dispatched > 0 || v.hop.Due > 0 {
			if v.live, err = f.cfg.Slots.Count(ctx, campaign.SlotsKey(v.id)); err != nil {
				return err
			}
		}
		if v.hop.Due > 0 {
			ctl, err := f.store.Control(ctx, v.id)
			if err != nil {
				return err
			}
			v.paused = ctl == campaign.ControlPaused
		}
		name := v.c.File.Account
		if name == "" {
			name = account.Default
		}
		if byAccount[name] == nil {
			order = append(order, name)
		}
		byAccount[name] = append(byAccount[name], v)
	}
	if writeShares {
		f.shared = now
	}
	for _, name := range order {
		if err := f.feedAccount(ctx, name, byAccount[name], now, dt, writeShares); err != nil {
			return err
		}
	}
	return nil
}

// feedAccount feeds the campaigns vs of account name.
func (f *Feeder) feedAccount(ctx context.Context, name string, vs []*view, now time.Time, dt float64, writeShares bool) error {
	acct, err := f.accounts.Get(ctx, name)
	if errors.Is(err, account.ErrNotFound) {
		acct = &account.Account{Name: name} // the workers refuse to dial; nothing to share
	} else if err != nil {
		return err
	}
	slotClaims := make([]claim, len(vs))
	rateClaims := make([]claim, len(vs))
	for i, v := range vs {
		rl := v.c.File.RateLimit
		w := float64(max(v.c.File.Weight, 1))
		want := v.live + v.hop.Ready
		if !v.paused {
			want += v.hop.Due
		}
		slotClaims[i] = claim{priority: v.c.File.Priority, weight: w, want: float64(min(rl.MaxConcurrentCalls, want))}
		rate := 0.0
		if v.hop.Due > 0 && !v.paused {
			rate = rl.CallsPerSecond
		}
		rateClaims[i] = claim{priority: v.c.File.Priority, weight: w, want: rate}
	}
	slots := make([]int, len(vs))
	acctFree := math.MaxInt
	if acct.MaxConcurrentCalls > 0 {
		slots = divideSlots(acct.MaxConcurrentCalls, slotClaims)
		held, err := f.cfg.Slots.Count(ctx, account.SlotsKey(name))
		if err != nil {
			return err
		}
		acctFree = acct.MaxConcurrentCalls - held
		for _, v := range vs {
			acctFree -= v.hop.Ready
		}
	} else {
		for i, v := range vs {
			slots[i] = v.c.File.RateLimit.MaxConcurrentCalls
		}
	}
	rates := make([]float64, len(vs))
	if acct.CallsPerSecond > 0 {
		rates = divide(acct.CallsPerSecond, rateClaims)
	} else {
		for i := range vs {
			rates[i] = rateClaims[i].want
		}
	}
	// Higher tiers feed first, so the account's free slots go to them.
	idx := make([]int, len(vs))
	for i := range idx {
		idx[i] = i
	}
	sortByPriority(idx, vs)
	for _, i := range idx {
		v := vs[i]
		rl := v.c.File.RateLimit
		p := f.pace[v.id]
		if p == nil {
			p = &pacer{allowance: 1}
			f.pace[v.id] = p
		}
		rate := rates[i] * (1 - f.cfg.RateHeadroom)
		burst := max(1, rate*f.cfg.Ahead.Seconds())
		p.allowance = min(burst, p.allowance+rate*dt)
		free := min(slots[i]-v.live-v.hop.Ready, acctFree)
		k := min(v.hop.Due, free, int(p.allowance))
		waiting := ""
		switch {
		case v.hop.Due == 0:
		case v.paused:
			waiting = "paused"
		case slots[i]-v.live-v.hop.Ready <= 0 && slots[i] < rl.MaxConcurrentCalls:
			waiting = "account cap"
		case slots[i]-v.live-v.hop.Ready <= 0:
			waiting = "campaign cap"
		case free <= 0:
			waiting = "account cap"
		case k < v.hop.Due && rates[i] < rl.CallsPerSecond:
			waiting = "account calls per second"
		case k < v.hop.Due:
			waiting = "calls per second"
		}
		if writeShares {
			sh := campaign.Share{Slots: slots[i], CallsPerSecond: rates[i], Waiting: waiting, At: now.UTC()}
			if err := f.store.SetShare(ctx, v.id, sh); err != nil {
				return err
			}
		}
		if k <= 0 || v.paused {
			continue
		}
		refs, err := f.store.Take(ctx, v.id, now, k)
		if err != nil {
			return err
		}
		p.allowance -= float64(len(refs))
		acctFree -= len(refs)
		for _, r := range refs {
			if err := f.queue.EnqueueDial(ctx, r, time.Time{}); err != nil {
				// The attempt is dispatched without a task: the reconciler parks it again.
				return err
			}
		}
	}
	return nil
}

func sortByPriority(idx []int, vs []*view) {
	for i := 1; i < len(idx); i++ {
		for j := i; j > 0 && vs[idx[j]].c.File.Priority > vs[idx[j-1]].c.File.Priority; j-- {
			idx[j], idx[j-1] = idx[j-1], idx[j]
		}
	}
}

// campaign returns campaign id once it is ready, nil while it uploads; a campaign that no
// longer exists is retired, and one whose upload stopped renewing its lease is marked
// failed and cleared (campaign.Store.ReapUpload).
func (f *Feeder) campaign(ctx context.Context, id string) (*campaign.Campaign, error) {
	if c := f.campaigns[id]; c != nil {
		return c, nil
	}
	c, err := f.store.Campaign(ctx, id)
	if errors.Is(err, campaign.ErrCampaignNotFound) {
		return nil, f.store.Retire(ctx, id)
	}
	if err != nil {
		return nil, err
	}
	if c.Upload != campaign.UploadComplete {
		lost, err := f.store.ReapUpload(ctx, id)
		if lost {
			f.log.Warn("upload stopped renewing its lease; campaign marked failed and what it stored removed", "campaign", id)
		}
		return nil, err
	}
	f.campaigns[id] = c
	return c, nil
}

// recheck forgets the cached campaigns whose file was edited (or that are gone), so that
// the next feed reads them again.
func (f *Feeder) recheck(ctx context.Context) error {
	if len(f.campaigns) == 0 {
		return nil
	}
	ids := make([]string, 0, len(f.campaigns))
	for id := range f.campaigns {
		ids = append(ids, id)
	}
	vs, err := f.store.Versions(ctx, ids)
	if err != nil {
		return err
	}
	for i, id := range ids {
		if vs[i] != f.campaigns[id].Version {
			delete(f.campaigns, id)
		}
	}
	return nil
}

// retireIfDone retires campaign id when every row has its outcome.
func (f *Feeder) retireIfDone(ctx context.Context, id string) {
	st, err := f.store.Status(ctx, id)
	if err != nil {
		return
	}
	if st.Done {
		if err := f.store.Retire(ctx, id); err == nil {
			delete(f.campaigns, id)
			delete(f.pace, id)
		}
	}
}

// Reconcile parks again every attempt dispatched more than Grace ago whose dial task asynq
// no longer has (deleted through the Inspector or web UI, or lost with a restored backup),
// unless its call is live (adoption follows it). It returns how many it parked again. A
// rebuilt attempt is dialed at most once by the attempt's own record: a claimed attempt is
// looked up at Interactly, a live one resumed.
func (f *Feeder) Reconcile(ctx context.Context) (int, error) {
	ids, err := f.store.ActiveCampaigns(ctx)
	if err != nil {
		return 0, err
	}
	before := f.now().Add(-f.cfg.Grace)
	rebuilt := 0
	for _, id := range ids {
		refs, err := f.store.Dispatched(ctx, id, before, 10000)
		if err != nil {
			return rebuilt, err
		}
		for _, r := range refs {
			live, err := f.store.CallLive(ctx, r)
			if err != nil {
				return rebuilt, err
			}
			if live {
				continue
			}
			_, err = f.inspect.GetTaskInfo(queue.Name, r.String())
			if err == nil {
				continue
			}
			if !errors.Is(err, asynq.ErrTaskNotFound) && !errors.Is(err, asynq.ErrQueueNotFound) {
				return rebuilt, fmt.Errorf("look up task %s: %w", r, err)
			}
			ok, err := f.store.Rebuild(ctx, r)
			if err != nil {
				return rebuilt, err
			}
			if ok {
				rebuilt++
			}
		}
	}
	return rebuilt, nil
}
