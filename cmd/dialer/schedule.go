package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/schedule"
	"github.com/redis/go-redis/v9"
)

const scheduleUsage = "add --cron SPEC [--timezone ZONE] --campaign FILE.yaml --contacts FILE.csv | list | remove ID"

func runSchedule(ctx context.Context, e *env, args []string) error {
	return subcommand(ctx, e, "schedule", scheduleUsage, args, map[string]func(context.Context, *env, []string) error{
		"add": runScheduleAdd, "list": runScheduleList, "remove": runScheduleRemove,
	})
}

func runScheduleAdd(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "schedule add", "--cron SPEC [--timezone ZONE] --campaign FILE.yaml --contacts FILE.csv")
	spec := fs.String("cron", "", `when to create a campaign: 5 fields ("0 9 * * MON-FRI") or @daily, @hourly, "@every 1h"`)
	zone := fs.String("timezone", "", "IANA time zone the spec is read in (default UTC)")
	campaignPath := fs.String("campaign", "", "campaign file (YAML), read at each tick")
	contactsPath := fs.String("contacts", "", "contact file (CSV), read at each tick")
	if err := parseRequired(e, fs, args, "cron", "campaign", "contacts"); err != nil {
		return err
	}
	return withRedis(ctx, e, func(rdb *redis.Client) error {
		s, err := schedule.NewStore(rdb).Add(ctx, schedule.Schedule{
			Cron: *spec, Timezone: *zone, CampaignPath: *campaignPath, ContactsPath: *contactsPath,
		})
		if err != nil {
			return err
		}
		next, _ := s.Next(time.Now())
		fmt.Fprintf(e.stderr, "schedule %s: %q in %s; next tick %s; campaigns are created by `dialer scheduler`\n",
			s.ID, s.Cron, zoneName(s.Timezone), next.Format(time.RFC3339))
		fmt.Fprintln(e.stdout, s.ID)
		return nil
	})
}

func runScheduleList(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "schedule list", "")
	if err := parseNoArgs(e, fs, args, "list"); err != nil {
		return err
	}
	return withRedis(ctx, e, func(rdb *redis.Client) error {
		list, err := schedule.NewStore(rdb).List(ctx)
		if err != nil {
			return err
		}
		if len(list) == 0 {
			fmt.Fprintln(e.stderr, "no schedules; add one with dialer schedule add")
			return nil
		}
		tw := newTable(e.stdout, "ID\tCRON\tTIMEZONE\tNEXT TICK\tCAMPAIGN\tCONTACTS")
		now := time.Now()
		for _, s := range list {
			next := "-"
			if t, err := s.Next(now); err == nil {
				next = t.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.Cron, zoneName(s.Timezone), next, s.CampaignPath, s.ContactsPath)
		}
		return tw.Flush()
	})
}

func runScheduleRemove(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "schedule remove", "ID")
	id, err := oneArg(e, fs, args, "schedule ID")
	if err != nil {
		return err
	}
	return withRedis(ctx, e, func(rdb *redis.Client) error {
		if err := schedule.NewStore(rdb).Remove(ctx, id); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "schedule %s removed\n", id)
		return nil
	})
}

func zoneName(z string) string {
	if z == "" {
		return "UTC"
	}
	return z
}

// schedulerConfig is the scheduler's configuration; tests shorten its intervals.
var schedulerConfig = schedule.Config{}

func runScheduler(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "scheduler", "[--allow-eviction]")
	allowEviction := allowEvictionFlag(fs)
	if err := parseNoArgs(e, fs, args, "scheduler"); err != nil {
		return err
	}
	return withRedis(ctx, e, func(rdb *redis.Client) error {

		// The upload's summary and the log lines come from different goroutines.
		out := &lockedWriter{w: e.stderr}
		ue := &env{getenv: e.getenv, stdout: io.Discard, stderr: out}
		logger := slog.New(slog.NewTextHandler(out, nil))
		if err := checkRedis(ctx, rdb, *allowEviction, logger); err != nil {
			return err
		}
		cfg := schedulerConfig
		cfg.Logger = logger

		srv := schedule.NewServer(rdb, schedule.ServerConfig{Logger: logger})
		h := &schedule.Handler{
			Schedules: schedule.NewStore(rdb),
			Campaigns: campaign.NewStore(rdb),
			Logger:    logger,
			Upload: func(ctx context.Context, s *schedule.Schedule, id string) error {
				_, err := uploadAs(ctx, ue, rdb, s.CampaignPath, s.ContactsPath, "", "", id)
				return err
			},
		}
		if err := srv.Start(h); err != nil {
			return fmt.Errorf("start scheduler queue server: %w", err)
		}
		defer srv.Shutdown()
		logger.Info("scheduler started", "queue", schedule.Queue)
		return schedule.NewScheduler(rdb, cfg).Run(ctx)
	})
}

// lockedWriter serializes writes to w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
