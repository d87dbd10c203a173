// Package operator is what operations staff do to campaigns: preview and upload a contact
// file, list campaigns, pause, resume and cancel them (ending live calls on request). The
// CLI (cmd/dialer), the HTTP API and the web console all call these methods, so a campaign
// behaves the same whichever way it is driven. The methods put together the campaign Store,
// the suppression lists, the dial queue and the notification queue; the rules themselves
// live in those packages.
package operator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/dialerhq/dialer/internal/account"
	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/contactcsv"
	"github.com/dialerhq/dialer/internal/interactly"
	"github.com/dialerhq/dialer/internal/notify"
	"github.com/dialerhq/dialer/internal/schedule"
	"github.com/dialerhq/dialer/internal/suppression"
)

// Config configures an Operator. The zero value works, without hang-up.
type Config struct {
	// API ends live calls for Cancel with hang-up, and controls them (ControlCall).
	// Optional: without it such a cancel is refused with ErrNoAPI, and a control with
	// ErrNoControlAPI.
	API *interactly.Client
	// APIFor returns the client for the accounts whose key is in environment variable env
	// (account.Account.APIKeyEnv), for their calls: Cancel with hang-up ends a campaign's
	// calls with its account's key, and ControlCall looks a call up with each account's key
	// in turn. Optional: without it API serves every account.
	APIFor func(env string) (*interactly.Client, error)
	// APIBaseURL is API's base URL (INTERACTLY_BASE_URL), for saying where a call control
	// went. Defaults to interactly.DefaultBaseURL.
	APIBaseURL string
	// Now is the clock. Defaults to time.Now.
	Now func() time.Time
	// Getenv reads the archive bucket's credentials (see archive.Open). Defaults to os.Getenv.
	Getenv func(string) string
}

// ErrNoAPI is returned by Cancel with hang-up when the Operator has no Interactly client.
var ErrNoAPI = errors.New("ending live calls needs INTERACTLY_API_KEY; set it where this runs, or cancel without hanging up")

// ErrEndAtPassed is returned by Upload for a campaign file whose endAt has passed.
var ErrEndAtPassed = errors.New("endAt has passed, so nothing would be dialed; set a later endAt or remove the key")

// Operator performs operators' actions on the campaigns kept in one Redis. It is safe for
// concurrent use; Close releases its queue clients.
type Operator struct {
	rdb   redis.UniversalClient
	store *campaign.Store
	list  *suppression.List
	ac    *asynq.Client
	cfg   Config
}

// New returns an Operator on rdb. rdb stays the caller's to close.
func New(rdb redis.UniversalClient, cfg Config) *Operator {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Getenv == nil {
		cfg.Getenv = os.Getenv
	}
	return &Operator{
		rdb: rdb, store: campaign.NewStore(rdb), list: suppression.New(rdb),
		ac: asynq.NewClientFromRedisClient(rdb), cfg: cfg,
	}
}

// Close releases the queue clients. It does not close the Redis client.
func (o *Operator) Close() error {
	return o.ac.Close()
}

// CanHangUp reports whether Cancel may end live calls: whether the Operator has an
// Interactly client.
func (o *Operator) CanHangUp() bool { return o.cfg.API != nil }

// Store returns the campaign store the Operator works on, for reads.
func (o *Operator) Store() *campaign.Store { return o.store }

// Schedules returns the recurring campaigns kept in the Operator's Redis.
func (o *Operator) Schedules() *schedule.Store { return schedule.NewStore(o.rdb) }

// Suppression returns the suppression lists the Operator checks.
func (o *Operator) Suppression() *suppression.List { return o.list }

// Preview says what Upload would do with campaign file f and the contact file r (named name
// in errors), storing nothing: campaign.Preview, asking the global suppression list.
func (o *Operator) Preview(ctx context.Context, f *campaign.File, name string, r io.Reader, opt campaign.PreviewOptions) (*campaign.UploadPreview, error) {
	opt.Suppressor = o.list
	if opt.Now == nil {
		opt.Now = o.cfg.Now
	}
	return campaign.Preview(ctx, f, name, r, opt)
}

// UploadOptions tune Upload. The zero value works.
type UploadOptions struct {
	// ID is the new campaign's ID. Defaults to a fresh campaign.NewCampaignID.
	ID string
	// Delimiter of the contact file: ',', ';' or '\t'; 0 for the campaign file's, else
	// detected.
	Delimiter rune
	// Encoding of the contact file; "" for the campaign file's contacts.encoding, else
	// UTF-8 (a file that is not UTF-8 is then refused before anything is stored).
	Encoding contactcsv.Encoding
	// Imported, when set, is told of each of the campaign file's suppressionFiles once it is
	// imported (or failed to be), with the rows it refused.
	Imported func(path string, res *suppression.ImportResult)
}

// Upload creates a campaign from campaign file f and the contact file that open opens (it is
// opened twice; name names it in errors and in the campaign): it refuses an endAt that has
// passed (ErrEndAtPassed), fills the campaign's own suppression list from f's suppressionFiles, stores and
// enqueues the contacts (campaign.Store.Upload), and queues the notifications of the rows
// the upload finished itself. On an error before the contacts are stored, nothing is left
// in Redis.
func (o *Operator) Upload(ctx context.Context, f *campaign.File, name string, open func() (io.ReadCloser, error), opt UploadOptions) (*campaign.Campaign, error) {
	now := o.cfg.Now()
	if f.EndAt != nil && !f.EndAt.After(now) {
		return nil, fmt.Errorf("endAt %s: %w", f.EndAt.Format(time.RFC3339), ErrEndAtPassed)
	}
	if name := f.Account; name != "" {
		if _, err := account.NewStore(o.rdb).Get(ctx, name); err != nil {
			return nil, fmt.Errorf("account: %w", err)
		}
	}
	id := opt.ID
	if id == "" {
		id = campaign.NewCampaignID(now)
	}
	// The campaign's own suppression list is filled first, under the ID the upload will use,
	// so that its numbers are never enqueued.
	for _, path := range f.SuppressionFiles {
		if err := o.importCampaignList(ctx, id, path, f.DefaultRegion, opt.Imported); err != nil {
			_ = o.store.DeleteCampaign(context.WithoutCancel(ctx), id)
			return nil, err
		}
	}
	// A nil Enqueuer parks the contacts in the campaign's hopper, where the feeder takes them.
	c, err := o.store.Upload(ctx, f, name, open, nil, campaign.UploadOptions{ID: id, Delimiter: opt.Delimiter, Encoding: opt.Encoding, Suppressor: o.list, Now: o.cfg.Now})
	if err != nil {
		return nil, err
	}
	if err := o.notifyUploaded(ctx, c); err != nil {
		return nil, fmt.Errorf("campaign %s is uploaded, but its notifications of rows not dialed could not be queued: %w", c.ID, err)
	}
	return c, nil
}

// importCampaignList fills campaign id's own suppression list from one suppression file.
func (o *Operator) importCampaignList(ctx context.Context, id, path, region string, imported func(string, *suppression.ImportResult)) error {
	fh, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("suppressionFiles: %w", err)
	}
	defer fh.Close()
	res, err := o.list.Import(ctx, fh, path, region, id)
	if imported != nil && res != nil {
		imported(path, res)
	}
	if err != nil {
		return fmt.Errorf("suppressionFiles: %w", err)
	}
	return nil
}

// notifyUploaded queues the notifications of the rows the upload itself finished (invalid,
// duplicate, suppressed), and of the campaign when that was all of them. Workers notify the
// rest as they finish them.
func (o *Operator) notifyUploaded(ctx context.Context, c *campaign.Campaign) error {
	if c.File.Notify == nil {
		return nil
	}
	n := notify.NewEnqueuer(o.ac, o.store)
	if c.Invalid+c.Duplicate+c.Suppressed > 0 && notify.Wants(c.File.Notify, campaign.NotifyContactFinished) {
		const batch = 1000
		for from := 1; from <= c.Rows; from += batch {
			contacts, err := o.store.Contacts(ctx, c.ID, from, min(from+batch-1, c.Rows))
			if err != nil {
				return err
			}
			for _, ct := range contacts {
				if ct.Outcome == "" {
					continue
				}
				if err := n.ContactFinished(ctx, c, ct.ID); err != nil {
					return err
				}
			}
		}
	}
	if c.Dialable == 0 {
		return n.CampaignFinished(ctx, c)
	}
	return nil
}

// ListOptions filter and bound List. The zero value lists every campaign.
type ListOptions struct {
	// Limit is how many campaigns to return at most, newest first; 0 means all.
	Limit int
	// State keeps only campaigns in this state (campaign.DeriveState); "" keeps all.
	State campaign.State
	// Search keeps only campaigns whose name or ID contains it, ignoring case; "" keeps all.
	Search string
	// Before, when set, keeps only the campaigns listed after the one of that ID (older
	// ones): the cursor of the next page. A campaign deleted since is placed by its ID,
	// which sorts by creation time.
	Before string
}

// Summary is one campaign as List shows it.
type Summary struct {
	*campaign.Status
	// CreatedAt is when its upload began, in UTC.
	CreatedAt time.Time `json:"createdAt"`
}

// listBatch is how many campaigns List reads in one round trip.
const listBatch = 100

// List returns the campaigns that opt keeps, newest first, with their progress. It reads
// listBatch campaigns a round trip, and their statuses in one more. A campaign deleted
// while List reads is left out.
func (o *Operator) List(ctx context.Context, opt ListOptions) ([]Summary, error) {
	ids, err := o.store.CampaignIDs(ctx)
	if err != nil {
		return nil, err
	}
	slices.Reverse(ids)
	if opt.Before != "" {
		if i := slices.Index(ids, opt.Before); i >= 0 {
			ids = ids[i+1:]
		} else {
			ids = slices.DeleteFunc(ids, func(id string) bool { return id >= opt.Before })
		}
	}
	search := strings.ToLower(strings.TrimSpace(opt.Search))
	out := make([]Summary, 0, min(len(ids), max(opt.Limit, 0)))
	for batch := range slices.Chunk(ids, listBatch) {
		cs, err := o.store.Campaigns(ctx, batch)
		if err != nil {
			return nil, err
		}
		for i, c := range cs {
			if c != nil && search != "" && !strings.Contains(strings.ToLower(c.File.Name), search) && !strings.Contains(c.ID, search) {
				cs[i] = nil
			}
		}
		sts, err := o.store.Statuses(ctx, cs)
		if err != nil {
			return nil, err
		}
		for i, st := range sts {
			if st == nil || (opt.State != "" && st.State != opt.State) {
				continue
			}
			out = append(out, Summary{Status: st, CreatedAt: cs[i].CreatedAt.UTC()})
			if opt.Limit > 0 && len(out) == opt.Limit {
				return out, nil
			}
		}
	}
	return out, nil
}

// Pause stops campaign id's new dials (campaign.Store.Pause); live calls finish.
func (o *Operator) Pause(ctx context.Context, id string) error { return o.store.Pause(ctx, id) }

// Resume lets paused campaign id dial again and returns how many held dials it queued
// (campaign.Store.Resume).
func (o *Operator) Resume(ctx context.Context, id string) (int, error) {
	return o.store.Resume(ctx, id, o.store)
}

// CancelResult is what Cancel did.
type CancelResult struct {
	// UploadLost is true when the campaign was uploading and its upload had stopped renewing
	// its lease: Cancel marked it failed and removed what the upload stored
	// (campaign.Store.ReapUpload) instead, and the rest of the result is zero.
	UploadLost bool
	// Canceled counts the contacts given the outcome canceled.
	Canceled int
	// LiveCalls counts the calls still live after the cancel, without hang-up.
	LiveCalls int
	// Ended counts the live calls ended, with hang-up; Failed lists those that could not be.
	Ended  int
	Failed []CallError
}

// CallError is a live call that could not be ended.
type CallError struct {
	CallID  string
	Contact int
	Err     error
}

// Cancel gives campaign id's remaining contacts the outcome canceled (campaign.Store.Cancel),
// queues their notifications and, with hangup, ends its live calls through their controlUrl,
// eight at a time; each call's worker then records its outcome. A campaign whose upload
// stopped renewing its lease is marked failed and what the upload stored removed instead
// (Result.UploadLost). The calls are ended with the key of the campaign's account
// (Config.APIFor). It returns ErrNoAPI for a hang-up without an Interactly client, and an
// error naming the variable when the account's key is not set here, before changing
// anything.
func (o *Operator) Cancel(ctx context.Context, id string, hangup bool) (CancelResult, error) {
	var res CancelResult
	if hangup && o.cfg.API == nil {
		return res, ErrNoAPI
	}
	lost, err := o.store.ReapUpload(ctx, id)
	if err != nil || lost {
		res.UploadLost = lost
		return res, err
	}
	c, err := o.store.Campaign(ctx, id)
	if err != nil {
		return res, err
	}
	api := o.cfg.API
	if hangup {
		// The campaign's calls are ended with its account's key; a key this process lacks
		// is said before anything changes.
		if api, err = o.apiOf(ctx, c.File.Account); err != nil {
			return res, fmt.Errorf("end the live calls of campaign %s: %w", id, err)
		}
	}
	notifier := notify.NewEnqueuer(o.ac, o.store)
	res.Canceled, err = o.store.Cancel(ctx, id, o.store, func(n int, done bool) error {
		if err := notifier.ContactFinished(ctx, c, n); err != nil {
			return err
		}
		if done {
			return notifier.CampaignFinished(ctx, c)
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	if !hangup {
		st, err := o.store.Status(ctx, id)
		if err != nil {
			return res, err
		}
		res.LiveCalls = st.LiveCalls
		return res, nil
	}
	calls, err := o.store.LiveCalls(ctx, id)
	if err != nil {
		return res, fmt.Errorf("list live calls: %w", err)
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
				res.Failed = append(res.Failed, CallError{CallID: lc.CallID, Contact: lc.ContactID, Err: err})
				return nil
			}
			res.Ended++
			return nil
		})
	}
	_ = g.Wait()
	slices.SortFunc(res.Failed, func(a, b CallError) int { return a.Contact - b.Contact })
	return res, nil
}
