package auth

import (
	"fmt"
	"net/http"

	"github.com/dialerhq/dialer/internal/problem"
)

// Route is one line of a server's route table: a ServeMux pattern, the scope a caller needs,
// and the handler. A route is public (no credentials) only when Public says so; a route
// with neither a valid Scope nor Public is a programming error that Mount refuses.
type Route struct {
	// Pattern is an http.ServeMux pattern, e.g. "POST /api/v1/campaigns/{id}/pause".
	Pattern string
	// Scope is the lowest scope that may call the route.
	Scope Scope
	// Public marks the few routes that check their own credentials or hold nothing (the
	// webhook receiver, /healthz).
	Public  bool
	Handler http.Handler
}

// Mount registers routes on mux, each non-public one behind a.Middleware, Config.Observe
// and RequireScope(route.Scope). It panics on a route that is neither public nor scoped, as
// http.ServeMux panics on a bad pattern.
func (a *Authenticator) Mount(mux *http.ServeMux, routes []Route) {
	for _, rt := range routes {
		switch {
		case rt.Public:
			mux.Handle(rt.Pattern, rt.Handler)
		case rt.Scope.Valid():
			h := RequireScope(rt.Scope)(rt.Handler)
			if a.cfg.Observe != nil {
				h = a.cfg.Observe(rt.Pattern, h)
			}
			mux.Handle(rt.Pattern, a.Middleware(h))
		default:
			panic(fmt.Sprintf("auth: route %q has no scope and is not public", rt.Pattern))
		}
	}
}

// CrossOrigin wraps h with http.CrossOriginProtection: a state-changing request (not GET,
// HEAD or OPTIONS) that a browser marks as cross-site (Sec-Fetch-Site, or an Origin that is
// not the Host) is refused with 403, so a page an operator merely visits cannot use their
// ambient credentials (Basic auth, a session cookie, a loopback address). A request with
// "Authorization: Bearer" passes: a browser never attaches that by itself, so it cannot be
// forged across sites, and API clients calling from other origins keep working.
func CrossOrigin(h http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		problem.Write(w, problem.Typed(http.StatusForbidden, problem.TypeForbidden, "cross-origin request refused: a state-changing request from another site needs \"Authorization: Bearer TOKEN\""))
	}))
	protected := cop.Handler(h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if HasBearer(r) {
			h.ServeHTTP(w, r)
			return
		}
		protected.ServeHTTP(w, r)
	})
}
