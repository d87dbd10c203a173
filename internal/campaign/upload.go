package campaign

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dialerhq/dialer/internal/contactcsv"
	"github.com/dialerhq/dialer/internal/phone"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"
)

// Enqueuer enqueues the dial task for one attempt of one contact. A zero at means now.
// Enqueueing a task that exists already must succeed without a second task (queue.Client
// does this with asynq's TaskID).
type Enqueuer interface {
	EnqueueDial(ctx context.Context, ref AttemptRef, at time.Time) error
}

// Suppressor tells which numbers are on a suppression (do-not-call) list that campaign
// campaignID obeys; suppression.List implements it. The answer has one entry per number.
type Suppressor interface {
	SuppressedMany(ctx context.Context, campaignID string, numbers []string) ([]bool, error)
}

// UploadOptions tune Upload. The zero value works.
type UploadOptions struct {
	// ID is the new campaign's ID. Defaults to a fresh NewCampaignID; a caller that fills
	// the campaign's own suppression list before the upload chooses it first.
	ID string
	// Suppressor, when set, is asked about every dialable number: one on a list gets the
	// outcome suppressed and is not enqueued. Workers ask again before each dial.
	Suppressor Suppressor
	// Delimiter of the contact file: ',', ';' or '\t'. Defaults to the campaign file's
	// contacts.delimiter, else it is detected from the header line.
	Delimiter rune
	// Encoding of the contact file. Defaults to the campaign file's contacts.encoding, else
	// EncodingUTF8: a file that is not UTF-8 is then refused before anything is stored.
	Encoding contactcsv.Encoding
	// Enqueuers is how many goroutines enqueue tasks at once. Defaults to 32: one asynq
	// Enqueue is one Redis round trip, so the rate grows with the number in flight.
	Enqueuers int
	// BatchSize is how many rows go to Redis in one pipeline. Defaults to 512.
	BatchSize int
	// Writers is how many goroutines write batches of contacts at once, each its own
	// pipeline. Defaults to 4: while one batch is on its way to Redis or back, Redis works
	// on another.
	Writers int
	// Now is the clock. Defaults to time.Now.
	Now func() time.Time
	// Lease is how long the campaign stays uploading without word from this upload, which
	// renews it every third of it: an upload killed mid-file is marked failed that long
	// after (see lease.go). Defaults to DefaultUploadLease, 30s.
	Lease time.Duration
}

func (o *UploadOptions) withDefaults(f *File) {
	f.Contacts.readDefaults(&o.Delimiter, &o.Encoding)
	if o.Enqueuers <= 0 {
		o.Enqueuers = 32
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 512
	}
	if o.Writers <= 0 {
		o.Writers = 4
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Lease <= 0 {
		o.Lease = DefaultUploadLease
	}
}

// ColumnError says that a column the campaign file names is not in the contact file.
type ColumnError struct {
	ContactsPath string   // the contact file
	Key          string   // the campaign file key that names it, e.g. "contacts.numberColumn"
	Column       string   // the column asked for
	Header       []string // the columns the file has
}

// Error names the file, the missing column, the key that names it and the columns there are.
func (e *ColumnError) Error() string {
	return fmt.Sprintf("%s: no column %q (named by %s in the campaign file); the header has %s; set %s to one of them",
		e.ContactsPath, e.Column, e.Key, quoteList(e.Header), e.Key)
}

func quoteList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

// Upload creates a campaign from f and the contact file that open opens (twice: once to check
// the whole file's structure, so that a broken file enqueues nothing, and once to load it).
// Each row becomes a contact; a dialable one gets attempt 1 parked in the campaign's hopper
// (in the same pipeline as its contact) when enq is nil, or a dial task through enq.
// Rows whose number is invalid get outcome invalid, rows repeating an earlier row's number
// get outcome duplicate, and rows whose number opt.Suppressor reports get outcome
// suppressed, each with the reason in its error cell; none of them is dialed.
//
// The campaign is UploadInProgress (StateUploading) until every task is enqueued, and
// workers hold its tasks until then. Meanwhile the upload renews its lease (opt.Lease);
// before it starts, it marks failed and clears the campaigns of uploads that stopped
// renewing theirs (ReapLostUploads). On any error the campaign's keys are deleted, and so
// are the tasks already enqueued when enq is a TaskDeleter (a task a worker holds is dropped
// by the worker, which finds no campaign), and the error says what and where: a
// *ColumnError, a *contactcsv.CSVError, ErrUploadLost, or a Redis error.
func (s *Store) Upload(ctx context.Context, f *File, contactsPath string, open func() (io.ReadCloser, error), enq Enqueuer, opt UploadOptions) (*Campaign, error) {
	opt.withDefaults(f)
	header, delim, err := checkContacts(f, contactsPath, open, contactcsv.Options{Path: contactsPath, Delimiter: opt.Delimiter, Encoding: opt.Encoding})
	if err != nil {
		return nil, err
	}
	id := opt.ID
	if id == "" {
		id = NewCampaignID(opt.Now())
	}
	if _, err := s.ReapLostUploads(ctx); err != nil {
		return nil, err
	}
	c := &Campaign{
		ID: id, File: *f, Header: header, ContactsPath: contactsPath,
		Upload: UploadInProgress, CreatedAt: opt.Now().UTC(),
	}
	if err := s.createCampaign(ctx, c, opt.Lease); err != nil {
		return nil, err
	}
	err = s.loadLeased(ctx, c, open, delim, enq, opt)
	if err == nil {
		err = s.finishUpload(ctx, c)
	}
	if err != nil {
		if derr := s.discardUpload(context.WithoutCancel(ctx), c.ID, enq); derr != nil {
			err = fmt.Errorf("%w (and the partial campaign %s could not be deleted: %v)", err, c.ID, derr)
		}
		return nil, err
	}
	return c, nil
}

// loadLeased is load while the upload's lease is renewed; it stops with ErrUploadLost when
// the campaign was marked failed meanwhile.
func (s *Store) loadLeased(ctx context.Context, c *Campaign, open func() (io.ReadCloser, error), delim rune, enq Enqueuer, opt UploadOptions) error {
	loadCtx, stopLoad := context.WithCancelCause(ctx)
	defer stopLoad(nil)
	leaseCtx, stopLease := context.WithCancel(ctx)
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		s.keepLease(leaseCtx, c.ID, opt.Lease, func() { stopLoad(ErrUploadLost) })
	}()
	err := s.load(loadCtx, c, open, delim, enq, opt)
	stopLease()
	<-renewed
	if errors.Is(context.Cause(loadCtx), ErrUploadLost) {
		return fmt.Errorf("campaign %s: %w", c.ID, ErrUploadLost)
	}
	return err
}

// checkContacts reads the whole contact file once: header, the columns the campaign names,
// and the structure of every row.
func checkContacts(f *File, path string, open func() (io.ReadCloser, error), ro contactcsv.Options) ([]string, rune, error) {
	rc, err := open()
	if err != nil {
		return nil, 0, fmt.Errorf("open contact file: %w", err)
	}
	defer rc.Close()
	cr, err := contactcsv.NewReader(rc, ro)
	if err != nil {
		return nil, 0, err
	}
	header := cr.Header()
	if err := checkColumns(f, path, cr); err != nil {
		return nil, 0, err
	}
	rows := 0
	for ; ; rows++ {
		if _, err := cr.Read(); err == io.EOF {
			break
		} else if err != nil {
			return nil, 0, err
		}
	}
	if rows == 0 {
		return nil, 0, fmt.Errorf("%s: %w; add contacts below the header", path, errNoRows)
	}
	return header, cr.Delimiter(), nil
}

// checkColumns returns a *ColumnError for the first column f names that cr's header lacks.
func checkColumns(f *File, path string, cr *contactcsv.Reader) error {
	cols := []struct{ key, name string }{{"contacts.numberColumn", f.Contacts.NumberColumn}}
	if name := f.Contacts.NameColumn; name != "" {
		cols = append(cols, struct{ key, name string }{"contacts.nameColumn", name})
	}
	if cw := f.CallingWindow; cw != nil && cw.TimezoneColumn != "" {
		cols = append(cols, struct{ key, name string }{"callingWindow.timezoneColumn", cw.TimezoneColumn})
	}
	for _, col := range cols {
		if _, ok := cr.Column(col.name); !ok {
			return &ColumnError{ContactsPath: path, Key: col.key, Column: col.name, Header: cr.Header()}
		}
	}
	return nil
}

// uploadBatch is a run of rows on its way to Redis. Batches are normalised in parallel and
// stored in input order, so that the first of two rows with one number is the one dialed.
type uploadBatch struct {
	rows     []*contactcsv.Row
	contacts []uploadContact
	ready    chan struct{} // closed once contacts is filled
	// owners holds, for each row whose number an earlier row claimed, that row's phones
	// hash entry ("contact:line"); "" for a row that claimed its number, or has none.
	owners []string
}

// uploadCounts are what the rows of an upload came to.
type uploadCounts struct {
	mu                                             sync.Mutex
	rows, dialable, invalid, duplicate, suppressed int
}

type uploadContact struct {
	number, name string
	reason       string // why the row is not dialable, "" when it is
}

// load is the second pass: read, normalise, store and enqueue.
func (s *Store) load(ctx context.Context, c *Campaign, open func() (io.ReadCloser, error), delim rune, enq Enqueuer, opt UploadOptions) error {
	rc, err := open()
	if err != nil {
		return fmt.Errorf("open contact file: %w", err)
	}
	defer rc.Close()
	cr, err := contactcsv.NewReader(rc, contactcsv.Options{Path: c.ContactsPath, Delimiter: delim, Encoding: opt.Encoding})
	if err != nil {
		return err
	}
	numberCol, nameCol := c.NumberIndex(), c.NameIndex()
	region := c.File.DefaultRegion

	due := opt.Now()
	if start := c.File.StartAt; start != nil && start.After(due) {
		due = *start
	}
	g, ctx := errgroup.WithContext(ctx)
	normalizers := max(1, runtime.GOMAXPROCS(0))
	toNormalize := make(chan *uploadBatch, normalizers)
	inOrder := make(chan *uploadBatch, 2*normalizers)
	dialable := make(chan int, 4*opt.BatchSize)

	g.Go(func() error { // read
		defer close(toNormalize)
		defer close(inOrder)
		b := &uploadBatch{ready: make(chan struct{})}
		send := func() error {
			for _, ch := range []chan *uploadBatch{inOrder, toNormalize} {
				select {
				case ch <- b:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			b = &uploadBatch{ready: make(chan struct{})}
			return nil
		}
		for {
			row, err := cr.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
			b.rows = append(b.rows, row)
			if len(b.rows) == opt.BatchSize {
				if err := send(); err != nil {
					return err
				}
			}
		}
		if len(b.rows) > 0 {
			return send()
		}
		return nil
	})
	for range normalizers {
		g.Go(func() error {
			for b := range toNormalize {
				b.contacts = make([]uploadContact, len(b.rows))
				for i, row := range b.rows {
					b.contacts[i] = normalizeRow(row, numberCol, nameCol, region)
				}
				close(b.ready)
			}
			return nil
		})
	}
	// Claiming numbers is the one step that must go in input order; the contacts are
	// written by several goroutines, so that Redis always has a pipeline to work on.
	toWrite := make(chan *uploadBatch, opt.Writers)
	g.Go(func() error { // claim numbers, in input order
		defer close(toWrite)
		for b := range inOrder {
			select {
			case <-b.ready:
			case <-ctx.Done():
				return ctx.Err()
			}
			if err := s.claimNumbers(ctx, c.ID, b); err != nil {
				return err
			}
			select {
			case toWrite <- b:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})
	var counts uploadCounts
	var writers sync.WaitGroup
	for range opt.Writers {
		writers.Add(1)
		g.Go(func() error {
			defer writers.Done()
			for b := range toWrite {
				if err := s.storeBatch(ctx, c.ID, b, opt.Suppressor, enq == nil, due, dialable, &counts); err != nil {
					return err
				}
			}
			return nil
		})
	}
	go func() {
		writers.Wait()
		close(dialable)
	}()
	for range opt.Enqueuers {
		if enq == nil {
			break
		}
		g.Go(func() error {
			for n := range dialable {
				if err := enq.EnqueueDial(ctx, AttemptRef{CampaignID: c.ID, ContactID: n, Attempt: 1}, due); err != nil {
					return fmt.Errorf("enqueue contact %d: %w", n, err)
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	c.Rows, c.Dialable, c.Invalid, c.Duplicate, c.Suppressed = counts.rows, counts.dialable, counts.invalid, counts.duplicate, counts.suppressed
	return nil
}

func normalizeRow(row *contactcsv.Row, numberCol, nameCol int, region string) uploadContact {
	var uc uploadContact
	if nameCol >= 0 && nameCol < len(row.Fields) {
		uc.name = strings.TrimSpace(row.Fields[nameCol])
	}
	if row.Problem != "" {
		uc.reason = row.Problem
		return uc
	}
	raw := ""
	if numberCol < len(row.Fields) {
		raw = row.Fields[numberCol]
	}
	number, err := phone.Normalize(raw, region)
	if err != nil {
		uc.reason = err.Error()
		return uc
	}
	uc.number = number
	return uc
}

// claimNumbers claims each valid number of batch b for its row in campaign id's phones
// hash (HSETNX), and reads which row holds each number that an earlier row claimed into
// b.owners; batches must be claimed in input order.
func (s *Store) claimNumbers(ctx context.Context, id string, b *uploadBatch) error {
	claimed := make([]*redis.BoolCmd, len(b.rows))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, uc := range b.contacts {
			if uc.reason == "" {
				claimed[i] = p.HSetNX(ctx, phonesKey(id), uc.number, phoneOwner(b.rows[i]))
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store contacts: %w", err)
	}
	// Only a duplicate needs the line of the row it repeats: one more round trip, for
	// batches that have one.
	b.owners = make([]string, len(b.rows))
	if !slices.ContainsFunc(claimed, func(cmd *redis.BoolCmd) bool { return cmd != nil && !cmd.Val() }) {
		return nil
	}
	owners := make([]*redis.StringCmd, len(b.rows))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, cmd := range claimed {
			if cmd != nil && !cmd.Val() {
				owners[i] = p.HGet(ctx, phonesKey(id), b.contacts[i].number)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store contacts: %w", err)
	}
	for i, cmd := range owners {
		if cmd != nil {
			b.owners[i] = cmd.Val()
		}
	}
	return nil
}

// storeBatch writes one claimed batch of contacts of campaign id: the suppressor, if any,
// is asked about the valid numbers; one pipeline writes the contact hashes and rows, counts invalid,
// duplicate and suppressed rows, and, when park is set, parks the dialable contacts' first
// attempts, due at due. Without park, dialable contact IDs go to dialable. What the rows
// came to is added to counts.
func (s *Store) storeBatch(ctx context.Context, id string, b *uploadBatch, sup Suppressor, park bool, due time.Time, dialable chan<- int, counts *uploadCounts) error {
	suppressed, err := suppressedIn(ctx, sup, id, b.contacts)
	if err != nil {
		return err
	}
	var invalid, duplicate, nSuppressed int
	var ids []int
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		rows := make([]any, 0, 2*len(b.contacts))
		for i, uc := range b.contacts {
			row := b.rows[i]
			fields, _ := json.Marshal(row.Fields)
			rows = append(rows, row.Index, fields)
			values := []any{"line", row.Line, "e164", uc.number, "name", uc.name}
			switch {
			case uc.reason != "":
				invalid++
				values = append(values, "outcome", string(OutcomeInvalid), "error", uc.reason)
			case b.owners[i] != "":
				duplicate++
				_, line, _ := strings.Cut(b.owners[i], ":")
				values = append(values, "outcome", string(OutcomeDuplicate), "error", duplicateReason(uc.number, line))
			case suppressed[i]:
				nSuppressed++
				values = append(values, "outcome", string(OutcomeSuppressed), "error", SuppressedReason)
			default:
				ids = append(ids, row.Index)
			}
			p.HSet(ctx, contactKey(id, row.Index), values...)
		}
		if len(rows) > 0 {
			p.HSet(ctx, rowsKey(id), rows...)
		}
		if nSuppressed > 0 {
			p.HIncrBy(ctx, outcomesKey(id), string(OutcomeSuppressed), int64(nSuppressed))
		}
		if invalid > 0 {
			p.HIncrBy(ctx, outcomesKey(id), string(OutcomeInvalid), int64(invalid))
		}
		if duplicate > 0 {
			p.HIncrBy(ctx, outcomesKey(id), string(OutcomeDuplicate), int64(duplicate))
		}
		if park {
			parkBatch(ctx, p, id, ids, due)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store contacts: %w", err)
	}
	counts.mu.Lock()
	counts.rows += len(b.rows)
	counts.invalid += invalid
	counts.duplicate += duplicate
	counts.suppressed += nSuppressed
	counts.dialable += len(ids)
	counts.mu.Unlock()
	if park {
		return nil
	}
	for _, n := range ids {
		select {
		case dialable <- n:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// duplicateReason is the error cell of a row whose number an earlier row, on line, has.
func duplicateReason(number, line string) string {
	return fmt.Sprintf("same number %s as line %s; dialed once, for that line", number, line)
}

// SuppressedReason is the error cell of a contact suppressed at upload or before a dial.
const SuppressedReason = "on a suppression (do-not-call) list; not dialed"

// suppressedIn asks sup which of the batch's valid numbers are suppressed; without sup none is.
func suppressedIn(ctx context.Context, sup Suppressor, id string, contacts []uploadContact) ([]bool, error) {
	out := make([]bool, len(contacts))
	if sup == nil {
		return out, nil
	}
	var numbers []string
	var at []int
	for i, uc := range contacts {
		if uc.reason == "" {
			numbers = append(numbers, uc.number)
			at = append(at, i)
		}
	}
	if len(numbers) == 0 {
		return out, nil
	}
	ans, err := sup.SuppressedMany(ctx, id, numbers)
	if err != nil {
		return nil, fmt.Errorf("check suppression lists: %w", err)
	}
	for j, i := range at {
		out[i] = ans[j]
	}
	return out, nil
}

// phoneOwner is what the phones hash holds for the row that a number was first seen in:
// "contact:line".
func phoneOwner(row *contactcsv.Row) string {
	return strconv.Itoa(row.Index) + ":" + strconv.Itoa(row.Line)
}

// errNoRows is returned for a contact file with a header and no data rows.
var errNoRows = errors.New("the contact file has a header and no rows")
