package console

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/dialerhq/dialer/internal/auth"
)

// SessionCookie is the name of the console's session cookie. It holds the token the user
// signed in with: HttpOnly, SameSite=Strict, Secure when the console is reached over HTTPS,
// and checked again (auth.Store.Verify) on every request, so a revoked or expired token
// ends the session at once.
const SessionCookie = "dialer_session"

// sessionTTL is how long a session cookie lasts, at most; a token that expires sooner ends
// it sooner.
const sessionTTL = 12 * time.Hour

// MethodSession and MethodProxy are the auth.Principal methods of a console session and of
// a user vouched for by a trusted single sign-on proxy.
const (
	MethodSession = "session"
	MethodProxy   = "proxy"
)

// Sessions is middleware for the whole server: a request without an Authorization header
// that carries a valid session cookie, or comes from a trusted proxy with X-Forwarded-User
// or X-Forwarded-Email, gets its auth.Principal before the route table's own authentication
// runs (which lets such a request through as is). A browser asking for a console page
// without credentials is sent to the sign-in page instead of getting a 401.
func (c *Console) Sessions(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			if p, ok := c.proxyUser(r); ok {
				r = r.WithContext(auth.WithPrincipal(r.Context(), p))
			} else if ck, err := r.Cookie(SessionCookie); err == nil && ck.Value != "" && c.cfg.Tokens != nil {
				tok, err := c.cfg.Tokens.Verify(r.Context(), ck.Value)
				switch {
				case err == nil:
					r = r.WithContext(auth.WithPrincipal(r.Context(), auth.Principal{Name: tok.Name, Scope: tok.Scope, TokenID: tok.ID, Method: MethodSession}))
				case errors.Is(err, auth.ErrInvalidToken), errors.Is(err, auth.ErrTokenExpired):
					clearSession(w, r)
				}
			}
		}
		if isPage(r) {
			w = &signInRedirect{ResponseWriter: w, r: r}
		}
		next.ServeHTTP(w, r)
	})
}

// proxyUser returns the Principal of a request that a trusted proxy (oauth2-proxy)
// vouches for: it comes from one of Config.TrustedProxies and carries X-Forwarded-User or
// X-Forwarded-Email. The user gets Config.ProxyScope.
func (c *Console) proxyUser(r *http.Request) (auth.Principal, bool) {
	if len(c.cfg.TrustedProxies) == 0 {
		return auth.Principal{}, false
	}
	user := strings.TrimSpace(r.Header.Get("X-Forwarded-Email"))
	if user == "" {
		user = strings.TrimSpace(r.Header.Get("X-Forwarded-User"))
	}
	if user == "" {
		return auth.Principal{}, false
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return auth.Principal{}, false
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return auth.Principal{}, false
	}
	for _, p := range c.cfg.TrustedProxies {
		if p.Contains(addr.Unmap()) {
			return auth.Principal{Name: user, Scope: c.cfg.ProxyScope, Method: MethodProxy}, true
		}
	}
	return auth.Principal{}, false
}

// isPage reports whether r is a browser asking for a console page.
func isPage(r *http.Request) bool {
	if r.Method != http.MethodGet || !strings.Contains(r.Header.Get("Accept"), "text/html") {
		return false
	}
	p := r.URL.Path
	for _, page := range []string{"/campaigns", "/drafts", "/suppression", "/schedules", "/accounts", "/tokens", "/audit"} {
		if p == page || strings.HasPrefix(p, page+"/") {
			return true
		}
	}
	return p == "/"
}

// signInRedirect turns the route table's 401 for a console page into a redirect to the
// sign-in page, which then comes back.
type signInRedirect struct {
	http.ResponseWriter
	r        *http.Request
	redirect bool
}

func (s *signInRedirect) WriteHeader(code int) {
	if code == http.StatusUnauthorized {
		s.redirect = true
		h := s.ResponseWriter.Header()
		for k := range h {
			delete(h, k)
		}
		h.Set("Location", "/signin?next="+url.QueryEscape(s.r.URL.RequestURI()))
		s.ResponseWriter.WriteHeader(http.StatusSeeOther)
		return
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *signInRedirect) Write(b []byte) (int, error) {
	if s.redirect {
		return len(b), nil
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (s *signInRedirect) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// SignInView is the sign-in page.
type SignInView struct {
	Page
	Next  string
	Error string
}

// signInForm shows the sign-in page.
func (c *Console) signInForm(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "signin", "", SignInView{Page: Page{Title: "Sign in"}, Next: safeNext(r.FormValue("next"))})
}

// signIn checks the token and starts a session.
func (c *Console) signIn(w http.ResponseWriter, r *http.Request) {
	token := strings.TrimSpace(r.PostFormValue("token"))
	next := safeNext(r.PostFormValue("next"))
	v := SignInView{Page: Page{Title: "Sign in"}, Next: next}
	if c.cfg.Tokens == nil {
		v.Error = "Sign-in is not set up on this server."
		c.render(w, r, http.StatusServiceUnavailable, "signin", "", v)
		return
	}
	if wait, limited := c.cfg.SignInFailures.Limited(r); limited {
		c.cfg.Logger.Info("console sign-in refused: too many failures", "client", r.RemoteAddr)
		v.Error = fmt.Sprintf("Too many failed sign-ins from this computer's address. Wait %s, then paste the token again; check it with whoever gave it to you.", waitText(wait))
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())))
		c.render(w, r, http.StatusTooManyRequests, "signin", "", v)
		return
	}
	tok, err := c.cfg.Tokens.Verify(r.Context(), token)
	switch {
	case token == "":
		v.Error = "Paste your token; an admin makes one with `dialer token create --name YOUR-NAME --scope operate`."
	case errors.Is(err, auth.ErrInvalidToken):
		v.Error = "That token is not valid: it is mistyped, unknown or revoked. Paste it again, or ask an admin for a new one."
	case errors.Is(err, auth.ErrTokenExpired):
		v.Error = "That token has expired; ask an admin for a new one."
	case err != nil:
		c.internalError(w, r, err)
		return
	}
	if v.Error != "" {
		if token != "" {
			c.cfg.SignInFailures.Add(w, r)
		}
		c.cfg.Logger.Info("console sign-in refused", "client", r.RemoteAddr)
		c.render(w, r, http.StatusUnauthorized, "signin", "", v)
		return
	}
	expires := c.cfg.Now().Add(sessionTTL)
	if !tok.ExpiresAt.IsZero() && tok.ExpiresAt.Before(expires) {
		expires = tok.ExpiresAt
	}
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: token, Path: "/", Expires: expires,
		HttpOnly: true, Secure: isHTTPS(r), SameSite: http.SameSiteStrictMode,
	})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// waitText is d for a person: "1 minute", "2 minutes", "30 seconds".
func waitText(d time.Duration) string {
	switch {
	case d == time.Minute:
		return "1 minute"
	case d > time.Minute && d%time.Minute == 0:
		return strconv.Itoa(int(d/time.Minute)) + " minutes"
	}
	return strconv.Itoa(int(d.Round(time.Second)/time.Second)) + " seconds"
}

// signOut ends the session.
func (c *Console) signOut(w http.ResponseWriter, r *http.Request) {
	clearSession(w, r)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

func clearSession(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: isHTTPS(r), SameSite: http.SameSiteStrictMode})
}

// isHTTPS reports whether the browser reached the console over HTTPS: directly, or through
// a proxy that says so.
func isHTTPS(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// safeNext is where to go after signing in: a path on this server, else the campaigns.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/campaigns"
	}
	return next
}

// viewerOf is who is looking at r's page.
func viewerOf(r *http.Request) Viewer {
	p, ok := auth.FromContext(r.Context())
	if !ok {
		return Viewer{}
	}
	return Viewer{
		Name: p.Name, Scope: p.Scope.String(), SignedIn: p.Method == MethodSession,
		CanExport: p.Scope.Includes(auth.ScopeExport), CanOperate: p.Scope.Includes(auth.ScopeOperate), CanAdmin: p.Scope.Includes(auth.ScopeAdmin),
	}
}
