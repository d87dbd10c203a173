// Package simtest starts the Interactly simulator (package simulator) for a test: one call
// makes the simulator, fails the test if its Config is refused, serves it on a loopback
// httptest.Server and registers the cleanups of both.
package simtest

import (
	"net/http/httptest"
	"testing"

	"github.com/dialerhq/dialer/internal/simulator"
)

// Serve starts a simulator.Server of cfg behind an httptest.Server on loopback and returns
// both; point an interactly.Client's BaseURL at the second's URL. When the test ends the
// HTTP server is closed first, then the simulator's server messages are stopped (its Close).
// A cfg that simulator.New refuses fails the test at once.
func Serve(tb testing.TB, cfg simulator.Config) (*simulator.Server, *httptest.Server) {
	tb.Helper()
	sim, err := simulator.New(cfg)
	if err != nil {
		tb.Fatalf("simulator.New: %v", err)
	}
	tb.Cleanup(func() { sim.Close() })
	srv := httptest.NewServer(sim)
	tb.Cleanup(srv.Close)
	return sim, srv
}
