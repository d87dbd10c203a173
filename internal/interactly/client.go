package interactly

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/dialerhq/dialer/internal/clock"
)

// DefaultBaseURL is the production API host; a QA host,
// https://api-qa.interactly.ai, also exists (api-reference, Hosts and auth).
const DefaultBaseURL = "https://api-prod.interactly.ai"

// DefaultUserAgent is sent when Config.UserAgent is empty.
const DefaultUserAgent = "dialer (+https://github.com/dialerhq/dialer)"

// maxResponseBody bounds how much of a response is read; a call with a long
// transcript is well under it.
const maxResponseBody = 32 << 20

// Config configures a Client (hosts and Bearer auth as in api-reference,
// Hosts and auth). The zero value of every field but APIKey means its
// default.
type Config struct {
	// BaseURL is the API's root, e.g. "https://api-qa.interactly.ai". A
	// trailing slash is tolerated. Defaults to DefaultBaseURL.
	BaseURL string
	// APIKey is the team's API key, sent as "Authorization: Bearer <key>"
	// to BaseURL's host only: a request to any other scheme or host (a
	// call's monitor.controlUrl may name one) goes without it. Required. It
	// never appears in logs, errors or String().
	APIKey string
	// HTTPClient sends the requests. Defaults to a client with a 30s
	// timeout per request that keeps up to 256 idle connections to the API.
	HTTPClient *http.Client
	// RetryBudget is the total time one call may spend retrying, including
	// waits. Defaults to 2m; negative disables retries.
	RetryBudget time.Duration
	// BaseDelay is the backoff before the first retry; the n-th retry waits
	// a random time in [0, min(MaxDelay, BaseDelay*2^n)] (full jitter), or
	// the server's Retry-After if that is longer. Defaults to 250ms.
	BaseDelay time.Duration
	// MaxDelay caps the backoff. Defaults to 20s.
	MaxDelay time.Duration
	// UserAgent is sent as User-Agent. Defaults to DefaultUserAgent.
	UserAgent string
	// OnAPIError, when set, is called once for every failed HTTP attempt,
	// each retry included, with the operation ("connect", "get", "list" or
	// "control") and the HTTP status: 429, 5xx, 4xx, a 2xx whose body could
	// not be decoded, or 0 when no response came back (a network error or a
	// timeout). Attempts abandoned because the caller's context ended are
	// not reported. It is called synchronously from the request's
	// goroutine, possibly from many at once, so it must be quick and safe
	// for concurrent use: a worker counts API errors by status for
	// Prometheus here. nil means nothing is called.
	OnAPIError func(op string, status int)

	// Now returns the current time, for the retry budget, Retry-After dates
	// and FindCall's window. Defaults to time.Now.
	Now func() time.Time
	// Sleep waits d or until ctx ends, returning ctx.Err() if it ended.
	// Tests replace it to retry without waiting. Defaults to clock.Sleep.
	Sleep func(ctx context.Context, d time.Duration) error
}

// WithDefaults returns a copy of cfg with every unset field at its default.
func (cfg Config) WithDefaults() Config {
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	cfg.APIKey = strings.TrimSpace(cfg.APIKey)
	if cfg.HTTPClient == nil {
		// A worker follows hundreds of calls at once; Go's default of 2 idle connections per
		// host would open (and, over HTTPS, handshake) a new one for most Get Calls.
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConns, t.MaxIdleConnsPerHost = 512, 256
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second, Transport: t}
	}
	if cfg.RetryBudget == 0 {
		cfg.RetryBudget = 2 * time.Minute
	}
	if cfg.BaseDelay == 0 {
		cfg.BaseDelay = 250 * time.Millisecond
	}
	if cfg.MaxDelay == 0 {
		cfg.MaxDelay = 20 * time.Second
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = DefaultUserAgent
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = clock.Sleep
	}
	return cfg
}

// Validate reports the first field of cfg that cannot work, by name.
func (cfg Config) Validate() error {
	if cfg.APIKey == "" {
		return errors.New("interactly: Config.APIKey is required")
	}
	for _, r := range cfg.APIKey {
		if r <= ' ' || r == 0x7f {
			return errors.New("interactly: Config.APIKey contains whitespace or control characters")
		}
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil {
		return fmt.Errorf("interactly: Config.BaseURL %q cannot be parsed: %w", cfg.BaseURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("interactly: Config.BaseURL %q must be an absolute http or https URL, e.g. %s", cfg.BaseURL, DefaultBaseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("interactly: Config.BaseURL %q must not have a query or fragment", cfg.BaseURL)
	}
	if cfg.BaseDelay < 0 {
		return fmt.Errorf("interactly: Config.BaseDelay %s is negative", cfg.BaseDelay)
	}
	if cfg.MaxDelay < cfg.BaseDelay {
		return fmt.Errorf("interactly: Config.MaxDelay %s is shorter than Config.BaseDelay %s", cfg.MaxDelay, cfg.BaseDelay)
	}
	return nil
}

// String describes cfg with the API key redacted.
func (cfg Config) String() string {
	key := ""
	if cfg.APIKey != "" {
		key = "[REDACTED]"
	}
	return fmt.Sprintf("interactly.Config{BaseURL: %q, APIKey: %q, RetryBudget: %s, BaseDelay: %s, MaxDelay: %s, UserAgent: %q}",
		cfg.BaseURL, key, cfg.RetryBudget, cfg.BaseDelay, cfg.MaxDelay, cfg.UserAgent)
}

// GoString is String, so that %#v does not print the API key either.
func (cfg Config) GoString() string { return cfg.String() }

// LogValue implements slog.LogValuer with the API key redacted.
func (cfg Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("baseURL", cfg.BaseURL),
		slog.Bool("apiKeySet", cfg.APIKey != ""),
		slog.Duration("retryBudget", cfg.RetryBudget),
	)
}

// Client calls the Interactly call API (api-reference/calls/*): ConnectCall,
// GetCall, ListCalls, FindCall, ControlCall and ControlCallByID. It is safe
// for concurrent use.
type Client struct {
	base   string // scheme://host/path without a trailing slash
	origin string // base's scheme://host[:port], lower case, default port dropped
	key    string
	hc     *http.Client
	ua     string
	budget time.Duration
	delay  time.Duration // BaseDelay
	max    time.Duration // MaxDelay
	now    func() time.Time
	sleep  func(context.Context, time.Duration) error
	jitter func(n int64) int64 // a random int in [0, n)
	onErr  func(op string, status int)
}

// New returns a Client for cfg after filling defaults (see Config). The
// error names the Config field that is missing or malformed, without
// echoing the API key.
func New(cfg Config) (*Client, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	u, _ := url.Parse(base) // Validate parsed it
	return &Client{
		base:   base,
		origin: origin(u),
		key:    cfg.APIKey,
		hc:     cfg.HTTPClient,
		ua:     cfg.UserAgent,
		budget: max(cfg.RetryBudget, 0),
		delay:  cfg.BaseDelay,
		max:    cfg.MaxDelay,
		now:    cfg.Now,
		sleep:  cfg.Sleep,
		jitter: rand.Int64N,
		onErr:  cfg.OnAPIError,
	}, nil
}

// origin is u's scheme and host in lower case, without the scheme's
// default port, so that "https://API.example:443" and "https://api.example"
// compare equal.
func origin(u *url.URL) string {
	scheme, host := strings.ToLower(u.Scheme), strings.ToLower(u.Host)
	switch {
	case scheme == "https" && strings.HasSuffix(host, ":443"):
		host = strings.TrimSuffix(host, ":443")
	case scheme == "http" && strings.HasSuffix(host, ":80"):
		host = strings.TrimSuffix(host, ":80")
	}
	return scheme + "://" + host
}

// String describes the client without its API key.
func (c *Client) String() string { return "interactly.Client{" + c.base + "}" }

// request is one API operation, sent once or more by do.
type request struct {
	op     string // for errors: "connect call", "get call", ...
	kind   string // for Config.OnAPIError: "connect", "get", "list", "control"
	method string
	url    string
	body   []byte // nil for no body
	// deadline ends retrying: no wait may reach past it.
	deadline time.Time
	// idempotent requests are sent again after any retryable failure.
	idempotent bool
	// resend, for a non-idempotent request, decides after an ambiguous
	// failure (the request may have been processed) whether to send it
	// again; it returns false with a nil error when the operation turned
	// out to have succeeded. nil means never send it again.
	resend func(ctx context.Context) (bool, error)
	// pace, when set, is waited for before every send.
	pace func(ctx context.Context) error
	// onRetry, when set, is told of each failure that is to be retried, and the wait.
	onRetry func(err error, wait time.Duration)
}

// retryBudgetKey is the context key of WithRetryBudget's budget.
type retryBudgetKey struct{}

// WithRetryBudget returns a copy of ctx under which a call of a Client retries for at most d
// from its start, or for Config.RetryBudget when that is shorter; d <= 0 makes each such
// call send its request once. The wait a retry would begin after the budget is spent is not
// begun: the call returns its last error instead. A worker following a live call reads it
// with Get Call every poll interval, and gives each read a budget of one interval: its next
// read is its retry, and a read's backoff (up to MaxDelay, or a 429's Retry-After) must not
// hold up learning that the call ended.
func WithRetryBudget(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, retryBudgetKey{}, d)
}

// do performs r, decoding a 2xx body into out (unless out is nil), and
// sends it again after retryable failures until it succeeds, fails for
// good, the deadline (r's, or ctx's WithRetryBudget's if sooner) would be
// passed, or ctx ends.
func (c *Client) do(ctx context.Context, r *request, out any) error {
	deadline := r.deadline
	if d, ok := ctx.Value(retryBudgetKey{}).(time.Duration); ok {
		if end := c.now().Add(d); end.Before(deadline) {
			deadline = end
		}
	}
	for n := 0; ; n++ {
		if r.pace != nil {
			if err := r.pace(ctx); err != nil {
				return fmt.Errorf("interactly: %s: %w", r.op, err)
			}
		}
		last := c.send(ctx, r, out)
		if last == nil {
			return nil
		}
		if !last.Retryable {
			return last
		}
		ambiguous := !last.unsent && !r.idempotent
		if ambiguous && r.resend == nil {
			return last
		}
		wait := c.backoff(n, last.RetryAfter)
		if !c.now().Add(wait).Before(deadline) {
			return last
		}
		if r.onRetry != nil {
			r.onRetry(last, wait)
		}
		if err := c.sleep(ctx, wait); err != nil {
			return c.apiError(ctx, r.op, nil, nil, fmt.Errorf("gave up waiting to retry after %q: %w", last.Error(), err))
		}
		if ambiguous {
			again, err := r.resend(ctx)
			if err != nil {
				return fmt.Errorf("%w; then checking whether it was processed failed: %w", last, err)
			}
			if !again {
				return nil
			}
		}
	}
}

// send performs r once, reporting a failed attempt to Config.OnAPIError.
func (c *Client) send(ctx context.Context, r *request, out any) *APIError {
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, r.url, body)
	if err != nil {
		return c.apiError(ctx, r.op, nil, nil, err)
	}
	// The key goes to the configured API host only. A controlUrl taken
	// from a call object may name any host; whoever runs it must not
	// receive the team's key.
	if origin(req.URL) == c.origin {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	e := c.attempt(ctx, req, r, out)
	if e != nil && c.onErr != nil && ctx.Err() == nil {
		c.onErr(r.kind, e.Status)
	}
	return e
}

// attempt sends req and decodes a 2xx body into out.
func (c *Client) attempt(ctx context.Context, req *http.Request, r *request, out any) *APIError {
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.ua)
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return c.apiError(ctx, r.op, nil, nil, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	if err != nil {
		return c.apiError(ctx, r.op, nil, nil, fmt.Errorf("read response: %w", err))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return c.apiError(ctx, r.op, resp, data, nil)
	}
	if out == nil || len(bytes.TrimSpace(data)) == 0 {
		return nil // e.g. a 204 answering Call Control
	}
	if err := json.Unmarshal(data, out); err != nil {
		return c.apiError(ctx, r.op, resp, data, fmt.Errorf("decode response: %w", err))
	}
	return nil
}

// backoff is the wait before retry n (0-based): full jitter over
// min(max, delay*2^n), or the server's Retry-After when that is longer.
func (c *Client) backoff(n int, retryAfter time.Duration) time.Duration {
	ceiling := c.max
	if n < 62 && c.delay <= c.max>>n {
		ceiling = c.delay << n
	}
	var d time.Duration
	if ceiling > 0 {
		d = time.Duration(c.jitter(int64(ceiling) + 1))
	}
	return max(d, retryAfter)
}

// url joins the base URL and an API path ("/calls/v1/...").
func (c *Client) url(path string, query url.Values) string {
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	return u
}

func (c *Client) deadline() time.Time { return c.now().Add(c.budget) }
