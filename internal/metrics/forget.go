package metrics

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// Forget deletes campaign id's series (its field in each per-campaign hash of keys.go), for
// a campaign deleted from Redis. The fleet-wide series stay.
func Forget(ctx context.Context, rdb redis.UniversalClient, id string) error {
	_, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, key := range []string{dialsKey(), rateLimitWaitsKey(), rateLimitWaitSecondsKey(), pollFallbacksKey()} {
			p.HDel(ctx, key, id)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete the metrics of campaign %s: %w", id, err)
	}
	return nil
}
