package main

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/dialerhq/dialer/internal/auth"
	"github.com/dialerhq/dialer/internal/queue"
	"github.com/hibiken/asynq"
)

// setupServe builds dialer serve's handlers on a clean database, and its token store.
func setupServe(t *testing.T) (*serveHandlers, *auth.Store) {
	t.Helper()
	rdb, e, _, _ := redisEnv(t)
	ac := asynq.NewClientFromRedisClient(rdb)
	if _, err := ac.Enqueue(asynq.NewTask("test", nil), asynq.Queue(queue.Name)); err != nil {
		t.Fatal(err)
	}
	h, err := newServeHandlers(t.Context(), e, rdb, "whsec-test", slog.New(slog.DiscardHandler), consoleConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h, auth.NewStore(rdb)
}

var wildcard = regexp.MustCompile(`\{[^}]*\}`)

// requestFor returns a request that route pattern matches, with method when the pattern
// names none: "GET /api/v1/campaigns/{id}" -> GET /api/v1/campaigns/x.
func requestFor(pattern, method string) *http.Request {
	m, path, ok := strings.Cut(pattern, " ")
	if !ok {
		path, m = pattern, method
	}
	path = strings.ReplaceAll(path, "{$}", "")
	path = wildcard.ReplaceAllString(path, "1")
	r := httptest.NewRequest(m, path, nil)
	r.RemoteAddr = "203.0.113.7:40000"
	return r
}

func mustToken(t *testing.T, s *auth.Store, name string, scope auth.Scope) string {
	t.Helper()
	secret, _, err := s.Create(t.Context(), auth.CreateOptions{Name: name, Scope: scope})
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

// TestServeRoutesNeedCredentials walks the route table: every route but the public ones
// answers 401 to a caller without a token, and the public ones are exactly the webhook
// receiver, /healthz, the console's sign-in and sign-out, and its static files.
func TestServeRoutesNeedCredentials(t *testing.T) {
	h, tokens := setupServe(t)
	mustToken(t, tokens, "someone", auth.ScopeAdmin)
	a, err := auth.New(auth.Config{Tokens: tokens, LocalOpen: true})
	if err != nil {
		t.Fatal(err)
	}
	handler := serveMux(a, h.routes(), true)
	var public []string
	for _, rt := range h.routes() {
		if rt.Public {
			public = append(public, rt.Pattern)
			continue
		}
		for _, remote := range []string{"203.0.113.7:40000", "127.0.0.1:40000"} {
			r := requestFor(rt.Pattern, http.MethodGet)
			r.RemoteAddr = remote
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, r)
			if rec.Code != http.StatusUnauthorized || rec.Header().Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s %s from %s without a token: %d %s", r.Method, r.URL.Path, remote, rec.Code, rec.Body)
			}
		}
	}
	if got := strings.Join(public, ", "); got != "POST /webhooks/interactly, GET /healthz, GET /static/, GET /signin, POST /signin, POST /signout" {
		t.Errorf("public routes: %s", got)
	}
}

// TestServeRoutesRefuseCrossOrigin walks the route table with a forged cross-site request
// of every state-changing method, made on ambient credentials (--insecure-no-auth, and
// Basic auth, which a browser resends by itself): each is refused. The same request with a
// bearer token is not.
func TestServeRoutesRefuseCrossOrigin(t *testing.T) {
	h, tokens := setupServe(t)
	admin := mustToken(t, tokens, "admin", auth.ScopeAdmin)
	a, err := auth.New(auth.Config{Tokens: tokens, Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	handler := serveMux(a, h.routes(), true)
	walked := 0
	for _, rt := range h.routes() {
		methods := []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}
		if m, _, ok := strings.Cut(rt.Pattern, " "); ok {
			methods = []string{m}
		}
		for _, m := range methods {
			if m == http.MethodGet || m == http.MethodHead {
				continue
			}
			for _, cred := range []string{"", "Basic " + basicAuth(admin)} {
				r := requestFor(rt.Pattern, m)
				r.Host = "dialer.internal:8080"
				r.Header.Set("Origin", "http://evil.example")
				r.Header.Set("Content-Type", "text/plain")
				if cred != "" {
					r.Header.Set("Authorization", cred)
				}
				rec := httptest.NewRecorder()
				handler.ServeHTTP(rec, r)
				if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "cross-origin") {
					t.Errorf("cross-origin %s %s (%q): %d %s", m, r.URL.Path, cred, rec.Code, rec.Body)
				}
				walked++
			}
			r := requestFor(rt.Pattern, m)
			r.Header.Set("Origin", "http://evil.example")
			r.Header.Set("Authorization", "Bearer "+admin)
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, r)
			if strings.Contains(rec.Body.String(), "cross-origin") {
				t.Errorf("cross-origin %s %s with a bearer token was refused: %d %s", m, r.URL.Path, rec.Code, rec.Body)
			}
		}
	}
	if walked == 0 {
		t.Fatal("no state-changing route walked")
	}
}

// TestServeMonitoringScopes pins that asynqmon is read-only for every scope but admin, and
// that the public address under --admin-addr serves no operator route.
func TestServeMonitoringScopes(t *testing.T) {
	h, tokens := setupServe(t)
	reader := mustToken(t, tokens, "reader", auth.ScopeRead)
	operator := mustToken(t, tokens, "operator", auth.ScopeOperate)
	admin := mustToken(t, tokens, "admin", auth.ScopeAdmin)
	a, err := auth.New(auth.Config{Tokens: tokens})
	if err != nil {
		t.Fatal(err)
	}
	handler := serveMux(a, h.routes(), true)
	do := func(method, path, token string) int {
		r := httptest.NewRequest(method, path, nil)
		r.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, r)
		return rec.Code
	}
	const deleteAll = "/monitoring/api/queues/dialer/pending_tasks:delete_all"
	for _, tt := range []struct {
		method, path, token string
		want                int
	}{
		{"GET", "/monitoring/api/queues", reader, 200},
		{"GET", "/metrics", reader, 200},
		{"DELETE", deleteAll, reader, 405},
		{"DELETE", deleteAll, operator, 405},
		{"DELETE", deleteAll, admin, 200},
	} {
		if got := do(tt.method, tt.path, tt.token); got != tt.want {
			t.Errorf("%s %s: %d, want %d", tt.method, tt.path, got, tt.want)
		}
	}

	public := serveMux(a, h.routes(), false)
	for _, path := range []string{"/metrics", "/monitoring/api/queues"} {
		r := httptest.NewRequest("GET", path, nil)
		r.Header.Set("Authorization", "Bearer "+admin)
		rec := httptest.NewRecorder()
		public.ServeHTTP(rec, r)
		if rec.Code != http.StatusNotFound {
			t.Errorf("GET %s on the public address under --admin-addr: %d", path, rec.Code)
		}
	}
}

func basicAuth(password string) string {
	r, _ := http.NewRequest("GET", "/", nil)
	r.SetBasicAuth("operator", password)
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Basic ")
}
