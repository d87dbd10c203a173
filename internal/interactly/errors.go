package interactly

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// maxErrorBody is how much of an error response APIError.Body keeps.
const maxErrorBody = 4 << 10

// APIError is every error the Client returns from an API call: an HTTP
// status outside 2xx, a transport failure, an unreadable response, or the
// caller's context ending. Error responses are not documented
// (api-reference/calls/connect), so Message is taken from a {"message": ...}
// body, a FastAPI {"detail": [{"loc", "msg", "type"}]} or {"detail": "..."}
// body, or left empty; Body always keeps the raw text.
//
// The API key never appears in any of its fields or in Error().
type APIError struct {
	// Op names the operation: "connect call", "get call", "list calls",
	// "control call".
	Op string
	// Status is the HTTP status code, or 0 when no response was received.
	Status int
	// Message is the server's explanation, if the body had one.
	Message string
	// Body is the raw response body, truncated to 4 KiB.
	Body string
	// Retryable reports whether sending the request again may succeed:
	// true for 429, 5xx, timeouts and connection errors. A returned
	// APIError with Retryable set means the retry budget ran out or the
	// request could not safely be sent again.
	Retryable bool
	// RetryAfter is the wait the server asked for with Retry-After, or 0.
	RetryAfter time.Duration
	// Err is the underlying cause for transport failures, unreadable
	// responses and context errors; nil for HTTP status errors.
	Err error

	// unsent is true when the request certainly was not processed (429,
	// connection refused), so even a non-idempotent request may be sent
	// again.
	unsent bool
}

// Error implements error: "interactly: <op>: <status> <text>: <message>" or
// "interactly: <op>: <cause>".
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("interactly: ")
	b.WriteString(e.Op)
	if e.Status != 0 {
		fmt.Fprintf(&b, ": %d %s", e.Status, http.StatusText(e.Status))
	}
	switch {
	case e.Message != "":
		b.WriteString(": ")
		b.WriteString(e.Message)
	case e.Status != 0 && e.Body != "":
		b.WriteString(": ")
		b.WriteString(snippet(e.Body, 120))
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	return b.String()
}

// Unwrap returns Err, so errors.Is(err, context.Canceled) works.
func (e *APIError) Unwrap() error { return e.Err }

// IsRetryable reports whether err is, or wraps, an *APIError whose
// Retryable is set: the same request may succeed later. Rate limits and
// errors are undocumented (api-reference/calls/connect), so 429, 5xx,
// timeouts and connection errors count as retryable.
func IsRetryable(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.Retryable
}

// apiError builds every APIError the Client returns. resp is nil for
// transport failures; cause is the transport, decoding or context error.
// ctx is the caller's context: when it has ended, nothing is retryable.
func (c *Client) apiError(ctx context.Context, op string, resp *http.Response, body []byte, cause error) *APIError {
	e := &APIError{Op: op}
	if resp != nil {
		e.Status = resp.StatusCode
		e.Body = truncate(c.redact(string(body)), maxErrorBody)
		e.Message = c.redact(errorMessage(body))
		e.RetryAfter = retryAfter(resp.Header.Get("Retry-After"), c.now())
	}
	if cause != nil {
		e.Err = c.redactErr(cause)
	}
	switch {
	case ctx.Err() != nil:
		// The caller gave up; whatever happened is not worth another try.
	case resp != nil && cause != nil:
		// A 2xx whose body is not the JSON expected: the request was
		// processed, and asking again will not change the answer.
	case resp != nil:
		e.Retryable = e.Status == http.StatusTooManyRequests || e.Status >= 500
		e.unsent = e.Status == http.StatusTooManyRequests
	case cause != nil:
		e.Retryable = true
		e.unsent = notSent(cause)
	}
	return e
}

// notSent reports whether a transport error shows that the request never
// reached the server: it failed while resolving or dialing.
func notSent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns) || errors.Is(err, syscall.ECONNREFUSED)
}

// errorMessage extracts the explanation from an error body:
// {"message": "..."}, {"error": "..."}, {"error": {"message": "..."}},
// {"detail": "..."} or FastAPI's {"detail": [{"loc": [...], "msg": "..."}]},
// whose entries become "body.customer.number: msg" joined by "; ".
func errorMessage(body []byte) string {
	var w struct {
		Message json.RawMessage `json:"message"`
		Error   json.RawMessage `json:"error"`
		Detail  json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(body, &w) != nil {
		return ""
	}
	for _, raw := range []json.RawMessage{w.Message, w.Detail, w.Error} {
		if m := messageText(raw); m != "" {
			return m
		}
	}
	return ""
}

func messageText(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s flexString
	if json.Unmarshal(raw, &s) == nil && s != "" {
		return string(s)
	}
	var obj struct {
		Message flexString `json:"message"`
		Msg     flexString `json:"msg"`
	}
	if json.Unmarshal(raw, &obj) == nil && (obj.Message != "" || obj.Msg != "") {
		return string(obj.Message + obj.Msg)
	}
	var details []struct {
		Loc []flexString `json:"loc"`
		Msg flexString   `json:"msg"`
	}
	if json.Unmarshal(raw, &details) != nil {
		return ""
	}
	parts := make([]string, 0, len(details))
	for _, d := range details {
		loc := make([]string, len(d.Loc))
		for i, l := range d.Loc {
			loc[i] = string(l)
		}
		switch {
		case len(loc) > 0 && d.Msg != "":
			parts = append(parts, strings.Join(loc, ".")+": "+string(d.Msg))
		case d.Msg != "":
			parts = append(parts, string(d.Msg))
		}
	}
	return strings.Join(parts, "; ")
}

// retryAfter reads a Retry-After header: delay seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if !(secs > 0 && secs <= 1e6) { // NaN too: it would convert to no defined Duration
			return 0
		}
		return time.Duration(secs * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// redact removes the API key from s, in case a server or a proxy echoes
// the Authorization header back.
func (c *Client) redact(s string) string {
	if len(c.key) < 4 {
		return s
	}
	return strings.ReplaceAll(s, c.key, "[REDACTED]")
}

func (c *Client) redactErr(err error) error {
	if len(c.key) < 4 || !strings.Contains(err.Error(), c.key) {
		return err
	}
	return &redactedError{text: c.redact(err.Error()), err: err}
}

// redactedError hides the API key in an error's text while keeping the
// chain for errors.Is and errors.As.
type redactedError struct {
	text string
	err  error
}

func (e *redactedError) Error() string { return e.text }
func (e *redactedError) Unwrap() error { return e.err }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// snippet makes a short single-line excerpt of s for an error message.
func snippet(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}
