package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/dialerhq/dialer/internal/audit"
	"github.com/dialerhq/dialer/internal/auth"
	"github.com/redis/go-redis/v9"
)

const tokenUsage = "create --name NAME --scope read|export|operate|admin [--expires 90d]\n       dialer token list [--json]\n       dialer token revoke NAME|ID"

// runToken manages the bearer tokens of dialer serve's operator routes:
//
//	dialer token create --name NAME --scope read|export|operate|admin [--expires 90d]
//	dialer token list [--json]
//	dialer token revoke NAME|ID
func runToken(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "token", tokenUsage)
	if len(args) == 0 {
		return usageError(fs, "want create, list or revoke")
	}
	switch args[0] {
	case "create":
		return tokenCreate(ctx, e, fs, args[1:])
	case "list":
		return tokenList(ctx, e, fs, args[1:])
	case "revoke":
		return tokenRevoke(ctx, e, fs, args[1:])
	case "-h", "--help", "help":
		return showHelp(e, fs)
	}
	return usageError(fs, "token %q: want create, list or revoke", args[0])
}

// tokenCreate prints a new token on stdout, the only time it is shown.
func tokenCreate(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	name := fs.String("name", "", "whose token it is, e.g. crm-prod (letters, digits, . _ -)")
	scope := fs.String("scope", "", "read, export, operate or admin (each includes the ones before it)")
	expires := fs.String("expires", "", "lifetime: days (90d), a duration (12h) or never (default never)")
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	if *name == "" || *scope == "" || fs.NArg() > 0 {
		return usageError(fs, "token create needs --name and --scope")
	}
	sc, err := auth.ParseScope(*scope)
	if err != nil {
		return fmt.Errorf("%w: --scope: %v", errUsage, err)
	}
	ttl, err := auth.ParseTTL(*expires)
	if err != nil {
		return fmt.Errorf("%w: --expires: %v", errUsage, err)
	}
	return withRedis(ctx, e, func(rdb *redis.Client) error {
		secret, tok, err := auth.NewStore(rdb).Create(ctx, auth.CreateOptions{Name: *name, Scope: sc, TTL: ttl})
		if err != nil {
			return err
		}
		if err := auditCLI(ctx, rdb, audit.Entry{Action: "token create", Target: tok.Name, Scope: tok.Scope.String()}); err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, secret)
		until := "never expires"
		if !tok.ExpiresAt.IsZero() {
			until = "expires " + tok.ExpiresAt.Format(time.RFC3339)
		}
		fmt.Fprintf(e.stderr, "token %q (id %s, scope %s, %s) created; it is shown only this once: keep it in a secret store and send it as \"Authorization: Bearer TOKEN\"\n", tok.Name, tok.ID, tok.Scope, until)
		return nil
	})
}

// tokenList prints every token without its secret.
func tokenList(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	asJSON := fs.Bool("json", false, "print a JSON array of tokens (id, name, scope, createdAt, expiresAt, lastUsedAt)")
	if err := parseNoArgs(e, fs, args, "token list"); err != nil {
		return err
	}
	return withRedis(ctx, e, func(rdb *redis.Client) error {
		toks, err := auth.NewStore(rdb).List(ctx)
		if err != nil {
			return err
		}
		if done, err := printJSONOrNone(e, toks, *asJSON, "no tokens; dialer serve refuses operator routes to everyone but loopback callers until you create one with `dialer token create`"); done {
			return err
		}
		now := time.Now()
		tw := newTable(e.stdout, "NAME\tSCOPE\tID\tCREATED\tEXPIRES\tLAST USED")
		for _, t := range toks {
			expires := stamp(t.ExpiresAt, "never")
			if t.Expired(now) {
				expires += " (expired)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.Name, t.Scope, t.ID, stamp(t.CreatedAt, ""), expires, stamp(t.LastUsedAt, "never"))
		}
		return tw.Flush()
	})
}

func stamp(t time.Time, zero string) string {
	if t.IsZero() {
		return zero
	}
	return t.UTC().Format("2006-01-02 15:04Z")
}

// tokenRevoke deletes a token by name or ID; it fails from the next request on.
func tokenRevoke(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	arg, err := oneArg(e, fs, args, "token name or ID")
	if err != nil {
		return err
	}
	return withRedis(ctx, e, func(rdb *redis.Client) error {
		name, err := auth.NewStore(rdb).Revoke(ctx, arg)
		if err != nil {
			return err
		}
		if err := auditCLI(ctx, rdb, audit.Entry{Action: "token revoke", Target: name}); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "token %q revoked\n", name)
		return nil
	})
}
