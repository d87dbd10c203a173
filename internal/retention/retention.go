// Package retention deletes campaigns whose retention has passed: one leader among the
// `dialer serve` replicas walks the campaign list in bounded steps, notes when each campaign
// was first seen done, and once its retention (the campaign file's `retention`, else the
// deployment's default) has passed since then, archives it (when an archive is configured)
// and deletes it from Redis through operator.Delete.
package retention

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/dialerhq/dialer/internal/audit"
	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/operator"
	"github.com/dialerhq/dialer/internal/schedule"
	"github.com/redis/go-redis/v9"
)

// DefaultRetention is how long a campaign stays after it is done when neither its file nor
// the deployment says: 30 days.
const DefaultRetention = 30 * 24 * time.Hour

// Config configures a Sweeper.
type Config struct {
	// Operator archives and deletes. Required.
	Operator *operator.Operator
	// Default is the retention of a campaign whose file sets none. Defaults to
	// DefaultRetention.
	Default time.Duration
	// Archive is where expired campaigns are archived before they are deleted, as
	// archive.Open takes it; "" deletes them without an archive. A campaign whose archive
	// fails is not deleted, and is tried again at the next sweep.
	Archive string
	// Interval is the time between sweeps. Defaults to 10 minutes.
	Interval time.Duration
	// Batch is how many campaigns one step of a sweep reads. Defaults to 100.
	Batch int
	// Now is the clock. Defaults to time.Now.
	Now func() time.Time
	// Logger receives one line per campaign archived or deleted, and errors. Defaults to
	// slog.Default().
	Logger *slog.Logger
	// Audit, when set, gets one entry per campaign archived or deleted (actor
	// "retention", source "dialer serve").
	Audit *audit.Log
}

// WithDefaults returns c with its zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.Default <= 0 {
		c.Default = DefaultRetention
	}
	if c.Interval <= 0 {
		c.Interval = 10 * time.Minute
	}
	if c.Batch <= 0 {
		c.Batch = 100
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Validate says which field is wrong.
func (c Config) Validate() error {
	if c.Operator == nil {
		return errors.New("retention: Config.Operator is required")
	}
	return nil
}

// Sweeper applies retention. Sweep runs once; Run sweeps every Interval while it leads.
type Sweeper struct {
	cfg Config
}

// New returns a Sweeper, or Validate's error.
func New(cfg Config) (*Sweeper, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Sweeper{cfg: cfg}, nil
}

// Result counts what one Sweep did.
type Result struct {
	// Seen counts the campaigns looked at; Done those of them that are done.
	Seen, Done int
	// Archived and Deleted count the expired campaigns archived and deleted.
	Archived, Deleted int
}

// Sweep looks at every campaign once, Batch at a time. A campaign that is done is marked
// with when it was first seen so (campaign.Store.MarkDone); one whose retention has passed
// since then is archived (if Archive is set) and deleted. A campaign's failure is logged
// and does not stop the sweep; Sweep returns the first such error with the counts.
func (s *Sweeper) Sweep(ctx context.Context) (Result, error) {
	var res Result
	var firstErr error
	store := s.cfg.Operator.Store()
	for start := 0; ; {
		ids, err := store.CampaignIDsPage(ctx, start, s.cfg.Batch)
		if err != nil {
			return res, err
		}
		if len(ids) == 0 {
			return res, firstErr
		}
		deleted := 0
		for _, id := range ids {
			gone, err := s.sweepOne(ctx, id, &res)
			if err != nil {
				s.cfg.Logger.Error("retention: campaign not removed; tried again at the next sweep", "campaign", id, "err", err)
				firstErr = cmpErr(firstErr, err)
			}
			if gone {
				deleted++
			}
		}
		start += len(ids) - deleted // deleted campaigns left the list
	}
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// sweepOne applies retention to campaign id and reports whether it left the list.
func (s *Sweeper) sweepOne(ctx context.Context, id string, res *Result) (bool, error) {
	res.Seen++
	store := s.cfg.Operator.Store()
	c, err := store.Campaign(ctx, id)
	if errors.Is(err, campaign.ErrCampaignNotFound) {
		// Listed without a record: a delete that stopped halfway. Finish it.
		return true, store.DeleteCampaign(ctx, id)
	}
	if err != nil {
		return false, err
	}
	st, err := store.Status(ctx, id)
	if err != nil || !st.Done {
		return false, err
	}
	res.Done++
	now := s.cfg.Now()
	doneAt, err := store.MarkDone(ctx, id, now)
	if err != nil {
		return false, err
	}
	keep := campaign.RetentionOf(c, s.cfg.Default)
	if now.Before(doneAt.Add(keep)) {
		return false, nil
	}
	if s.cfg.Archive != "" {
		if archived, err := s.cfg.Operator.Archived(ctx, id); err != nil {
			return false, err
		} else if !archived {
			if _, err := s.cfg.Operator.Archive(ctx, id, s.cfg.Archive); err != nil {
				return false, fmt.Errorf("archive before deleting: %w", err)
			}
			res.Archived++
			s.cfg.Logger.Info("retention: campaign archived", "campaign", id, "to", s.cfg.Archive)
			if err := s.audit(ctx, "retention archive", id); err != nil {
				return false, err
			}
		}
	}
	if _, err := s.cfg.Operator.Delete(ctx, id, operator.DeleteOptions{}); err != nil {
		return false, err
	}
	res.Deleted++
	s.cfg.Logger.Info("retention: campaign deleted from Redis", "campaign", id, "done", doneAt.UTC().Format(time.RFC3339), "retention", keep.String())
	return true, s.audit(ctx, "retention delete", id)
}

// audit records action on campaign id in the audit log, if there is one.
func (s *Sweeper) audit(ctx context.Context, action, id string) error {
	if s.cfg.Audit == nil {
		return nil
	}
	return s.cfg.Audit.Append(ctx, audit.Entry{Actor: "retention", Scope: "admin", Action: action, Target: id, Source: "dialer serve", Result: "ok", Time: s.cfg.Now()})
}

// Run sweeps every Interval until ctx is done, while this process holds the retention lock
// in rdb (so one of many `dialer serve` replicas sweeps). It returns nil when ctx is done.
func (s *Sweeper) Run(ctx context.Context, rdb redis.UniversalClient) error {
	leader := schedule.NewLeader(rdb, schedule.LeaderConfig{Key: leaderKey()})
	return leader.Run(ctx, func(ctx context.Context) {
		tick := time.NewTicker(s.cfg.Interval)
		defer tick.Stop()
		for {
			if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
				s.cfg.Logger.Error("retention sweep", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}, func(err error) { s.cfg.Logger.Error("retention leader", "err", err) })
}
