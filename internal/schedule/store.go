package schedule

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/robfig/cron/v3"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/jsonhash"
)

// ErrScheduleNotFound is returned (wrapped, with the ID) for a schedule that does not exist.
var ErrScheduleNotFound = errors.New("schedule not found")

// Schedule is one recurring campaign.
type Schedule struct {
	// ID is 12 lowercase base32 characters, chosen by Store.Add.
	ID string `json:"id"`
	// Cron is a standard 5-field cron spec ("0 9 * * MON-FRI") or a descriptor such as
	// "@daily" or "@every 1h".
	Cron string `json:"cron"`
	// Timezone is the IANA zone Cron is read in. Empty means UTC.
	Timezone string `json:"timezone,omitempty"`
	// CampaignPath and ContactsPath are absolute. Both are read at each tick, so a file
	// replaced between ticks (a daily export) is picked up.
	CampaignPath string `json:"campaignPath"`
	ContactsPath string `json:"contactsPath"`
	// CreatedAt is when the schedule was added, UTC.
	CreatedAt time.Time `json:"createdAt"`
}

// cronParser reads standard 5-field specs and descriptors (@daily, @every 1h).
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// parseCron checks spec and zone and returns the schedule and the location.
func parseCron(spec, zone string) (cron.Schedule, *time.Location, error) {
	if s := strings.TrimSpace(spec); strings.HasPrefix(s, "TZ=") || strings.HasPrefix(s, "CRON_TZ=") {
		return nil, nil, fmt.Errorf("--cron %q: give the time zone with --timezone, not in the spec", spec)
	}
	sched, err := cronParser.Parse(spec)
	if err != nil {
		return nil, nil, fmt.Errorf(`--cron %q: %v; want 5 fields (minute hour day-of-month month day-of-week, e.g. "0 9 * * MON-FRI") or a descriptor such as @daily or "@every 1h"`, spec, err)
	}
	loc := time.UTC
	if zone != "" {
		if loc, err = time.LoadLocation(zone); err != nil {
			return nil, nil, fmt.Errorf("--timezone %q: not an IANA time zone (e.g. America/New_York): %v", zone, err)
		}
	}
	return sched, loc, nil
}

// Next returns the first tick of s strictly after t, in s's time zone, to the second.
// The ticks of "@every D" are CreatedAt plus a multiple of D, so that every scheduler
// process computes the same ticks.
func (s *Schedule) Next(t time.Time) (time.Time, error) {
	sched, loc, err := parseCron(s.Cron, s.Timezone)
	if err != nil {
		return time.Time{}, fmt.Errorf("schedule %s: %w", s.ID, err)
	}
	if every, ok := sched.(cron.ConstantDelaySchedule); ok {
		anchor := s.CreatedAt.Truncate(time.Second)
		if t.Before(anchor) {
			return anchor.Add(every.Delay).In(loc), nil
		}
		return anchor.Add((t.Sub(anchor)/every.Delay + 1) * every.Delay).In(loc), nil
	}
	return sched.Next(t.In(loc)), nil
}

// FieldError is a schedule that Store.Add refused, with the field at fault: "cron",
// "timezone", "campaign" or "contacts" (the flags of `dialer schedule add`). Its message
// names the flag, says what is wrong and gives an example.
type FieldError struct {
	Field string
	Err   error
}

// Error returns the message, which starts with the flag (or the campaign file's path).
func (e *FieldError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *FieldError) Unwrap() error { return e.Err }

// Store keeps schedules in Redis under the keys of keys.go.
type Store struct {
	rdb redis.UniversalClient
	now func() time.Time
}

// NewStore returns a Store on rdb.
func NewStore(rdb redis.UniversalClient) *Store {
	return &Store{rdb: rdb, now: time.Now}
}

// Add checks s and stores it under a new ID, which it returns in the copy it returns. The
// cron spec must parse (see Schedule.Cron), the time zone must be an IANA zone, both files
// must exist, and the campaign file must be valid (campaign.ParseFile). Relative paths are
// made absolute against the working directory. Subscribed schedulers are told at once. A
// refused schedule is a *FieldError.
func (st *Store) Add(ctx context.Context, s Schedule) (*Schedule, error) {
	if _, _, err := parseCron(s.Cron, ""); err != nil {
		return nil, &FieldError{"cron", err}
	}
	if _, _, err := parseCron(s.Cron, s.Timezone); err != nil {
		return nil, &FieldError{"timezone", err}
	}
	var err error
	if s.CampaignPath, err = existingFile("campaign file", s.CampaignPath); err != nil {
		return nil, &FieldError{"campaign", err}
	}
	if s.ContactsPath, err = existingFile("contacts file", s.ContactsPath); err != nil {
		return nil, &FieldError{"contacts", err}
	}
	if _, err := campaign.ParseFile(s.CampaignPath); err != nil {
		return nil, &FieldError{"campaign", err}
	}
	s.ID = newID()
	s.CreatedAt = st.now().UTC().Truncate(time.Second)
	b, _ := json.Marshal(s)
	if err := st.rdb.HSet(ctx, schedulesKey(), s.ID, b).Err(); err != nil {
		return nil, fmt.Errorf("store schedule: %w", err)
	}
	st.notify(ctx)
	return &s, nil
}

// existingFile returns path made absolute, or an error naming what (such as "campaign
// file", worded for the CLI's flags and the API's fields alike) if it is not a file.
func existingFile(what, path string) (string, error) {
	if path == "" {
		return "", fmt.Errorf("%s: a file is required", what)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", what, path, err)
	}
	fi, err := os.Stat(abs)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%s %s: no such file on this host; the scheduler reads it at each tick, so give the path of a file that exists where dialer scheduler runs", what, abs)
	}
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", what, abs, err)
	}
	if fi.IsDir() {
		return "", fmt.Errorf("%s %s: is a directory, want a file", what, abs)
	}
	return abs, nil
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return strings.ToLower(base32.HexEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))[:12]
}

// Get returns schedule id, or an error wrapping ErrScheduleNotFound.
func (st *Store) Get(ctx context.Context, id string) (*Schedule, error) {
	s, err := jsonhash.Get[Schedule](ctx, st.rdb, schedulesKey(), id, "schedule")
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("schedule %q: %w", id, ErrScheduleNotFound)
	}
	return s, err
}

// List returns every schedule, oldest first.
func (st *Store) List(ctx context.Context) ([]*Schedule, error) {
	m, err := jsonhash.All[Schedule](ctx, st.rdb, schedulesKey(), "schedule")
	if err != nil {
		return nil, err
	}
	list := slices.AppendSeq(make([]*Schedule, 0, len(m)), maps.Values(m))
	sort.Slice(list, func(i, j int) bool {
		if !list[i].CreatedAt.Equal(list[j].CreatedAt) {
			return list[i].CreatedAt.Before(list[j].CreatedAt)
		}
		return list[i].ID < list[j].ID
	})
	return list, nil
}

// Remove deletes schedule id; no tick of it is enqueued from then on (a tick already
// enqueued does nothing). An unknown id is an error wrapping ErrScheduleNotFound.
func (st *Store) Remove(ctx context.Context, id string) error {
	n, err := st.rdb.HDel(ctx, schedulesKey(), id).Result()
	if err != nil {
		return fmt.Errorf("remove schedule %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("schedule %q: %w (dialer schedule list shows the IDs)", id, ErrScheduleNotFound)
	}
	st.notify(ctx)
	return nil
}

// notify tells running schedulers to read the schedules again. It is best effort: they also
// read them every ReloadInterval.
func (st *Store) notify(ctx context.Context) {
	_ = st.rdb.Publish(ctx, changedChannel(), "changed").Err()
}
