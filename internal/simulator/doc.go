// Package simulator is a local stand-in for the Interactly call API, built
// from the published reference (docs.interactly.ai, api-reference/calls/*):
// an http.Handler serving Connect Call, Get Call, List Calls and Call
// Control with the reference's response shapes, so the dialer can be run
// and tested end to end without the real service.
//
// Calls advance lazily: each one's timeline (ringing, answer, end, analysis
// ready) is drawn when it is created, and every read renders the call as it
// stands at Config.Now. No goroutine runs per call, so an injected clock
// drives a whole campaign in microseconds.
//
// The simulator also misbehaves on purpose (Config.Faults): rate limits,
// server errors, lost responses and slow answers, all deterministic for a
// given Config.Seed. It counts what it saw (Stats) and logs every call it
// created (Dials), also served without auth at GET /_simulator/stats and
// GET /_simulator/dials for tests whose workers run in other processes.
package simulator
