package auth

import "context"

// Principal is who is calling: the token's name and scope, or what let a caller without a
// token in.
type Principal struct {
	// Name is the token's name; "local" for a loopback caller while no token exists, and
	// "anonymous" under --insecure-no-auth.
	Name  string
	Scope Scope
	// TokenID is the token's ID; empty when the caller holds no token.
	TokenID string
	// Method says how the caller was let in: MethodBearer, MethodBasic, MethodLocal,
	// MethodInsecure, or a method of another middleware (such as the console's session).
	Method string
}

// How a Principal was let in.
const (
	// MethodBearer is a token in "Authorization: Bearer TOKEN".
	MethodBearer = "bearer"
	// MethodBasic is a token as the password of HTTP Basic auth (any user name), which a
	// browser asks for and then sends by itself: an ambient credential.
	MethodBasic = "basic"
	// MethodLocal is a loopback caller of a loopback listener while no token exists.
	MethodLocal = "local"
	// MethodInsecure is any caller without credentials under --insecure-no-auth.
	MethodInsecure = "insecure"
)

type principalKey struct{}

// WithPrincipal returns a copy of ctx carrying p. A middleware that authenticates callers
// its own way (a console session cookie) calls it before Authenticator.Middleware, which
// then lets the request through as p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the Principal that WithPrincipal put in ctx, and false when there is
// none (the caller was not authenticated).
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
