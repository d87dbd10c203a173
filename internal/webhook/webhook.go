// Package webhook receives Interactly's server messages (webhooks) for the dialer's calls.
//
// An end-of-call-report records the attempt's result at once (outcome, analysis, end time,
// cost, recording) and announces it on campaign.EndedChannel, so the worker following the call
// learns within milliseconds, gives its concurrency slot back and schedules any retry. A
// status-update that shows the call over announces it too, so the worker reads the call at
// once. Everything is in Redis: any number of receivers may run behind a load balancer.
//
// Interactly sends each event once and never again (webhooks/server-url), so the receiver
// answers 2xx to whatever it can read, known call or not, and recording is idempotent: a
// replayed event changes nothing. A report is recorded only for an attempt a worker claimed,
// and only when its call id is the one recorded for that attempt (campaign.Store.RecordResult):
// whoever knows the secret still cannot finish, start or rewrite an attempt that was not
// dialed with the call id the report names. Polling Get Call remains the workers' fallback for lost
// events.
package webhook

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/interactly"
	"github.com/dialerhq/dialer/internal/worker"
)

// DefaultMaxBody is the largest body the receiver reads: 1 MiB.
const DefaultMaxBody = 1 << 20

// Metrics counts webhook events for Prometheus; *metrics.Recorder implements it.
type Metrics interface {
	// WebhookEvent counts an accepted event by its type.
	WebhookEvent(eventType string)
	// WebhookRejected counts a refused request: "unauthorized", "too_large", "malformed",
	// "no_call_id" (an end-of-call-report or status-update without message.call.id), "method".
	WebhookRejected(reason string)
	// WebhookRecordLatency observes the time from an end-of-call-report's arrival to its
	// result being recorded.
	WebhookRecordLatency(d time.Duration)
}

// Config configures a Handler. Store is required.
type Config struct {
	Store *campaign.Store
	// Secret, when not empty, must arrive in the x-interactly-secret header of every request
	// (compared in constant time), or the answer is 401. It is the assistant server's
	// secret, INTERACTLY_WEBHOOK_SECRET.
	Secret string
	// MaxBody is the largest body accepted, in bytes; larger ones get 413. Defaults to
	// DefaultMaxBody.
	MaxBody int64
	// Metrics, when set, counts events.
	Metrics Metrics
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Handler is the http.Handler of POST /webhooks/interactly.
type Handler struct {
	cfg    Config
	secret [sha256.Size]byte
	log    *slog.Logger
}

var _ http.Handler = (*Handler)(nil)

// New returns a Handler, or an error naming a missing Config field.
func New(cfg Config) (*Handler, error) {
	if cfg.Store == nil {
		return nil, errors.New("webhook: Config.Store is required")
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Metrics == nil {
		cfg.Metrics = noMetrics{}
	}
	return &Handler{cfg: cfg, secret: sha256.Sum256([]byte(cfg.Secret)), log: cfg.Logger}, nil
}

type noMetrics struct{}

func (noMetrics) WebhookEvent(string)                {}
func (noMetrics) WebhookRejected(string)             {}
func (noMetrics) WebhookRecordLatency(time.Duration) {}

// ServeHTTP answers 405 to anything but POST, 401 without the right secret, 413 to a body
// over MaxBody, 400 to a body that is not a server message or to an end-of-call-report or
// status-update without a call id, 500 when Redis fails (the event
// is then lost for the dialer, which polls Get Call as the fallback), and 200 otherwise,
// including for events of calls the dialer does not know (they may belong to another
// system). The answer is JSON: {"ok": true} or {"error": "..."}.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	received := time.Now()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.reject(w, http.StatusMethodNotAllowed, "method", "POST only")
		return
	}
	if h.cfg.Secret != "" {
		// Hashing both sides makes the comparison's time independent of the length too.
		got := sha256.Sum256([]byte(r.Header.Get(interactly.SecretHeader)))
		if subtle.ConstantTimeCompare(got[:], h.secret[:]) != 1 {
			h.reject(w, http.StatusUnauthorized, "unauthorized", "missing or wrong "+interactly.SecretHeader+" header")
			return
		}
	}
	if r.ContentLength > h.cfg.MaxBody {
		h.reject(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("body over %d bytes", h.cfg.MaxBody))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			h.reject(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("body over %d bytes", h.cfg.MaxBody))
			return
		}
		h.reject(w, http.StatusBadRequest, "malformed", "cannot read the body")
		return
	}
	msg, err := interactly.ParseServerMessage(body)
	if err != nil {
		h.reject(w, http.StatusBadRequest, "malformed", "not an Interactly server message: "+err.Error())
		return
	}
	if msg.Call.ID == "" && (msg.Type == interactly.EventEndOfCallReport || msg.Type == interactly.EventStatusUpdate) {
		// Interactly names the call of every such event; without an id nothing ties the
		// message to a dial, so it must not touch one.
		h.reject(w, http.StatusBadRequest, "no_call_id", "not an Interactly server message: a "+msg.Type+" without message.call.id")
		return
	}
	h.cfg.Metrics.WebhookEvent(msg.Type)
	if err := h.handle(r, msg, received); err != nil {
		h.log.Error("webhook not recorded; the worker's polling will find the result", "type", msg.Type, "call", msg.Call.ID, "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]any{"error": "cannot record the event now"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

func (h *Handler) reject(w http.ResponseWriter, status int, reason, msg string) {
	h.cfg.Metrics.WebhookRejected(reason)
	h.log.Warn("webhook refused", "status", status, "reason", msg)
	writeJSON(w, status, map[string]any{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// handle acts on one server message.
func (h *Handler) handle(r *http.Request, msg *interactly.ServerMessage, received time.Time) error {
	ref, ok := campaign.AttemptFromMetadata(msg.Call.Metadata)
	if !ok {
		h.log.Debug("webhook of a call the dialer did not place; ignored", "type", msg.Type, "call", msg.Call.ID)
		return nil
	}
	ctx := r.Context()
	switch msg.Type {
	case interactly.EventEndOfCallReport:
		call := msg.FinalCall()
		res := worker.ResultOf(call)
		if res.EndedAt.IsZero() {
			res.EndedAt = msg.Timestamp.Time
		}
		status, err := h.cfg.Store.RecordResult(ctx, ref, call.ID, res, true)
		if err != nil {
			return err
		}
		if status == campaign.Recorded || status == campaign.RecordAnalysis {
			h.cfg.Metrics.WebhookRecordLatency(time.Since(received))
		}
		h.log.Debug("end-of-call-report", "call", call.ID, "outcome", res.Outcome, "recorded", status)
	case interactly.EventStatusUpdate:
		if msg.Call.Ended() {
			return h.cfg.Store.AnnounceEnd(ctx, ref)
		}
	}
	return nil
}
