package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/operator"
	"github.com/redis/go-redis/v9"
)

func runReport(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "report", "CAMPAIGN_ID --out FILE.csv [--attempts | --rejected] [--raw] [--bom]")
	out := fs.String("out", "", "write the report to `FILE`; - for standard output")
	bom := fs.Bool("bom", false, "start the file with a UTF-8 byte-order mark, so that Excel on Windows shows accented names correctly")
	raw := fs.Bool("raw", false, "write cells as stored; by default a cell a spreadsheet would run as a formula (=, +, -, @ first) gets a leading apostrophe")
	attempts := fs.Bool("attempts", false, "one row per dial attempt, with why it was allowed (local time, zone, window, suppression check, frequency cap), for compliance review")
	rejected := fs.Bool("rejected", false, "only the rows the upload refused (invalid, duplicate, suppressed): line, outcome, reason, then the row as read, to fix and upload again")
	id, err := oneArg(e, fs, args, "campaign ID")
	if err != nil {
		return err
	}
	if *out == "" {
		return usageError(fs, "--out is required (- for standard output)")
	}
	// An archived campaign deleted from Redis is read back from its archive.
	return withOperator(ctx, e, operator.Config{Getenv: e.getenv}, func(rdb *redis.Client, op *operator.Operator) error {
		write := op.Report
		switch {
		case *attempts && *rejected:
			return fmt.Errorf("%w: --attempts and --rejected are two different reports; choose one", errUsage)
		case *attempts:
			write = op.AttemptReport
		case *rejected:
			write = op.RejectedReport
		}
		n, err := writeReport(ctx, e, write, id, *out, campaign.ReportOptions{Raw: *raw, BOM: *bom})
		if err != nil {
			return err
		}
		if *out != "-" {
			fmt.Fprintf(e.stderr, "wrote %d rows to %s\n", n, *out)
		}
		return nil
	})
}

// reportWriter writes one of a campaign's reports, as Store.WriteReport does.
type reportWriter func(ctx context.Context, id string, w io.Writer, opt campaign.ReportOptions) (int, error)

// writeReport writes campaign id's report with write to path, or to stdout for "-". A file
// is written beside its final name and renamed into place, so a failed export leaves no
// half report. It is readable by all (0644), like a file written by a spreadsheet.
func writeReport(ctx context.Context, e *env, write reportWriter, id, path string, opt campaign.ReportOptions) (int, error) {
	if path == "-" {
		return write(ctx, id, e.stdout, opt)
	}
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return 0, fmt.Errorf("write report %s: there is no directory %s; create it, or choose another --out", path, dir)
	}
	f, err := os.CreateTemp(dir, ".report-*.csv")
	if err != nil {
		return 0, fmt.Errorf("write report %s: cannot create a file in %s: %w", path, dir, pathCause(err))
	}
	defer os.Remove(f.Name())
	n, err := write(ctx, id, f, opt)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, fmt.Errorf("write report %s: %w", path, pathCause(err))
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return n, fmt.Errorf("write report %s: %w", path, pathCause(err))
	}
	return n, nil
}

// pathCause is the cause of a file error without the path it names: the temporary file's
// name means nothing to the person who chose --out.
func pathCause(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}
