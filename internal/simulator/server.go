package simulator

import (
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// callsPath is the root of the call API (api-reference/calls/*).
const callsPath = "/calls/v1/conversations"

// typoCallsPath is callsPath misspelt as in one published controlUrl
// sample (api-reference/calls/control); Config.ControlTypo publishes it.
const typoCallsPath = "/calls/v1/convesations"

// maxRequestBody bounds a request body; a connect request with an inline
// assistant is far smaller.
const maxRequestBody = 1 << 20

// Server is a simulated Interactly call API. It serves, with the shapes of
// the reference pages:
//
//	POST /calls/v1/conversations/connect       Connect Call (api-reference/calls/connect)
//	GET  /calls/v1/conversations/{id}          Get Call (api-reference/calls/get-call)
//	GET  /calls/v1/conversations?startDate=…   List Calls (api-reference/calls/list-calls)
//	POST /calls/v1/conversations/{id}/control  Call Control (api-reference/calls/control)
//	POST /calls/v1/convesations/{id}/control   the same, as one published sample spells it
//
// and, without auth, GET /_simulator/stats (Stats) and GET /_simulator/dials
// (Dials) as JSON. With Config.Webhooks.URL set it also posts server
// messages about every call there (see WebhookConfig); call Close to stop
// them. Every API request needs "Authorization: Bearer
// <Config.APIKey>" (else 401 {"message": ...}); invalid bodies and queries
// get 422 with a FastAPI body {"detail": [{"type", "loc", "msg", "input"}]};
// an unknown call id gets 404 {"message": ...}; an unknown path 404
// {"detail": "Not Found"} and a wrong method 405 {"detail": "Method Not Allowed"}.
//
// A Server is safe for concurrent use.
type Server struct {
	cfg        Config
	cumulative []float64 // running sums of Mix weights, in outcomes order

	mu           sync.Mutex
	rng          *rand.Rand
	teamID       string
	calls        map[string]*call
	order        []*call // creation order
	byNumber     map[string]int
	byKey        map[string]int
	requests     map[string]int
	faults       map[string]int
	controls     map[string]int
	unauthorized int

	// Server messages; hooks is nil without Config.Webhooks.URL.
	hooks    *hooks
	hooked   []*call // calls with server messages still to come, in creation order
	hookSent map[string]int
	hookLost map[string]int
	hookFail map[string]int
	hookWait int    // server messages drawn but not yet delivered
	hookErr  string // the last failed delivery
}

var _ http.Handler = (*Server)(nil)

// New returns a Server for cfg after filling defaults. The error names the
// Config field that cannot work.
func New(cfg Config) (*Server, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// Copy the maps so that a caller changing them later cannot race.
	cfg.Mix = maps.Clone(cfg.Mix)
	script := make(map[string][]string, len(cfg.Script))
	for n, outs := range cfg.Script {
		script[n] = slices.Clone(outs)
	}
	cfg.Script = script

	s := &Server{
		cfg:      cfg,
		rng:      rand.New(rand.NewPCG(uint64(cfg.Seed), 0x1d1a1e5)),
		calls:    map[string]*call{},
		byNumber: map[string]int{},
		byKey:    map[string]int{},
		requests: map[string]int{},
		faults:   map[string]int{},
		controls: map[string]int{},
		hookSent: map[string]int{},
		hookLost: map[string]int{},
		hookFail: map[string]int{},
	}
	var sum float64
	for _, o := range outcomes {
		sum += cfg.Mix[o]
		s.cumulative = append(s.cumulative, sum)
	}
	s.teamID = s.objectID()
	if cfg.Webhooks.URL != "" {
		s.startHooks()
	}
	return s, nil
}

// controlURL is the monitor.controlUrl of call id for a request to base
// (scheme and host), misspelt when Config.ControlTypo says so.
func (s *Server) controlURL(base, id string) string {
	root := callsPath
	if s.cfg.ControlTypo {
		root = typoCallsPath
	}
	return base + root + "/" + id + "/control"
}

// reply is a response decided under the lock and written after it.
type reply struct {
	status int
	header http.Header
	body   any    // encoded as JSON, unless html is set
	html   string // a proxy's error page
}

func jsonReply(status int, body any) reply { return reply{status: status, body: body} }

func messageReply(status int, msg string) reply {
	return jsonReply(status, map[string]string{"message": msg})
}

// ServeHTTP implements http.Handler; see Server for the routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/_simulator/stats":
		s.serveDebug(w, r, func() any { return s.Stats() })
		return
	case "/_simulator/dials":
		s.serveDebug(w, r, func() any { return s.Dials() })
		return
	}
	kind, id, rep := route(r.Method, r.URL.Path)
	if kind != "" {
		var slow bool
		rep, slow = s.handle(r, kind, id)
		if slow {
			t := time.NewTimer(s.cfg.Faults.SlowDelay)
			select {
			case <-t.C:
			case <-r.Context().Done():
			}
			t.Stop()
		}
	}
	write(w, rep)
}

func (s *Server) serveDebug(w http.ResponseWriter, r *http.Request, v func() any) {
	if r.Method != http.MethodGet {
		write(w, jsonReply(http.StatusMethodNotAllowed, map[string]string{"detail": "Method Not Allowed"}))
		return
	}
	write(w, jsonReply(http.StatusOK, v()))
}

// route maps a request to the kind of API request it is ("connect", "get",
// "list", "control") and the call id in its path, or to an error reply
// when kind is "".
func route(method, path string) (kind, id string, rep reply) {
	need := func(want, kind, id string) (string, string, reply) {
		if method != want {
			return "", "", jsonReply(http.StatusMethodNotAllowed, map[string]string{"detail": "Method Not Allowed"})
		}
		return kind, id, reply{}
	}
	switch {
	case path == callsPath+"/connect":
		return need(http.MethodPost, "connect", "")
	case path == callsPath || path == callsPath+"/":
		return need(http.MethodGet, "list", "")
	case strings.HasPrefix(path, callsPath+"/"):
		id, tail, nested := strings.Cut(strings.TrimPrefix(path, callsPath+"/"), "/")
		switch {
		case id != "" && !nested:
			return need(http.MethodGet, "get", id)
		case id != "" && tail == "control":
			return need(http.MethodPost, "control", id)
		}
	case strings.HasPrefix(path, typoCallsPath+"/"):
		if id, tail, _ := strings.Cut(strings.TrimPrefix(path, typoCallsPath+"/"), "/"); id != "" && tail == "control" {
			return need(http.MethodPost, "control", id)
		}
	}
	return "", "", jsonReply(http.StatusNotFound, map[string]string{"detail": "Not Found"})
}

// handle counts, authenticates, injects faults and dispatches one API
// request. slow reports whether the reply is to be held back.
func (s *Server) handle(r *http.Request, kind, id string) (rep reply, slow bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
	base := "http://" + r.Host

	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	s.requests[kind]++
	acct, ok := s.account(r.Header.Get("Authorization"))
	if !ok {
		s.unauthorized++
		return messageReply(http.StatusUnauthorized, "Invalid or missing API key"), false
	}
	f := s.cfg.Faults
	if s.draw(f.RateLimited) {
		s.faults["429"]++
		secs := int((f.RetryAfter + time.Second - 1) / time.Second)
		rep := messageReply(http.StatusTooManyRequests, "Too many requests, please slow down")
		rep.header = http.Header{"Retry-After": {fmt.Sprint(secs)}}
		return rep, false
	}
	if s.draw(f.ServerError) {
		s.faults["5xx"]++
		return s.serverError(), false
	}
	if kind == "get" && s.draw(f.GetCallError) {
		s.faults["get-error"]++
		return messageReply(http.StatusServiceUnavailable, "Service temporarily unavailable"), false
	}
	if slow = s.draw(f.Slow); slow {
		s.faults["slow"]++
	}
	if err != nil || len(body) > maxRequestBody {
		return messageReply(http.StatusRequestEntityTooLarge, "Request body too large"), slow
	}
	if c, ok := s.calls[id]; ok && c.account != acct {
		// Another account's call: Interactly shows an account its own calls only.
		return messageReply(http.StatusNotFound, "Conversation not found"), slow
	}
	switch kind {
	case "connect":
		rep = s.connect(now, base, body, acct)
	case "get":
		rep = s.get(now, base, id)
	case "list":
		rep = s.list(now, base, r.URL.Query(), acct)
	case "control":
		rep = s.control(now, id, body)
	}
	return rep, slow
}

// account returns the name of the account whose key the Authorization header carries,
// comparing with every key in constant time, and whether there is one.
func (s *Server) account(header string) (string, bool) {
	scheme, key, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	key = strings.TrimSpace(key)
	name, found := "", 0
	if subtle.ConstantTimeCompare([]byte(key), []byte(s.cfg.APIKey)) == 1 {
		name, found = DefaultAccount, 1
	}
	for n, k := range s.cfg.Accounts {
		if subtle.ConstantTimeCompare([]byte(key), []byte(k)) == 1 {
			name, found = n, 1
		}
	}
	return name, found == 1
}

// draw reports true with probability share. It consumes randomness only
// for faults that are enabled, so enabling none leaves outcomes unchanged.
func (s *Server) draw(share float64) bool {
	return share > 0 && s.rng.Float64() < share
}

// serverError is a 500, 502 or 503, each shaped like what answers it in
// practice: the application, or a proxy in front of it.
func (s *Server) serverError() reply {
	switch s.rng.IntN(3) {
	case 0:
		return messageReply(http.StatusInternalServerError, "Internal server error")
	case 1:
		return reply{status: http.StatusBadGateway, html: gatewayPage(http.StatusBadGateway)}
	}
	return messageReply(http.StatusServiceUnavailable, "Service temporarily unavailable")
}

func gatewayPage(status int) string {
	title := fmt.Sprintf("%d %s", status, http.StatusText(status))
	return "<html>\r\n<head><title>" + title + "</title></head>\r\n<body>\r\n<center><h1>" + title +
		"</h1></center>\r\n</body>\r\n</html>\r\n"
}

func write(w http.ResponseWriter, rep reply) {
	for k, v := range rep.header {
		w.Header()[k] = v
	}
	if rep.html != "" {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(rep.status)
		io.WriteString(w, rep.html)
		return
	}
	b, err := json.Marshal(rep.body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rep.status)
	w.Write(b)
}

// connect serves Connect Call (api-reference/calls/connect).
func (s *Server) connect(now time.Time, base string, body []byte, acct string) reply {
	req, problems := parseConnect(body)
	if len(problems) > 0 {
		return jsonReply(http.StatusUnprocessableEntity, map[string]any{"detail": problems})
	}
	c := s.create(now, req)
	c.base, c.account = base, acct
	if s.draw(s.cfg.Faults.LostResponse) {
		s.faults["lost"]++
		return reply{status: http.StatusGatewayTimeout, html: gatewayPage(http.StatusGatewayTimeout)}
	}
	return jsonReply(http.StatusCreated, c.connected(s.controlURL(base, c.id)))
}

// get serves Get Call (api-reference/calls/get-call).
func (s *Server) get(now time.Time, base, id string) reply {
	c, ok := s.calls[id]
	if !ok {
		return messageReply(http.StatusNotFound, "Conversation not found")
	}
	return jsonReply(http.StatusOK, c.view(now, s.controlURL(base, c.id), s.cfg.AnalysisDelay))
}

// create places a call: draws its outcome and timeline and logs the dial.
func (s *Server) create(now time.Time, req connectRequest) *call {
	c := &call{
		id:              "CC-" + s.uuid(),
		teamID:          s.teamID,
		assistantID:     req.AssistantID,
		phoneNumberID:   req.PhoneNumberID,
		direction:       req.Direction,
		number:          req.Customer.Number,
		name:            req.Customer.Name,
		assistantNumber: callerNumber(req.PhoneNumberID),
		metadata:        req.Metadata,
		vars:            req.vars,
		callSid:         "CA" + strings.ReplaceAll(s.uuid(), "-", ""),
		created:         now,
	}
	switch {
	case req.Assistant != nil: // an inline assistant wins and gets an id of its own
		c.assistantID = s.objectID()
	case c.assistantID == "": // the number's attached assistant answers
		c.assistantID = attachedAssistant(req.PhoneNumberID)
	}
	c.outcome = s.outcome(c.number)
	s.byNumber[c.number]++
	if key, ok := c.metadata["idempotencyKey"].(string); ok && key != "" {
		s.byKey[key]++
	}

	ring := s.between(s.cfg.RingMin, s.cfg.RingMax)
	dialing := (ring / 5).Truncate(time.Millisecond)
	switch c.outcome {
	case OutcomeFailed:
		c.end = now.Add(dialing)
		c.reason = "Call failed: the carrier could not connect the number"
	case OutcomeBusy:
		c.ringAt, c.end = now.Add(dialing), now.Add(ring)
		c.reason = "Customer's line is busy"
	case OutcomeNoAnswer:
		c.ringAt, c.end = now.Add(dialing), now.Add(ring)
		c.reason = "Customer did not answer"
	default:
		c.ringAt, c.answerAt = now.Add(dialing), now.Add(ring)
		c.end = c.answerAt.Add(s.between(s.cfg.TalkMin, s.cfg.TalkMax))
		c.reason = "Call is completed"
		c.trigger = s.pick([]string{"assistant", "user", "bot"}, []float64{0.6, 0.3, 0.1})
		s.converse(c)
	}
	s.calls[c.id] = c
	s.order = append(s.order, c)
	if s.hooks != nil {
		s.hooked = append(s.hooked, c)
		s.pokeHooks()
	}
	return c
}

// outcome decides how a dial of number ends: by Script, else by Mix.
func (s *Server) outcome(number string) string {
	if script, ok := s.cfg.Script[number]; ok {
		return script[min(s.byNumber[number], len(script)-1)]
	}
	x := s.rng.Float64() * s.cumulative[len(s.cumulative)-1]
	for i, upTo := range s.cumulative {
		if x < upTo {
			return outcomes[i]
		}
	}
	return outcomes[len(outcomes)-1]
}

// between draws a duration uniformly from [lo, hi] in whole milliseconds,
// the API's timestamp resolution.
func (s *Server) between(lo, hi time.Duration) time.Duration {
	steps := int64((hi - lo) / time.Millisecond)
	if steps <= 0 {
		return lo
	}
	return lo + time.Duration(s.rng.Int64N(steps+1))*time.Millisecond
}

// pick draws one of choices with the given weights.
func (s *Server) pick(choices []string, weights []float64) string {
	var sum float64
	for _, w := range weights {
		sum += w
	}
	x := s.rng.Float64() * sum
	for i, w := range weights {
		if x < w {
			return choices[i]
		}
		x -= w
	}
	return choices[len(choices)-1]
}

// converse writes a completed call's transcript and analysis. The summary
// names the customer and up to two dynamic variables, as a real summary of
// a prompt built from them would.
func (s *Server) converse(c *call) {
	name := c.name
	if name == "" {
		name = "the customer"
	}
	keys := topicKeys(c.vars, c.name)
	confirmed := s.rng.Float64() < 0.7
	callback := s.rng.Float64() < 0.2

	about, topics := "", ""
	if len(keys) > 0 {
		about = " about " + c.vars[keys[0]]
		topics = fmt.Sprintf(" about %s (%s)", keys[0], c.vars[keys[0]])
	}
	question := "Is now a good time to talk?"
	if len(keys) > 1 {
		question = fmt.Sprintf("Can you confirm %s: %s?", keys[1], c.vars[keys[1]])
		topics += fmt.Sprintf(" and %s (%s)", keys[1], c.vars[keys[1]])
	}
	answer, verdict := "Yes, that works for me.", "confirmed"
	if !confirmed {
		answer, verdict = "Actually, I need to change that.", "did not confirm"
	}
	bye := "Thank you, have a great day. Goodbye!"
	if callback {
		bye = "No problem, someone will call you back. Goodbye!"
		verdict += " and asked for a callback"
	}
	greeting := "Hi, this is your assistant calling" + about + "."
	if c.name != "" {
		greeting = "Hi " + c.name + ", this is your assistant calling" + about + "."
	}
	talk := c.end.Sub(c.answerAt)
	for i, line := range []struct{ role, text string }{
		{"assistant", greeting},
		{"user", "Hello, yes, speaking."},
		{"assistant", question},
		{"user", answer},
		{"assistant", bye},
	} {
		at := c.answerAt.Add(talk * time.Duration(1+2*i) / 10)
		c.messages = append(c.messages, message{id: s.uuid(), role: line.role, text: line.text, at: at})
	}
	c.summary = fmt.Sprintf("The assistant called %s%s. %s %s.", name, topics, name, verdict)
	if confirmed {
		c.evaluation = s.pick([]string{"Excellent", "Good"}, []float64{0.4, 0.6})
	} else {
		c.evaluation = s.pick([]string{"Fair", "Poor"}, []float64{0.6, 0.4})
	}
	c.structured = map[string]any{"confirmed": confirmed, "callbackRequested": callback}
}

// topicKeys returns the dynamic variables a conversation is about, sorted: every one but
// names and numbers (a key holding "name" or "phone", or the customer's name as value),
// which say who is called rather than why.
func topicKeys(vars map[string]string, name string) []string {
	var keys []string
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		lower := strings.ToLower(k)
		if strings.Contains(lower, "name") || strings.Contains(lower, "phone") || (name != "" && vars[k] == name) {
			continue
		}
		keys = append(keys, k)
	}
	return keys
}

// uuid draws a version-4 UUID from the seeded generator.
func (s *Server) uuid() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], s.rng.Uint64())
	binary.BigEndian.PutUint64(b[8:], s.rng.Uint64())
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return uuid.UUID(b).String()
}

// objectID draws a 24-hex id like the API's MongoDB ObjectIds.
func (s *Server) objectID() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], s.rng.Uint64())
	binary.BigEndian.PutUint64(b[8:], s.rng.Uint64())
	return hex.EncodeToString(b[:12])
}

// attachedAssistant is the id of the assistant attached to a phone number:
// the same for every call from it.
func attachedAssistant(phoneNumberID string) string {
	h := fnv.New128a()
	h.Write([]byte(phoneNumberID))
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// callerNumber is the E.164 number behind a phone number id.
func callerNumber(phoneNumberID string) string {
	h := fnv.New32a()
	h.Write([]byte(phoneNumberID))
	return fmt.Sprintf("+1415555%04d", h.Sum32()%10000)
}
