// Package problem writes RFC 9457 problem details (application/problem+json), the one shape
// every error of dialer serve's operator surfaces takes: the auth middleware's refusals and
// the REST API's errors alike.
package problem

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// ContentType is the media type of a problem document.
const ContentType = "application/problem+json"

// Problem types of the refusals every operator surface shares (the auth middleware's), as
// URI references stable within v1 and listed in the API's openapi.json. The REST API's own
// problems (validation, not-found, ...) have their types in package api.
const (
	// TypeUnauthenticated: 401, no credential, or one that is malformed, unknown, revoked or
	// expired.
	TypeUnauthenticated = "/api/v1/problems/unauthenticated"
	// TypeForbidden: 403, a credential whose scope is too low, or a cross-site browser
	// request without a bearer token.
	TypeForbidden = "/api/v1/problems/forbidden"
	// TypeRateLimited: 429, too many failed authentications from one address; Retry-After
	// says when to try again.
	TypeRateLimited = "/api/v1/problems/rate-limited"
	// TypeUnavailable: 503, something the request needs is not there: Redis does not
	// answer, or dialer serve was started without what the action needs.
	TypeUnavailable = "/api/v1/problems/unavailable"
)

// Typed returns a problem of status and type typ, with the status's text as title.
func Typed(status int, typ, detail string) *Problem {
	return &Problem{Type: typ, Title: http.StatusText(status), Status: status, Detail: detail}
}

// Problem is an RFC 9457 problem document. Type is a URI reference naming the kind of
// problem ("about:blank" when empty: the title is then the status's text); Detail says what
// was wrong with this request and what to do. Errors lists field-level errors of a
// validation problem (each with a JSON pointer or a file position), and is omitted when
// empty. Extra members of other kinds go in Extensions and are written at the top level.
type Problem struct {
	Type     string `json:"type,omitempty"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	// RequestID identifies the request in dialer serve's log, for a 500 in particular.
	RequestID string `json:"requestId,omitempty"`
	// State is, for a refusal because of a campaign's state, that state (e.g. "canceled").
	State string `json:"state,omitempty"`
	// Errors are the individual errors of a validation problem.
	Errors []FieldError `json:"errors,omitempty"`
	// RetryAfter, when positive, is sent as the Retry-After header, in seconds.
	RetryAfter int `json:"-"`
	// Headers are extra response headers, such as WWW-Authenticate.
	Headers http.Header `json:"-"`
}

// FieldError is one error of a validation problem: Pointer is a JSON pointer into the
// request body (RFC 6901), or empty when the error is located in a file instead (File,
// Line, Column, Key); Detail says what is wrong and what to do.
type FieldError struct {
	Pointer string `json:"pointer,omitempty"`
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Key     string `json:"key,omitempty"`
	Detail  string `json:"detail"`
}

// New returns a problem of status with the status's text as title and detail.
func New(status int, detail string) *Problem {
	return &Problem{Title: http.StatusText(status), Status: status, Detail: detail}
}

// Error returns the problem's title and detail, so a *Problem can travel as an error.
func (p *Problem) Error() string {
	if p.Detail == "" {
		return p.Title
	}
	return p.Title + ": " + p.Detail
}

// Write sends p as the response: its headers, its status and the JSON document.
func Write(w http.ResponseWriter, p *Problem) {
	h := w.Header()
	for k, v := range p.Headers {
		h[k] = v
	}
	if p.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(p.RetryAfter))
	}
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	h.Set("Content-Type", ContentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Content-Length")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}
