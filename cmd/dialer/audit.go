package main

import (
	"context"
	"fmt"
	"os/user"

	"github.com/dialerhq/dialer/internal/audit"
	"github.com/redis/go-redis/v9"
)

// runAudit prints the operator audit log, newest first.
func runAudit(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "audit", "[--limit 50] [--before ID] [--json]")
	limit := fs.Int("limit", 50, "entries to print, newest first (at most 1000)")
	before := fs.String("before", "", "print entries older than this entry ID (the last ID of the previous page)")
	asJSON := fs.Bool("json", false, "print a JSON array of entries, as GET /api/v1/audit holds them")
	if err := parseNoArgs(e, fs, args, "audit"); err != nil {
		return err
	}
	if *limit < 1 {
		return usageError(fs, "audit --limit %d: want at least 1", *limit)
	}
	return withRedis(ctx, e, func(rdb *redis.Client) error {
		entries, next, err := audit.New(rdb).List(ctx, audit.ListOptions{Before: *before, Limit: *limit})
		if err != nil {
			return err
		}
		if done, err := printJSONOrNone(e, entries, *asJSON, "no audit entries"); done {
			return err
		}
		tw := newTable(e.stdout, "ID\tTIME\tACTOR\tSCOPE\tACTION\tTARGET\tSOURCE\tRESULT\tDETAIL")
		for _, en := range entries {
			result := en.Result
			if en.Status != 0 {
				result = fmt.Sprintf("%d %s", en.Status, en.Result)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", en.ID, en.Time.Format("2006-01-02 15:04:05Z"), en.Actor, en.Scope, en.Action, en.Target, en.Source, result, en.Detail)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if next != "" {
			fmt.Fprintf(e.stderr, "older entries: dialer audit --before %s\n", next)
		}
		return nil
	})
}

// auditDone records entry as auditCLI does, once the change it names is made. The error
// says that the change was made, done (e.g. "campaign c1 is paused"), but is not recorded.
func auditDone(ctx context.Context, rdb redis.UniversalClient, entry audit.Entry, done string) error {
	if err := auditCLI(ctx, rdb, entry); err != nil {
		return fmt.Errorf("%s, but the audit log could not record it: %w", done, err)
	}
	return nil
}

// auditCLI records a state-changing command run from the CLI: e's Action, Target, Scope and
// Detail, with the local user as its actor ("cli:USER"), "cli" as its source and result ok.
// Commands record what they did once it is done; a refused command changed nothing.
func auditCLI(ctx context.Context, rdb redis.UniversalClient, e audit.Entry) error {
	e.Actor = "cli"
	if u, err := user.Current(); err == nil {
		e.Actor = "cli:" + u.Username
	}
	e.Source, e.Result = "cli", "ok"
	return audit.New(rdb).Append(ctx, e)
}
