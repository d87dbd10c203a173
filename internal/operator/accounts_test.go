package operator

import (
	"errors"
	"testing"

	"github.com/dialerhq/dialer/internal/account"
	"github.com/dialerhq/dialer/internal/redistest"
	"github.com/dialerhq/dialer/internal/testutil"
)

// TestAccounts: SetAccount keeps an earlier variable when none is given and refuses an
// account without one; Accounts puts each campaign under its account, and one whose account
// was removed under that name, without a variable.
func TestAccounts(t *testing.T) {
	rdb, _ := redistest.Setup(t, testDB)
	op := New(rdb, Config{Now: testutil.Now})
	t.Cleanup(func() { op.Close() })
	ctx := t.Context()

	var fe *account.FieldError
	if _, err := op.SetAccount(ctx, account.Account{Name: "west", CallsPerSecond: 5}); !errors.Is(err, ErrAPIKeyEnvRequired) || !errors.As(err, &fe) || fe.Field != "apiKeyEnv" {
		t.Fatalf("an account without its key's variable: %v; want ErrAPIKeyEnvRequired for apiKeyEnv", err)
	}
	if _, err := op.SetAccount(ctx, account.Account{Name: "west", APIKeyEnv: "WEST_KEY", CallsPerSecond: 5}); err != nil {
		t.Fatal(err)
	}
	a, err := op.SetAccount(ctx, account.Account{Name: "west", MaxConcurrentCalls: 8})
	if err != nil || a.APIKeyEnv != "WEST_KEY" || a.CallsPerSecond != 0 || a.MaxConcurrentCalls != 8 {
		t.Fatalf("set again without the variable: %+v, %v; want WEST_KEY kept, 8 live calls", a, err)
	}
	if _, err := op.SetAccount(ctx, account.Account{Name: "west", CallsPerSecond: -1}); !errors.As(err, &fe) || fe.Field != "callsPerSecond" {
		t.Errorf("a negative rate: %v; want a FieldError for callsPerSecond", err)
	}

	f := mustExample(t)
	f.Account = "west"
	if _, err := op.Upload(ctx, f, "example.csv", openExample, UploadOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := op.Upload(ctx, mustExample(t), "example.csv", openExample, UploadOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := rdb.HDel(ctx, "dialer:accounts", "west").Err(); err != nil {
		t.Fatal(err)
	}
	if err := account.NewStore(rdb).Set(ctx, account.Account{Name: "east", APIKeyEnv: "EAST_KEY"}); err != nil {
		t.Fatal(err)
	}
	list, err := op.Accounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	env := map[string]string{}
	for _, u := range list {
		got[u.Name] = len(u.Campaigns) + u.Done
		env[u.Name] = u.APIKeyEnv
	}
	if len(list) != 3 || list[0].Name != account.Default || got[account.Default] != 1 || got["west"] != 1 || got["east"] != 0 || env["west"] != "" || env["east"] != "EAST_KEY" {
		t.Errorf("Accounts: %d accounts, campaigns %v, variables %v; want default 1, east 0, west 1 without a variable", len(list), got, env)
	}
}
