package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/dialerhq/dialer/internal/archive"
	"github.com/dialerhq/dialer/internal/audit"
	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/operator"
	"github.com/dialerhq/dialer/internal/retention"
	"github.com/redis/go-redis/v9"
)

// archiveEnv names the environment variable holding the deployment's archive destination:
// where `dialer archive` writes by default and where retention archives expired campaigns.
const archiveEnv = "DIALER_ARCHIVE"

// runArchive writes a campaign's archive to a directory or an S3-compatible bucket.
func runArchive(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "archive", "CAMPAIGN_ID --to DIR|s3://BUCKET[/PREFIX][?endpoint=HOST:PORT&region=R&insecure=true]")
	to := fs.String("to", "", "the archive destination: a directory or s3://BUCKET[/PREFIX] (default $"+archiveEnv+"; a bucket's credentials come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")
	id, err := oneArg(e, fs, args, "campaign ID")
	if err != nil {
		return err
	}
	if *to == "" {
		*to = e.getenv(archiveEnv)
	}
	if *to == "" {
		return usageError(fs, "--to is required (or set %s)", archiveEnv)
	}
	return withOperator(ctx, e, operator.Config{Getenv: e.getenv}, func(rdb *redis.Client, op *operator.Operator) error {
		m, err := op.Archive(ctx, id, *to)
		if err != nil {
			return err
		}
		if err := auditDone(ctx, rdb, audit.Entry{Action: "campaign archive", Target: id, Detail: *to}, "campaign "+id+" is archived"); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "campaign %s archived to %s:\n", id, *to)
		for _, f := range m.Files {
			fmt.Fprintf(e.stdout, "  %s/%-18s %7d rows %10d bytes  sha256 %s\n", id, f.Name, f.Rows, f.Bytes, f.SHA256)
		}
		fmt.Fprintf(e.stdout, "  %s/manifest.json\n`dialer report %s` reads it back once the campaign is deleted from Redis.\n", id, id)
		return nil
	})
}

// runDelete removes a campaign from Redis.
func runDelete(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "delete", "CAMPAIGN_ID [--force] [--wait 2m]")
	force := fs.Bool("force", false, "delete a live campaign too: cancel it first and wait for its live calls to end")
	wait := fs.Duration("wait", 2*time.Minute, "with --force, how long to wait for the live calls to end")
	return withCampaign(ctx, e, fs, args, operator.Config{Getenv: e.getenv}, func(id string, rdb *redis.Client, op *operator.Operator) error {
		res, err := op.Delete(ctx, id, operator.DeleteOptions{Force: *force, Wait: *wait})
		if err != nil {
			return err
		}
		action := "campaign delete"
		if *force {
			action += " --force"
		}
		if err := auditDone(ctx, rdb, audit.Entry{Action: action, Target: id}, "campaign "+id+" is deleted"); err != nil {
			return err
		}
		if res.Canceled > 0 {
			fmt.Fprintf(e.stdout, "campaign %s canceled: %s canceled\n", id, count(res.Canceled, "contact", "contacts"))
		}
		fmt.Fprintf(e.stdout, "campaign %s deleted from Redis, with %s\n", id, count(res.Tasks, "queued task", "queued tasks"))
		return nil
	})
}

// retentionFlags are dialer serve's retention flags.
type retentionFlags struct {
	keep     *string
	archive  *string
	interval *time.Duration
}

// addRetentionFlags defines --retention, --archive and --retention-interval on fs.
func addRetentionFlags(fs *flag.FlagSet, e *env) *retentionFlags {
	return &retentionFlags{
		keep:     fs.String("retention", "30d", "how long a done campaign stays in Redis when its file sets no retention (e.g. 30d, 12h); then it is archived (with --archive) and deleted"),
		archive:  fs.String("archive", e.getenv(archiveEnv), "where retention archives campaigns before deleting them: a directory or s3://BUCKET[/PREFIX] (default $"+archiveEnv+"; empty: delete without archiving)"),
		interval: fs.Duration("retention-interval", 10*time.Minute, "time between retention sweeps (one serve replica sweeps)"),
	}
}

// sweeper returns the retention sweeper the flags describe, and the Operator it uses, for
// the caller to close.
func (f *retentionFlags) sweeper(rdb redis.UniversalClient, e *env, logger *slog.Logger) (*retention.Sweeper, *operator.Operator, error) {
	keep, err := campaign.ParseRetention(*f.keep)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: --retention: %v", errUsage, err)
	}
	if *f.archive != "" {
		if _, err := archive.Open(*f.archive, e.getenv); err != nil {
			return nil, nil, fmt.Errorf("--archive: %w", err)
		}
	}
	op := operator.New(rdb, operator.Config{Getenv: e.getenv})
	sw, err := retention.New(retention.Config{Operator: op, Default: keep, Archive: *f.archive, Interval: *f.interval, Logger: logger, Audit: audit.New(rdb)})
	if err != nil {
		op.Close()
		return nil, nil, err
	}
	if *f.archive == "" {
		logger.Info("retention: done campaigns are deleted without an archive; set --archive or "+archiveEnv+" to keep them", "retention", *f.keep)
	}
	return sw, op, nil
}
