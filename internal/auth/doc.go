// Package auth says who is calling dialer serve's operator surfaces and what they may do.
//
// An operator holds a bearer token made by `dialer token create`; Redis keeps only its
// SHA-256 hash with its name, Scope, expiry and last use (Store). The Authenticator
// middleware verifies the token of each request in constant time and puts the caller's
// Principal in the request context; RequireScope (or Require inside a handler) then refuses
// a caller whose scope is too low. Scopes are ordered: read < export < operate < admin, and
// each includes the ones below it.
//
// The server's route table ([]Route, mounted with Authenticator.Mount) is the one place
// that says which scope each route needs; a route is public only when it says so.
//
// Secure by default: while no token exists, a caller without credentials is refused unless
// the listener is on a loopback address (Config.LocalOpen) or the server was started with
// --insecure-no-auth (Config.Insecure). Failed authentications are rate-limited per client
// address.
package auth
