package notify

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// DeliveryStats is how a campaign's notifications have gone, as `dialer status` shows them.
// Its JSON form is stable.
type DeliveryStats struct {
	// Delivered counts events answered with a 2xx.
	Delivered int `json:"delivered"`
	// Failed counts events given up on after the retry deadline.
	Failed int `json:"failed"`
	// Errors counts failed tries, retried ones included.
	Errors int `json:"errors"`
	// LastError is the latest failed try's error, with the URL's query values and password
	// redacted; "" when no try has failed.
	LastError string `json:"lastError,omitempty"`
	// LastErrorAt is when LastError happened; zero when none has.
	LastErrorAt time.Time `json:"lastErrorAt,omitzero"`
}

// hgetaller is the part of a Redis client Stats uses.
type hgetaller interface {
	HGetAll(ctx context.Context, key string) *redis.MapStringStringCmd
}

// Stats reads campaign campaignID's notification counts. A campaign that has sent nothing,
// or does not exist, has zero counts. Errors are Redis errors.
func Stats(ctx context.Context, rdb hgetaller, campaignID string) (DeliveryStats, error) {
	m, err := rdb.HGetAll(ctx, statsKey(campaignID)).Result()
	if err != nil {
		return DeliveryStats{}, fmt.Errorf("read notification stats of %s: %w", campaignID, err)
	}
	var st DeliveryStats
	st.Delivered, _ = strconv.Atoi(m["delivered"])
	st.Failed, _ = strconv.Atoi(m["failed"])
	st.Errors, _ = strconv.Atoi(m["errors"])
	st.LastError = m["last_error"]
	st.LastErrorAt, _ = time.Parse(time.RFC3339Nano, m["last_error_at"])
	return st, nil
}

// finishScript records an event's end once: it marks the delivery id done and counts it.
//
//	KEYS[1] -> dialer:{C}:notify:done
//	KEYS[2] -> dialer:{C}:notify
//	ARGV[1] -> delivery id
//	ARGV[2] -> the counter: "delivered" or "failed"
//
// Returns 1 when this call recorded it, 0 when the event was already done.
var finishScript = redis.NewScript(`
if redis.call("SADD", KEYS[1], ARGV[1]) == 0 then
  return 0
end
redis.call("HINCRBY", KEYS[2], ARGV[2], 1)
return 1
`)

// recordFinish marks event p done as delivered or failed, counting it once.
func (h *Handler) recordFinish(ctx context.Context, p payload, counter string) error {
	keys := []string{doneKey(p.CampaignID), statsKey(p.CampaignID)}
	if err := finishScript.Run(ctx, h.rdb, keys, p.deliveryID(), counter).Err(); err != nil {
		return fmt.Errorf("record notification %s %s: %w", p.deliveryID(), counter, err)
	}
	return nil
}

// recordError counts a failed try and keeps its error as the campaign's last.
func (h *Handler) recordError(ctx context.Context, p payload, msg string) error {
	_, err := h.rdb.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.HIncrBy(ctx, statsKey(p.CampaignID), "errors", 1)
		pipe.HSet(ctx, statsKey(p.CampaignID), "last_error", msg,
			"last_error_at", h.cfg.Now().UTC().Format(time.RFC3339Nano))
		return nil
	})
	if err != nil {
		return fmt.Errorf("record notification error of %s: %w", p.deliveryID(), err)
	}
	return nil
}

// isDone reports whether event p was already delivered or given up on.
func (h *Handler) isDone(ctx context.Context, p payload) (bool, error) {
	ok, err := h.rdb.SIsMember(ctx, doneKey(p.CampaignID), p.deliveryID()).Result()
	if err != nil {
		return false, fmt.Errorf("read notification %s: %w", p.deliveryID(), err)
	}
	return ok, nil
}
