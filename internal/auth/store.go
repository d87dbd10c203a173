package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrInvalidToken is returned by Store.Verify for a token that is malformed, unknown,
// revoked or whose secret does not match. It never says which, nor repeats the token.
var ErrInvalidToken = errors.New("invalid token")

// ErrTokenExpired is returned by Store.Verify for a token whose expiry has passed.
var ErrTokenExpired = errors.New("token has expired")

// ErrTokenNotFound is returned by Store.Revoke for a name or ID no token has.
var ErrTokenNotFound = errors.New("token not found")

// ErrTokenExists is returned by Store.Create when a token of that name exists already.
var ErrTokenExists = errors.New("a token of that name exists")

// ErrInvalidOption is wrapped by Store.Create's errors about a bad name, scope or TTL, and
// by ParseTTL's.
var ErrInvalidOption = errors.New("invalid token option")

// TokenPrefix starts every token, so a leaked one is recognisable (and secret scanners can
// match it): "dlr_" + a 16-hex-digit ID + "_" + 43 characters of base64url secret.
const TokenPrefix = "dlr_"

// lastUsedEvery is how stale a token's last-used time may get before Verify writes it again,
// so that a busy token costs one write a minute, not one per request.
const lastUsedEvery = time.Minute

// Token is what Redis keeps of a token: everything but its secret.
type Token struct {
	// ID is the token's public identifier, the 16 hex digits after "dlr_".
	ID string `json:"id"`
	// Name says whose token it is, e.g. "crm-prod"; unique among tokens.
	Name  string `json:"name"`
	Scope Scope  `json:"scope"`
	// CreatedAt is when the token was made, in UTC.
	CreatedAt time.Time `json:"createdAt"`
	// ExpiresAt is when the token stops working; zero means never.
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
	// LastUsedAt is when the token last authenticated a request, to within a minute; zero
	// means never.
	LastUsedAt time.Time `json:"lastUsedAt,omitzero"`
}

// Expired reports whether t has an expiry at or before now.
func (t Token) Expired(now time.Time) bool { return !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt) }

// CreateOptions describes a new token.
type CreateOptions struct {
	// Name says whose token it is: 1 to 64 letters, digits, '.', '_' or '-'. Required.
	Name string
	// Scope is what the token may do. Required.
	Scope Scope
	// TTL is how long the token works; zero means until it is revoked.
	TTL time.Duration
}

// Store keeps tokens in Redis: only a SHA-256 hash of each secret, with its name, scope,
// creation, expiry and last use. Its methods are safe for concurrent use.
type Store struct {
	rdb redis.UniversalClient
	// Now is the clock; it defaults to time.Now.
	Now func() time.Time
}

// NewStore returns a Store on rdb.
func NewStore(rdb redis.UniversalClient) *Store { return &Store{rdb: rdb, Now: time.Now} }

var nameRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// createScript stores a token unless its name is taken.
//
// KEYS[1] -> dialer:{auth}:names
// KEYS[2] -> dialer:{auth}:token:ID
// ARGV[1] -> name
// ARGV[2] -> ID
// ARGV[3..] -> the record's field/value pairs
// Returns 1 when stored, 0 when the name is taken.
var createScript = redis.NewScript(`
if redis.call("HSETNX", KEYS[1], ARGV[1], ARGV[2]) == 0 then
  return 0
end
redis.call("HSET", KEYS[2], unpack(ARGV, 3))
return 1
`)

// Create makes a token and returns its secret, the only time it is ever seen, with what is
// kept of it. It returns ErrTokenExists when the name is taken, and an error naming the
// option for a bad name, scope or TTL.
func (s *Store) Create(ctx context.Context, opt CreateOptions) (secret string, tok Token, err error) {
	if !nameRE.MatchString(opt.Name) {
		return "", Token{}, fmt.Errorf("%w: token name %q: want 1 to 64 letters, digits, '.', '_' or '-'", ErrInvalidOption, opt.Name)
	}
	if !opt.Scope.Valid() {
		return "", Token{}, fmt.Errorf("%w: token scope %s: want read, export, operate or admin", ErrInvalidOption, opt.Scope)
	}
	if opt.TTL < 0 {
		return "", Token{}, fmt.Errorf("%w: token expiry %s: want a positive duration, or none", ErrInvalidOption, opt.TTL)
	}
	var idb [8]byte
	var sec [32]byte
	_, _ = rand.Read(idb[:]) // crypto/rand.Read never fails
	_, _ = rand.Read(sec[:])
	id := hex.EncodeToString(idb[:])
	rawSecret := base64.RawURLEncoding.EncodeToString(sec[:])
	now := s.Now().UTC().Truncate(time.Millisecond)
	tok = Token{ID: id, Name: opt.Name, Scope: opt.Scope, CreatedAt: now}
	if opt.TTL > 0 {
		tok.ExpiresAt = now.Add(opt.TTL)
	}
	sum := sha256.Sum256([]byte(rawSecret))
	args := []any{opt.Name, id,
		"name", opt.Name, "scope", opt.Scope.String(), "hash", hex.EncodeToString(sum[:]),
		"created", now.UnixMilli(), "expires", unixMilli(tok.ExpiresAt)}
	ok, err := createScript.Run(ctx, s.rdb, []string{namesKey(), tokenKey(id)}, args...).Int()
	if err != nil {
		return "", Token{}, fmt.Errorf("create token %q: %w", opt.Name, err)
	}
	if ok == 0 {
		return "", Token{}, fmt.Errorf("token %q: %w; revoke it first (dialer token revoke %s) or choose another name", opt.Name, ErrTokenExists, opt.Name)
	}
	return TokenPrefix + id + "_" + rawSecret, tok, nil
}

// Any reports whether at least one token exists (expired ones included): once one does, a
// caller without credentials is never let in.
func (s *Store) Any(ctx context.Context) (bool, error) {
	n, err := s.rdb.HLen(ctx, namesKey()).Result()
	if err != nil {
		return false, fmt.Errorf("count tokens: %w", err)
	}
	return n > 0, nil
}

// List returns every token, by name, without secrets.
func (s *Store) List(ctx context.Context) ([]Token, error) {
	names, err := s.rdb.HGetAll(ctx, namesKey()).Result()
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, 0, len(names))
	for _, id := range names {
		cmds = append(cmds, pipe.HGetAll(ctx, tokenKey(id)))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	toks := make([]Token, 0, len(cmds))
	i := 0
	for _, id := range names {
		if rec := cmds[i].Val(); len(rec) > 0 {
			toks = append(toks, parseToken(id, rec))
		}
		i++
	}
	slices.SortFunc(toks, func(a, b Token) int { return strings.Compare(a.Name, b.Name) })
	return toks, nil
}

// revokeScript deletes a token found by name, or else by ID.
//
// KEYS[1] -> dialer:{auth}:names
// ARGV[1] -> a name or an ID
// ARGV[2] -> the token key prefix, "dialer:{auth}:token:"
// Returns the revoked token's name, or false when there is none.
var revokeScript = redis.NewScript(`
local id = redis.call("HGET", KEYS[1], ARGV[1])
local name = ARGV[1]
if not id then
  id = ARGV[1]
  name = redis.call("HGET", ARGV[2] .. id, "name")
  if not name then return false end
end
redis.call("DEL", ARGV[2] .. id)
redis.call("HDEL", KEYS[1], name)
return name
`)

// Revoke deletes the token named nameOrID (its name, else its ID), so that it fails from the
// next request on, and returns its name. It returns ErrTokenNotFound when there is none.
func (s *Store) Revoke(ctx context.Context, nameOrID string) (string, error) {
	if nameOrID == "" || strings.ContainsAny(nameOrID, ":{}") {
		return "", fmt.Errorf("token %q: %w", nameOrID, ErrTokenNotFound)
	}
	name, err := revokeScript.Run(ctx, s.rdb, []string{namesKey()}, nameOrID, keyPrefix+"token:").Text()
	if errors.Is(err, redis.Nil) {
		return "", fmt.Errorf("token %q: %w; `dialer token list` shows the names", nameOrID, ErrTokenNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("revoke token %q: %w", nameOrID, err)
	}
	return name, nil
}

// touchScript records a token's last use unless it was revoked meanwhile.
//
// KEYS[1] -> dialer:{auth}:token:ID
// ARGV[1] -> now (Unix ms)
var touchScript = redis.NewScript(`
if redis.call("EXISTS", KEYS[1]) == 1 then
  redis.call("HSET", KEYS[1], "last_used", ARGV[1])
end
return 0
`)

// dummyHash is compared against when a token's ID is unknown, so that an unknown ID costs
// the same time as a wrong secret.
var dummyHash = hex.EncodeToString(make([]byte, sha256.Size))

// Verify returns the token whose secret is token, comparing hashes in constant time. It
// returns ErrInvalidToken for a token that is malformed, unknown or revoked, or whose secret
// does not match, and ErrTokenExpired once its expiry has passed; neither error repeats the
// token. It records the token's last use, at most once a minute.
func (s *Store) Verify(ctx context.Context, token string) (Token, error) {
	id, secret, ok := splitToken(token)
	var rec map[string]string
	if ok {
		var err error
		if rec, err = s.rdb.HGetAll(ctx, tokenKey(id)).Result(); err != nil {
			return Token{}, fmt.Errorf("verify token: %w", err)
		}
	}
	want := rec["hash"]
	if len(want) != len(dummyHash) {
		want = dummyHash
	}
	sum := sha256.Sum256([]byte(secret))
	got := hex.EncodeToString(sum[:])
	if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 || len(rec) == 0 {
		return Token{}, ErrInvalidToken
	}
	tok := parseToken(id, rec)
	now := s.Now()
	if tok.Expired(now) {
		return Token{}, fmt.Errorf("token %q (expired %s): %w; create a new one with dialer token create", tok.Name, tok.ExpiresAt.Format(time.RFC3339), ErrTokenExpired)
	}
	if now.Sub(tok.LastUsedAt) >= lastUsedEvery {
		if err := touchScript.Run(ctx, s.rdb, []string{tokenKey(id)}, now.UnixMilli()).Err(); err != nil && !errors.Is(err, redis.Nil) {
			return Token{}, fmt.Errorf("verify token: record its use: %w", err)
		}
		tok.LastUsedAt = now.UTC().Truncate(time.Millisecond)
	}
	return tok, nil
}

// splitToken returns the ID and secret of a well-formed token.
func splitToken(token string) (id, secret string, ok bool) {
	rest, ok := strings.CutPrefix(token, TokenPrefix)
	if !ok {
		return "", "", false
	}
	id, secret, ok = strings.Cut(rest, "_")
	if !ok || len(id) != 16 || len(secret) != 43 {
		return "", "", false
	}
	if _, err := hex.DecodeString(id); err != nil {
		return "", "", false
	}
	return id, secret, true
}

func parseToken(id string, rec map[string]string) Token {
	sc, _ := ParseScope(rec["scope"])
	return Token{
		ID: id, Name: rec["name"], Scope: sc,
		CreatedAt:  fromMilli(rec["created"]),
		ExpiresAt:  fromMilli(rec["expires"]),
		LastUsedAt: fromMilli(rec["last_used"]),
	}
}

func unixMilli(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMilli(s string) time.Time {
	ms, err := strconv.ParseInt(s, 10, 64)
	if err != nil || ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// ParseTTL parses a token lifetime: a number of days ("90d"), a Go duration ("12h", "30m"),
// or "" / "never" for a token that does not expire (zero).
func ParseTTL(s string) (time.Duration, error) {
	switch s {
	case "", "never", "0":
		return 0, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 || n > 36500 {
			return 0, fmt.Errorf("%w: expiry %q: want a whole number of days such as 90d, a duration such as 12h, or never", ErrInvalidOption, s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%w: expiry %q: want a whole number of days such as 90d, a duration such as 12h, or never", ErrInvalidOption, s)
	}
	return d, nil
}
