// Package interactly is a client for the parts of the Interactly voice-AI
// call API that an outbound campaign dialer uses: Connect Call, Get Call,
// List Calls and Call Control (docs.interactly.ai, api-reference/calls/*).
//
// The published reference disagrees with itself and with real payloads
// (epoch milliseconds next to ISO strings, "finished" calls that are still
// "ringing", successEvaluation as a word or a boolean), so every type here
// decodes leniently: unknown fields are ignored, unknown enum values are
// kept as they came, and numbers are accepted where strings are expected.
//
// Every failed request is an *APIError (arguments that cannot be sent, such
// as an empty call id, are plain errors). Rate limits (429), server errors (5xx),
// timeouts and connection errors are retried with exponential backoff and
// full jitter within Config.RetryBudget. Connect Call is not idempotent: after
// an ambiguous failure it is sent again only when the request carries an
// idempotency key and List Calls shows no call with that key.
package interactly
