package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/dialerhq/dialer/internal/suppression"
	"github.com/redis/go-redis/v9"
)

const suppressUsage = "add|remove|check NUMBER... [--region US]\n       dialer suppress import FILE.csv [--region US] [--column NAME]\n       dialer suppress list [--format text|csv]"

// runSuppress edits and asks the global suppression (do-not-call) list:
//
//	dialer suppress add|remove|check NUMBER... [--region US]
//	dialer suppress import FILE.csv [--region US]
func runSuppress(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "suppress", suppressUsage)
	region := fs.String("region", "US", "ISO country of numbers written without +country; \"\" requires +country")
	column := fs.String("column", "", "suppress import: read the numbers from this `COLUMN` and ignore the others (default: the columns number and reason)")
	format := fs.String("format", "text", "suppress list: text (one number a line) or csv (a number column, for import elsewhere)")
	if len(args) == 0 {
		return usageError(fs, "want add, remove, check, import or list")
	}
	action := args[0]
	rest, err := parseInterspersed(e, fs, args[1:])
	if err != nil {
		return err
	}
	switch action {
	case "add", "remove", "check":
		if len(rest) == 0 {
			return usageError(fs, "suppress %s: want at least one number", action)
		}
		return suppressNumbers(ctx, e, action, rest, *region)
	case "import":
		if len(rest) != 1 {
			return usageError(fs, "suppress import: want one file")
		}
		return suppressImport(ctx, e, rest[0], *region, *column)
	case "list":
		if len(rest) != 0 {
			return usageError(fs, "suppress list takes no arguments")
		}
		return suppressList(ctx, e, *format)
	case "-h", "--help", "help":
		return showHelp(e, fs)
	}
	return usageError(fs, "suppress %q: want add, remove, check, import or list", action)
}

// parseInterspersed parses fs from args, which may put flags after positional arguments
// (dialer suppress add 4155550101 --region GB), and returns the positional ones.
func parseInterspersed(e *env, fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(e, fs, args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// suppressNumbers normalises every number first, so that one bad number changes nothing.
func suppressNumbers(ctx context.Context, e *env, action string, raw []string, region string) error {
	numbers, err := suppression.Normalize(raw, region)
	if err != nil && action == "check" {
		return fmt.Errorf("suppress check: cannot check a malformed number: %w; write it as the contact file would (with --region for numbers without +country)", err)
	}
	if err != nil {
		return fmt.Errorf("suppress %s: nothing changed: %w", action, err)
	}
	return withRedis(ctx, e, func(rdb *redis.Client) error {
		list := suppression.New(rdb)

		switch action {
		case "check":
			got, err := list.SuppressedMany(ctx, "", numbers)
			if err != nil {
				return err
			}
			for i, n := range numbers {
				state := "not suppressed"
				if got[i] {
					state = "suppressed"
				}
				fmt.Fprintln(e.stdout, n, state)
			}
			return nil
		case "add":
			n, err := list.Add(ctx, numbers...)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stderr, "added %d (%d already there)", n, len(numbers)-n)
		case "remove":
			n, err := list.Remove(ctx, numbers...)
			if err != nil {
				return err
			}
			missing := len(numbers) - n
			verb := "were"
			if missing == 1 {
				verb = "was"
			}
			fmt.Fprintf(e.stderr, "removed %d (%d %s not on it)", n, missing, verb)
		}
		return printListSize(ctx, e, list)
	})
}

// suppressList writes the whole global list to stdout, streamed, for a compliance review:
// one number a line, or with format csv a CSV with a number column that suppress import
// reads back.
func suppressList(ctx context.Context, e *env, format string) error {
	if format != "text" && format != "csv" {
		return fmt.Errorf("%w: --format %q: want text or csv", errUsage, format)
	}
	return withRedis(ctx, e, func(rdb *redis.Client) error {
		w := bufio.NewWriter(e.stdout)
		if format == "csv" {
			w.WriteString("number\n")
		}
		n := 0
		err := suppression.New(rdb).Each(ctx, func(number string) error {
			n++
			_, err := w.WriteString(number + "\n") // E.164: nothing to quote
			return err
		})
		if ferr := w.Flush(); err == nil {
			err = ferr
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "%s on the global suppression list\n", count(n, "number", "numbers"))
		return nil
	})
}

func suppressImport(ctx context.Context, e *env, path, region, column string) error {
	f, err := os.Open(path)
	if err != nil {
		return err // *PathError: "open FILE: no such file or directory"
	}
	defer f.Close()
	return withRedis(ctx, e, func(rdb *redis.Client) error {
		list := suppression.New(rdb)
		res, err := list.ImportColumn(ctx, f, path, region, "", column)
		printRejected(e, path, res)
		if err != nil {
			if res.Rows > 0 {
				fmt.Fprintf(e.stderr, "%s: stopped after %s: %d added, %d already there, %d rejected\n",
					path, count(res.Rows, "row", "rows"), res.Added, res.AlreadyThere, len(res.Rejected))
			}
			return err
		}
		fmt.Fprintf(e.stderr, "%s: %s: %d added, %d already there, %d rejected", path, count(res.Rows, "row", "rows"), res.Added, res.AlreadyThere, len(res.Rejected))
		return printListSize(ctx, e, list)
	})
}

// printRejected prints each row an import refused, as FILE:LINE: NUMBER: reason.
func printRejected(e *env, path string, res *suppression.ImportResult) {
	for _, r := range res.Rejected {
		number := r.Number
		if strings.TrimSpace(number) == "" {
			number = `""`
		}
		fmt.Fprintf(e.stderr, "%s:%d: %s: %s\n", path, r.Line, number, r.Reason)
	}
}

// printListSize ends a summary line with the size of the global list.
func printListSize(ctx context.Context, e *env, list *suppression.List) error {
	n, err := list.Count(ctx)
	if err != nil {
		fmt.Fprintln(e.stderr)
		return err
	}
	fmt.Fprintf(e.stderr, "; the suppression list holds %s\n", count(int(n), "number", "numbers"))
	return nil
}
