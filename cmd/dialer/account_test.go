package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/dialerhq/dialer/internal/account"
)

func TestAccountSetListAndUpload(t *testing.T) {
	_, e, stdout, _ := redisEnv(t)
	dir := t.TempDir()
	west := writeFile(t, dir, "west.yaml", fastCampaign+"account: west-clinics\npriority: 2\nweight: 3\n")
	contactsPath := writeFile(t, dir, "c.csv", fastContacts)
	run := mustRunner(t, e, stdout)

	// A campaign naming an account that is not set is refused, with the command to set it.
	err := dispatch(t.Context(), e, []string{"upload", "--campaign", west, "--contacts", contactsPath})
	if !errors.Is(err, account.ErrNotFound) || !strings.Contains(err.Error(), "dialer account set west-clinics --api-key-env") {
		t.Fatalf("upload naming an unset account: %v; want account.ErrNotFound and how to set it", err)
	}
	// Another account than the default needs its key's variable.
	if err := dispatch(t.Context(), e, []string{"account", "set", "west-clinics", "--cps", "5"}); !errors.Is(err, errUsage) {
		t.Fatalf("account set without --api-key-env: %v; want a usage error", err)
	}
	if out := run("account", "set", "west-clinics", "--api-key-env", "WEST_KEY", "--cps", "5", "--max-calls", "3"); !strings.Contains(out, "key in $WEST_KEY, 5 calls/s, 3 live calls") {
		t.Errorf("account set printed %q", out)
	}
	run("account", "set", "default", "--max-calls", "7")
	out := run("account", "list")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "default") || !strings.Contains(lines[1], "$INTERACTLY_API_KEY") ||
		!strings.Contains(lines[1], "7 live calls") || !strings.Contains(lines[2], "west-clinics") {
		t.Fatalf("account list = %q; want default (INTERACTLY_API_KEY, 7 live calls) then west-clinics", out)
	}
	if strings.Contains(out, "secret") {
		t.Fatalf("account list shows a key: %q", out)
	}

	fields := strings.Fields(run("upload", "--campaign", west, "--contacts", contactsPath))
	id := fields[len(fields)-1]
	if out := run("status", id); !strings.Contains(out, "account    west-clinics, priority 2, weight 3") {
		t.Errorf("status = %q; want the account, priority and weight", out)
	}
	if out := run("list"); !strings.Contains(out, "west-clinics") || !strings.Contains(out, "2/3") {
		t.Errorf("list = %q; want the account and priority/weight 2/3", out)
	}
}
