package main

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/dialerhq/dialer/internal/auth"
)

func TestToken(t *testing.T) {
	rdb, e, stdout, stderr := redisEnv(t)
	if err := dispatch(t.Context(), e, []string{"token", "create", "--name", "crm", "--scope", "operate", "--expires", "90d"}); err != nil {
		t.Fatal(err)
	}
	secret := strings.TrimSpace(stdout.String())
	if !strings.HasPrefix(secret, auth.TokenPrefix) || strings.Contains(stderr.String(), secret) {
		t.Fatalf("stdout %q, stderr %q: want the token on stdout only", stdout, stderr)
	}
	if tok, err := auth.NewStore(rdb).Verify(t.Context(), secret); err != nil || tok.Scope != auth.ScopeOperate || tok.ExpiresAt.Sub(tok.CreatedAt).Hours() != 90*24 {
		t.Fatalf("Verify(the printed token) = %+v, %v", tok, err)
	}

	stdout.Reset()
	if err := dispatch(t.Context(), e, []string{"token", "list", "--json"}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stdout.String(), secret[20:]) {
		t.Error("token list printed the secret")
	}
	var toks []auth.Token
	if err := json.Unmarshal(stdout.Bytes(), &toks); err != nil || len(toks) != 1 || toks[0].Name != "crm" {
		t.Fatalf("token list --json = %s (%v)", stdout, err)
	}

	stdout.Reset()
	if err := dispatch(t.Context(), e, []string{"token", "list"}); err != nil || !strings.Contains(stdout.String(), "crm") || !strings.Contains(stdout.String(), "operate") {
		t.Fatalf("token list = %s, %v", stdout, err)
	}

	for _, args := range [][]string{
		{"token", "create", "--name", "x", "--scope", "root"},
		{"token", "create", "--name", "x", "--scope", "read", "--expires", "soon"},
		{"token", "create", "--scope", "read"},
	} {
		if err := dispatch(t.Context(), e, args); !errors.Is(err, errUsage) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
	if err := dispatch(t.Context(), e, []string{"token", "create", "--name", "crm", "--scope", "read"}); !errors.Is(err, auth.ErrTokenExists) {
		t.Errorf("a second token named crm: %v", err)
	}

	stdout.Reset()
	if err := dispatch(t.Context(), e, []string{"token", "revoke", "crm"}); err != nil || !strings.Contains(stdout.String(), `"crm" revoked`) {
		t.Fatalf("token revoke = %s, %v", stdout, err)
	}
	if _, err := auth.NewStore(rdb).Verify(t.Context(), secret); !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("Verify after revoke: %v", err)
	}
	if err := dispatch(t.Context(), e, []string{"token", "revoke", "crm"}); !errors.Is(err, auth.ErrTokenNotFound) {
		t.Errorf("revoke twice: %v", err)
	}
}
