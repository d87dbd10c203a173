package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"text/tabwriter"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/interactly"
	"github.com/dialerhq/dialer/internal/notify"
	"github.com/dialerhq/dialer/internal/queue"
	"github.com/hibiken/asynq"
	"golang.org/x/sync/errgroup"
)

// runList prints every campaign, newest first, with its state and progress.
func runList(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "list", "[--json] [--limit N]")
	asJSON := fs.Bool("json", false, "print a JSON array of the status objects `dialer status --json` prints")
	limit := fs.Int("limit", 50, "show at most this many campaigns, newest first (0: all)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("%w: list takes no arguments", errUsage)
	}
	rdb, err := openRedis(ctx, e)
	if err != nil {
		return err
	}
	defer rdb.Close()
	store := campaign.NewStore(rdb)
	ids, err := store.CampaignIDs(ctx)
	if err != nil {
		return err
	}
	slices.Reverse(ids)
	if *limit > 0 && len(ids) > *limit {
		ids = ids[:*limit]
	}
	statuses := make([]*campaign.Status, 0, len(ids))
	for _, id := range ids {
		st, err := store.Status(ctx, id)
		if errors.Is(err, campaign.ErrCampaignNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return err
		}
		statuses = append(statuses, st)
	}
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(statuses)
	}
	if len(statuses) == 0 {
		fmt.Fprintln(e.stdout, "no campaigns; upload one with `dialer upload`")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CAMPAIGN\tNAME\tSTATE\tFINISHED\tLIVE\tATTEMPTS\tCREATED")
	for _, st := range statuses {
		c, _ := store.Campaign(ctx, st.CampaignID)
		created := ""
		if c != nil {
			created = c.CreatedAt.UTC().Format("2006-01-02 15:04Z")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%d\t%d\t%s\n", st.CampaignID, st.Name, stateOf(st), st.Finished, st.Total, st.LiveCalls, st.Attempts, created)
	}
	return tw.Flush()
}

// stateOf is a campaign's state in one word, as list and status show it.
func stateOf(st *campaign.Status) string {
	switch {
	case st.Done && st.Control == campaign.ControlCanceled:
		return "canceled"
	case st.Done:
		return "done"
	case st.State == campaign.StateUploading:
		return "uploading"
	case st.Control == campaign.ControlPaused:
		return "paused"
	case st.Control == campaign.ControlCanceled:
		return "canceling"
	}
	return "running"
}

// runPause stops a campaign's new dials.
func runPause(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "pause", "CAMPAIGN_ID")
	id, err := oneArg(fs, args, "campaign ID")
	if err != nil {
		return err
	}
	rdb, err := openRedis(ctx, e)
	if err != nil {
		return err
	}
	defer rdb.Close()
	store := campaign.NewStore(rdb)
	if err := store.Pause(ctx, id); err != nil {
		return err
	}
	st, err := store.Status(ctx, id)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "campaign %s paused: no new dial starts; %d live calls finish and are recorded. `dialer resume %s` goes on.\n", id, st.LiveCalls, id)
	return nil
}

// runResume lets a paused campaign dial again.
func runResume(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "resume", "CAMPAIGN_ID")
	id, err := oneArg(fs, args, "campaign ID")
	if err != nil {
		return err
	}
	rdb, err := openRedis(ctx, e)
	if err != nil {
		return err
	}
	defer rdb.Close()
	q := queue.NewClient(rdb)
	defer q.Close()
	n, err := campaign.NewStore(rdb).Resume(ctx, id, q)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "campaign %s resumed; %d held dials are queued again\n", id, n)
	return nil
}

// runCancel gives a campaign's remaining contacts the outcome canceled and, with --hangup,
// ends its live calls.
func runCancel(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "cancel", "CAMPAIGN_ID [--hangup]")
	hangup := fs.Bool("hangup", false, "also end the campaign's live calls through their controlUrl (needs INTERACTLY_API_KEY)")
	id, err := oneArg(fs, args, "campaign ID")
	if err != nil {
		return err
	}
	var api *interactly.Client
	if *hangup {
		if api, err = newAPIClient(e); err != nil {
			return err
		}
	}
	rdb, err := openRedis(ctx, e)
	if err != nil {
		return err
	}
	defer rdb.Close()
	store := campaign.NewStore(rdb)
	c, err := store.Campaign(ctx, id)
	if err != nil {
		return err
	}
	ac := asynq.NewClientFromRedisClient(rdb)
	notifier := notify.NewEnqueuer(ac)
	q := queue.NewClient(rdb)
	defer q.Close()
	canceled, err := store.Cancel(ctx, id, q, func(n int, done bool) error {
		if err := notifier.ContactFinished(ctx, c, n); err != nil {
			return err
		}
		if done {
			return notifier.CampaignFinished(ctx, c)
		}
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "campaign %s canceled: %d contacts canceled", id, canceled)
	if !*hangup {
		st, err := store.Status(ctx, id)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "; %d live calls finish and are recorded (--hangup ends them)\n", st.LiveCalls)
		return nil
	}
	ended, failed := hangUp(ctx, e, store, api, id)
	fmt.Fprintf(e.stdout, "; %d live calls ended", ended)
	if failed > 0 {
		fmt.Fprintf(e.stdout, ", %d could not be ended (see above; run cancel --hangup again)", failed)
	}
	fmt.Fprintln(e.stdout)
	if failed > 0 {
		return fmt.Errorf("%d live calls of campaign %s could not be ended", failed, id)
	}
	return nil
}

// hangUp ends campaign id's live calls through their controlUrl (or the documented control
// path when a call has none), eight at a time. Each call's worker then records its outcome.
func hangUp(ctx context.Context, e *env, store *campaign.Store, api *interactly.Client, id string) (ended, failed int) {
	calls, err := store.LiveCalls(ctx, id)
	if err != nil {
		fmt.Fprintln(e.stderr, "dialer: list live calls:", err)
		return 0, 1
	}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, lc := range calls {
		g.Go(func() error {
			req := interactly.ControlRequest{Type: interactly.ControlEnd}
			var err error
			if lc.ControlURL != "" {
				_, err = api.ControlCall(gctx, lc.ControlURL, req)
			} else {
				_, err = api.ControlCallByID(gctx, lc.CallID, req)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed++
				fmt.Fprintf(e.stderr, "dialer: end call %s (contact %d): %v\n", lc.CallID, lc.ContactID, err)
				return nil
			}
			ended++
			return nil
		})
	}
	_ = g.Wait()
	return ended, failed
}

// newAPIClient builds an Interactly client from INTERACTLY_API_KEY and INTERACTLY_BASE_URL.
func newAPIClient(e *env) (*interactly.Client, error) {
	api, err := interactly.New(interactly.Config{BaseURL: e.getenv("INTERACTLY_BASE_URL"), APIKey: e.getenv("INTERACTLY_API_KEY")})
	if err != nil {
		return nil, fmt.Errorf("%w (set INTERACTLY_API_KEY, and INTERACTLY_BASE_URL for another host)", err)
	}
	return api, nil
}
