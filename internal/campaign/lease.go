package campaign

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dialerhq/dialer/internal/clock"
	"github.com/redis/go-redis/v9"
)

// An upload holds a lease in Redis (uploadLeaseKey) for as long as it runs, renewed every
// third of DefaultUploadLease. An upload killed with SIGKILL, or cut off from Redis, stops
// renewing it; once it runs out, the campaign shows as failed (StateFailed) at once, and
// the next worker feeder, upload or operator command that looks at it (ReapUpload) marks
// it failed for good and removes what the upload stored. No worker ever waits on an
// upload: its contacts are parked in the campaign's hopper, which the feeder reads only
// once the upload is complete.

// DefaultUploadLease is how long a campaign stays uploading without word from its upload.
const DefaultUploadLease = 30 * time.Second

// UploadLostReason is the Failure of a campaign whose upload stopped renewing its lease.
const UploadLostReason = "the upload stopped renewing its lease (its process was killed or cut off from Redis); what it stored is removed"

// ErrUploadLost is the error of an upload whose campaign was marked failed while it ran:
// it did not renew its lease in time (the process stood still, or Redis was unreachable,
// for longer than the lease).
var ErrUploadLost = errors.New("the upload did not renew its lease in time, and the campaign was marked failed; upload the file again")

// renewLeaseScript renews an upload's lease while its campaign is still uploading.
//
//	KEYS[1] -> dialer:{C}:campaign
//	KEYS[2] -> dialer:{C}:upload
//	ARGV[1] -> lease, ms
//
// Returns 1 when renewed, 0 when the campaign is no longer uploading (marked failed, or
// deleted).
var renewLeaseScript = redis.NewScript(`
if redis.call("HGET", KEYS[1], "state") ~= "uploading" then
  return 0
end
redis.call("SET", KEYS[2], "1", "PX", ARGV[1])
return 1
`)

// finishUploadScript records an upload's counts and marks its campaign ready, unless it
// was marked failed meanwhile, and drops the lease.
//
//	KEYS[1] -> dialer:{C}:campaign
//	KEYS[2] -> dialer:{C}:upload
//	ARGV    -> field, value, … (the counts and state "ready")
//
// Returns 1 when the campaign is now ready, 0 when it was no longer uploading.
var finishUploadScript = redis.NewScript(`
if redis.call("HGET", KEYS[1], "state") ~= "uploading" then
  return 0
end
redis.call("HSET", KEYS[1], unpack(ARGV))
redis.call("DEL", KEYS[2])
return 1
`)

// markLostScript marks a campaign failed when it is uploading and its upload's lease has
// run out.
//
//	KEYS[1] -> dialer:{C}:campaign
//	KEYS[2] -> dialer:{C}:upload
//	ARGV[1] -> the failure reason
//	ARGV[2] -> now, RFC 3339
//
// Returns 1 when it marked the campaign failed, 0 otherwise.
var markLostScript = redis.NewScript(`
if redis.call("HGET", KEYS[1], "state") ~= "uploading" or redis.call("EXISTS", KEYS[2]) == 1 then
  return 0
end
redis.call("HSET", KEYS[1], "state", "failed", "failure", ARGV[1], "failed_at", ARGV[2])
return 1
`)

// keepLease renews campaign id's upload lease every third of lease until ctx ends. When
// the campaign is no longer uploading (ReapUpload marked it failed), it calls lost and
// returns. A Redis error is retried at the next renewal: the lease outlives two of them.
func (s *Store) keepLease(ctx context.Context, id string, lease time.Duration, lost func()) {
	clock.Every(ctx, lease/3, func() bool {
		ok, err := renewLeaseScript.Run(ctx, s.rdb, []string{campaignKey(id), uploadLeaseKey(id)}, lease.Milliseconds()).Bool()
		if err == nil && !ok {
			lost()
			return false
		}
		return true
	})
}

// ReapUpload looks at campaign id: when it is uploading and its upload's lease has run
// out, it marks it failed (UploadLostReason) and removes everything the upload stored but
// the campaign's record, which stays, failed, until it is deleted (by `dialer delete` or
// retention). It also finishes the removal for a failed campaign that is still among the
// active ones (a reaper that stopped halfway). It reports whether it found the upload
// lost; a campaign whose upload runs, or that is not uploading, is left alone.
func (s *Store) ReapUpload(ctx context.Context, id string) (bool, error) {
	marked, err := markLostScript.Run(ctx, s.rdb, []string{campaignKey(id), uploadLeaseKey(id)}, UploadLostReason, formatTime(s.now())).Int()
	if err != nil {
		return false, fmt.Errorf("check the upload of campaign %s: %w", id, err)
	}
	if marked == 0 {
		state, err := s.rdb.HGet(ctx, campaignKey(id), "state").Result()
		if errors.Is(err, redis.Nil) || (err == nil && state != string(UploadFailed)) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("check the upload of campaign %s: %w", id, err)
		}
		active, err := s.rdb.SIsMember(ctx, activeKey(), id).Result()
		if err != nil || !active {
			return false, err
		}
	}
	if err := s.deleteKeys(ctx, id, campaignKey(id)); err != nil {
		return false, err
	}
	if err := s.deleteRateStateOf(ctx, id); err != nil {
		return false, err
	}
	return true, s.Retire(ctx, id)
}

// ReapLostUploads runs ReapUpload on every active campaign that is uploading, and returns
// the IDs of those it found lost. Each upload calls it before it starts.
func (s *Store) ReapLostUploads(ctx context.Context) ([]string, error) {
	ids, err := s.ActiveCampaigns(ctx)
	if err != nil {
		return nil, err
	}
	states := make([]*redis.StringCmd, len(ids))
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			states[i] = p.HGet(ctx, campaignKey(id), "state")
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("look for lost uploads: %w", err)
	}
	var lost []string
	for i, id := range ids {
		if st := UploadState(states[i].Val()); st != UploadInProgress && st != UploadFailed {
			continue
		}
		reaped, err := s.ReapUpload(ctx, id)
		if err != nil {
			return lost, err
		}
		if reaped {
			lost = append(lost, id)
		}
	}
	return lost, nil
}
