package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/dialerhq/dialer/internal/auth"
	"github.com/dialerhq/dialer/internal/problem"
	"github.com/redis/go-redis/v9"
)

// idempotencyHeader names the header that makes a create safe to retry: a retry with the
// same key, by the same token, within idempotencyTTL answers with the first campaign.
const idempotencyHeader = "Idempotency-Key"

const (
	// idempotencyTTL is how long a key remembers the campaign it created.
	idempotencyTTL = 24 * time.Hour
	// idempotencyPending is how long a key is held by a create still in progress; a
	// create that died mid-way frees its key after it.
	idempotencyPending = 15 * time.Minute
)

// idempotencyKey is the Redis key of an Idempotency-Key, per token name: the STRING
// "pending:ID" while the create runs, "done:ID" once campaign ID exists.
//
//	dialer:idempotency:HASH   STR  HASH: hex SHA-256 of token name, NUL, the header's value
func idempotencyKey(r *http.Request, key string) string {
	p, _ := auth.FromContext(r.Context())
	sum := sha256.Sum256([]byte(p.Name + "\x00" + key))
	return "dialer:idempotency:" + hex.EncodeToString(sum[:])
}

// claimIdempotencyKey holds key for a create of campaign id. It returns "" when the
// create may go on, the ID of the campaign an earlier request made with the same key, or
// a 409 problem while that request is still running.
func (s *Server) claimIdempotencyKey(ctx context.Context, r *http.Request, key, id string) (string, error) {
	if len(key) > 255 || strings.TrimSpace(key) == "" {
		return "", badRequest("%s: want 1 to 255 characters, such as a UUID", idempotencyHeader)
	}
	rk := idempotencyKey(r, key)
	ok, err := s.cfg.Redis.SetNX(ctx, rk, "pending:"+id, idempotencyPending).Result()
	if err != nil {
		return "", err
	}
	if ok {
		return "", nil
	}
	v, err := s.cfg.Redis.Get(ctx, rk).Result()
	if errors.Is(err, redis.Nil) { // expired meanwhile: try once more
		return s.claimIdempotencyKey(ctx, r, key, id)
	}
	if err != nil {
		return "", err
	}
	if prior, ok := strings.CutPrefix(v, "done:"); ok {
		return prior, nil
	}
	p := problem.New(http.StatusConflict, "a create with this Idempotency-Key is still running; retry in a few seconds to get its campaign")
	p.Type = typeConflict
	p.RetryAfter = 5
	return "", p
}

// keepIdempotencyKey records that key created campaign id.
func (s *Server) keepIdempotencyKey(ctx context.Context, r *http.Request, key, id string) error {
	return s.cfg.Redis.Set(ctx, idempotencyKey(r, key), "done:"+id, idempotencyTTL).Err()
}

// releaseIdempotencyKey frees key after a create that failed, so a retry runs again.
func (s *Server) releaseIdempotencyKey(ctx context.Context, r *http.Request, key string) {
	if err := s.cfg.Redis.Del(ctx, idempotencyKey(r, key)).Err(); err != nil {
		s.cfg.Logger.Error("api: release idempotency key", "err", err)
	}
}
