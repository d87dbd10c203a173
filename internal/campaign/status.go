package campaign

import (
	"context"
	"fmt"
	"time"

	"github.com/dialerhq/dialer/internal/account"
	"github.com/redis/go-redis/v9"
)

// Status is a campaign's progress, as `dialer status` prints it. Its JSON form is a public
// interface: campaignId, total, done and outcomes are always present.
type Status struct {
	CampaignID string `json:"campaignId"`
	Name       string `json:"name"`
	// State is where the campaign is in its life (DeriveState): uploading, scheduled,
	// running, paused, canceling, done, canceled or failed.
	State State `json:"state"`
	// Failure says why the upload failed, when State is failed.
	Failure string `json:"failure,omitempty"`
	// StartAt is the campaign file's startAt, before which nothing is dialed; zero when none.
	StartAt time.Time `json:"startAt,omitzero"`
	// Control is "" while the campaign runs, "paused" or "canceled" once an operator said so.
	Control Control `json:"control,omitempty"`
	// Held counts the attempts a pause holds back, wherever they are parked: in the
	// hopper (due or not), given to asynq but not started, or stopped by a worker at the
	// pause. Resume lets them all go on. 0 while the campaign is not paused.
	Held int `json:"held,omitempty"`
	// Account is the Interactly account the campaign dials through; Priority and Weight
	// set its share of the account's limits.
	Account  string `json:"account"`
	Priority int    `json:"priority"`
	Weight   int    `json:"weight"`
	// Hold says why every dial of the campaign's account is held, "" when none is:
	// KeyRefused while Interactly refuses the account's API key (one probe dial goes at a
	// time, and the first one it accepts ends the hold).
	Hold string `json:"hold,omitempty"`
	// Queued counts attempts parked in the campaign's hopper (due now or later); Ready
	// those handed to workers and not yet started.
	Queued int `json:"queued"`
	Ready  int `json:"ready"`
	// Share is the feeder's latest view: how many live calls and calls per second the
	// campaign may use now, and why due attempts wait. Nil when no worker runs.
	Share *Share `json:"share,omitempty"`
	// Rebuilt counts attempts whose dial task went missing (deleted through asynq) and
	// that the reconciler parked again.
	Rebuilt int `json:"rebuilt"`
	// EndAt is the campaign file's endAt, after which no dial starts; zero when none.
	EndAt time.Time `json:"endAt,omitzero"`
	// Total counts the contact file's rows; Dialable, Invalid, Duplicate and Suppressed split
	// them as the upload found them (a number suppressed later counts under Outcomes).
	Total      int `json:"total"`
	Dialable   int `json:"dialable"`
	Invalid    int `json:"invalid"`
	Duplicate  int `json:"duplicate"`
	Suppressed int `json:"suppressed"`
	// Finished counts rows with a final outcome, invalid and duplicate ones included.
	Finished int `json:"finished"`
	// LiveCalls counts calls placed and not yet seen to end.
	LiveCalls int `json:"liveCalls"`
	// Attempts counts dials begun, retries included.
	Attempts int `json:"attempts"`
	// WaitingForWindow counts contacts held until their calling window opens, and
	// NextWindowAt is the earliest of those openings (zero when none waits).
	WaitingForWindow int       `json:"waitingForWindow"`
	NextWindowAt     time.Time `json:"nextWindowAt,omitzero"`
	// Outcomes maps each final outcome to its number of rows.
	Outcomes map[Outcome]int `json:"outcomes"`
	// Done is true only when every row has a final outcome, or the upload failed: nothing
	// is left to do.
	Done bool `json:"done"`
	// FirstDialAt is when the first dial began; zero before.
	FirstDialAt time.Time `json:"firstDialAt,omitzero"`
	// ETASeconds estimates the seconds until Done from the rate at which contacts have
	// finished so far; 0 when done, -1 when there is nothing to estimate from yet.
	ETASeconds float64 `json:"etaSeconds"`
}

// KeyRefused is Status.Hold while Interactly refuses the API key of the campaign's account.
const KeyRefused = "API key refused"

// Status reads campaign id's progress. It returns ErrCampaignNotFound when there is none.
func (s *Store) Status(ctx context.Context, id string) (*Status, error) {
	st, _, err := s.status(ctx, id)
	return st, err
}

// status reads campaign id's progress and the facts its State was derived from.
func (s *Store) status(ctx context.Context, id string) (*Status, Facts, error) {
	c, err := s.Campaign(ctx, id)
	if err != nil {
		return nil, Facts{}, err
	}
	var r *statusReads
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		r = queueStatusReads(ctx, p, c)
		return nil
	})
	if err != nil {
		return nil, Facts{}, fmt.Errorf("read status of %s: %w", id, err)
	}
	return r.status(c, s.now())
}

// Statuses reads the progress of campaigns cs (from Campaigns; nil entries are skipped) in
// one round trip: out[i] is cs[i]'s, nil where cs[i] is nil. A page listing many
// campaigns reads them this way.
func (s *Store) Statuses(ctx context.Context, cs []*Campaign) ([]*Status, error) {
	reads := make([]*statusReads, len(cs))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, c := range cs {
			if c != nil {
				reads[i] = queueStatusReads(ctx, p, c)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the status of %d campaigns: %w", len(cs), err)
	}
	now := s.now()
	out := make([]*Status, len(cs))
	for i, c := range cs {
		if c != nil {
			if out[i], _, err = reads[i].status(c, now); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// statusReads are the reads a Status needs beside the campaign's record, queued on a
// pipeline.
type statusReads struct {
	outcomes, counters, share          *redis.MapStringStringCmd
	live, waiting, held, queued, ready *redis.IntCmd
	lease                              *redis.IntCmd // the upload's lease, while uploading
	firstOpening                       *redis.ZSliceCmd
	keyHold                            *redis.IntCmd
}

func queueStatusReads(ctx context.Context, p redis.Pipeliner, c *Campaign) *statusReads {
	id := c.ID
	return &statusReads{
		keyHold:      p.Exists(ctx, account.KeyHoldKey(accountOf(c))),
		outcomes:     p.HGetAll(ctx, outcomesKey(id)),
		counters:     p.HGetAll(ctx, countersKey(id)),
		live:         p.SCard(ctx, liveKey(id)),
		waiting:      p.ZCard(ctx, waitingKey(id)),
		held:         p.ZCard(ctx, heldKey(id)),
		queued:       p.ZCard(ctx, hopperKey(id)),
		ready:        p.ZCard(ctx, readyKey(id)),
		share:        p.HGetAll(ctx, shareKey(id)),
		firstOpening: p.ZRangeWithScores(ctx, waitingKey(id), 0, 0),
		lease:        p.Exists(ctx, uploadLeaseKey(id)),
	}
}

// status builds campaign c's Status at now from the reads, and the facts of its State. It
// returns an error naming the field when a count or time in Redis does not parse.
func (r *statusReads) status(c *Campaign, now time.Time) (*Status, Facts, error) {
	d := hashDecoder{what: "status of campaign " + c.ID}
	st := &Status{
		CampaignID: c.ID, Name: c.File.Name,
		Total: c.Rows, Dialable: c.Dialable, Invalid: c.Invalid, Duplicate: c.Duplicate, Suppressed: c.Suppressed,
		LiveCalls: int(r.live.Val()), Outcomes: map[Outcome]int{},
		Control: c.Control, Held: int(r.held.Val()),
		Account: c.File.Account, Priority: c.File.Priority, Weight: c.File.Weight,
		Queued: int(r.queued.Val()), Ready: int(r.ready.Val()), Share: readShare(&d, r.share.Val()),
	}
	st.Account = accountOf(c)
	if r.keyHold.Val() > 0 {
		st.Hold = KeyRefused
	}
	if st.Weight == 0 {
		st.Weight = 1
	}
	if c.Control == ControlPaused {
		// A pause holds back every attempt not yet dialed, wherever it is parked.
		st.Held += st.Queued + st.Ready
	}
	if c.File.EndAt != nil {
		st.EndAt = c.File.EndAt.UTC()
	}
	if c.File.StartAt != nil {
		st.StartAt = c.File.StartAt.UTC()
	}
	for o, v := range r.outcomes.Val() {
		n := d.int("outcome "+o, v)
		st.Outcomes[Outcome(o)] = n
		st.Finished += n
	}
	counters := r.counters.Val()
	st.Attempts = d.int("attempts", counters["attempts"])
	st.Rebuilt = d.int("rebuilt", counters["rebuilt"])
	st.WaitingForWindow = int(r.waiting.Val())
	if z := r.firstOpening.Val(); len(z) > 0 {
		st.NextWindowAt = time.UnixMilli(int64(z[0].Score)).UTC()
	}
	st.FirstDialAt = d.time("first_dial_at", counters["first_dial_at"])
	if d.err != nil {
		return nil, Facts{}, d.err
	}
	facts := FactsOf(c, st.Finished, st.Held)
	facts.LeaseLost = r.lease.Val() == 0
	st.State = DeriveState(facts, now)
	if st.State == StateFailed {
		st.Failure = c.Failure
		if st.Failure == "" {
			st.Failure = UploadLostReason
		}
	}
	st.Done = facts.Done()
	st.ETASeconds = st.eta(now)
	return st, facts, nil
}

// accountOf is the name of campaign c's account.
func accountOf(c *Campaign) string {
	if c.File.Account == "" {
		return account.Default
	}
	return c.File.Account
}

// maxETA caps ETA: about 31 years, far inside time.Duration's range.
const maxETA = 1e9 * time.Second

// ETA is ETASeconds as a duration, at most about 31 years (a campaign that crawls would
// otherwise overflow it); 0 when there is no estimate.
func (st *Status) ETA() time.Duration {
	if !(st.ETASeconds > 0) {
		return 0
	}
	return time.Duration(min(st.ETASeconds, maxETA.Seconds()) * float64(time.Second))
}

func (st *Status) eta(now time.Time) float64 {
	if st.Done {
		return 0
	}
	dialed := st.Finished - st.Invalid - st.Duplicate - st.Suppressed
	if dialed <= 0 || st.FirstDialAt.IsZero() {
		return -1
	}
	perContact := now.Sub(st.FirstDialAt).Seconds() / float64(dialed)
	return perContact * float64(st.Dialable-dialed)
}
