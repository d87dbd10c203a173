package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/redis/go-redis/v9"
)

func runReport(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "report", "CAMPAIGN_ID --out FILE.csv")
	out := fs.String("out", "", "where to write the report; - for standard output")
	id, err := oneArg(fs, args, "campaign ID")
	if err != nil {
		return err
	}
	if *out == "" {
		fs.Usage()
		return fmt.Errorf("%w: --out is required (- for standard output)", errUsage)
	}
	rdb, err := openRedis(ctx, e)
	if err != nil {
		return err
	}
	defer rdb.Close()
	n, err := writeReport(ctx, e, rdb, id, *out)
	if err != nil {
		return err
	}
	if *out != "-" {
		fmt.Fprintf(e.stderr, "wrote %d rows to %s\n", n, *out)
	}
	return nil
}

// writeReport writes campaign id's report to path, or to stdout for "-". A file is written
// beside its final name and renamed into place, so a failed export leaves no half report.
func writeReport(ctx context.Context, e *env, rdb redis.UniversalClient, id, path string) (int, error) {
	store := campaign.NewStore(rdb)
	if path == "-" {
		return store.WriteReport(ctx, id, e.stdout)
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".report-*.csv")
	if err != nil {
		return 0, fmt.Errorf("write report: %w", err)
	}
	defer os.Remove(f.Name())
	n, err := store.WriteReport(ctx, id, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, fmt.Errorf("write report %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return n, fmt.Errorf("write report: %w", err)
	}
	return n, nil
}
