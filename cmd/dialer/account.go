package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"text/tabwriter"

	"github.com/dialerhq/dialer/internal/account"
)

const accountUsage = "set NAME [--api-key-env VAR] [--cps N] [--max-calls N] | list"

// runAccount sets or lists Interactly accounts: the API key's environment variable and the
// limits every campaign of the account shares.
func runAccount(ctx context.Context, e *env, args []string) error {
	return subcommand(ctx, e, "account", accountUsage, args, map[string]func(context.Context, *env, []string) error{
		"set": runAccountSet, "list": runAccountList,
	})
}

func runAccountSet(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "account set", "NAME [--api-key-env VAR] [--cps N] [--max-calls N]")
	env := fs.String("api-key-env", "", "environment `variable` holding the account's API key in every worker (default INTERACTLY_API_KEY for the default account; required for others)")
	cps := fs.Float64("cps", 0, "calls per second of all the account's campaigns together, in every worker (0: no account cap)")
	maxCalls := fs.Int("max-calls", 0, "live calls of all the account's campaigns together (0: no account cap)")
	name, err := oneArg(e, fs, args, "account name")
	if err != nil {
		return err
	}
	rdb, err := openRedis(ctx, e)
	if err != nil {
		return err
	}
	defer rdb.Close()
	store := account.NewStore(rdb)
	a := account.Account{Name: name, APIKeyEnv: *env, CallsPerSecond: *cps, MaxConcurrentCalls: *maxCalls}
	if a.APIKeyEnv == "" {
		// Keep the variable an earlier set named.
		if old, err := store.Get(ctx, name); err == nil {
			a.APIKeyEnv = old.APIKeyEnv
		} else if !errors.Is(err, account.ErrNotFound) {
			return err
		}
	}
	if a.APIKeyEnv == "" && name != account.Default {
		fs.Usage()
		return fmt.Errorf("%w: account %s: --api-key-env is required: name the environment variable that holds its API key", errUsage, name)
	}
	if err := store.Set(ctx, a); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "account %s set: key in $%s, %s; workers apply it within 5s\n", name, orDefault(a.APIKeyEnv, account.DefaultAPIKeyEnv), limits(&a))
	return nil
}

func runAccountList(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "account list", "")
	if err := parseNoArgs(e, fs, args, "account list"); err != nil {
		return err
	}
	rdb, err := openRedis(ctx, e)
	if err != nil {
		return err
	}
	defer rdb.Close()
	accts, err := account.NewStore(rdb).List(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ACCOUNT\tAPI KEY IN\tLIMITS")
	for _, a := range accts {
		fmt.Fprintf(tw, "%s\t$%s\t%s\n", a.Name, a.APIKeyEnv, limits(a))
	}
	return tw.Flush()
}

// limits describes an account's caps, e.g. "10 calls/s, 20 live calls".
func limits(a *account.Account) string {
	cps, calls := "no calls/s cap", "no live-call cap"
	if a.CallsPerSecond > 0 {
		cps = strconv.FormatFloat(a.CallsPerSecond, 'f', -1, 64) + " calls/s"
	}
	if a.MaxConcurrentCalls > 0 {
		calls = strconv.Itoa(a.MaxConcurrentCalls) + " live calls"
	}
	return cps + ", " + calls
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
