package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/dialerhq/dialer/internal/campaign"
)

// Request headers of every notification.
const (
	// EventHeader holds the event, campaign.NotifyContactFinished or
	// campaign.NotifyCampaignFinished.
	EventHeader = "X-Dialer-Event"
	// DeliveryHeader holds the event's id, the body's "id": "<campaign>:<contact>" or
	// "<campaign>:campaign". Every retry of one event carries the same id.
	DeliveryHeader = "X-Dialer-Delivery"
	// SignatureHeader holds Sign(secret, body), "sha256=<64 lowercase hex digits>". It is
	// absent when the campaign sets no secret.
	SignatureHeader = "X-Dialer-Signature"
)

// Sign returns the SignatureHeader value of body under secret: "sha256=" followed by the
// lowercase hex HMAC-SHA256 of body keyed with secret.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Config configures a Handler. Store is required; the rest have defaults.
type Config struct {
	// Store reads campaigns, contacts and status. Required.
	Store *campaign.Store
	// Redis keeps the delivery counts and sent events (see Stats), under each campaign's
	// key tag; usually the Store's client. Required.
	Redis redis.UniversalClient
	// HTTPClient sends the POSTs. Defaults to a client with a 10 s timeout that does not
	// follow redirects. A redirected POST may be resent as a GET, and a 2xx answer to that
	// GET would wrongly count as delivered.
	HTTPClient *http.Client
	// Getenv looks up notify.secretEnv. Defaults to os.Getenv.
	Getenv func(string) string
	// Now is the clock for the Deadline and error times. Defaults to time.Now.
	Now func() time.Time
	// Logger receives one line per event given up on and per first failed try. Defaults
	// to slog.Default(). Lines carry ids, never row data, secrets or a URL's query.
	Logger *slog.Logger
	// Deadline is how long after an event is first enqueued its delivery is retried. A try
	// that fails after it is the last. Defaults to 1h.
	Deadline time.Duration
	// RetryDelay is the wait before retry n+1 of a failed try, for Run's server. Defaults
	// to the package's RetryDelay (1–2 s, doubling up to 5 minutes); tests shorten it.
	RetryDelay func(n int, err error, task *asynq.Task) time.Duration
}

// defaultHTTPTimeout bounds one POST of the default HTTPClient.
const defaultHTTPTimeout = 10 * time.Second

// WithDefaults returns a copy of cfg with every unset field at its default.
func (cfg Config) WithDefaults() Config {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{
			Timeout: defaultHTTPTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		}
	}
	if cfg.Getenv == nil {
		cfg.Getenv = os.Getenv
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Deadline == 0 {
		cfg.Deadline = time.Hour
	}
	if cfg.RetryDelay == nil {
		cfg.RetryDelay = RetryDelay
	}
	return cfg
}

// Validate reports the first field of cfg that cannot work, by name. Call WithDefaults
// first.
func (cfg Config) Validate() error {
	switch {
	case cfg.Store == nil:
		return errors.New("notify: Config.Store is required")
	case cfg.HTTPClient == nil:
		return errors.New("notify: Config.HTTPClient is required (WithDefaults sets one)")
	case cfg.Getenv == nil:
		return errors.New("notify: Config.Getenv is required (WithDefaults sets os.Getenv)")
	case cfg.Now == nil:
		return errors.New("notify: Config.Now is required (WithDefaults sets time.Now)")
	case cfg.Redis == nil:
		return errors.New("notify: Config.Redis is required")
	case cfg.Logger == nil:
		return errors.New("notify: Config.Logger is required (WithDefaults sets slog.Default())")
	case cfg.Deadline < 0:
		return fmt.Errorf("notify: Config.Deadline must not be negative, got %s", cfg.Deadline)
	case cfg.RetryDelay == nil:
		return errors.New("notify: Config.RetryDelay is required (WithDefaults sets RetryDelay)")
	}
	return nil
}

// Handler is the asynq handler of TypeContact and TypeCampaign tasks. It sends one event's
// POST per run. It is safe for concurrent use.
type Handler struct {
	cfg Config
	rdb redis.UniversalClient
	log *slog.Logger
}

var _ asynq.Handler = (*Handler)(nil)

// New returns a Handler of cfg with defaults filled in. It returns an error naming a
// missing or unusable Config field.
func New(cfg Config) (*Handler, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Handler{cfg: cfg, rdb: cfg.Redis, log: cfg.Logger.With("component", "notify")}, nil
}

// errPermanent marks a delivery error that no retry can fix, such as an unusable URL.
var errPermanent = errors.New("not retried")

// errGone marks an event whose subject no longer exists; it is dropped.
var errGone = errors.New("gone")

// ProcessTask sends the event of one notification task.
//
// It returns nil when the event was delivered (a 2xx answer) and when it is dropped without
// sending. An event is dropped when it was already delivered or given up on, when its
// campaign or contact no longer exists, or when the campaign file does not ask for it. A
// failed try returns an error, so asynq retries it with RetryDelay. A failed try is any
// other answer, a network error, a timeout, an unset notify.secretEnv variable, a contact
// without a final outcome or a campaign not done yet. Each failed try is counted, with its
// error, in Stats.
//
// Once Config.Deadline has passed since the event was first enqueued, or on asynq's last
// retry, a failed try is the last. The event is logged at error level and counted as
// failed, and nil is returned so that asynq stops. A malformed payload returns an error
// wrapping asynq.SkipRetry. A panic is recovered by asynq and retried like an error.
func (h *Handler) ProcessTask(ctx context.Context, task *asynq.Task) error {
	p, err := parsePayload(task)
	if err != nil {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	log := h.log.With("campaign", p.CampaignID, "event", p.Event, "delivery", p.deliveryID())
	c, err := h.cfg.Store.Campaign(ctx, p.CampaignID)
	if errors.Is(err, campaign.ErrCampaignNotFound) {
		log.Warn("dropping notification: its campaign does not exist (deleted?)")
		return nil
	}
	if err != nil {
		return err
	}
	nc := c.File.Notify
	if !Wants(nc, p.Event) {
		log.Warn("dropping notification: the campaign file does not ask for this event")
		return nil
	}
	done, err := h.isDone(ctx, p)
	if err != nil {
		return err
	}
	if done {
		log.Debug("notification already delivered or given up on; not sending it again")
		return nil
	}

	err = h.deliver(ctx, c, p)
	switch {
	case err == nil:
		return h.recordFinish(ctx, p, "delivered")
	case errors.Is(err, errGone):
		log.Warn("dropping notification", "reason", err.Error())
		return nil
	case ctx.Err() != nil:
		return err // interrupted (shutdown, task timeout): not the receiver's failure
	}

	msg := err.Error()
	if rerr := h.recordError(ctx, p, msg); rerr != nil {
		log.Warn("could not count a failed notification", "error", rerr.Error())
	}
	retried, _ := asynq.GetRetryCount(ctx)
	maxRetry, hasMax := asynq.GetMaxRetry(ctx)
	deadline := p.At.Add(h.cfg.Deadline)
	if errors.Is(err, errPermanent) || h.cfg.Now().After(deadline) || (hasMax && retried >= maxRetry) {
		log.Error("giving up on notification", "url", redactURL(nc.URL), "tries", retried+1,
			"firstEnqueuedAt", p.At.Format(time.RFC3339), "error", msg)
		if err := h.recordFinish(ctx, p, "failed"); err != nil {
			return err
		}
		return nil
	}
	if retried == 0 {
		log.Warn("notification failed; retrying with backoff", "url", redactURL(nc.URL),
			"until", deadline.Format(time.RFC3339), "error", msg)
	} else {
		log.Debug("notification failed again; retrying", "tries", retried+1, "error", msg)
	}
	return err
}

// deliver builds, signs and POSTs event p of campaign c. Its errors never hold the secret or
// the URL's query.
func (h *Handler) deliver(ctx context.Context, c *campaign.Campaign, p payload) error {
	nc := c.File.Notify
	target := redactURL(nc.URL)
	if u, err := url.Parse(nc.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("notify.url %s is not an absolute http or https URL; fix the campaign file: %w", target, errPermanent)
	}
	secret, err := h.secret(nc)
	if err != nil {
		return err
	}
	var body []byte
	if p.Event == campaign.NotifyCampaignFinished {
		body, err = h.campaignBody(ctx, c, p)
	} else {
		body, err = h.contactBody(ctx, c, p)
	}
	if err != nil {
		return err
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, nc.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("POST %s: %v: %w", target, unwrapURLError(err), errPermanent)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(EventHeader, p.Event)
	req.Header.Set(DeliveryHeader, p.deliveryID())
	if secret != "" {
		req.Header.Set(SignatureHeader, Sign(secret, body))
	}
	resp, err := h.cfg.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("POST %s: %v", target, unwrapURLError(err))
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil
	}
	msg := fmt.Sprintf("POST %s: status %d", target, resp.StatusCode)
	if resp.StatusCode >= 300 && resp.StatusCode <= 399 {
		msg += " (redirects are not followed; set notify.url to the address that answers)"
	}
	if s := oneLine(snippet); s != "" {
		msg += ": " + s
	}
	return errors.New(msg)
}

// secret returns the signing secret of nc: the variable notify.secretEnv names when it is
// set, else notify.secret ("" signs nothing).
func (h *Handler) secret(nc *campaign.NotifyConfig) (string, error) {
	if nc.SecretEnv == "" {
		return nc.Secret, nil
	}
	if v := h.cfg.Getenv(nc.SecretEnv); v != "" {
		return v, nil
	}
	return "", fmt.Errorf("notify.secretEnv names the environment variable %s, which is not set for the process that sends notifications (dialer serve); set it there and restart it", nc.SecretEnv)
}

// contactBody is the contact.finished body of p's contact.
func (h *Handler) contactBody(ctx context.Context, c *campaign.Campaign, p payload) ([]byte, error) {
	ct, err := h.cfg.Store.Contact(ctx, c.ID, p.ContactID)
	if err != nil {
		return nil, err
	}
	if ct.ID == 0 {
		return nil, fmt.Errorf("campaign %s has no contact %d: %w", c.ID, p.ContactID, errGone)
	}
	if ct.Outcome == "" {
		return nil, fmt.Errorf("contact %d of campaign %s has no final outcome yet; its notification waits for one", p.ContactID, c.ID)
	}
	o := eventObject(c, p)
	o.field("contactId", p.ContactID)
	var row object
	names := campaign.ReportHeader(c)
	for i, v := range campaign.ReportRecord(c, ct, nil) {
		row.field(names[i], v)
	}
	o.raw("row", row.bytes())
	return o.bytes(), nil
}

// campaignBody is the campaign.finished body of p's campaign.
func (h *Handler) campaignBody(ctx context.Context, c *campaign.Campaign, p payload) ([]byte, error) {
	st, err := h.cfg.Store.Status(ctx, c.ID)
	if errors.Is(err, campaign.ErrCampaignNotFound) {
		return nil, fmt.Errorf("campaign %s: %w", c.ID, errGone)
	}
	if err != nil {
		return nil, err
	}
	if !st.Done {
		return nil, fmt.Errorf("campaign %s is not done (%d of %d rows finished); its notification waits for the rest", c.ID, st.Finished, st.Total)
	}
	var outcomes object
	for _, oc := range campaign.Outcomes {
		if n, ok := st.Outcomes[oc]; ok {
			outcomes.field(string(oc), n)
		}
	}
	var others []string // outcomes this build does not list, written after the known ones
	for oc := range st.Outcomes {
		if !slices.Contains(campaign.Outcomes, oc) {
			others = append(others, string(oc))
		}
	}
	slices.Sort(others)
	for _, oc := range others {
		outcomes.field(oc, st.Outcomes[campaign.Outcome(oc)])
	}
	o := eventObject(c, p)
	o.field("total", st.Total)
	o.raw("outcomes", outcomes.bytes())
	o.field("finishedAt", p.At.UTC().Format(time.RFC3339))
	return o.bytes(), nil
}

// eventObject starts the body of p's event with the fields every event has: event, id (of
// the delivery), campaignId and campaignName.
func eventObject(c *campaign.Campaign, p payload) *object {
	var o object
	o.field("event", p.Event)
	o.field("id", p.deliveryID())
	o.field("campaignId", c.ID)
	o.field("campaignName", c.File.Name)
	return &o
}

// object writes a JSON object whose keys keep the order they are added in, which a Go map
// would sort.
type object struct {
	buf bytes.Buffer
}

// field adds key with v encoded as JSON (without escaping <, > and &).
func (o *object) field(key string, v any) {
	o.key(key)
	encode(&o.buf, v)
}

// raw adds key with v, already JSON.
func (o *object) raw(key string, v []byte) {
	o.key(key)
	o.buf.Write(v)
}

func (o *object) key(k string) {
	if o.buf.Len() == 0 {
		o.buf.WriteByte('{')
	} else {
		o.buf.WriteByte(',')
	}
	encode(&o.buf, k)
	o.buf.WriteByte(':')
}

// bytes returns the object, closed.
func (o *object) bytes() []byte {
	if o.buf.Len() == 0 {
		return []byte("{}")
	}
	return append(o.buf.Bytes(), '}')
}

// encode appends v as JSON to buf. v is a string or an int, which always encode.
func encode(buf *bytes.Buffer, v any) {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	buf.Truncate(buf.Len() - 1) // Encode's newline
}

// redactURL returns raw fit for logs and errors: its user and password and its whole query
// replaced by "xxxxx", its fragment dropped. Webhook URLs often carry a token in the query.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable notify.url)"
	}
	if u.User != nil {
		u.User = url.User("xxxxx")
	}
	if u.RawQuery != "" || u.ForceQuery {
		u.RawQuery, u.ForceQuery = "xxxxx", false
	}
	u.Fragment, u.RawFragment = "", ""
	return u.String()
}

// unwrapURLError returns the cause inside a *url.Error, whose own message repeats the URL
// with its query.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// oneLine returns the start of a response body as one short line for an error message.
func oneLine(b []byte) string {
	s := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return ' '
		}
		return r
	}, string(b))
	return strings.Join(strings.Fields(s), " ")
}
