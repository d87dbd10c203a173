package campaign

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrCampaignNotFound is returned by Store methods given a campaign ID that Redis does not hold.
var ErrCampaignNotFound = errors.New("campaign not found")

// ErrContactFinished is returned by ClaimAttempt for a contact that has its final outcome.
var ErrContactFinished = errors.New("contact has its final outcome")

// AttemptState is where one attempt (one dial of one contact) is.
type AttemptState string

const (
	// AttemptNew: nobody has claimed the attempt; dialing it is allowed.
	AttemptNew AttemptState = ""
	// AttemptDialing: a worker claimed it and may have sent Connect Call; no call id is known.
	AttemptDialing AttemptState = "dialing"
	// AttemptLive: Connect Call answered with a call id; the call has not been seen to end.
	AttemptLive AttemptState = "live"
	// AttemptDone: the attempt's result is recorded.
	AttemptDone AttemptState = "done"
)

// Campaign is one upload: a campaign file applied to one contact file.
type Campaign struct {
	// ID is the campaign ID, e.g. "c3j5kq8m2x0a9b7d": lowercase letters and digits.
	ID string `json:"campaignId"`
	// File is the campaign file as parsed, with defaults applied.
	File File `json:"file"`
	// Header is the contact file's header row, names trimmed.
	Header []string `json:"header"`
	// ContactsPath is the contact file's name as given to upload.
	ContactsPath string `json:"contactsPath"`
	// Upload is UploadInProgress until every task is enqueued. The campaign's State is
	// derived from it and its counts (DeriveState).
	Upload UploadState `json:"upload"`
	// Failure says why the upload failed (Upload is UploadFailed), "" otherwise.
	Failure string `json:"failure,omitempty"`
	// Control is what an operator made of the campaign: running, paused or canceled.
	Control Control `json:"control"`
	// CreatedAt is when the upload began.
	CreatedAt time.Time `json:"createdAt"`
	// Rows counts the contact file's data rows; Dialable, Invalid, Duplicate and Suppressed
	// split them as the upload found them.
	Rows, Dialable, Invalid, Duplicate, Suppressed int
	// Version counts the edits of File since the upload (see SetFile): 0 for none.
	Version int64 `json:"version"`
}

// NumberIndex is the index in Header of the number column, or -1.
func (c *Campaign) NumberIndex() int { return indexOf(c.Header, c.File.Contacts.NumberColumn) }

// NameIndex is the index in Header of the name column, or -1 when there is none.
func (c *Campaign) NameIndex() int { return indexOf(c.Header, c.File.Contacts.NameColumn) }

func indexOf(header []string, name string) int {
	if name == "" {
		return -1
	}
	for i, h := range header {
		if h == name {
			return i
		}
	}
	return -1
}

// Contact is one input row and what became of it.
type Contact struct {
	// ID is the 1-based data-row number in the contact file; the report keeps this order.
	ID int
	// Line is the file line where the row starts.
	Line int
	// Fields are the row's cells as read.
	Fields []string
	// Number is the E.164 number dialed, "" when the row is invalid.
	Number string
	// Name is the nameColumn cell, sent as customer.name.
	Name string
	// NextAttempt is the attempt number the contact's pending dial task carries (1-based).
	NextAttempt int
	// NextAt is when attempt NextAttempt is due, to the nanosecond; zero for a first attempt,
	// which is due at once (or at startAt).
	NextAt time.Time
	// Attempts counts attempts begun.
	Attempts int
	// Outcome is the final outcome, "" while the contact is still in progress.
	Outcome Outcome
	// Last is the latest attempt's result; its Error also holds why a row is invalid or duplicate.
	Last Result
}

// OutcomeOrPending is c's final outcome, or OutcomePending while it has none: what the
// report, the API and the console show as its outcome.
func (c *Contact) OutcomeOrPending() Outcome {
	if c.Outcome == "" {
		return OutcomePending
	}
	return c.Outcome
}

// Matches reports whether search is in c's number, its name or any cell of its row, ignoring
// case: the contact search of the API and the console. Every contact matches "".
func (c *Contact) Matches(search string) bool {
	q := strings.ToLower(search)
	if strings.Contains(c.Number, q) || strings.Contains(strings.ToLower(c.Name), q) {
		return true
	}
	for _, cell := range c.Fields {
		if strings.Contains(strings.ToLower(cell), q) {
			return true
		}
	}
	return false
}

// Result is what one attempt ended with, as recorded from Get Call.
type Result struct {
	Outcome           Outcome   // this attempt's outcome: completed, busy, no-answer, failed, forwarded or error
	CallID            string    // Interactly call id, e.g. "CC-…"
	StartedAt         time.Time // when the call was created (zero if never placed)
	EndedAt           time.Time // when the call ended (zero if unknown)
	PhoneCallStatus   string    // Interactly phoneCallStatus as received
	EndedBy           string    // Interactly callEndTriggerBy as received
	SuccessEvaluation string    // analysis.successEvaluation
	Summary           string    // analysis.summary
	StructuredData    string    // analysis.structuredData as JSON, "" when none
	Error             string    // why the attempt failed, for outcome error (and invalid, duplicate)
	Cost              string    // cost.totalCost in USD as received, "" when unknown
	Recording         string    // recording.path, "" when none
}

// HasAnalysis reports whether r carries the assistant's analysis.
func (r Result) HasAnalysis() bool { return r.Summary != "" || r.SuccessEvaluation != "" }

// Attempt is one attempt's record.
type Attempt struct {
	State      AttemptState
	DialingAt  time.Time // when a worker claimed it
	CallID     string
	ControlURL string // monitor.controlUrl of the call
	CallerID   string // the phoneNumberId the call is placed from
	Result     Result // filled once State is AttemptDone
}

// Store keeps campaigns, contacts and outcomes in Redis under the keys of keys.go. asynq's own
// records are no record of outcomes (its archive is capped), so everything a report needs is here.
type Store struct {
	rdb redis.UniversalClient
	now func() time.Time
}

// NewStore returns a Store on rdb.
func NewStore(rdb redis.UniversalClient) *Store {
	return &Store{rdb: rdb, now: time.Now}
}

// SubscribeEnded subscribes to EndedChannel, on which the store announces each attempt whose
// result a webhook recorded or whose call it saw end; a message's payload is the attempt's
// dial task ID "campaign:contact:attempt". The caller closes the subscription.
func (s *Store) SubscribeEnded(ctx context.Context) *redis.PubSub {
	return s.rdb.Subscribe(ctx, EndedChannel)
}

// NewCampaignID returns a fresh campaign ID: 16 lowercase base32 characters, time-ordered.
func NewCampaignID(now time.Time) string {
	var b [10]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16)
	_, _ = rand.Read(b[6:])
	return strings.ToLower(base32.HexEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// CreateCampaign stores c (its Upload usually UploadInProgress, which takes the upload's
// lease for DefaultUploadLease: see lease.go) and lists it.
func (s *Store) CreateCampaign(ctx context.Context, c *Campaign) error {
	return s.createCampaign(ctx, c, DefaultUploadLease)
}

// createCampaign is CreateCampaign with an upload lease of lease.
func (s *Store) createCampaign(ctx context.Context, c *Campaign, lease time.Duration) error {
	file, err := json.Marshal(c.File)
	if err != nil {
		return fmt.Errorf("encode campaign file: %w", err)
	}
	header, _ := json.Marshal(c.Header)
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, campaignKey(c.ID),
			"id", c.ID, "file", file, "header", header, "contacts_path", c.ContactsPath,
			"state", string(c.Upload), "created_at", c.CreatedAt.UTC().Format(time.RFC3339Nano))
		p.ZAdd(ctx, campaignsKey(), redis.Z{Score: float64(c.CreatedAt.UnixMilli()), Member: c.ID})
		if c.Upload == UploadInProgress {
			p.Set(ctx, uploadLeaseKey(c.ID), "1", lease)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("create campaign %s: %w", c.ID, err)
	}
	// Not in the transaction: the active set has no campaign's hash tag.
	if err := s.rdb.SAdd(ctx, activeKey(), c.ID).Err(); err != nil {
		return fmt.Errorf("create campaign %s: %w", c.ID, err)
	}
	return nil
}

// finishUpload records the upload's counts and marks the campaign ready.
func (s *Store) finishUpload(ctx context.Context, c *Campaign) error {
	ok, err := finishUploadScript.Run(ctx, s.rdb, []string{campaignKey(c.ID), uploadLeaseKey(c.ID)},
		"rows", c.Rows, "dialable", c.Dialable, "invalid", c.Invalid, "duplicate", c.Duplicate, "suppressed", c.Suppressed,
		"state", string(UploadComplete)).Bool()
	if err != nil {
		return fmt.Errorf("mark campaign %s uploaded: %w", c.ID, err)
	}
	if !ok {
		return fmt.Errorf("campaign %s: %w", c.ID, ErrUploadLost)
	}
	c.Upload = UploadComplete
	return nil
}

// DeleteCampaign removes every key of campaign id (SCAN and UNLINK, 1,000 keys a step),
// its calls-per-second state and its place in the campaign list. Tasks still queued for it
// are dropped by the worker, which finds no campaign.
func (s *Store) DeleteCampaign(ctx context.Context, id string) error {
	if err := s.deleteRateStateOf(ctx, id); err != nil {
		return err
	}
	if err := s.deleteKeys(ctx, id, ""); err != nil {
		return err
	}
	if err := s.Retire(ctx, id); err != nil {
		return err
	}
	return s.rdb.ZRem(ctx, campaignsKey(), id).Err()
}

// deleteKeys removes every key of campaign id but keep (SCAN and UNLINK, 1,000 keys a step).
func (s *Store) deleteKeys(ctx context.Context, id, keep string) error {
	var cursor uint64
	for {
		keys, next, err := s.rdb.Scan(ctx, cursor, campaignKeyPattern(id), 1000).Result()
		if err != nil {
			return fmt.Errorf("delete campaign %s: %w", id, err)
		}
		keys = slices.DeleteFunc(keys, func(k string) bool { return k == keep })
		if len(keys) > 0 {
			if err := s.rdb.Unlink(ctx, keys...).Err(); err != nil {
				return fmt.Errorf("delete campaign %s: %w", id, err)
			}
		}
		if cursor = next; cursor == 0 {
			return nil
		}
	}
}

// Campaign reads campaign id. It returns ErrCampaignNotFound when there is none.
func (s *Store) Campaign(ctx context.Context, id string) (*Campaign, error) {
	m, err := s.rdb.HGetAll(ctx, campaignKey(id)).Result()
	if err != nil {
		return nil, fmt.Errorf("read campaign %s: %w", id, err)
	}
	return decodeCampaign(id, m)
}

// decodeCampaign decodes campaign id's record m (its HGETALL), ErrCampaignNotFound when m
// is empty.
func decodeCampaign(id string, m map[string]string) (*Campaign, error) {
	if len(m) == 0 {
		return nil, fmt.Errorf("campaign %q: %w", id, ErrCampaignNotFound)
	}
	c := &Campaign{ID: id, ContactsPath: m["contacts_path"], Upload: UploadState(m["state"]), Control: Control(m["control"]), Failure: m["failure"]}
	if err := json.Unmarshal([]byte(m["file"]), &c.File); err != nil {
		return nil, fmt.Errorf("campaign %s: decode file: %w", id, err)
	}
	if err := json.Unmarshal([]byte(m["header"]), &c.Header); err != nil {
		return nil, fmt.Errorf("campaign %s: decode header: %w", id, err)
	}
	d := hashDecoder{what: "campaign " + id}
	c.CreatedAt = d.time("created_at", m["created_at"])
	c.Rows = d.int("rows", m["rows"])
	c.Dialable = d.int("dialable", m["dialable"])
	c.Invalid = d.int("invalid", m["invalid"])
	c.Duplicate = d.int("duplicate", m["duplicate"])
	c.Suppressed = d.int("suppressed", m["suppressed"])
	c.Version = int64(d.int("version", m["version"]))
	if d.err != nil {
		return nil, d.err
	}
	return c, nil
}

// hashDecoder decodes the fields of one Redis hash and keeps the first that does not parse,
// so that a record damaged in Redis is an error naming its field, not a silent zero. A
// field that is absent ("") decodes as zero: older records lack the newer fields.
type hashDecoder struct {
	what string // the record, for the error: "campaign c1", "contact 7 of campaign c1"; "" when the caller names it
	err  error
}

func (d *hashDecoder) fail(field, v string, err error) {
	if d.err != nil {
		return
	}
	d.err = fmt.Errorf("field %s = %q: %w", field, v, err)
	if d.what != "" {
		d.err = fmt.Errorf("%s: %w", d.what, d.err)
	}
}

func (d *hashDecoder) int(field, v string) int {
	if v == "" {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		d.fail(field, v, err)
	}
	return int(n)
}

func (d *hashDecoder) float(field, v string) float64 {
	if v == "" {
		return 0
	}
	x, err := strconv.ParseFloat(v, 64)
	if err != nil {
		d.fail(field, v, err)
	}
	return x
}

func (d *hashDecoder) time(field, v string) time.Time {
	if v == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		d.fail(field, v, err)
	}
	return t
}

func (d *hashDecoder) json(field, v string, dst any) {
	if v == "" {
		return
	}
	if err := json.Unmarshal([]byte(v), dst); err != nil {
		d.fail(field, v, err)
	}
}

// Campaigns reads the campaigns ids in one round trip: out[i] is ids[i]'s, nil for an ID
// that has no campaign (deleted meanwhile).
func (s *Store) Campaigns(ctx context.Context, ids []string) ([]*Campaign, error) {
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HGetAll(ctx, campaignKey(id))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read %d campaigns: %w", len(ids), err)
	}
	out := make([]*Campaign, len(ids))
	for i, cmd := range cmds {
		if len(cmd.Val()) == 0 {
			continue
		}
		if out[i], err = decodeCampaign(ids[i], cmd.Val()); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// CampaignIDs lists campaign IDs, oldest first.
func (s *Store) CampaignIDs(ctx context.Context) ([]string, error) {
	return s.rdb.ZRange(ctx, campaignsKey(), 0, -1).Result()
}

// Contact fields in Redis. The last attempt's result is copied onto the contact so that a
// report reads one hash per row, but for its long texts: "texts" names the attempt whose
// texts (in the campaign's texts hash) the contact shows. "row", success_evaluation, summary,
// structured_data and recording are read for contacts stored before the row and the texts
// moved out of the contact hash (see texts.go); "line" is on every contact.
var contactFields = []string{
	"line", "row", "e164", "name", "next_attempt", "attempts", "outcome",
	"attempt_outcome", "call_id", "started_at", "ended_at", "phone_call_status", "ended_by",
	"success_evaluation", "summary", "structured_data", "error", "cost", "recording",
	"next_at", "texts",
}

// Contact reads contact n of campaign id, its row and texts included. A contact that does
// not exist comes back with ID 0.
func (s *Store) Contact(ctx context.Context, id string, n int) (*Contact, error) {
	out, err := s.Contacts(ctx, id, n, n)
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// Contacts reads contacts from..to (inclusive) of campaign id, their rows and texts
// included, in two round trips: the contact hashes and the rows, then the texts of the
// contacts that show any (one HMGET).
func (s *Store) Contacts(ctx context.Context, id string, from, to int) ([]*Contact, error) {
	cmds := make([]*redis.SliceCmd, 0, to-from+1)
	var rows *redis.SliceCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for n := from; n <= to; n++ {
			cmds = append(cmds, p.HMGet(ctx, contactKey(id, n), contactFields...))
		}
		rows = p.HMGet(ctx, rowsKey(id), contactIDs(from, to)...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read contacts %s/%d-%d: %w", id, from, to, err)
	}
	out := make([]*Contact, len(cmds))
	var join textsJoin
	for i, cmd := range cmds {
		var at string
		if out[i], at, err = decodeContact(id, from+i, cmd.Val(), rows.Val()[i]); err != nil {
			return nil, err
		}
		if at != "" {
			join.add(from+i, at, &out[i].Last)
		}
	}
	if err := join.read(ctx, s.rdb, id); err != nil {
		return nil, err
	}
	return out, nil
}

// contactIDs returns from..to as strings, the fields of the rows hash.
func contactIDs(from, to int) []string {
	ids := make([]string, 0, to-from+1)
	for n := from; n <= to; n++ {
		ids = append(ids, strconv.Itoa(n))
	}
	return ids
}

// textsJoin gathers the attempts whose texts a batch of contacts shows, to read them in one
// HMGET of the campaign's texts hash.
type textsJoin struct {
	fields  []string // "N:A"
	results []*Result
}

// add asks for the texts of contact n's field "texts", at ("A", or "A:c" for the copy of
// attempt A's texts the contact keeps), to be set into r.
func (j *textsJoin) add(n int, at string, r *Result) {
	j.fields = append(j.fields, strconv.Itoa(n)+":"+at)
	j.results = append(j.results, r)
}

// read reads the texts asked for and sets each into its result: none for an attempt that
// has none.
func (j *textsJoin) read(ctx context.Context, rdb redis.UniversalClient, id string) error {
	if len(j.fields) == 0 {
		return nil
	}
	vals, err := rdb.HMGet(ctx, textsKey(id), j.fields...).Result()
	if err != nil {
		return fmt.Errorf("read the texts of %d attempts of campaign %s: %w", len(j.fields), id, err)
	}
	for i, v := range vals {
		str, _ := v.(string)
		t, err := decodeTexts(str)
		if err != nil {
			return fmt.Errorf("read the texts of attempt %s of campaign %s in %s: %w", j.fields[i], id, textsKey(id), err)
		}
		t.apply(j.results[i])
	}
	return nil
}

// decodeContact decodes contact n of campaign id from the values of contactFields (its
// HMGET) and its row in the rows hash (nil for a contact stored before rows moved there);
// the zero Contact when it has no line (no such contact). It also returns the attempt whose
// texts the contact shows ("" for a contact recorded before texts moved out of the hash,
// whose own fields hold them, or with no result).
func decodeContact(id string, n int, vals []any, row any) (*Contact, string, error) {
	str := func(i int) string {
		s, _ := vals[i].(string)
		return s
	}
	if vals[0] == nil { // no line: no such contact
		return &Contact{}, "", nil
	}
	d := hashDecoder{what: fmt.Sprintf("contact %d of campaign %s", n, id)}
	c := &Contact{ID: n, Number: str(2), Name: str(3), Outcome: Outcome(str(6))}
	c.Line = d.int(contactFields[0], str(0))
	if r, ok := row.(string); ok {
		d.json("row of "+rowsKey(id), r, &c.Fields)
	} else {
		d.json(contactFields[1], str(1), &c.Fields)
	}
	c.NextAttempt = d.int(contactFields[4], str(4))
	if c.NextAttempt == 0 {
		c.NextAttempt = 1
	}
	c.Attempts = d.int(contactFields[5], str(5))
	c.Last = Result{
		Outcome: Outcome(str(7)), CallID: str(8),
		StartedAt: d.time(contactFields[9], str(9)), EndedAt: d.time(contactFields[10], str(10)),
		PhoneCallStatus: str(11), EndedBy: str(12),
		SuccessEvaluation: str(13), Summary: str(14), StructuredData: str(15), Error: str(16),
		Cost: str(17), Recording: str(18),
	}
	c.NextAt = d.time(contactFields[19], str(19))
	if d.err != nil {
		return nil, "", d.err
	}
	return c, str(20), nil
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
