package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/notify"
	"github.com/redis/go-redis/v9"
)

func runStatus(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "status", "CAMPAIGN_ID [--json]")
	asJSON := fs.Bool("json", false, "print one JSON object: campaignId, total, done, outcomes, …")
	id, err := oneArg(e, fs, args, "campaign ID")
	if err != nil {
		return err
	}
	return withRedis(ctx, e, func(rdb *redis.Client) error {
		store := campaign.NewStore(rdb)
		st, err := store.Status(ctx, id)
		if err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(e.stdout).Encode(st)
		}
		printStatus(e.stdout, st)
		c, err := store.Campaign(ctx, id)
		if err != nil || c.File.Notify == nil {
			return err
		}
		ns, err := notify.Stats(ctx, rdb, id)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "notified   %d delivered, %d given up", ns.Delivered, ns.Failed)
		if ns.LastError != "" {
			fmt.Fprintf(e.stdout, "; last error %s: %s", ns.LastErrorAt.Format(time.RFC3339), ns.LastError)
		}
		fmt.Fprintln(e.stdout)
		return nil
	})
}

// held reports whether st's account holds its dials (Status.Hold) while it has some to make.
func held(st *campaign.Status) bool { return st.Hold != "" && !st.Done }

// stateOf is st's state as a person reads it: "running (held: API key refused)" while its
// account is held.
func stateOf(st *campaign.Status) string {
	if held(st) {
		return fmt.Sprintf("%s (held: %s)", st.State, st.Hold)
	}
	return string(st.State)
}

// printStatus writes st for a person: state, counts, then one line per outcome.
func printStatus(w io.Writer, st *campaign.Status) {
	fmt.Fprintf(w, "campaign   %s (%s): %s\n", st.CampaignID, st.Name, stateOf(st))
	if held(st) {
		fmt.Fprintf(w, "held       Interactly refuses account %s's API key: no dial goes but one probe at a time (1 s, then doubling to 1 a minute); the first it accepts resumes dialing\n", st.Account)
	}
	switch st.State {
	case campaign.StateScheduled:
		fmt.Fprintf(w, "starts     %s; nothing is dialed before\n", st.StartAt.Format(time.RFC3339))
	case campaign.StatePaused:
		fmt.Fprintf(w, "paused     %s held; `dialer resume %s` goes on\n", count(st.Held, "dial", "dials"), st.CampaignID)
	case campaign.StateFailed:
		fmt.Fprintf(w, "failed     %s; `dialer delete %s` removes its record\n", st.Failure, st.CampaignID)
	}
	if !st.EndAt.IsZero() {
		fmt.Fprintf(w, "ends       %s; contacts left then expire\n", st.EndAt.Format(time.RFC3339))
	}
	fmt.Fprintf(w, "account    %s, priority %d, weight %d", st.Account, st.Priority, st.Weight)
	if sh := st.Share; sh != nil {
		fmt.Fprintf(w, "; share now %s", shareOf(st))
	}
	fmt.Fprintln(w)
	if why := waitingOf(st); why != "" {
		fmt.Fprintf(w, "queued     %d parked, %d handed to workers; waiting for: %s\n", st.Queued, st.Ready, why)
	}
	if st.Rebuilt > 0 {
		fmt.Fprintf(w, "rebuilt    %d attempts whose dial tasks went missing were queued again\n", st.Rebuilt)
	}
	fmt.Fprintf(w, "rows       %s at upload: %d dialable, %d invalid, %d duplicate, %d suppressed\n", count(st.Total, "row", "rows"), st.Dialable, st.Invalid, st.Duplicate, st.Suppressed)
	fmt.Fprintf(w, "finished   %d of %s\n", st.Finished, count(st.Total, "row", "rows"))
	fmt.Fprintf(w, "live calls %d\n", st.LiveCalls)
	fmt.Fprintf(w, "attempts   %d\n", st.Attempts)
	if st.WaitingForWindow > 0 {
		fmt.Fprintf(w, "waiting    %d for their calling window; the next opens %s\n", st.WaitingForWindow, st.NextWindowAt.Format(time.RFC3339))
	}
	if st.ETASeconds > 0 {
		fmt.Fprintf(w, "ETA        %s\n", st.ETA().Round(time.Second))
	}
	if st.Finished == 0 {
		fmt.Fprintln(w, "outcomes   none yet")
		return
	}
	fmt.Fprintln(w, "outcomes")
	for _, o := range campaign.Outcomes {
		n := st.Outcomes[o]
		if n == 0 {
			continue
		}
		fmt.Fprintf(w, "  %-10s %d", o, n)
		if o == campaign.OutcomeSuppressed && n > st.Suppressed {
			fmt.Fprintf(w, " (%d at upload, %d suppressed during the run)", st.Suppressed, n-st.Suppressed)
		}
		fmt.Fprintln(w)
	}
}

// count writes n with the singular or plural noun: "1 row", "2 rows".
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// shareOf is the share of its account's limits campaign st may use now, e.g.
// "4 live calls, 2.5 calls/s"; "-" when no worker's feeder has reported one.
func shareOf(st *campaign.Status) string {
	sh := st.Share
	if sh == nil {
		return "-"
	}
	return fmt.Sprintf("%d live calls, %s calls/s", sh.Slots, strconv.FormatFloat(sh.CallsPerSecond, 'f', -1, 64))
}

// waitingOf says why campaign st's attempts wait: paused, account cap, campaign cap, calls
// per second, account calls per second, or calling window; "" when nothing waits.
func waitingOf(st *campaign.Status) string {
	switch {
	case st.Done:
		return ""
	case st.Control == campaign.ControlPaused:
		return "paused"
	case held(st):
		return "held: " + st.Hold
	case st.Share != nil && st.Share.Waiting != "":
		return st.Share.Waiting
	case st.WaitingForWindow > 0:
		return "calling window"
	}
	return ""
}
