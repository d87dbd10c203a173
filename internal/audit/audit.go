// Package audit keeps the operator audit log: one entry per state-changing call of dialer
// serve's operator routes (and per token made or revoked with the CLI), saying who (token
// name and scope), what (action and target), from where, when, and with what result. The log
// is a Redis stream capped at about MaxEntries, newest last; List reads it newest first.
package audit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Key is the Redis stream holding the log.
const Key = "dialer:audit"

// MaxEntries is about how many entries the stream keeps; older ones are trimmed.
const MaxEntries = 100_000

// ErrBadCursor is wrapped by List's error for a cursor that is not an entry ID.
var ErrBadCursor = errors.New("bad cursor")

// Entry is one audited call.
type Entry struct {
	// ID is the entry's stream ID ("1733318400000-0"), its cursor in List.
	ID string `json:"id"`
	// Time is when the call was answered, in UTC.
	Time time.Time `json:"time"`
	// Actor is the token's name ("local", "anonymous" or "cli:USER" when there was none).
	Actor string `json:"actor"`
	// Scope is the actor's scope: read, export, operate or admin.
	Scope string `json:"scope"`
	// Action is the route, e.g. "POST /api/v1/campaigns/{id}/pause", or a CLI command,
	// e.g. "token.create".
	Action string `json:"action"`
	// Target is what it acted on: a campaign ID, a token name, a path; "" when none.
	Target string `json:"target,omitempty"`
	// Source is the client's address ("203.0.113.7"), or "cli".
	Source string `json:"source"`
	// Status is the HTTP status answered (0 for a CLI command).
	Status int `json:"status"`
	// Result is "ok", or what went wrong (the status text).
	Result string `json:"result"`
	// Detail says what the call changed, where its action and target do not: the settings
	// an edit changed ("rateLimit.callsPerSecond: 2 -> 0.5"), the outcomes a retry named.
	// "" when there is nothing to add.
	Detail string `json:"detail,omitempty"`
}

// Log appends to and reads the audit stream.
type Log struct {
	rdb redis.UniversalClient
	// Now is the clock for entries without a Time. Defaults to time.Now.
	Now func() time.Time
}

// New returns the Log kept in rdb.
func New(rdb redis.UniversalClient) *Log { return &Log{rdb: rdb, Now: time.Now} }

// Append records e (its ID is ignored; a zero Time is now).
func (l *Log) Append(ctx context.Context, e Entry) error {
	if e.Time.IsZero() {
		e.Time = l.Now()
	}
	err := l.rdb.XAdd(ctx, &redis.XAddArgs{
		Stream: Key, MaxLen: MaxEntries, Approx: true,
		Values: []any{
			"time", e.Time.UTC().Format(time.RFC3339Nano), "actor", e.Actor, "scope", e.Scope,
			"action", e.Action, "target", e.Target, "source", e.Source,
			"status", e.Status, "result", e.Result, "detail", e.Detail,
		},
	}).Err()
	if err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	return nil
}

// ListOptions page through the log.
type ListOptions struct {
	// Before, when set, is the ID of the last entry of the previous page (its NextCursor):
	// List returns the entries older than it.
	Before string
	// Limit is the page size. Defaults to 100; at most 1000.
	Limit int
}

// List returns a page of entries, newest first, and the cursor of the next page ("" when
// there is none). A malformed Before is an error naming it.
func (l *Log) List(ctx context.Context, opt ListOptions) ([]Entry, string, error) {
	if opt.Limit <= 0 {
		opt.Limit = 100
	}
	opt.Limit = min(opt.Limit, 1000)
	end := "+"
	if opt.Before != "" {
		if !validID(opt.Before) {
			return nil, "", fmt.Errorf("%w %q: want an entry ID such as 1733318400000-0, as nextCursor gave it", ErrBadCursor, opt.Before)
		}
		end = "(" + opt.Before
	}
	msgs, err := l.rdb.XRevRangeN(ctx, Key, end, "-", int64(opt.Limit)+1).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, "", fmt.Errorf("read audit log: %w", err)
	}
	next := ""
	if len(msgs) > opt.Limit {
		msgs = msgs[:opt.Limit]
		next = msgs[len(msgs)-1].ID
	}
	out := make([]Entry, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, parse(m))
	}
	return out, next, nil
}

func parse(m redis.XMessage) Entry {
	str := func(k string) string { s, _ := m.Values[k].(string); return s }
	t, _ := time.Parse(time.RFC3339Nano, str("time"))
	status, _ := strconv.Atoi(str("status"))
	return Entry{
		ID: m.ID, Time: t.UTC(), Actor: str("actor"), Scope: str("scope"), Action: str("action"),
		Target: str("target"), Source: str("source"), Status: status, Result: str("result"),
		Detail: str("detail"),
	}
}

func validID(id string) bool {
	ms, seq, ok := strings.Cut(id, "-")
	if !ok {
		seq = "0"
	}
	_, err1 := strconv.ParseUint(ms, 10, 64)
	_, err2 := strconv.ParseUint(seq, 10, 64)
	return err1 == nil && err2 == nil
}
