package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/dialerhq/dialer/internal/problem"
	"github.com/go-chi/httprate"
)

// ErrUnauthenticated is returned by Require for a request without a Principal.
var ErrUnauthenticated = errors.New("authentication required")

// ErrForbidden is returned by Require for a Principal whose scope is too low.
var ErrForbidden = errors.New("scope too low")

// Config configures an Authenticator.
type Config struct {
	// Tokens verifies bearer tokens. Required.
	Tokens *Store
	// LocalOpen lets a caller without credentials in as admin ("local") while no token
	// exists, when it connects from a loopback address. dialer serve sets it when its
	// operator listener is on a loopback address. Defaults to false.
	LocalOpen bool
	// Insecure lets every caller without credentials in as admin ("anonymous"): the
	// --insecure-no-auth flag. Defaults to false.
	Insecure bool
	// FailureLimit is how many failed authentications one client address may make per
	// FailureWindow before its requests with credentials get 429. Defaults to 10.
	FailureLimit int
	// FailureWindow is the window of FailureLimit. Defaults to 1 minute.
	FailureWindow time.Duration
	// Failures counts the failed authentications, when it is to be shared with another
	// sign-in (the console's form). Defaults to NewFailures(FailureLimit, FailureWindow);
	// when set, its own limit and window apply.
	Failures *Failures
	// Logger receives one line per failed authentication (never the token). Defaults to
	// discarding.
	Logger *slog.Logger
	// Observe, when set, wraps the handler of each non-public route that Mount registers,
	// inside the authentication and outside the scope check, so it sees the Principal and
	// the refusals of RequireScope: dialer serve records state-changing calls in the audit
	// log there. Defaults to none.
	Observe func(pattern string, next http.Handler) http.Handler
}

// WithDefaults returns c with its zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.FailureLimit == 0 {
		c.FailureLimit = 10
	}
	if c.FailureWindow == 0 {
		c.FailureWindow = time.Minute
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Failures == nil {
		c.Failures = NewFailures(c.FailureLimit, c.FailureWindow)
	}
	return c
}

// Validate reports the first field of c that is wrong.
func (c Config) Validate() error {
	switch {
	case c.Tokens == nil:
		return errors.New("auth.Config.Tokens is required")
	case c.FailureLimit < 1:
		return fmt.Errorf("auth.Config.FailureLimit %d: want at least 1", c.FailureLimit)
	case c.FailureWindow <= 0:
		return fmt.Errorf("auth.Config.FailureWindow %s: want a positive duration", c.FailureWindow)
	}
	return nil
}

// Authenticator authenticates the requests of dialer serve's operator routes.
type Authenticator struct {
	cfg      Config
	failures *Failures

	mu       sync.Mutex
	anyToken bool
	anyUntil time.Time
}

// New returns an Authenticator for cfg (after WithDefaults), or the error of Validate.
func New(cfg Config) (*Authenticator, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Authenticator{
		cfg:      cfg,
		failures: cfg.Failures,
	}, nil
}

// Middleware puts the caller's Principal in the request context and calls next, or answers
// with a problem document:
//   - a request carrying a Principal already (from another middleware) goes through;
//   - "Authorization: Bearer TOKEN", or Basic auth with the token as password, must verify:
//     401 when it does not, 429 when the client address has failed too often lately, 503
//     when Redis does not answer;
//   - a request without credentials goes on without a Principal (so RequireScope refuses
//     it), unless Config.Insecure, or Config.LocalOpen for a loopback caller while no token
//     exists, lets it in as admin.
func (a *Authenticator) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := FromContext(r.Context()); ok {
			next.ServeHTTP(w, r)
			return
		}
		token, method, present := credentials(r)
		if !present {
			if p, ok := a.anonymous(r); ok {
				r = r.WithContext(WithPrincipal(r.Context(), p))
			}
			next.ServeHTTP(w, r)
			return
		}
		client := clientAddr(r)
		if wait, limited := a.failures.Limited(r); limited {
			p := problem.Typed(http.StatusTooManyRequests, problem.TypeRateLimited, fmt.Sprintf("too many failed authentications from %s; wait and retry with a valid token", client))
			p.RetryAfter = int(wait.Seconds())
			problem.Write(w, p)
			return
		}
		if method == "" {
			a.fail(w, r, client, "the Authorization header must be \"Bearer TOKEN\" (or Basic auth with the token as password)")
			return
		}
		tok, err := a.cfg.Tokens.Verify(r.Context(), token)
		switch {
		case errors.Is(err, ErrInvalidToken):
			a.fail(w, r, client, "the token is not valid: it is malformed, unknown or revoked; `dialer token list` shows the tokens that exist")
			return
		case errors.Is(err, ErrTokenExpired):
			a.fail(w, r, client, err.Error())
			return
		case err != nil && r.Context().Err() != nil:
			return // the caller has gone
		case err != nil:
			a.cfg.Logger.Error("authentication: token store unavailable", "err", err)
			problem.Write(w, problem.Typed(http.StatusServiceUnavailable, problem.TypeUnavailable, "tokens cannot be checked: Redis does not answer; retry shortly"))
			return
		}
		p := Principal{Name: tok.Name, Scope: tok.Scope, TokenID: tok.ID, Method: method}
		next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
	})
}

// fail counts a failed authentication of client and answers 401.
func (a *Authenticator) fail(w http.ResponseWriter, r *http.Request, client, detail string) {
	a.failures.Add(w, r)
	a.cfg.Logger.Info("authentication failed", "client", client, "method", r.Method, "path", r.URL.Path, "reason", detail)
	writeUnauthenticated(w, r, detail)
}

// anonymous returns the Principal of a caller without credentials, when one is let in.
func (a *Authenticator) anonymous(r *http.Request) (Principal, bool) {
	if a.cfg.Insecure {
		return Principal{Name: "anonymous", Scope: ScopeAdmin, Method: MethodInsecure}, true
	}
	if a.cfg.LocalOpen && isLoopback(r.RemoteAddr) && !a.anyTokens(r.Context()) {
		return Principal{Name: "local", Scope: ScopeAdmin, Method: MethodLocal}, true
	}
	return Principal{}, false
}

// anyTokens reports whether a token exists, reading Redis at most once a second; it says
// yes when Redis does not answer, so that an outage never opens the door.
func (a *Authenticator) anyTokens(ctx context.Context) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if now := time.Now(); now.Before(a.anyUntil) {
		return a.anyToken
	}
	anyToken, err := a.cfg.Tokens.Any(ctx)
	if err != nil {
		return true
	}
	a.anyToken, a.anyUntil = anyToken, time.Now().Add(time.Second)
	return anyToken
}

// credentials returns the token a request carries and how: MethodBearer or MethodBasic.
// present is true when there is an Authorization header at all; method is empty when its
// scheme is neither.
func credentials(r *http.Request) (token, method string, present bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", "", false
	}
	scheme, rest, _ := strings.Cut(h, " ")
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		return strings.TrimSpace(rest), MethodBearer, true
	case strings.EqualFold(scheme, "Basic"):
		if _, pw, ok := r.BasicAuth(); ok {
			return pw, MethodBasic, true
		}
	}
	return "", "", true
}

// HasBearer reports whether r carries an "Authorization: Bearer" header: a credential a
// browser never sends by itself, so such a request cannot be a cross-site forgery.
func HasBearer(r *http.Request) bool {
	_, method, _ := credentials(r)
	return method == MethodBearer
}

// clientAddr is the address failed authentications are counted against: the connection's
// IP (X-Forwarded-For is not trusted: any caller could set it).
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return httprate.CanonicalizeIP(host)
}

func isLoopback(remoteAddr string) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Require returns nil when ctx's Principal holds need, ErrUnauthenticated (wrapped) when
// there is no Principal, and ErrForbidden (wrapped, naming both scopes) when its scope is
// lower.
func Require(ctx context.Context, need Scope) error {
	p, ok := FromContext(ctx)
	if !ok {
		return ErrUnauthenticated
	}
	if !p.Scope.Includes(need) {
		return fmt.Errorf("%w: %q has scope %s; this needs %s: use a token of scope %s or higher (`dialer token create --scope %s` makes one)", ErrForbidden, p.Name, p.Scope, need, need, need)
	}
	return nil
}

// RequireScope returns middleware that calls next only for a Principal holding need, and
// answers 401 (no Principal) or 403 (scope too low) with a problem document otherwise.
func RequireScope(need Scope) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			err := Require(r.Context(), need)
			switch {
			case err == nil:
				next.ServeHTTP(w, r)
			case errors.Is(err, ErrUnauthenticated):
				writeUnauthenticated(w, r, "send a token as \"Authorization: Bearer TOKEN\"; `dialer token create --name NAME --scope "+need.String()+"` makes one")
			default:
				problem.Write(w, problem.Typed(http.StatusForbidden, problem.TypeForbidden, err.Error()))
			}
		})
	}
}

// writeUnauthenticated answers 401 with a Bearer challenge, and a Basic one too for a
// browser, which then asks its user for the token.
func writeUnauthenticated(w http.ResponseWriter, r *http.Request, detail string) {
	p := problem.Typed(http.StatusUnauthorized, problem.TypeUnauthenticated, detail)
	p.Headers = http.Header{"Www-Authenticate": {`Bearer realm="dialer"`}}
	if strings.Contains(r.Header.Get("Accept"), "text/html") {
		p.Headers.Add("Www-Authenticate", `Basic realm="dialer", charset="UTF-8"`)
	}
	problem.Write(w, p)
}
