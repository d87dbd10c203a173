package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
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
// "pending:ID:DIGEST" while the create runs, "done:ID:DIGEST" once campaign ID exists;
// DIGEST is the request body's (upload.digest).
//
//	dialer:idempotency:HASH   STR  HASH: hex SHA-256 of token name, NUL, the header's value
func idempotencyKey(r *http.Request, key string) string {
	p, _ := auth.FromContext(r.Context())
	sum := sha256.Sum256([]byte(p.Name + "\x00" + key))
	return "dialer:idempotency:" + hex.EncodeToString(sum[:])
}

// claimIdempotencyKey holds key for a create of campaign id from a body of digest. It
// returns "" when the create may go on, and the ID of the campaign an earlier request with
// the same key and the same body made. A key in use for another body is a 422 problem
// saying so (a retry must send what the first request sent; a new create needs a new key),
// and one whose first request is still running with this body a 409.
func (s *Server) claimIdempotencyKey(ctx context.Context, r *http.Request, key, id, digest string) (string, error) {
	rk := idempotencyKey(r, key)
	for range 3 {
		ok, err := s.cfg.Redis.SetNX(ctx, rk, "pending:"+id+":"+digest, idempotencyPending).Result()
		if err != nil {
			return "", err
		}
		if ok {
			return "", nil
		}
		v, err := s.cfg.Redis.Get(ctx, rk).Result()
		if errors.Is(err, redis.Nil) { // expired meanwhile: try again
			continue
		}
		if err != nil {
			return "", err
		}
		state, rest, _ := strings.Cut(v, ":")
		prior, was, _ := strings.Cut(rest, ":")
		if was != "" && was != digest { // records from before digests were kept have none
			p := problem.New(http.StatusUnprocessableEntity, fmt.Sprintf("this %s was used by an earlier create with another body (campaign or contacts), within the last %s; a retry must send the same body, and a new create needs a new key", idempotencyHeader, idempotencyTTL))
			p.Type, p.Title = typeIdempotency, "Idempotency-Key reused"
			return "", p
		}
		if state == "done" {
			return prior, nil
		}
		p := problem.New(http.StatusConflict, "a create with this Idempotency-Key is still running; retry in a few seconds to get its campaign")
		p.Type = typeConflict
		p.RetryAfter = 5
		return "", p
	}
	return "", fmt.Errorf("idempotency key %s kept expiring while read", rk)
}

// keepIdempotencyKey records that key, with a body of digest, created campaign id.
func (s *Server) keepIdempotencyKey(ctx context.Context, r *http.Request, key, id, digest string) error {
	return s.cfg.Redis.Set(ctx, idempotencyKey(r, key), "done:"+id+":"+digest, idempotencyTTL).Err()
}

// releaseIdempotencyKey frees key after a create that failed, so a retry runs again.
func (s *Server) releaseIdempotencyKey(ctx context.Context, r *http.Request, key string) {
	if err := s.cfg.Redis.Del(ctx, idempotencyKey(r, key)).Err(); err != nil {
		s.cfg.Logger.Error("api: release idempotency key", "err", err)
	}
}
