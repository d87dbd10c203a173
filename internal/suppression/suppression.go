// Package suppression keeps the do-not-call lists: numbers the dialer must never dial. There
// is one global list, which every campaign obeys, and one list per campaign, filled at upload
// from the files its campaign file names in suppressionFiles.
//
// Both are Redis sets of E.164 numbers (see keys.go). Operators fill the global list with
// dialer suppress add and dialer suppress import (Import); upload and the worker ask
// SuppressedMany and Suppressed before a number is queued or dialed.
package suppression

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/dialerhq/dialer/internal/phone"
)

// List is the suppression lists in Redis: one global list every campaign obeys, and one per
// campaign (filled from the campaign file's suppressionFiles at upload). Numbers are E.164
// ("+14155550101"); normalise them with phone.Normalize first. A List is safe for
// concurrent use.
type List struct {
	rdb redis.UniversalClient
}

// New returns the suppression lists kept in rdb.
func New(rdb redis.UniversalClient) *List { return &List{rdb: rdb} }

// e164 is the shape of an E.164 number: +, a country code that does not start with 0, and at
// most 15 digits in all. It catches a caller that forgot to normalise, whose numbers would
// otherwise never match a dialed one.
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)

// checkNumbers returns an error naming every number that is not E.164.
func checkNumbers(numbers []string) error {
	var bad []string
	for _, n := range numbers {
		if !e164.MatchString(n) {
			bad = append(bad, fmt.Sprintf("%q", n))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("suppression: not E.164 (normalise with phone.Normalize first): %v", bad)
	}
	return nil
}

// Add puts numbers on the global list and returns how many were not on it already. It
// refuses, changing nothing, if any number is not E.164.
func (l *List) Add(ctx context.Context, numbers ...string) (added int, err error) {
	return l.add(ctx, globalKey(), numbers)
}

// Remove takes numbers off the global list and returns how many were on it. It refuses,
// changing nothing, if any number is not E.164. A campaign's own list is not touched.
func (l *List) Remove(ctx context.Context, numbers ...string) (removed int, err error) {
	if len(numbers) == 0 {
		return 0, nil
	}
	if err := checkNumbers(numbers); err != nil {
		return 0, err
	}
	n, err := l.rdb.SRem(ctx, globalKey(), toArgs(numbers)...).Result()
	if err != nil {
		return 0, fmt.Errorf("suppression: remove: %w", err)
	}
	return int(n), nil
}

// AddToCampaign puts numbers on campaign campaignID's own list and returns how many were not
// on it already. Other campaigns do not see them. The list is deleted with the campaign.
func (l *List) AddToCampaign(ctx context.Context, campaignID string, numbers ...string) (int, error) {
	if campaignID == "" {
		return 0, errors.New("suppression: add to campaign: no campaign ID")
	}
	return l.add(ctx, campaignKey(campaignID), numbers)
}

func (l *List) add(ctx context.Context, key string, numbers []string) (int, error) {
	if len(numbers) == 0 {
		return 0, nil
	}
	if err := checkNumbers(numbers); err != nil {
		return 0, err
	}
	n, err := l.rdb.SAdd(ctx, key, toArgs(numbers)...).Result()
	if err != nil {
		return 0, fmt.Errorf("suppression: add: %w", err)
	}
	return int(n), nil
}

// Suppressed reports whether number is on the global list or on campaign campaignID's list,
// in one round trip. With campaignID "" only the global list is asked.
func (l *List) Suppressed(ctx context.Context, campaignID, number string) (bool, error) {
	got, err := l.SuppressedMany(ctx, campaignID, []string{number})
	if err != nil {
		return false, err
	}
	return got[0], nil
}

// SuppressedMany is Suppressed for a batch: result i says whether numbers[i] is suppressed
// for campaign campaignID. It takes one round trip (one pipeline of SISMEMBERs, which every
// Redis version and Redis Cluster accept), however many numbers there are.
func (l *List) SuppressedMany(ctx context.Context, campaignID string, numbers []string) ([]bool, error) {
	out := make([]bool, len(numbers))
	if len(numbers) == 0 {
		return out, nil
	}
	keys := []string{globalKey()}
	if campaignID != "" {
		keys = append(keys, campaignKey(campaignID))
	}
	pipe := l.rdb.Pipeline()
	cmds := make([]*redis.BoolCmd, 0, len(numbers)*len(keys))
	for _, n := range numbers {
		for _, k := range keys {
			cmds = append(cmds, pipe.SIsMember(ctx, k, n))
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("suppression: check %d numbers: %w", len(numbers), err)
	}
	for i, cmd := range cmds {
		if cmd.Val() {
			out[i/len(keys)] = true
		}
	}
	return out, nil
}

// Count returns how many numbers the global list holds.
func (l *List) Count(ctx context.Context) (int64, error) {
	n, err := l.rdb.SCard(ctx, globalKey()).Result()
	if err != nil {
		return 0, fmt.Errorf("suppression: count: %w", err)
	}
	return n, nil
}

func toArgs(numbers []string) []any {
	args := make([]any, len(numbers))
	for i, n := range numbers {
		args[i] = n
	}
	return args
}

// Each calls fn with every number on the global list, in no particular order, reading it
// 1,000 at a time (SSCAN), so that the list is streamed however long it is. A number added
// or removed while Each runs may be seen or not; none is seen twice unless it was removed
// and added again. It stops at fn's first error and returns it.
func (l *List) Each(ctx context.Context, fn func(number string) error) error {
	var cursor uint64
	for {
		numbers, next, err := l.rdb.SScan(ctx, globalKey(), cursor, "", 1000).Result()
		if err != nil {
			return fmt.Errorf("suppression: list: %w", err)
		}
		for _, n := range numbers {
			if err := fn(n); err != nil {
				return err
			}
		}
		if cursor = next; cursor == 0 {
			return nil
		}
	}
}

// Normalize turns each of raw into E.164, reading numbers without a country code in region
// (phone.Normalize). It refuses the whole batch, naming every number it cannot
// read and why, so that a caller changes nothing when one number is wrong.
func Normalize(raw []string, region string) ([]string, error) {
	numbers := make([]string, 0, len(raw))
	var bad []string
	for _, r := range raw {
		n, err := phone.Normalize(r, region)
		if err != nil {
			bad = append(bad, fmt.Sprintf("%q: %v", r, err))
			continue
		}
		numbers = append(numbers, n)
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(bad, "; "))
	}
	return numbers, nil
}
