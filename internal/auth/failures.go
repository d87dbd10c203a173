package auth

import (
	"net/http"
	"time"

	"github.com/go-chi/httprate"
)

// Failures counts failed authentications per client address (go-chi/httprate's sliding
// window), so that a client guessing tokens is slowed down however it guesses: the API's
// Authorization header and the console's sign-in form share one count when they share one
// Failures. The address is the connection's (X-Forwarded-For is not trusted: any caller
// could set it). A Failures is safe for concurrent use.
type Failures struct {
	limit  int
	window time.Duration
	rl     *httprate.RateLimiter
}

// NewFailures returns a Failures that limits a client address after limit failures within
// window. limit below 1 counts as 1, a window of 0 or less as one minute.
func NewFailures(limit int, window time.Duration) *Failures {
	limit = max(limit, 1)
	if window <= 0 {
		window = time.Minute
	}
	return &Failures{limit: limit, window: window, rl: httprate.NewRateLimiter(limit, window)}
}

// Limited reports whether r's client address has failed limit times within the window, so
// that its next attempt must be refused unchecked, and how long it should wait before
// trying again (the window, which is when the count has surely fallen).
func (f *Failures) Limited(r *http.Request) (retryAfter time.Duration, limited bool) {
	_, rate, err := f.rl.Status(clientAddr(r))
	if err == nil && rate >= float64(f.limit) {
		return f.window, true
	}
	return 0, false
}

// Add counts one failed authentication of r's client address. It sets httprate's
// X-RateLimit-* headers on w.
func (f *Failures) Add(w http.ResponseWriter, r *http.Request) {
	f.rl.OnLimit(w, r, clientAddr(r))
}
