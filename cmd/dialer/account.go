package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/dialerhq/dialer/internal/account"
	"github.com/dialerhq/dialer/internal/operator"
	"github.com/redis/go-redis/v9"
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
	return withOperator(ctx, e, operator.Config{}, func(rdb *redis.Client, op *operator.Operator) error {
		// An empty --api-key-env keeps the variable an earlier set named.
		a, err := op.SetAccount(ctx, account.Account{Name: name, APIKeyEnv: *env, CallsPerSecond: *cps, MaxConcurrentCalls: *maxCalls})
		if errors.Is(err, operator.ErrAPIKeyEnvRequired) {
			return usageError(fs, "account %s: --api-key-env is required: name the environment variable that holds its API key", name)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "account %s set: key in $%s, %s; workers apply it within 5s\n", name, a.APIKeyEnv, a.Limits())
		return nil
	})
}

func runAccountList(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "account list", "")
	if err := parseNoArgs(e, fs, args, "account list"); err != nil {
		return err
	}
	return withOperator(ctx, e, operator.Config{}, func(rdb *redis.Client, op *operator.Operator) error {
		accts, err := op.Accounts(ctx)
		if err != nil {
			return err
		}
		tw := newTable(e.stdout, "ACCOUNT\tAPI KEY IN\tLIMITS\tCAMPAIGNS")
		for _, a := range accts {
			key := "(not set)"
			if a.APIKeyEnv != "" {
				key = "$" + a.APIKeyEnv
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d active (%d live calls), %d done\n", a.Name, key, a.Limits(), len(a.Campaigns), a.LiveCalls, a.Done)
		}
		return tw.Flush()
	})
}
