package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"time"

	"github.com/dialerhq/dialer/internal/account"
	"github.com/dialerhq/dialer/internal/audit"
	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/interactly"
	"github.com/dialerhq/dialer/internal/operator"
	"github.com/redis/go-redis/v9"
)

// runList prints every campaign, newest first, with its state and progress.
func runList(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "list", "[--json] [--limit N]")
	asJSON := fs.Bool("json", false, "print a JSON array of the objects that dialer status --json prints")
	limit := fs.Int("limit", 50, "show at most this many campaigns, newest first (0: all)")
	if err := parseNoArgs(e, fs, args, "list"); err != nil {
		return err
	}
	return withOperator(ctx, e, operator.Config{}, func(rdb *redis.Client, op *operator.Operator) error {
		list, err := op.List(ctx, operator.ListOptions{Limit: *limit})
		if err != nil {
			return err
		}
		statuses := make([]*campaign.Status, len(list))
		for i, sum := range list {
			statuses[i] = sum.Status
		}
		if done, err := printJSONOrNone(e, statuses, *asJSON, "no campaigns; upload one with `dialer upload`"); done {
			return err
		}
		tw := newTable(e.stdout, "CAMPAIGN\tNAME\tSTATE\tFINISHED\tLIVE\tATTEMPTS\tACCOUNT\tPRIO/WEIGHT\tSHARE\tWAITING FOR\tCREATED")
		for _, sum := range list {
			st, created := sum.Status, sum.CreatedAt.Format("2006-01-02 15:04Z")
			why := waitingOf(st)
			if st.State == campaign.StateFailed {
				why = "upload failed (see status)"
			}
			if why == "" {
				why = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%d\t%d\t%s\t%d/%d\t%s\t%s\t%s\n", st.CampaignID, st.Name, stateOf(st), st.Finished, st.Total,
				st.LiveCalls, st.Attempts, st.Account, st.Priority, st.Weight, shareOf(st), why, created)
		}
		return tw.Flush()
	})
}

// runPause stops a campaign's new dials.
func runPause(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "pause", "CAMPAIGN_ID")
	return withCampaign(ctx, e, fs, args, operator.Config{}, func(id string, rdb *redis.Client, op *operator.Operator) error {
		if err := op.Pause(ctx, id); err != nil {
			return err
		}
		if err := auditDone(ctx, rdb, audit.Entry{Action: "campaign pause", Target: id}, "campaign "+id+" is paused"); err != nil {
			return err
		}
		st, err := op.Store().Status(ctx, id)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "campaign %s paused: no new dial starts; %s and %s recorded. `dialer resume %s` goes on.\n",
			id, count(st.LiveCalls, "live call finishes", "live calls finish"), isAre(st.LiveCalls), id)
		return nil
	})
}

// runResume lets a paused campaign dial again.
func runResume(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "resume", "CAMPAIGN_ID")
	return withCampaign(ctx, e, fs, args, operator.Config{}, func(id string, rdb *redis.Client, op *operator.Operator) error {
		n, err := op.Resume(ctx, id)
		if err != nil {
			return err
		}
		if err := auditDone(ctx, rdb, audit.Entry{Action: "campaign resume", Target: id, Detail: count(n, "held dial", "held dials") + " queued again"}, "campaign "+id+" is resumed"); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "campaign %s resumed; %s queued again\n", id, count(n, "held dial is", "held dials are"))
		return nil
	})
}

// runCancel gives a campaign's remaining contacts the outcome canceled and, with --hangup,
// ends its live calls.
func runCancel(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "cancel", "CAMPAIGN_ID [--hangup]")
	hangup := fs.Bool("hangup", false, "also end the campaign's live calls through their controlUrl (needs INTERACTLY_API_KEY)")
	id, err := oneArg(e, fs, args, "campaign ID")
	if err != nil {
		return err
	}
	var api *interactly.Client
	if *hangup {
		if api, err = newAPIClient(e, "cancel --hangup", interactly.Config{RetryBudget: hangupRetryBudget}); err != nil {
			return err
		}
	}
	return withOperator(ctx, e, operator.Config{API: api}, func(rdb *redis.Client, op *operator.Operator) error {
		res, err := op.Cancel(ctx, id, *hangup)
		if err != nil {
			return err
		}
		if res.UploadLost {
			if err := auditDone(ctx, rdb, audit.Entry{Action: "campaign cancel", Target: id, Detail: "its upload had stopped: marked failed, what it stored removed"}, "campaign "+id+" failed to upload and is cleared"); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "campaign %s failed: %s; `dialer delete %s` removes its record\n", id, campaign.UploadLostReason, id)
			return nil
		}
		action := "campaign cancel"
		if *hangup {
			action += " --hangup"
		}
		detail := count(res.Canceled, "contact", "contacts") + " canceled"
		if *hangup {
			detail += fmt.Sprintf(", %s ended, %d could not be", count(res.Ended, "live call", "live calls"), len(res.Failed))
		}
		if err := auditDone(ctx, rdb, audit.Entry{Action: action, Target: id, Detail: detail}, "campaign "+id+" is canceled"); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "campaign %s canceled: %s canceled", id, count(res.Canceled, "contact", "contacts"))
		if !*hangup {
			fmt.Fprintf(e.stdout, "; %s and %s recorded (--hangup ends them)\n", count(res.LiveCalls, "live call finishes", "live calls finish"), isAre(res.LiveCalls))
			return nil
		}
		for _, f := range res.Failed {
			fmt.Fprintf(e.stderr, "dialer: end call %s (contact %d): %v\n", f.CallID, f.Contact, f.Err)
		}
		fmt.Fprintf(e.stdout, "; %s ended", count(res.Ended, "live call", "live calls"))
		if len(res.Failed) > 0 {
			fmt.Fprintf(e.stdout, ", %d could not be ended (see above; run cancel --hangup again)", len(res.Failed))
		}
		fmt.Fprintln(e.stdout)
		if len(res.Failed) > 0 {
			return fmt.Errorf("%s of campaign %s could not be ended", count(len(res.Failed), "live call", "live calls"), id)
		}
		return nil
	})
}

// withCampaign starts a command on one campaign (dialer NAME CAMPAIGN_ID [flags]): it
// parses args into fs, wanting one campaign ID (oneArg: a usage error otherwise), then runs
// do with the ID and an Operator made with cfg on REDIS_URL, as withOperator does.
func withCampaign(ctx context.Context, e *env, fs *flag.FlagSet, args []string, cfg operator.Config, do func(id string, rdb *redis.Client, op *operator.Operator) error) error {
	id, err := oneArg(e, fs, args, "campaign ID")
	if err != nil {
		return err
	}
	return withOperator(ctx, e, cfg, func(rdb *redis.Client, op *operator.Operator) error {
		return do(id, rdb, op)
	})
}

// hangupRetryBudget bounds the retries of ending one live call (cancel --hangup, and the
// API's cancel with hangup).
const hangupRetryBudget = 20 * time.Second

// newAPIClient builds an Interactly client from INTERACTLY_API_KEY and INTERACTLY_BASE_URL,
// with cfg's other settings, for a command or request someone waits on: unless cfg says
// otherwise, each HTTP request times out after apiRequestTimeout, so that an API that does
// not answer ends the command with an error instead of holding it. what says what needs the
// client, for the message when the key is not set.
func newAPIClient(e *env, what string, cfg interactly.Config) (*interactly.Client, error) {
	return newAPIClientOf(e, what, account.DefaultAPIKeyEnv, cfg)
}

// newAPIClientOf is newAPIClient with the API key read from the environment variable
// keyEnv, the one an account names (account.Account.APIKeyEnv); an unset one is an error
// naming it.
func newAPIClientOf(e *env, what, keyEnv string, cfg interactly.Config) (*interactly.Client, error) {
	cfg.BaseURL, cfg.APIKey = e.getenv("INTERACTLY_BASE_URL"), e.getenv(keyEnv)
	if cfg.APIKey == "" {
		return nil, fmt.Errorf("%s is not set; %s needs your Interactly API key in it", keyEnv, what)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: apiRequestTimeout}
	}
	api, err := interactly.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("%w (check INTERACTLY_BASE_URL)", err)
	}
	return api, nil
}

// isAre is "is" for one and "are" for any other count.
func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}
