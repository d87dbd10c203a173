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
// With Config.Webhooks.URL set, the Server also posts the server messages
// an assistant's server URL receives (webhooks/events/*): status-update,
// conversation-update and end-of-call-report, once each, no retries, each
// carrying the call as Get Call shows it at that moment. One goroutine
// sends them as Config.Now reaches their time, on real timers and at least
// every 50ms, so a fake clock drives them too; Server.Close stops it.
//
// The simulator also misbehaves on purpose (Config.Faults, WebhookConfig.Loss):
// rate limits, server errors, lost responses, slow answers, failing Get
// Calls and lost webhooks, all deterministic for a given Config.Seed. It
// counts what it saw (Stats) and logs every call it created (Dials), also
// served without auth at GET /_simulator/stats and GET /_simulator/dials
// for tests whose workers run in other processes.
package simulator
