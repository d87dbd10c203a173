package operator

import (
	"cmp"
	"context"
	"errors"
	"fmt"

	"github.com/dialerhq/dialer/internal/account"
	"github.com/dialerhq/dialer/internal/metrics"
)

// AccountUsage is one Interactly account with the campaigns that dial through it.
type AccountUsage struct {
	account.Account
	// Campaigns are the account's campaigns that are not done, newest first, each with its
	// live calls and its share of the account's limits (Status.Share).
	Campaigns []Summary
	// Done counts the account's campaigns that are done.
	Done int
	// LiveCalls sums the live calls of Campaigns, to compare with MaxConcurrentCalls.
	LiveCalls int
}

// Accounts returns every account (account.Store.List: the default first, the others by
// name) with its campaigns. A campaign that names an account that is not set any more is
// listed under an Account of that name with no key variable, so it is not lost from view.
func (o *Operator) Accounts(ctx context.Context) ([]AccountUsage, error) {
	accts, err := account.NewStore(o.rdb).List(ctx)
	if err != nil {
		return nil, err
	}
	list, err := o.List(ctx, ListOptions{})
	if err != nil {
		return nil, err
	}
	out := make([]AccountUsage, 0, len(accts))
	index := map[string]int{}
	for _, a := range accts {
		index[a.Name] = len(out)
		out = append(out, AccountUsage{Account: *a})
	}
	for _, s := range list {
		name := cmp.Or(s.Account, account.Default)
		i, ok := index[name]
		if !ok {
			i = len(out)
			index[name] = i
			out = append(out, AccountUsage{Account: account.Account{Name: name}})
		}
		u := &out[i]
		if s.Done {
			u.Done++
			continue
		}
		u.Campaigns = append(u.Campaigns, s)
		u.LiveCalls += s.LiveCalls
	}
	return out, nil
}

// ErrAPIKeyEnvRequired is returned (in an *account.FieldError for apiKeyEnv) by SetAccount
// for an account other than the default that names no environment variable for its key,
// now or before.
var ErrAPIKeyEnvRequired = errors.New("the environment variable that holds its API key is required")

// SetAccount stores account a, as `dialer account set` does: an empty APIKeyEnv keeps the
// variable an earlier set named (the default account's is INTERACTLY_API_KEY). Workers apply
// the limits within 5 seconds. It returns the account as stored, or a *account.FieldError
// naming the field that is wrong (ErrAPIKeyEnvRequired for a missing variable).
func (o *Operator) SetAccount(ctx context.Context, a account.Account) (*account.Account, error) {
	store := account.NewStore(o.rdb)
	if a.APIKeyEnv == "" {
		old, err := store.Get(ctx, a.Name)
		switch {
		case err == nil:
			a.APIKeyEnv = old.APIKeyEnv
		case !errors.Is(err, account.ErrNotFound):
			return nil, err
		}
	}
	if a.APIKeyEnv == "" && a.Name != account.Default && account.ValidName(a.Name) {
		return nil, &account.FieldError{Field: "apiKeyEnv", Err: fmt.Errorf("account %s: %w: name it, such as WEST_INTERACTLY_API_KEY (never the key itself)", a.Name, ErrAPIKeyEnvRequired)}
	}
	if err := store.Set(ctx, a); err != nil {
		return nil, err
	}
	return store.Get(ctx, a.Name)
}

// DialsPerMinute returns the dials campaign id began in each minute that had any, oldest
// first (metrics.DialsPerMinute): the attempts-over-time chart of the console and the API.
func (o *Operator) DialsPerMinute(ctx context.Context, id string) ([]metrics.Point, error) {
	return metrics.DialsPerMinute(ctx, o.rdb, id)
}
