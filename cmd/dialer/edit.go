package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
	"go.yaml.in/yaml/v4"

	"github.com/dialerhq/dialer/internal/audit"
	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/operator"
)

// runEdit changes a running, scheduled or paused campaign's limits, calling window, retry
// policy, endAt, priority or weight.
func runEdit(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "edit", "CAMPAIGN_ID KEY=VALUE ... | --file CHANGES.yaml")
	file := fs.String("file", "", "a YAML (or JSON) file of the keys to change, shaped as in the campaign file; - reads standard input")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `usage: dialer edit CAMPAIGN_ID KEY=VALUE ... | --file CHANGES.yaml

Change a scheduled, running or paused campaign. Every worker applies the change within about
a second; calls already live are not touched. KEY is a campaign file key, dotted below its
section; VALUE is written as in the campaign file, and null removes the key (it then reads as
left out). The keys that can change: %s.

  dialer edit c123 rateLimit.callsPerSecond=0.5 rateLimit.maxConcurrentCalls=3
  dialer edit c123 callingWindow.end=18:00 endAt=2026-12-24T17:00:00-05:00
  dialer edit c123 retry.retryOn=[busy,no-answer,failed] priority=10
  dialer edit c123 callingWindow=null

flags:
`, strings.Join(campaign.EditableKeys, ", "))
		fs.PrintDefaults()
	}
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return usageError(fs, "want a campaign ID")
	}
	id := rest[0]
	// Flags may follow the ID: dialer edit ID --file x.yaml.
	if err := parseFlags(e, fs, rest[1:]); err != nil {
		return err
	}
	patch, err := editPatch(e, *file, fs)
	if err != nil {
		return err
	}
	return withOperator(ctx, e, operator.Config{}, func(rdb *redis.Client, op *operator.Operator) error {
		return edit(ctx, e, rdb, op, id, *file, patch)
	})
}

// edit applies patch to campaign id (dialer edit) and prints what changed; file is where
// the patch came from, "" for arguments.
func edit(ctx context.Context, e *env, rdb *redis.Client, op *operator.Operator, id, file string, patch map[string]any) error {
	res, err := op.Edit(ctx, id, patch)
	if err != nil {
		var fe *campaign.FileError
		if errors.As(err, &fe) && file != "" && fe.Path == "" {
			fe.Path = file // the key is placed within the file given; its line is not known
		}
		return err
	}
	if len(res.Changes) == 0 {
		fmt.Fprintf(e.stdout, "campaign %s already has these settings; nothing changed\n", id)
		return nil
	}
	if err := auditDone(ctx, rdb, audit.Entry{Action: "campaign edit", Target: id, Detail: strings.Join(res.Changes, "; ")}, "campaign "+id+" is changed"); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "campaign %s changed (version %d):\n", id, res.Campaign.Version)
	for _, c := range res.Changes {
		fmt.Fprintf(e.stdout, "  %s\n", c)
	}
	if res.Woken > 0 {
		fmt.Fprintf(e.stdout, "%s waiting for the old calling window %s judged again now\n", count(res.Woken, "contact", "contacts"), isAre(res.Woken))
	}
	if res.DueAtEnd > 0 {
		fmt.Fprintf(e.stdout, "%s due after the new endAt %s due at it, and expire then\n", count(res.DueAtEnd, "attempt", "attempts"), isAre(res.DueAtEnd))
	}
	fmt.Fprintln(e.stdout, "Every worker applies it within about a second.")
	return nil
}

// editPatch builds the merge patch of dialer edit from the --file named (- for stdin) or
// the KEY=VALUE arguments left in fs, and refuses both or neither.
func editPatch(e *env, file string, fs *flag.FlagSet) (map[string]any, error) {
	pairs := fs.Args()
	switch {
	case file != "" && len(pairs) > 0:
		return nil, usageError(fs, "give either --file or KEY=VALUE arguments, not both")
	case file == "" && len(pairs) == 0:
		return nil, usageError(fs, "say what to change, e.g. rateLimit.callsPerSecond=2, or give --file")
	case file != "":
		var r io.Reader = os.Stdin
		if file != "-" {
			fh, err := os.Open(file)
			if err != nil {
				return nil, fmt.Errorf("read changes: %w", err)
			}
			defer fh.Close()
			r = fh
		}
		data, err := io.ReadAll(io.LimitReader(r, 1<<20))
		if err != nil {
			return nil, fmt.Errorf("read changes %s: %w", file, err)
		}
		var patch map[string]any
		if err := yaml.Unmarshal(data, &patch); err != nil {
			return nil, fmt.Errorf("%s: %v; write the keys to change as in the campaign file", file, err)
		}
		if patch == nil {
			return nil, fmt.Errorf("%s: no keys to change", file)
		}
		return patch, nil
	}
	patch := map[string]any{}
	for _, kv := range pairs {
		key, raw, ok := strings.Cut(kv, "=")
		if !ok || key == "" {
			return nil, usageError(fs, "%q: want KEY=VALUE, such as rateLimit.callsPerSecond=2", kv)
		}
		var v any
		if err := yaml.Unmarshal([]byte(raw), &v); err != nil {
			return nil, fmt.Errorf("%s: value %q: %v", key, raw, err)
		}
		if err := setDotted(patch, key, v); err != nil {
			return nil, err
		}
	}
	return patch, nil
}

// setDotted sets key ("rateLimit.callsPerSecond") in the nested map m to v.
func setDotted(m map[string]any, key string, v any) error {
	parts := strings.Split(key, ".")
	for i, p := range parts[:len(parts)-1] {
		sub, ok := m[p].(map[string]any)
		if !ok {
			if _, set := m[p]; set {
				return fmt.Errorf("%s is given a value and a key below it; give one", strings.Join(parts[:i+1], "."))
			}
			sub = map[string]any{}
			m[p] = sub
		}
		m = sub
	}
	last := parts[len(parts)-1]
	if _, set := m[last]; set {
		return fmt.Errorf("%s is given twice; give it once", key)
	}
	m[last] = v
	return nil
}

// runRetry gives every contact whose final outcome is listed another attempt.
func runRetry(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "retry", "CAMPAIGN_ID --outcome no-answer,failed")
	outcome := fs.String("outcome", "", "the final outcomes to retry, comma-separated: any of "+outcomeNames(campaign.RetryableOutcomes))
	id, err := oneArg(e, fs, args, "campaign ID")
	if err != nil {
		return err
	}
	outcomes, err := campaign.ParseRetryOutcomes(*outcome)
	if err != nil {
		return usageError(fs, "--outcome: %v", err)
	}
	return withOperator(ctx, e, operator.Config{}, func(rdb *redis.Client, op *operator.Operator) error {
		return retry(ctx, e, rdb, op, id, *outcome, outcomes)
	})
}

// retry retries the contacts of campaign id with outcomes (dialer retry; raw is --outcome as
// given) and prints how many.
func retry(ctx context.Context, e *env, rdb *redis.Client, op *operator.Operator, id, raw string, outcomes []campaign.Outcome) error {
	res, err := op.Retry(ctx, id, outcomes)
	if err != nil {
		return err
	}
	var by []string
	for _, o := range slices.Sorted(maps.Keys(res.ByOutcome)) {
		by = append(by, fmt.Sprintf("%s %d", o, res.ByOutcome[o]))
	}
	detail := fmt.Sprintf("outcome=%s: %d contacts", raw, res.Contacts)
	if err := auditDone(ctx, rdb, audit.Entry{Action: "campaign retry", Target: id, Detail: detail}, "campaign "+id+" is retried"); err != nil {
		return err
	}
	if res.Contacts == 0 {
		fmt.Fprintf(e.stdout, "campaign %s has no contact whose final outcome is %s; nothing to retry\n", id, raw)
		return nil
	}
	fmt.Fprintf(e.stdout, "campaign %s: %s another attempt, due now (%s)\n", id, count(res.Contacts, "contact gets", "contacts get"), strings.Join(by, ", "))
	return nil
}

// outcomeNames lists outcomes as "a, b, c".
func outcomeNames(outcomes []campaign.Outcome) string {
	names := make([]string, len(outcomes))
	for i, o := range outcomes {
		names[i] = string(o)
	}
	return strings.Join(names, ", ")
}

// runRedial dials one contact again now.
func runRedial(ctx context.Context, e *env, args []string) error {
	return contactCommand(ctx, e, "redial", args, func(op *operator.Operator, id string, n int) (string, error) {
		res, err := op.Redial(ctx, id, n)
		if err != nil {
			return "", err
		}
		if res.Retried != "" {
			return fmt.Sprintf("contact %d of campaign %s (%s) gets attempt %d, due now", n, id, res.Retried, res.Attempt), nil
		}
		return fmt.Sprintf("contact %d of campaign %s: attempt %d is due now", n, id, res.Attempt), nil
	})
}

// runSkip gives one contact the outcome canceled without dialing it.
func runSkip(ctx context.Context, e *env, args []string) error {
	return contactCommand(ctx, e, "skip", args, func(op *operator.Operator, id string, n int) (string, error) {
		if err := op.Skip(ctx, id, n); err != nil {
			return "", err
		}
		return fmt.Sprintf("contact %d of campaign %s skipped: outcome canceled, it is not dialed", n, id), nil
	})
}

// contactCommand runs a command on one contact (dialer NAME CAMPAIGN_ID CONTACT): it reads
// the two arguments, runs do, records it in the audit log and prints what do says.
func contactCommand(ctx context.Context, e *env, name string, args []string, do func(op *operator.Operator, id string, n int) (string, error)) error {
	fs := newFlagSet(e, name, "CAMPAIGN_ID CONTACT   (CONTACT: the contact's data row, from 1, as the report's row column gives it)")
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usageError(fs, "want a campaign ID and a contact's row number")
	}
	id := fs.Arg(0)
	n, err := strconv.Atoi(fs.Arg(1))
	if err != nil || n < 1 {
		return usageError(fs, "contact %q: want its data row number, from 1", fs.Arg(1))
	}
	return withOperator(ctx, e, operator.Config{}, func(rdb *redis.Client, op *operator.Operator) error {
		msg, err := do(op, id, n)
		if err != nil {
			return err
		}
		if err := auditDone(ctx, rdb, audit.Entry{Action: "contact " + name, Target: id, Detail: "contact " + strconv.Itoa(n)}, msg); err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, msg)
		return nil
	})
}
