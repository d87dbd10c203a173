package simulator

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"
)

// The server message (webhook) types the simulator sends
// (webhooks/events/*). It sends no "hang" and no "error" messages.
const (
	// EventStatusUpdate is sent at each status change: queued (trying)
	// when the call is created, ringing, in-progress when answered, and the
	// final one (status finished or forwarded, phoneCallStatus completed,
	// busy, no-answer or failed).
	EventStatusUpdate = "status-update"
	// EventConversationUpdate is sent whenever the transcript grows, with
	// the whole of it in message.messages; at least once for every
	// answered call.
	EventConversationUpdate = "conversation-update"
	// EventEndOfCallReport is sent once per call, when its analysis is
	// ready (Config.AnalysisDelay after the end).
	EventEndOfCallReport = "end-of-call-report"
)

// SecretHeader is the header that carries WebhookConfig.Secret: a plain
// shared value, no signature (webhooks/server-url).
const SecretHeader = "x-interactly-secret"

// hookTick is the longest the dispatcher sleeps before it looks at
// Config.Now again, so that a fake clock moved ahead is followed promptly.
const hookTick = 50 * time.Millisecond

// maxDeliveries bounds the server messages being posted at once, over all
// calls.
const maxDeliveries = 64

// maxReplyBody is how much of a receiver's answer is read (and discarded).
const maxReplyBody = 64 << 10

// WebhookConfig configures the server messages a Server sends, the way an
// assistant's server URL receives them (webhooks/server-url,
// webhooks/events/*). Every event is one POST of
//
//	{"message": {"type", "timestamp" (epoch ms), "call", "assistant",
//	             "phone", "customer", "analysis", "messages"?, ...}}
//
// where "call" is the call object as Get Call would show it at that
// moment, metadata included. There are no retries: any 2xx is success and
// anything else is counted as failed (Stats.Webhooks). The events of one
// call are posted one after another, in order; different calls' events go
// out concurrently. Sending never holds up the API.
//
// The zero value sends nothing.
type WebhookConfig struct {
	// URL receives every event, e.g. "http://127.0.0.1:8080/webhooks".
	// Empty means no events are sent. It must be an absolute http or https
	// URL.
	URL string
	// Secret, when set, is sent with every event as the header
	// x-interactly-secret (SecretHeader). It never appears in Stats or
	// errors.
	Secret string
	// Loss is the share of events dropped without being sent, in [0, 1],
	// as lost deliveries the receiver never sees. Whether an event is lost
	// is drawn from Config.Seed, the call's id and the event's place among
	// the call's events, apart from the draws behind outcomes: the same
	// seed and requests lose the same events however the goroutines run,
	// and enabling Loss changes no outcome.
	Loss float64
	// Timeout bounds one delivery, in real time; a delivery that takes
	// longer counts as failed. Defaults to 20s, Interactly's timeoutSeconds
	// default.
	Timeout time.Duration
	// Client posts the events. Defaults to a new http.Client; Timeout
	// applies either way.
	Client *http.Client
}

func (w WebhookConfig) withDefaults() WebhookConfig {
	if w.Timeout == 0 {
		w.Timeout = 20 * time.Second
	}
	if w.Client == nil {
		w.Client = &http.Client{}
	}
	return w
}

// validate reports the first field that cannot work, named after prefix
// (the path to w, such as "simulator: Config.Webhooks").
func (w WebhookConfig) validate(prefix string) error {
	if w.URL != "" {
		u, err := url.Parse(w.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%s.URL %q is not an absolute http or https URL, e.g. http://127.0.0.1:8080/webhooks", prefix, w.URL)
		}
	}
	for _, r := range w.Secret {
		if r < ' ' || r == 0x7f {
			return fmt.Errorf("%s.Secret contains control characters; it must fit in an HTTP header", prefix)
		}
	}
	if !(w.Loss >= 0 && w.Loss <= 1) {
		return fmt.Errorf("%s.Loss %v is not a share in [0, 1]", prefix, w.Loss)
	}
	if w.Timeout < 0 {
		return fmt.Errorf("%s.Timeout %s is negative", prefix, w.Timeout)
	}
	return nil
}

// WebhookStats counts server messages by type (EventStatusUpdate,
// EventConversationUpdate, EventEndOfCallReport). Maps are never nil.
type WebhookStats struct {
	// Sent counts events the receiver answered with a 2xx.
	Sent map[string]int `json:"sent"`
	// Lost counts events dropped by WebhookConfig.Loss, never sent.
	Lost map[string]int `json:"lost"`
	// Failed counts events posted but answered outside 2xx, or whose post
	// failed or timed out.
	Failed map[string]int `json:"failed"`
	// Pending is how many events are due and waiting for, or in, their
	// post.
	Pending int `json:"pending"`
	// LastError describes the last failed post, e.g.
	// "status-update: 503 Service Unavailable", or is "".
	LastError string `json:"lastError,omitempty"`
}

// hookState is what a call's server messages have announced so far.
type hookState struct {
	status int  // the last status-update's rung: 0 none, 1 queued, 2 ringing, 3 in-progress, 4 final
	msgs   int  // messages in the last conversation-update
	conv   bool // a conversation-update went out
	report bool // the end-of-call-report went out; nothing follows
	events int  // events emitted (sent or lost) so far
}

// hookEvent is one server message a call has due, at a simulated time.
type hookEvent struct {
	typ  string
	at   time.Time
	prio int // order among events of one instant
	rung int // status-update: the rung it announces
	msgs int // conversation-update: how many messages it shows
}

// pendingHooks lists the server messages of c not yet sent, in the order
// they are due, for its timeline as it stands: call control may end a call
// early, which drops the events it would have had later.
func (c *call) pendingHooks(analysisDelay time.Duration) []hookEvent {
	var evs []hookEvent
	talked := !c.answerAt.IsZero() && !c.answerAt.After(c.end)
	rungs := []struct {
		at     time.Time
		occurs bool
	}{
		// A status Get Call never shows is not announced either: a call
		// ended at its creation instant was never seen queued.
		{c.created, c.created.Before(c.end)},
		{c.ringAt, !c.ringAt.IsZero() && c.ringAt.Before(c.end)},
		{c.answerAt, talked && c.answerAt.Before(c.end)},
		{c.end, true},
	}
	for i, r := range rungs {
		if rung := i + 1; r.occurs && rung > c.hook.status {
			prio := 0
			if rung == len(rungs) {
				prio = 2 // the final status after the last words
			}
			evs = append(evs, hookEvent{typ: EventStatusUpdate, at: r.at, prio: prio, rung: rung})
		}
	}
	if talked {
		shown := 0
		for shown < len(c.messages) && !c.messages[shown].at.After(c.end) {
			shown++
		}
		for i := c.hook.msgs; i < shown; {
			at := c.messages[i].at
			j := i + 1
			for j < shown && c.messages[j].at.Equal(at) {
				j++
			}
			evs = append(evs, hookEvent{typ: EventConversationUpdate, at: at, prio: 1, msgs: j})
			i = j
		}
		if shown == 0 && !c.hook.conv {
			evs = append(evs, hookEvent{typ: EventConversationUpdate, at: c.end, prio: 1})
		}
	}
	if !c.hook.report {
		evs = append(evs, hookEvent{typ: EventEndOfCallReport, at: c.end.Add(analysisDelay), prio: 3})
	}
	slices.SortStableFunc(evs, func(a, b hookEvent) int {
		if d := a.at.Compare(b.at); d != 0 {
			return d
		}
		return a.prio - b.prio
	})
	return evs
}

// renderHook builds the body of ev for c. It runs under s.mu.
func (s *Server) renderHook(c *call, ev hookEvent) []byte {
	view := c.view(ev.at, s.controlURL(c.base, c.id), s.cfg.AnalysisDelay)
	m := EventMessage{
		Type:      ev.typ,
		Timestamp: ev.at.UnixMilli(),
		Assistant: EventAssistant{ID: c.assistantID},
		Phone:     EventPhone{ID: c.phoneNumberID, Number: c.assistantNumber},
		Customer:  Customer{Number: c.number, Name: c.name},
		Analysis:  map[string]any{},
	}
	lines := func() []EventLine {
		out := []EventLine{}
		for _, msg := range c.messages[:min(ev.msgs, len(c.messages))] {
			out = append(out, EventLine{MessageID: msg.id, Role: msg.role, Text: msg.text, Timestamp: msg.at.UnixMilli()})
		}
		return out
	}
	switch ev.typ {
	case EventConversationUpdate:
		m.Messages = lines()
	case EventEndOfCallReport:
		ev.msgs = len(view.Messages)
		m.Messages = lines()
		if view.Analysis != nil {
			m.Analysis = view.Analysis
		}
		// Real reports carry the filled analysis beside the call, and the
		// call's own analysis empty.
		view.Analysis = map[string]any{}
		m.EndAt, m.Cost, m.Recording = view.EndAt, view.Cost, view.Recording
	}
	m.Call = view
	b, err := json.Marshal(EventBody{Message: m})
	if err != nil {
		panic(fmt.Sprintf("simulator: encode %s: %v", ev.typ, err)) // only plain values in it
	}
	return b
}

// hooks sends the server messages of a Server with a WebhookConfig.URL.
type hooks struct {
	cfg      WebhookConfig
	shownURL string        // cfg.URL with any password masked, for LastError
	poke     chan struct{} // wakes the dispatcher; holds at most one wake-up
	ctx      context.Context
	cancel   context.CancelFunc
	sem      chan struct{} // bounds concurrent posts
	wg       sync.WaitGroup

	mu     sync.Mutex // guards queues and closed; taken after Server.mu, never before
	queues map[string][][]byte
	types  map[string][]string // the type of each queued body
	closed bool
}

func (s *Server) startHooks() {
	ctx, cancel := context.WithCancel(context.Background())
	shown := s.cfg.Webhooks.URL
	if u, err := url.Parse(shown); err == nil {
		shown = u.Redacted()
	}
	s.hooks = &hooks{
		cfg:      s.cfg.Webhooks,
		shownURL: shown,
		poke:     make(chan struct{}, 1),
		ctx:      ctx,
		cancel:   cancel,
		sem:      make(chan struct{}, maxDeliveries),
		queues:   map[string][][]byte{},
		types:    map[string][]string{},
	}
	s.hooks.wg.Add(1)
	go s.dispatchLoop()
}

// pokeHooks has the dispatcher look for due events now rather than at its
// next tick: something just changed.
func (s *Server) pokeHooks() {
	if s.hooks == nil {
		return
	}
	select {
	case s.hooks.poke <- struct{}{}:
	default:
	}
}

// Close stops the server messages: events not yet posted are dropped and
// posts in flight are canceled. It returns once every goroutine the Server
// started has ended. The API is still served afterwards, without webhooks.
// Close may be called more than once; without WebhookConfig.URL it does
// nothing. It always returns nil.
func (s *Server) Close() error {
	h := s.hooks
	if h == nil {
		return nil
	}
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.cancel()
	h.wg.Wait()
	return nil
}

// dispatchLoop sends due events until Close.
func (s *Server) dispatchLoop() {
	h := s.hooks
	defer h.wg.Done()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		timer.Reset(s.dispatch())
		select {
		case <-h.ctx.Done():
			return
		case <-h.poke:
		case <-timer.C:
		}
	}
}

// dispatch queues the events due by Config.Now, call by call in creation
// order and each call's in time order, and returns how long to sleep
// before the next one is due (at most hookTick).
func (s *Server) dispatch() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	wait := hookTick
	keep := s.hooked[:0]
	for _, c := range s.hooked {
		for _, ev := range c.pendingHooks(s.cfg.AnalysisDelay) {
			if ev.at.After(now) {
				wait = min(wait, ev.at.Sub(now))
				break
			}
			s.emit(c, ev)
		}
		if !c.hook.report {
			keep = append(keep, c)
		}
	}
	clear(s.hooked[len(keep):])
	s.hooked = keep
	return wait
}

// emit records ev as announced and queues its post, unless Loss drops it.
// It runs under s.mu.
func (s *Server) emit(c *call, ev hookEvent) {
	switch ev.typ {
	case EventStatusUpdate:
		c.hook.status = ev.rung
	case EventConversationUpdate:
		c.hook.msgs, c.hook.conv = ev.msgs, true
	case EventEndOfCallReport:
		c.hook.report = true
	}
	c.hook.events++
	if loss := s.cfg.Webhooks.Loss; loss > 0 && s.lossDraw(c.id, c.hook.events) < loss {
		s.hookLost[ev.typ]++
		return
	}
	body := s.renderHook(c, ev)
	h := s.hooks
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	s.hookWait++
	h.queues[c.id] = append(h.queues[c.id], body)
	h.types[c.id] = append(h.types[c.id], ev.typ)
	if len(h.queues[c.id]) == 1 {
		h.wg.Add(1)
		go s.deliver(c.id)
	}
}

// lossDraw is a number in [0, 1) fixed by Config.Seed, a call id and the
// place n of one of its events.
func (s *Server) lossDraw(id string, n int) float64 {
	h := fnv.New64a()
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(s.cfg.Seed))
	binary.BigEndian.PutUint64(b[8:], uint64(n))
	h.Write(b[:])
	h.Write([]byte(id))
	// splitmix64's finalizer spreads FNV's bits over the whole word.
	x := h.Sum64()
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11) / (1 << 53)
}

// deliver posts call id's queued events one after another until its queue
// is empty; emit starts it when the queue was empty.
func (s *Server) deliver(id string) {
	h := s.hooks
	defer h.wg.Done()
	for {
		h.mu.Lock()
		q, types := h.queues[id], h.types[id]
		if h.ctx.Err() != nil { // closed: drop the rest
			delete(h.queues, id)
			delete(h.types, id)
			h.mu.Unlock()
			s.mu.Lock()
			s.hookWait -= len(q)
			s.mu.Unlock()
			return
		}
		h.mu.Unlock()

		errText := s.post(q[0])

		s.mu.Lock()
		s.hookWait--
		switch {
		case errText != "" && h.ctx.Err() != nil:
			// Canceled by Close: dropped, not failed.
		case errText == "":
			s.hookSent[types[0]]++
		default:
			s.hookFail[types[0]]++
			s.hookErr = types[0] + ": " + errText
		}
		s.mu.Unlock()

		h.mu.Lock()
		h.queues[id], h.types[id] = h.queues[id][1:], h.types[id][1:]
		if len(h.queues[id]) == 0 {
			delete(h.queues, id)
			delete(h.types, id)
			h.mu.Unlock()
			return
		}
		h.mu.Unlock()
	}
}

// post sends one event and says what went wrong, or "" for a 2xx.
func (s *Server) post(body []byte) string {
	h := s.hooks
	select {
	case h.sem <- struct{}{}:
		defer func() { <-h.sem }()
	case <-h.ctx.Done():
		return "canceled by Close"
	}
	ctx, cancel := context.WithTimeout(h.ctx, h.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "interactly-simulator")
	if h.cfg.Secret != "" {
		req.Header.Set(SecretHeader, h.cfg.Secret)
	}
	resp, err := h.cfg.Client.Do(req)
	if err != nil {
		// The client's errors name the URL with any password stripped.
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Sprintf("POST %s: no answer within %s", h.shownURL, h.cfg.Timeout)
		}
		return err.Error()
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxReplyBody))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Sprintf("POST %s: %s", h.shownURL, resp.Status)
	}
	return ""
}
