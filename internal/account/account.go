// Package account holds Interactly accounts: the API key a campaign's calls are placed with
// (named by the environment variable that holds it, never by its value) and the
// calls-per-second and concurrent-call limits that bind every campaign of the account
// together, in every worker process.
//
// A campaign file names its account with `account: NAME`; without one it uses Default,
// whose key is INTERACTLY_API_KEY. Accounts are stored in Redis by `dialer account set`,
// so every worker sees the same limits. The limits are kept with package ratelimit under
// the account's own hash tag (SlotsKey, RateKey), apart from any campaign's keys.
package account

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/dialerhq/dialer/internal/jsonhash"
)

// Default is the name of the account a campaign uses when its file names none.
const Default = "default"

// DefaultAPIKeyEnv is the environment variable holding the Default account's API key,
// unless `dialer account set default --api-key-env` names another.
const DefaultAPIKeyEnv = "INTERACTLY_API_KEY"

// ErrNotFound is returned by Store.Get for an account that was never set (other than
// Default, which always exists).
var ErrNotFound = errors.New("account not found")

// Account is one Interactly account and the limits all its campaigns share.
type Account struct {
	// Name identifies the account: 1 to 64 lowercase letters, digits, '-' or '_'.
	Name string `json:"name"`
	// APIKeyEnv names the environment variable that holds the account's API key in each
	// worker process. Defaults to DefaultAPIKeyEnv for Default and is required otherwise.
	APIKeyEnv string `json:"apiKeyEnv"`
	// CallsPerSecond caps the dials of all the account's campaigns together, across every
	// process. 0 means no account-wide cap (each campaign's own rateLimit still binds).
	CallsPerSecond float64 `json:"callsPerSecond,omitempty"`
	// MaxConcurrentCalls caps the live calls of all the account's campaigns together. 0
	// means no account-wide cap.
	MaxConcurrentCalls int `json:"maxConcurrentCalls,omitempty"`
}

// Limits describes a's caps for a person, e.g. "10 calls/s, 20 live calls" or "no calls/s
// cap, no live-call cap".
func (a *Account) Limits() string {
	cps, calls := "no calls/s cap", "no live-call cap"
	if a.CallsPerSecond > 0 {
		cps = strconv.FormatFloat(a.CallsPerSecond, 'f', -1, 64) + " calls/s"
	}
	if a.MaxConcurrentCalls > 0 {
		calls = strconv.Itoa(a.MaxConcurrentCalls) + " live calls"
	}
	return cps + ", " + calls
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
var envRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ValidName reports whether name can name an account.
func ValidName(name string) bool { return nameRE.MatchString(name) }

// FieldError is an account refused for one field: "name", "apiKeyEnv", "callsPerSecond"
// or "maxConcurrentCalls" (the JSON names of Account's fields).
type FieldError struct {
	Field string
	Err   error
}

// Error says which account and field, what is wrong and what to do.
func (e *FieldError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *FieldError) Unwrap() error { return e.Err }

// Validate returns a *FieldError for the first field of a that is out of range.
func (a *Account) Validate() error {
	switch {
	case !ValidName(a.Name):
		return &FieldError{"name", fmt.Errorf("account name %q: use 1 to 64 lowercase letters, digits, '-' or '_', such as west-clinics", a.Name)}
	case !envRE.MatchString(a.APIKeyEnv):
		return &FieldError{"apiKeyEnv", fmt.Errorf("account %s: api key env: not a variable name (letters, digits and _, not starting with a digit); name the environment variable that holds the key, such as WEST_INTERACTLY_API_KEY (never the key itself, which this message does not repeat)", a.Name)}
	case !(a.CallsPerSecond >= 0 && a.CallsPerSecond <= 1000) || math.IsNaN(a.CallsPerSecond):
		return &FieldError{"callsPerSecond", fmt.Errorf("account %s: callsPerSecond %v: must be between 0 (no cap) and 1000", a.Name, a.CallsPerSecond)}
	case a.MaxConcurrentCalls < 0:
		return &FieldError{"maxConcurrentCalls", fmt.Errorf("account %s: maxConcurrentCalls %d: must be 0 (no cap) or more", a.Name, a.MaxConcurrentCalls)}
	}
	return nil
}

// accountsKey is the HASH of accounts: name -> JSON Account. It is not campaign data, so
// it has no campaign hash tag.
const accountsKey = "dialer:accounts"

// keyTag starts every key of account name: the account's own hash tag, so that they share
// a Redis Cluster slot.
func keyTag(name string) string { return "dialer:{account:" + name + "}:" }

// SlotsKey is the key of account name's live-call leases (a ratelimit.Semaphore).
func SlotsKey(name string) string { return keyTag(name) + "slots" }

// RateKey is the key of account name's calls-per-second state (a ratelimit.Limiter).
func RateKey(name string) string { return keyTag(name) + "cps" }

// CampaignRateKey is the key of the calls-per-second state of campaign id, of account name
// (campaign.RateKey). It carries the account's hash tag, not the campaign's: a dial takes
// the campaign's and the account's turns in one script (ratelimit.Limiter.WaitAll), and
// Redis Cluster runs a script only on keys of one slot.
func CampaignRateKey(name, id string) string { return keyTag(name) + "cps:" + id }

// Store keeps accounts in Redis.
type Store struct {
	rdb redis.UniversalClient
}

// NewStore returns a Store on rdb.
func NewStore(rdb redis.UniversalClient) *Store { return &Store{rdb: rdb} }

// Set stores a, replacing the account of the same name. It returns a's Validate error.
func (s *Store) Set(ctx context.Context, a Account) error {
	if a.APIKeyEnv == "" && a.Name == Default {
		a.APIKeyEnv = DefaultAPIKeyEnv
	}
	if err := a.Validate(); err != nil {
		return err
	}
	b, _ := json.Marshal(a)
	if err := s.rdb.HSet(ctx, accountsKey, a.Name, b).Err(); err != nil {
		return fmt.Errorf("store account %s: %w", a.Name, err)
	}
	return nil
}

// Get reads account name. Default exists without being set: its key is in
// DefaultAPIKeyEnv and it has no caps. Another name that was never set returns ErrNotFound.
func (s *Store) Get(ctx context.Context, name string) (*Account, error) {
	if name == "" {
		name = Default
	}
	a, err := jsonhash.Get[Account](ctx, s.rdb, accountsKey, name, "account")
	if errors.Is(err, redis.Nil) {
		if name == Default {
			return &Account{Name: Default, APIKeyEnv: DefaultAPIKeyEnv}, nil
		}
		return nil, fmt.Errorf("account %q: %w; create it with: dialer account set %s --api-key-env VAR", name, ErrNotFound, name)
	}
	return a, err
}

// List returns every account, Default first, the others by name.
func (s *Store) List(ctx context.Context) ([]*Account, error) {
	m, err := jsonhash.All[Account](ctx, s.rdb, accountsKey, "account")
	if err != nil {
		return nil, err
	}
	var out []*Account
	if _, ok := m[Default]; !ok {
		out = append(out, &Account{Name: Default, APIKeyEnv: DefaultAPIKeyEnv})
	}
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	slices.SortStableFunc(names, func(a, b string) int {
		switch {
		case a == Default && b != Default:
			return -1
		case b == Default && a != Default:
			return 1
		}
		return 0
	})
	for _, n := range names {
		out = append(out, m[n])
	}
	return out, nil
}
