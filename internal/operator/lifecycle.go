package operator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/dialerhq/dialer/internal/archive"
	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/metrics"
	"github.com/dialerhq/dialer/internal/notify"
	"github.com/dialerhq/dialer/internal/queue"
)

// LiveError is Delete's refusal of a campaign that is still live: some row has no final
// outcome yet. Delete with Force cancels it first.
type LiveError struct {
	ID                string
	Finished, Total   int
	LiveCalls         int
	WaitedForCalls    bool // Force canceled it, and its live calls did not end within Wait
	WaitedForDuration time.Duration
}

// Error says what is live and what to do.
func (e *LiveError) Error() string {
	if e.WaitedForCalls {
		return fmt.Sprintf("campaign %s is canceled, but %d calls were still live after %s; nothing is deleted; run the delete again once they end, or end them with `dialer cancel %s --hangup`",
			e.ID, e.LiveCalls, e.WaitedForDuration, e.ID)
	}
	return fmt.Sprintf("campaign %s is live (%d of %d rows finished, %d live calls); nothing is deleted; cancel it first, or delete with --force, which cancels it and waits for its live calls to end",
		e.ID, e.Finished, e.Total, e.LiveCalls)
}

// DeleteOptions tune Delete. The zero value deletes only a campaign that is done.
type DeleteOptions struct {
	// Force cancels a live campaign first (Cancel without hang-up), then waits for its live
	// calls to end, so that no worker records into a deleted campaign.
	Force bool
	// Wait bounds that wait. Defaults to 2 minutes.
	Wait time.Duration
}

// DeleteResult says what Delete removed.
type DeleteResult struct {
	// Canceled counts the contacts a forced delete canceled first.
	Canceled int
	// Tasks counts the queued dial and notification tasks deleted, and the attempts parked
	// in the campaign's hopper.
	Tasks int
}

// Delete removes campaign id from Redis: every key of the campaign (contacts, attempts,
// counts, its own suppression list, notification records), its calls-per-second state, its
// queued dial and notification tasks and its metrics series, in bounded batches (SCAN,
// never KEYS). The global suppression list and the frequency counts stay, and so does the
// index entry of an archive of it, so that Report still finds the archive.
//
// A campaign that is not done is refused with a *LiveError, unless opt.Force: it is then
// canceled and Delete waits (opt.Wait) until it is done. Delete returns
// campaign.ErrCampaignNotFound for an unknown campaign.
func (o *Operator) Delete(ctx context.Context, id string, opt DeleteOptions) (DeleteResult, error) {
	var res DeleteResult
	if opt.Wait <= 0 {
		opt.Wait = 2 * time.Minute
	}
	st, err := o.store.Status(ctx, id)
	if err != nil {
		return res, err
	}
	if !st.Done {
		if !opt.Force {
			return res, &LiveError{ID: id, Finished: st.Finished, Total: st.Total, LiveCalls: st.LiveCalls}
		}
		cr, err := o.Cancel(ctx, id, false)
		if err != nil {
			return res, err
		}
		res.Canceled = cr.Canceled
		if st, err = o.waitDone(ctx, id, opt.Wait); err != nil {
			return res, err
		}
		if !st.Done {
			return res, &LiveError{ID: id, Finished: st.Finished, Total: st.Total, LiveCalls: st.LiveCalls, WaitedForCalls: true, WaitedForDuration: opt.Wait}
		}
	}
	// Attempts parked in the campaign's hopper go with its keys; they count as queued too.
	if st, err = o.store.Status(ctx, id); err != nil {
		return res, err
	}
	res.Tasks += st.Queued
	n, err := queue.DeleteTasks(ctx, o.rdb, queue.Name, id+":")
	if err != nil {
		return res, err
	}
	res.Tasks += n
	if n, err = queue.DeleteTasks(ctx, o.rdb, notify.Queue, notify.TaskIDPrefix(id)); err != nil {
		return res, err
	}
	res.Tasks += n
	if err := o.store.DeleteCampaign(ctx, id); err != nil {
		return res, err
	}
	return res, metrics.Forget(ctx, o.rdb, id)
}

// waitDone polls campaign id's status every 250 ms until it is done or wait passes, and
// returns the last status read.
func (o *Operator) waitDone(ctx context.Context, id string, wait time.Duration) (*campaign.Status, error) {
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		st, err := o.store.Status(ctx, id)
		if err != nil || st.Done {
			return st, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-deadline.C:
			return st, nil
		case <-tick.C:
		}
	}
}

// Archive writes campaign id's archive (archive.Write) to the destination spec names (see
// archive.Open), and records where it went, for Report.
func (o *Operator) Archive(ctx context.Context, id, spec string) (*archive.Manifest, error) {
	dest, err := archive.Open(spec, o.cfg.Getenv)
	if err != nil {
		return nil, err
	}
	return archive.Write(ctx, o.rdb, o.store, id, dest, o.cfg.Now())
}

// Report writes campaign id's report to w (see campaign.Store.WriteReport): from Redis
// while the campaign is there, else from its archive. It returns
// campaign.ErrCampaignNotFound when neither holds it.
func (o *Operator) Report(ctx context.Context, id string, w io.Writer, opt campaign.ReportOptions) (int, error) {
	return o.report(ctx, id, w, opt, o.store.WriteReport, archive.ReportObject)
}

// AttemptReport is Report for the attempt report (campaign.Store.WriteAttemptReport).
func (o *Operator) AttemptReport(ctx context.Context, id string, w io.Writer, opt campaign.ReportOptions) (int, error) {
	return o.report(ctx, id, w, opt, o.store.WriteAttemptReport, archive.AttemptsObject)
}

// RejectedReport is Report for the rows the upload refused (campaign.Store.WriteRejected).
func (o *Operator) RejectedReport(ctx context.Context, id string, w io.Writer, opt campaign.ReportOptions) (int, error) {
	return o.report(ctx, id, w, opt, o.store.WriteRejected, archive.RejectedObject)
}

func (o *Operator) report(ctx context.Context, id string, w io.Writer, opt campaign.ReportOptions,
	fromRedis func(context.Context, string, io.Writer, campaign.ReportOptions) (int, error), object string) (int, error) {
	n, err := fromRedis(ctx, id, w, opt)
	if !errors.Is(err, campaign.ErrCampaignNotFound) {
		return n, err
	}
	spec, ok, lerr := archive.Lookup(ctx, o.rdb, id)
	if lerr != nil {
		return 0, lerr
	}
	if !ok {
		return 0, err
	}
	dest, err := archive.Open(spec, o.cfg.Getenv)
	if err != nil {
		return 0, fmt.Errorf("campaign %s is deleted from Redis and archived in %s: %w", id, spec, err)
	}
	return archive.WriteReport(ctx, dest, id, object, w, opt)
}

// Archived reports whether campaign id has an archive that Report can read back.
func (o *Operator) Archived(ctx context.Context, id string) (bool, error) {
	_, ok, err := archive.Lookup(ctx, o.rdb, id)
	return ok, err
}
