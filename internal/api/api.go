// Package api is dialer serve's operator REST API, v1, under /api/v1: JSON in and out,
// errors as RFC 9457 problem documents, an Idempotency-Key on creates, cursor pagination.
//
// One file per resource (campaigns.go, reports.go, events.go, tokens.go, audit.go). Each
// handler reads the request, calls the operation the CLI calls (package operator, the
// campaign Store, the suppression lists, the token store, the audit log) and writes the answer; errors all go
// through writeError (errors.go), the one mapping of domain errors to problems. Routes
// returns the API's lines of dialer serve's route table, each with the scope it needs.
// The API is described by openapi.json, served at /api/v1/openapi.json.
package api

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dialerhq/dialer/internal/audit"
	"github.com/dialerhq/dialer/internal/auth"
	"github.com/dialerhq/dialer/internal/operator"
	"github.com/dialerhq/dialer/internal/problem"
	"github.com/redis/go-redis/v9"
)

// Prefix is where the API is mounted.
const Prefix = "/api/v1"

// Config configures a Server.
type Config struct {
	// Operator performs the campaign operations. Required.
	Operator *operator.Operator
	// Tokens is the token store behind /api/v1/tokens. Required.
	Tokens *auth.Store
	// Audit is the log behind /api/v1/audit. Required.
	Audit *audit.Log
	// Redis keeps the Idempotency-Key records. Required.
	Redis redis.UniversalClient
	// Logger receives internal errors, with the request ID the caller sees. Defaults to
	// discarding.
	Logger *slog.Logger
	// Now is the clock. Defaults to time.Now.
	Now func() time.Time
	// TempDir is where uploaded contact files are spooled (to disk, never memory) while
	// they are read. Defaults to os.TempDir().
	TempDir string
	// MaxUploadBytes bounds one create or validate request's body. Defaults to 1 GiB.
	MaxUploadBytes int64
	// UploadTimeout is how long one create or validate request may take to arrive, past
	// the server's own read timeout. Defaults to 10 minutes.
	UploadTimeout time.Duration
	// EventInterval is how often GET .../events looks at a campaign's progress; it sends
	// an event only when something changed. Defaults to 500 ms.
	EventInterval time.Duration
}

// WithDefaults returns c with its zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	c.TempDir = cmp.Or(c.TempDir, os.TempDir())
	c.MaxUploadBytes = cmp.Or(c.MaxUploadBytes, 1<<30)
	c.UploadTimeout = cmp.Or(c.UploadTimeout, 10*time.Minute)
	c.EventInterval = cmp.Or(c.EventInterval, 500*time.Millisecond)
	return c
}

// Validate reports the first field of c that is missing or wrong.
func (c Config) Validate() error {
	switch {
	case c.Operator == nil:
		return errors.New("api.Config.Operator is required")
	case c.Tokens == nil:
		return errors.New("api.Config.Tokens is required")
	case c.Audit == nil:
		return errors.New("api.Config.Audit is required")
	case c.Redis == nil:
		return errors.New("api.Config.Redis is required")
	case c.MaxUploadBytes < 0:
		return fmt.Errorf("api.Config.MaxUploadBytes %d: want a positive size", c.MaxUploadBytes)
	}
	return nil
}

// Server serves the API. Create one with New; its handlers are safe for concurrent use.
type Server struct {
	cfg Config
	op  *operator.Operator
}

// New returns a Server for cfg (after WithDefaults), or the error of Validate.
func New(cfg Config) (*Server, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Server{cfg: cfg, op: cfg.Operator}, nil
}

// Routes returns the API's lines of the server's route table: each pattern with the
// lowest scope that may call it. read sees campaigns and their counts, schedules and
// accounts (never a key: an account names the variable that holds it); export also their
// rows and reports (personal data); operate also changes campaigns and controls their
// calls; admin also manages tokens, suppression lists, schedules and accounts, and reads
// the audit log.
func (s *Server) Routes() []auth.Route {
	route := func(pattern string, scope auth.Scope, h http.HandlerFunc) auth.Route {
		return auth.Route{Pattern: pattern, Scope: scope, Handler: h}
	}
	return []auth.Route{
		route("GET "+Prefix+"/openapi.json", auth.ScopeRead, s.openAPI),
		route("GET "+Prefix+"/campaigns", auth.ScopeRead, s.listCampaigns),
		route("POST "+Prefix+"/campaigns", auth.ScopeOperate, s.createCampaign),
		route("POST "+Prefix+"/campaigns/validate", auth.ScopeOperate, s.validateCampaign),
		route("GET "+Prefix+"/campaigns/{id}", auth.ScopeRead, s.getCampaign),
		route("POST "+Prefix+"/campaigns/{id}/pause", auth.ScopeOperate, s.pauseCampaign),
		route("POST "+Prefix+"/campaigns/{id}/resume", auth.ScopeOperate, s.resumeCampaign),
		route("POST "+Prefix+"/campaigns/{id}/cancel", auth.ScopeOperate, s.cancelCampaign),
		route("PATCH "+Prefix+"/campaigns/{id}", auth.ScopeOperate, s.editCampaign),
		route("DELETE "+Prefix+"/campaigns/{id}", auth.ScopeAdmin, s.deleteCampaign),
		route("POST "+Prefix+"/campaigns/{id}/retry", auth.ScopeOperate, s.retryCampaign),
		route("POST "+Prefix+"/campaigns/{id}/contacts/{n}/redial", auth.ScopeOperate, s.redialContact),
		route("POST "+Prefix+"/campaigns/{id}/contacts/{n}/skip", auth.ScopeOperate, s.skipContact),
		route("GET "+Prefix+"/campaigns/{id}/events", auth.ScopeRead, s.campaignEvents),
		route("GET "+Prefix+"/campaigns/{id}/contacts", auth.ScopeExport, s.listContacts),
		route("GET "+Prefix+"/campaigns/{id}/report.csv", auth.ScopeExport, s.report),
		route("GET "+Prefix+"/campaigns/{id}/attempts.csv", auth.ScopeExport, s.attemptReport),
		route("GET "+Prefix+"/campaigns/{id}/rejected.csv", auth.ScopeExport, s.rejectedReport),
		route("POST "+Prefix+"/suppression", auth.ScopeAdmin, s.addSuppressed),
		route("POST "+Prefix+"/suppression/remove", auth.ScopeAdmin, s.removeSuppressed),
		route("POST "+Prefix+"/suppression/check", auth.ScopeExport, s.checkSuppressed),
		route("POST "+Prefix+"/suppression/import", auth.ScopeAdmin, s.importSuppressed),
		route("POST "+Prefix+"/calls/{callId}/control", auth.ScopeOperate, s.controlCall),
		route("GET "+Prefix+"/schedules", auth.ScopeRead, s.listSchedules),
		route("POST "+Prefix+"/schedules", auth.ScopeAdmin, s.addSchedule),
		route("DELETE "+Prefix+"/schedules/{id}", auth.ScopeAdmin, s.removeSchedule),
		route("GET "+Prefix+"/accounts", auth.ScopeRead, s.listAccounts),
		route("PUT "+Prefix+"/accounts/{name}", auth.ScopeAdmin, s.setAccount),
		route("GET "+Prefix+"/tokens", auth.ScopeAdmin, s.listTokens),
		route("POST "+Prefix+"/tokens", auth.ScopeAdmin, s.createToken),
		route("DELETE "+Prefix+"/tokens/{name}", auth.ScopeAdmin, s.revokeToken),
		route("GET "+Prefix+"/audit", auth.ScopeAdmin, s.listAudit),
	}
}

// writeJSON answers status with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// serveList answers a GET of a collection: {"<name>": [...]} holding view of each item that
// list returns, an empty array (never null) when there are none, or list's error.
func serveList[T, V any](s *Server, w http.ResponseWriter, r *http.Request, name string, list func(context.Context) ([]T, error), view func(T) V) {
	items, err := list(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	views := make([]V, 0, len(items))
	for _, item := range items {
		views = append(views, view(item))
	}
	writeJSON(w, http.StatusOK, map[string][]V{name: views})
}

// decodeJSON reads a JSON request body of at most 1 MiB into v, refusing unknown fields.
// Its errors are bad requests worded for the caller: a value of the wrong JSON type names
// the field by its JSON pointer (in the problem's errors too) and the type it wants, in the
// API's terms rather than Go's.
//
// An unknown field is named by its JSON pointer, with the fields allowed where it stands.
func decodeJSON(r *http.Request, v any) error {
	var body bytes.Buffer
	dec := json.NewDecoder(io.TeeReader(http.MaxBytesReader(nil, r.Body, 1<<20), &body))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		return nil
	}
	const hint = "send a JSON object as the API reference shows"
	if strings.HasPrefix(err.Error(), "json: unknown field ") {
		if pointer, allowed, ok := unknownField(body.Bytes(), reflect.TypeOf(v), ""); ok {
			detail := fmt.Sprintf("%s: unknown field; the fields here are %s", pointer, strings.Join(allowed, ", "))
			return &problem.Problem{Type: typeBadRequest, Title: "Bad request", Status: http.StatusBadRequest,
				Detail: "request body: " + detail, Errors: []problem.FieldError{{Pointer: pointer, Detail: detail}}}
		}
	}
	var (
		typeErr   *json.UnmarshalTypeError
		syntaxErr *json.SyntaxError
	)
	switch {
	case errors.As(err, &typeErr) && typeErr.Field != "":
		pointer := "/" + strings.ReplaceAll(typeErr.Field, ".", "/")
		detail := fmt.Sprintf("%s: got a JSON %s, want %s", typeErr.Field, typeErr.Value, jsonKind(typeErr.Type))
		return &problem.Problem{Type: typeBadRequest, Title: "Bad request", Status: http.StatusBadRequest,
			Detail: "request body: " + detail + "; " + hint, Errors: []problem.FieldError{{Pointer: pointer, Detail: detail}}}
	case errors.As(err, &typeErr):
		return badRequest("request body: got a JSON %s, want an object; %s", typeErr.Value, hint)
	case errors.As(err, &syntaxErr):
		return badRequest("request body is not valid JSON at byte %d: %v; %s", syntaxErr.Offset, err, hint)
	case errors.Is(err, io.EOF):
		return badRequest("request body is empty; %s", hint)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("request body ends before its JSON does; %s", hint)
	}
	return badRequest("request body: %v; %s", strings.TrimPrefix(err.Error(), "json: "), hint)
}

// unknownField finds the first member of the JSON value data that no field of t (a struct,
// or a pointer, slice or map of one, at any depth) takes, as encoding/json matches names:
// its JSON pointer below at, and the names t's struct takes there, sorted. ok is false when
// every member is known, or data does not have t's shape (another error then tells).
func unknownField(data []byte, t reflect.Type, at string) (pointer string, allowed []string, ok bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		var members map[string]json.RawMessage
		if json.Unmarshal(data, &members) != nil {
			return "", nil, false
		}
		fields := jsonFields(t)
		for _, name := range slices.Sorted(maps.Keys(members)) {
			f, known := fields[strings.ToLower(name)]
			if !known {
				allowed = make([]string, 0, len(fields))
				for _, f := range fields {
					allowed = append(allowed, f.name)
				}
				slices.Sort(allowed)
				return at + "/" + pointerEscape(name), allowed, true
			}
			if pointer, allowed, ok := unknownField(members[name], f.typ, at+"/"+pointerEscape(name)); ok {
				return pointer, allowed, ok
			}
		}
	case reflect.Slice, reflect.Array:
		var items []json.RawMessage
		if json.Unmarshal(data, &items) != nil {
			return "", nil, false
		}
		for i, item := range items {
			if pointer, allowed, ok := unknownField(item, t.Elem(), at+"/"+strconv.Itoa(i)); ok {
				return pointer, allowed, ok
			}
		}
	case reflect.Map:
		var members map[string]json.RawMessage
		if json.Unmarshal(data, &members) != nil {
			return "", nil, false
		}
		for _, name := range slices.Sorted(maps.Keys(members)) {
			if pointer, allowed, ok := unknownField(members[name], t.Elem(), at+"/"+pointerEscape(name)); ok {
				return pointer, allowed, ok
			}
		}
	}
	return "", nil, false
}

// jsonField is a struct field as encoding/json sees it: its JSON name and its Go type.
type jsonField struct {
	name string
	typ  reflect.Type
}

// jsonFields returns the fields encoding/json decodes into struct type t, by their JSON name
// in lower case (encoding/json matches names case-insensitively), embedded structs' fields
// included.
func jsonFields(t reflect.Type) map[string]jsonField {
	out := map[string]jsonField{}
	for _, f := range reflect.VisibleFields(t) {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() || f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[strings.ToLower(name)] = jsonField{name: name, typ: f.Type}
	}
	return out
}

// pointerEscape escapes name as one reference token of a JSON pointer (RFC 6901).
func pointerEscape(name string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(name)
}

// jsonKind names the JSON type that decodes into t: "a number", "a string", ...
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return "an object"
}

// queryInt reads query parameter name as an integer in [lo, hi], def when absent.
func queryInt(r *http.Request, name string, def, lo, hi int) (int, error) {
	raw := r.URL.Query().Get(name)
	if raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < lo || n > hi {
		return 0, badRequest("query parameter %s=%q: want a whole number from %d to %d", name, raw, lo, hi)
	}
	return n, nil
}
