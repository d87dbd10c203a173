package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/auth"
	"github.com/dialerhq/dialer/internal/problem"
	"github.com/dialerhq/dialer/internal/redistest"
	"github.com/google/go-cmp/cmp"
)

const testDB = 15

// clock is a settable clock for Store.Now.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func setup(tb testing.TB) (*auth.Store, *clock) {
	tb.Helper()
	rdb, _ := redistest.Setup(tb, testDB)
	c := &clock{t: time.Unix(1_800_000_000, 0)}
	s := auth.NewStore(rdb)
	s.Now = c.now
	return s, c
}

func mustCreate(tb testing.TB, s *auth.Store, name string, scope auth.Scope, ttl time.Duration) string {
	tb.Helper()
	secret, _, err := s.Create(context.Background(), auth.CreateOptions{Name: name, Scope: scope, TTL: ttl})
	if err != nil {
		tb.Fatal(err)
	}
	return secret
}

func TestScope(t *testing.T) {
	for _, tt := range []struct {
		name string
		want auth.Scope
		err  bool
	}{
		{name: "read", want: auth.ScopeRead},
		{name: "EXPORT", want: auth.ScopeExport},
		{name: "operate", want: auth.ScopeOperate},
		{name: "admin", want: auth.ScopeAdmin},
		{name: "root", err: true},
		{name: "", err: true},
	} {
		got, err := auth.ParseScope(tt.name)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseScope(%q) = %v, %v; want %v, error %v", tt.name, got, err, tt.want, tt.err)
		}
	}
	// Each scope includes exactly itself and the lower ones.
	for _, have := range auth.Scopes {
		for _, need := range auth.Scopes {
			if got, want := have.Includes(need), have >= need; got != want {
				t.Errorf("%s.Includes(%s) = %v", have, need, got)
			}
		}
		if auth.Scope(0).Includes(have) || have.Includes(0) {
			t.Errorf("the zero scope is included in or includes %s", have)
		}
	}
}

func TestStore(t *testing.T) {
	ctx := context.Background()
	t.Run("CreateVerifyRevoke", func(t *testing.T) {
		s, c := setup(t)
		if any, err := s.Any(ctx); err != nil || any {
			t.Fatalf("Any on an empty store = %v, %v", any, err)
		}
		secret := mustCreate(t, s, "crm", auth.ScopeOperate, 0)
		if !strings.HasPrefix(secret, auth.TokenPrefix) || len(secret) != len("dlr_")+16+1+43 {
			t.Fatalf("token %q has the wrong shape", secret)
		}
		tok, err := s.Verify(ctx, secret)
		if err != nil {
			t.Fatal(err)
		}
		if tok.Name != "crm" || tok.Scope != auth.ScopeOperate || !tok.LastUsedAt.Equal(c.t) {
			t.Errorf("Verify = %+v", tok)
		}
		if _, err := s.Verify(ctx, secret[:len(secret)-1]+"x"); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("Verify of a wrong secret: %v", err)
		}
		if name, err := s.Revoke(ctx, "crm"); err != nil || name != "crm" {
			t.Fatalf("Revoke = %q, %v", name, err)
		}
		if _, err := s.Verify(ctx, secret); !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("Verify after revoke: %v", err)
		}
		if _, err := s.Revoke(ctx, "crm"); !errors.Is(err, auth.ErrTokenNotFound) {
			t.Errorf("Revoke twice: %v", err)
		}
	})
	t.Run("RevokeByID", func(t *testing.T) {
		s, _ := setup(t)
		secret := mustCreate(t, s, "nightly", auth.ScopeRead, 0)
		id := secret[4:20]
		if name, err := s.Revoke(ctx, id); err != nil || name != "nightly" {
			t.Fatalf("Revoke(%s) = %q, %v", id, name, err)
		}
		if toks, _ := s.List(ctx); len(toks) != 0 {
			t.Errorf("List after revoke = %v", toks)
		}
	})
	t.Run("Expiry", func(t *testing.T) {
		s, c := setup(t)
		secret := mustCreate(t, s, "temp", auth.ScopeRead, time.Hour)
		c.t = c.t.Add(time.Hour - time.Millisecond)
		if _, err := s.Verify(ctx, secret); err != nil {
			t.Fatalf("Verify just before expiry: %v", err)
		}
		c.t = c.t.Add(time.Millisecond)
		_, err := s.Verify(ctx, secret)
		if !errors.Is(err, auth.ErrTokenExpired) {
			t.Fatalf("Verify at expiry: %v", err)
		}
		if strings.Contains(err.Error(), secret[20:]) {
			t.Errorf("the error %q holds the secret", err)
		}
	})
	t.Run("ListWithoutSecrets", func(t *testing.T) {
		s, c := setup(t)
		created := c.t.UTC()
		a := mustCreate(t, s, "b-reader", auth.ScopeRead, 24*time.Hour)
		mustCreate(t, s, "a-admin", auth.ScopeAdmin, 0)
		c.t = c.t.Add(2 * time.Minute)
		if _, err := s.Verify(ctx, a); err != nil {
			t.Fatal(err)
		}
		toks, err := s.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for i := range toks {
			toks[i].ID = ""
		}
		want := []auth.Token{
			{Name: "a-admin", Scope: auth.ScopeAdmin, CreatedAt: created},
			{Name: "b-reader", Scope: auth.ScopeRead, CreatedAt: created, ExpiresAt: created.Add(24 * time.Hour), LastUsedAt: c.t.UTC()},
		}
		if diff := cmp.Diff(want, toks); diff != "" {
			t.Errorf("List (-want +got):\n%s", diff)
		}
	})
	t.Run("RefusesBadOptions", func(t *testing.T) {
		s, _ := setup(t)
		mustCreate(t, s, "dup", auth.ScopeRead, 0)
		for _, tt := range []struct {
			opt  auth.CreateOptions
			want string
		}{
			{auth.CreateOptions{Name: "dup", Scope: auth.ScopeRead}, "exists"},
			{auth.CreateOptions{Name: "", Scope: auth.ScopeRead}, "token name"},
			{auth.CreateOptions{Name: "a b", Scope: auth.ScopeRead}, "token name"},
			{auth.CreateOptions{Name: "x"}, "token scope"},
			{auth.CreateOptions{Name: "x", Scope: auth.ScopeRead, TTL: -time.Second}, "expiry"},
		} {
			if _, _, err := s.Create(ctx, tt.opt); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Create(%+v) = %v; want an error with %q", tt.opt, err, tt.want)
			}
		}
	})
	t.Run("Malformed", func(t *testing.T) {
		s, _ := setup(t)
		for _, tok := range []string{"", "dlr_", "dlr_zzzzzzzzzzzzzzzz_" + strings.Repeat("a", 43), "Bearer x", strings.Repeat("a", 64)} {
			if _, err := s.Verify(ctx, tok); !errors.Is(err, auth.ErrInvalidToken) {
				t.Errorf("Verify(%q) = %v", tok, err)
			}
		}
	})
}

func TestParseTTL(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{in: "90d", want: 90 * 24 * time.Hour},
		{in: "12h", want: 12 * time.Hour},
		{in: "never"},
		{in: ""},
		{in: "0d", err: true},
		{in: "-1h", err: true},
		{in: "soon", err: true},
	} {
		got, err := auth.ParseTTL(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseTTL(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

// whoami answers with the caller's name and scope.
var whoami = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.FromContext(r.Context())
	_, _ = w.Write([]byte(p.Name + " " + p.Scope.String() + " " + p.Method))
})

// problemType returns the type of the problem document rec holds, "" for a body that is not
// one (a 200's).
func problemType(tb testing.TB, rec *httptest.ResponseRecorder) string {
	tb.Helper()
	var p problem.Problem
	if rec.Header().Get("Content-Type") != problem.ContentType {
		return ""
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		tb.Fatalf("problem document %q: %v", rec.Body, err)
	}
	return p.Type
}

func serve(tb testing.TB, a *auth.Authenticator, req *http.Request) *httptest.ResponseRecorder {
	tb.Helper()
	mux := http.NewServeMux()
	a.Mount(mux, []auth.Route{
		{Pattern: "GET /read", Scope: auth.ScopeRead, Handler: whoami},
		{Pattern: "POST /operate", Scope: auth.ScopeOperate, Handler: whoami},
		{Pattern: "GET /open", Public: true, Handler: whoami},
	})
	rec := httptest.NewRecorder()
	auth.CrossOrigin(mux).ServeHTTP(rec, req)
	return rec
}

func request(method, path, remote, authz string) *http.Request {
	r := httptest.NewRequest(method, path, nil)
	r.RemoteAddr = remote
	if authz != "" {
		r.Header.Set("Authorization", authz)
	}
	return r
}

func TestMiddleware(t *testing.T) {
	const public, local = "203.0.113.7:5000", "127.0.0.1:5000"
	t.Run("Scopes", func(t *testing.T) {
		s, _ := setup(t)
		a, err := auth.New(auth.Config{Tokens: s, LocalOpen: true})
		if err != nil {
			t.Fatal(err)
		}
		reader := mustCreate(t, s, "reader", auth.ScopeRead, 0)
		operator := mustCreate(t, s, "op", auth.ScopeOperate, 0)
		for _, tt := range []struct {
			name, method, path, remote, authz string
			want                              int
			body                              string
		}{
			{"reader reads", "GET", "/read", public, "Bearer " + reader, 200, "reader read bearer"},
			{"reader cannot operate", "POST", "/operate", public, "Bearer " + reader, 403, "needs operate: use a token of scope operate or higher (`dialer token create --scope operate`"},
			{"operator operates", "POST", "/operate", public, "Bearer " + operator, 200, "op operate bearer"},
			{"basic auth", "GET", "/read", public, "Basic " + basic("any", reader), 200, "reader read basic"},
			{"anonymous", "GET", "/read", public, "", 401, "Authorization: Bearer"},
			{"a token exists, so loopback is closed", "GET", "/read", local, "", 401, "Authorization: Bearer"},
			{"public route", "GET", "/open", public, "", 200, "none"},
			{"wrong scheme", "GET", "/read", public, "Token abc", 401, "Bearer TOKEN"},
			{"bad token", "GET", "/read", public, "Bearer dlr_nonsense", 401, "not valid"},
		} {
			rec := serve(t, a, request(tt.method, tt.path, tt.remote, tt.authz))
			if rec.Code != tt.want || !strings.Contains(rec.Body.String(), tt.body) {
				t.Errorf("%s: %d %s; want %d with %q", tt.name, rec.Code, rec.Body, tt.want, tt.body)
			}
			if rec.Code == 401 && !strings.HasPrefix(rec.Header().Get("Www-Authenticate"), "Bearer") {
				t.Errorf("%s: 401 without a Bearer challenge", tt.name)
			}
			if rec.Code >= 400 && rec.Header().Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s: Content-Type %q", tt.name, rec.Header().Get("Content-Type"))
			}
			wantType := map[int]string{401: problem.TypeUnauthenticated, 403: problem.TypeForbidden}[rec.Code]
			if got := problemType(t, rec); got != wantType {
				t.Errorf("%s: %d with problem type %q, want %q", tt.name, rec.Code, got, wantType)
			}
		}
	})
	t.Run("LocalOpenWhileNoToken", func(t *testing.T) {
		s, _ := setup(t)
		a, _ := auth.New(auth.Config{Tokens: s, LocalOpen: true})
		if rec := serve(t, a, request("POST", "/operate", local, "")); rec.Code != 200 || rec.Body.String() != "local admin local" {
			t.Errorf("loopback without tokens: %d %s", rec.Code, rec.Body)
		}
		if rec := serve(t, a, request("POST", "/operate", "[::1]:80", "")); rec.Code != 200 {
			t.Errorf("IPv6 loopback without tokens: %d %s", rec.Code, rec.Body)
		}
		if rec := serve(t, a, request("GET", "/read", public, "")); rec.Code != 401 {
			t.Errorf("a remote caller without tokens: %d %s", rec.Code, rec.Body)
		}
		closed, _ := auth.New(auth.Config{Tokens: s})
		if rec := serve(t, closed, request("GET", "/read", local, "")); rec.Code != 401 {
			t.Errorf("loopback without LocalOpen: %d %s", rec.Code, rec.Body)
		}
	})
	t.Run("Insecure", func(t *testing.T) {
		s, _ := setup(t)
		reader := mustCreate(t, s, "reader", auth.ScopeRead, 0)
		a, _ := auth.New(auth.Config{Tokens: s, Insecure: true})
		if rec := serve(t, a, request("POST", "/operate", public, "")); rec.Code != 200 || rec.Body.String() != "anonymous admin insecure" {
			t.Errorf("--insecure-no-auth: %d %s", rec.Code, rec.Body)
		}
		// A token presented is still checked and its scope applies.
		if rec := serve(t, a, request("POST", "/operate", public, "Bearer "+reader)); rec.Code != 403 {
			t.Errorf("--insecure-no-auth with a read token: %d %s", rec.Code, rec.Body)
		}
	})
	t.Run("FailureRateLimit", func(t *testing.T) {
		s, _ := setup(t)
		good := mustCreate(t, s, "good", auth.ScopeRead, 0)
		a, _ := auth.New(auth.Config{Tokens: s, FailureLimit: 3})
		for i := range 3 {
			if rec := serve(t, a, request("GET", "/read", public, "Bearer dlr_guess")); rec.Code != 401 {
				t.Fatalf("guess %d: %d", i+1, rec.Code)
			}
		}
		rec := serve(t, a, request("GET", "/read", public, "Bearer "+good))
		if rec.Code != 429 || rec.Header().Get("Retry-After") == "" || problemType(t, rec) != problem.TypeRateLimited {
			t.Errorf("after 3 failures, a good token from the same address: %d %s; want 429 of type %s with Retry-After", rec.Code, rec.Body, problem.TypeRateLimited)
		}
		if rec := serve(t, a, request("GET", "/read", "198.51.100.9:1", "Bearer "+good)); rec.Code != 200 {
			t.Errorf("another address: %d %s", rec.Code, rec.Body)
		}
	})
	t.Run("CrossOrigin", func(t *testing.T) {
		s, _ := setup(t)
		operator := mustCreate(t, s, "op", auth.ScopeOperate, 0)
		insecure, _ := auth.New(auth.Config{Tokens: s, Insecure: true})
		forged := func(authz string) *http.Request {
			r := request("POST", "/operate", public, authz)
			r.Host = "dialer.internal:8080"
			r.Header.Set("Origin", "http://evil.example")
			r.Header.Set("Content-Type", "text/plain")
			return r
		}
		if rec := serve(t, insecure, forged("")); rec.Code != 403 || !strings.Contains(rec.Body.String(), "cross-origin") {
			t.Errorf("a cross-origin POST on ambient credentials: %d %s", rec.Code, rec.Body)
		}
		if rec := serve(t, insecure, forged("Basic "+basic("x", operator))); rec.Code != 403 {
			t.Errorf("a cross-origin POST with Basic auth: %d %s", rec.Code, rec.Body)
		}
		if rec := serve(t, insecure, forged("Bearer "+operator)); rec.Code != 200 {
			t.Errorf("a cross-origin POST with a bearer token: %d %s", rec.Code, rec.Body)
		}
		same := forged("")
		same.Header.Set("Origin", "http://dialer.internal:8080")
		if rec := serve(t, insecure, same); rec.Code != 200 {
			t.Errorf("a same-origin POST: %d %s", rec.Code, rec.Body)
		}
	})
}

func basic(user, pw string) string {
	r, _ := http.NewRequest("GET", "/", nil)
	r.SetBasicAuth(user, pw)
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Basic ")
}
