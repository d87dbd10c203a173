package api

import (
	"net/http"

	"github.com/dialerhq/dialer/internal/auth"
)

// listTokens handles GET /api/v1/tokens, as `dialer token list --json`: no secrets.
func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) {
	serveList(s, w, r, "tokens", s.cfg.Tokens.List, func(t auth.Token) auth.Token { return t })
}

// tokenRequest is the body of POST /api/v1/tokens.
type tokenRequest struct {
	Name  string     `json:"name"`
	Scope auth.Scope `json:"scope"`
	// Expires is the token's lifetime as `dialer token create --expires` takes it: "90d",
	// "12h", or "" / "never".
	Expires string `json:"expires"`
}

// createdToken is the answer of POST /api/v1/tokens: the token, shown this once.
type createdToken struct {
	auth.Token
	Secret string `json:"token"`
}

// createToken handles POST /api/v1/tokens, as `dialer token create`.
func (s *Server) createToken(w http.ResponseWriter, r *http.Request) {
	var req tokenRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	ttl, err := auth.ParseTTL(req.Expires)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	secret, tok, err := s.cfg.Tokens.Create(r.Context(), auth.CreateOptions{Name: req.Name, Scope: req.Scope, TTL: ttl})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", Prefix+"/tokens/"+tok.Name)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, createdToken{Token: tok, Secret: secret})
}

// revokeToken handles DELETE /api/v1/tokens/{name} (a name or an ID), as `dialer token
// revoke`; it answers 204.
func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) {
	if _, err := s.cfg.Tokens.Revoke(r.Context(), r.PathValue("name")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
