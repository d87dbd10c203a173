package campaign

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"go.yaml.in/yaml/v4"
)

// ParseRetention reads a retention: a whole number of days ("30d") or a Go duration
// ("12h", "90m"). It must be more than zero.
func ParseRetention(s string) (time.Duration, error) {
	const want = `must be a number of days such as 30d, or a duration such as 12h`
	var d time.Duration
	var err error
	if days, ok := strings.CutSuffix(strings.TrimSpace(s), "d"); ok {
		var n int
		n, err = strconv.Atoi(days)
		d = time.Duration(n) * 24 * time.Hour
	} else {
		d, err = time.ParseDuration(strings.TrimSpace(s))
	}
	if err != nil {
		return 0, fmt.Errorf("%s, got %q", want, s)
	}
	if d <= 0 {
		return 0, fmt.Errorf("%s, more than zero, got %q", want, s)
	}
	return d, nil
}

// retention decodes the retention key (see ParseRetention).
func (d *decoder) retention(dst **Duration) setter {
	return func(key string, v *yaml.Node) error {
		if v.Kind != yaml.ScalarNode {
			return d.errorAt(key, v, "must be a number of days such as 30d, or a duration such as 12h, got "+kindName(v))
		}
		r, err := ParseRetention(v.Value)
		if err != nil {
			return d.errorAt(key, v, err.Error())
		}
		rd := Duration(r)
		*dst = &rd
		return nil
	}
}

// RetentionOf is how long campaign c stays after it is done: its file's retention, else
// def.
func RetentionOf(c *Campaign, def time.Duration) time.Duration {
	if c.File.Retention != nil {
		return c.File.Retention.D()
	}
	return def
}

// markDoneScript records when a campaign was first seen done, once, and only while the
// campaign exists (so that a sweep racing a delete creates no stray hash).
//
//	KEYS[1] -> dialer:{C}:campaign
//	ARGV[1] -> now, RFC 3339
//
// Returns the time that stands, or false when there is no campaign.
var markDoneScript = redis.NewScript(`
if redis.call("EXISTS", KEYS[1]) == 0 then
  return false
end
redis.call("HSETNX", KEYS[1], "done_at", ARGV[1])
return redis.call("HGET", KEYS[1], "done_at")
`)

// MarkDone records at as when campaign id was first seen done, unless a time is recorded
// already, and returns the time that stands. Retention counts from it. It also drops what
// only the upload needed (the phone index that found duplicate rows, about 100 bytes a
// contact). It returns ErrCampaignNotFound when there is no such campaign.
func (s *Store) MarkDone(ctx context.Context, id string, at time.Time) (time.Time, error) {
	v, err := markDoneScript.Run(ctx, s.rdb, []string{campaignKey(id)}, formatTime(at)).Text()
	if errors.Is(err, redis.Nil) {
		return time.Time{}, fmt.Errorf("campaign %q: %w", id, ErrCampaignNotFound)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("mark campaign %s done: %w", id, err)
	}
	if err := s.rdb.Unlink(ctx, phonesKey(id)).Err(); err != nil {
		return time.Time{}, fmt.Errorf("drop the phone index of campaign %s: %w", id, err)
	}
	d := hashDecoder{what: "campaign " + id}
	t := d.time("done_at", v)
	return t, d.err
}

// CampaignIDsPage lists at most n campaign IDs, oldest first, from the start'th (0-based):
// a bounded step of a walk over every campaign.
func (s *Store) CampaignIDsPage(ctx context.Context, start, n int) ([]string, error) {
	ids, err := s.rdb.ZRange(ctx, campaignsKey(), int64(start), int64(start+n-1)).Result()
	if err != nil {
		return nil, fmt.Errorf("list campaigns: %w", err)
	}
	return ids, nil
}
