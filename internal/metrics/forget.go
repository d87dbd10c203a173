package metrics

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Forget deletes campaign id's series (its field in each per-campaign hash of keys.go, and
// its DialsPerMinute), for
// a campaign deleted from Redis. The fleet-wide series stay.
func Forget(ctx context.Context, rdb redis.UniversalClient, id string) error {
	_, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, key := range []string{dialsKey(), rateLimitWaitsKey(), rateLimitWaitSecondsKey(), pollFallbacksKey()} {
			p.HDel(ctx, key, id)
		}
		p.Del(ctx, dialsPerMinuteKey(id))
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete the metrics of campaign %s: %w", id, err)
	}
	return nil
}

// Point is one minute of a per-minute series: the minute's start, in UTC, and its count.
type Point struct {
	Minute time.Time
	Count  int64
}

// DialsPerMinute returns the dials campaign id began in each minute that had any, oldest
// first, as every process's Recorder flushed them (so the current minute lags by up to a
// flush interval). A campaign dialed before the series existed, or never, has none.
func DialsPerMinute(ctx context.Context, rdb redis.UniversalClient, id string) ([]Point, error) {
	m, err := rdb.HGetAll(ctx, dialsPerMinuteKey(id)).Result()
	if err != nil {
		return nil, fmt.Errorf("read the dials per minute of campaign %s: %w", id, err)
	}
	out := make([]Point, 0, len(m))
	for k, v := range m {
		minute, err1 := strconv.ParseInt(k, 10, 64)
		n, err2 := strconv.ParseInt(v, 10, 64)
		if err1 != nil || err2 != nil {
			continue // not written by a Recorder
		}
		out = append(out, Point{Minute: time.Unix(minute*60, 0).UTC(), Count: n})
	}
	slices.SortFunc(out, func(a, b Point) int { return a.Minute.Compare(b.Minute) })
	return out, nil
}
