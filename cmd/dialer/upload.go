package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/contactcsv"
	"github.com/dialerhq/dialer/internal/operator"
	"github.com/dialerhq/dialer/internal/redisconn"
	"github.com/dialerhq/dialer/internal/suppression"
	"github.com/redis/go-redis/v9"
)

func runUpload(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "upload", "--campaign FILE.yaml --contacts FILE.csv [--delimiter ,|;|tab] [--encoding utf-8|windows-1252|latin-1]")
	campaignPath := fs.String("campaign", "", "campaign file (YAML), e.g. campaigns/example.yaml")
	contactsPath := fs.String("contacts", "", "contact file (CSV with a header row)")
	delimiter := fs.String("delimiter", "", `contact file delimiter: "," ";" or "tab" (default: the campaign file's, else detected)`)
	encoding := fs.String("encoding", "", encodingUsage)
	if err := parseRequired(e, fs, args, "campaign", "contacts"); err != nil {
		return err
	}
	// An upload allocates fast and keeps little: collect garbage less often (a third less CPU
	// on the benchmark's 100k rows), under a soft memory limit that keeps the heap bounded
	// whatever the file's size.
	debug.SetGCPercent(400)
	debug.SetMemoryLimit(64 << 20)
	rdb, err := openRedis(ctx, e)
	if err != nil {
		return err
	}
	defer rdb.Close()
	c, err := upload(ctx, e, rdb, *campaignPath, *contactsPath, *delimiter, *encoding)
	if err != nil {
		return err
	}
	if c.Invalid+c.Duplicate+c.Suppressed > 0 {
		fmt.Fprintf(e.stderr, "rows not dialed are in the report with the reason: dialer report %s --out report.csv\n", c.ID)
	}
	fmt.Fprintln(e.stdout, c.ID)
	return nil
}

// openRedis connects to REDIS_URL.
func openRedis(ctx context.Context, e *env) (*redis.Client, error) {
	url := e.getenv(redisconn.EnvVar)
	if url == "" {
		return nil, errors.New("REDIS_URL is not set; point it at your Redis, e.g. REDIS_URL=redis://127.0.0.1:6379 (only `dialer run` works without one)")
	}
	return redisconn.Open(ctx, url)
}

// withRedis opens REDIS_URL, runs do with it and closes it: the setup of every command
// that reads or changes what Redis holds.
func withRedis(ctx context.Context, e *env, do func(rdb *redis.Client) error) error {
	rdb, err := openRedis(ctx, e)
	if err != nil {
		return err
	}
	defer rdb.Close()
	return do(rdb)
}

// withOperator opens REDIS_URL and an Operator on it with cfg, runs do with both, and
// closes them.
func withOperator(ctx context.Context, e *env, cfg operator.Config, do func(rdb *redis.Client, op *operator.Operator) error) error {
	return withRedis(ctx, e, func(rdb *redis.Client) error {
		op := operator.New(rdb, cfg)
		defer op.Close()
		return do(rdb, op)
	})
}

// encodingUsage documents --encoding.
const encodingUsage = `contact file encoding: utf-8, windows-1252 (Excel's "CSV (Comma delimited)" on Windows) or latin-1 (default: the campaign file's contacts.encoding, else utf-8)`

// upload reads the campaign file, uploads the contacts and prints a summary on stderr.
// encoding "" means the campaign file's contacts.encoding, else UTF-8.
func upload(ctx context.Context, e *env, rdb redis.UniversalClient, campaignPath, contactsPath, delimiter, encoding string) (*campaign.Campaign, error) {
	return uploadAs(ctx, e, rdb, campaignPath, contactsPath, delimiter, encoding, "")
}

// uploadAs is upload under campaign ID id; an empty id means a fresh campaign.NewCampaignID.
func uploadAs(ctx context.Context, e *env, rdb redis.UniversalClient, campaignPath, contactsPath, delimiter, encoding, id string) (*campaign.Campaign, error) {
	delim, err := parseDelimiter(delimiter)
	if err != nil {
		return nil, err
	}
	var enc contactcsv.Encoding
	if encoding != "" {
		if enc, err = contactcsv.ParseEncoding(encoding); err != nil {
			return nil, fmt.Errorf("%w: --encoding: %v", errUsage, err)
		}
	}
	f, err := campaign.ParseFile(campaignPath)
	if err != nil {
		return nil, err
	}
	op := operator.New(rdb, operator.Config{})
	defer op.Close()
	start := time.Now()
	open := func() (io.ReadCloser, error) { return os.Open(contactsPath) }
	c, err := op.Upload(ctx, f, contactsPath, open, operator.UploadOptions{
		ID: id, Delimiter: delim, Encoding: enc,
		Imported: func(path string, res *suppression.ImportResult) {
			printRejected(e, path, res)
			fmt.Fprintf(e.stderr, "%s: %d numbers suppressed for this campaign (%d rows, %d rejected)\n",
				path, res.Added+res.AlreadyThere, res.Rows, len(res.Rejected))
		},
	})
	if redisconn.IsFull(err) {
		return nil, fmt.Errorf("upload %s: %s; nothing of this upload is kept (%w)", contactsPath, redisconn.FullMessage, err)
	}
	if err != nil {
		if errors.Is(err, operator.ErrEndAtPassed) {
			return nil, fmt.Errorf("%s: %w", campaignPath, err)
		}
		return nil, err
	}
	elapsed := time.Since(start)
	fmt.Fprintf(e.stderr, "campaign %s (%s): %s: %d dialable, %d invalid, %d duplicate, %d suppressed; uploaded in %s (%.0f rows/s)\n",
		c.ID, c.File.Name, count(c.Rows, "row", "rows"), c.Dialable, c.Invalid, c.Duplicate, c.Suppressed,
		elapsed.Round(time.Millisecond), float64(c.Rows)/elapsed.Seconds())
	return c, nil
}

func parseDelimiter(s string) (rune, error) {
	r, err := contactcsv.ParseDelimiter(s)
	if err != nil {
		return 0, fmt.Errorf("%w: --delimiter: %v", errUsage, err)
	}
	return r, nil
}
