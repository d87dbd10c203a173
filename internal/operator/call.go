package operator

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"

	"github.com/dialerhq/dialer/internal/account"
	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/interactly"
)

// CallActions are the controls a live call takes (Interactly's Call Control), in the order
// usage lists them: say, end, forward, dtmf.
var CallActions = []string{interactly.ControlSay, interactly.ControlEnd, interactly.ControlForward, interactly.ControlDTMF}

var (
	// dtmfDigits are the keys a dtmf control may press: 0-9, * and #, w or W for a pause.
	dtmfDigits = regexp.MustCompile(`^[0-9*#wW]+$`)
	// e164Destination is a forward destination once spaces, dashes, dots and brackets are gone.
	e164Destination = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
)

// ControlInputError is a call control refused before anything is sent: Field ("action" or
// "message") is wrong, and the message says how to fix it.
type ControlInputError struct {
	Field string
	Msg   string
}

// Error says what is wrong and what to pass.
func (e *ControlInputError) Error() string { return e.Msg }

// ParseCallControl checks action (one of CallActions) and its message as `dialer call` and
// the API take them, and returns the control to send: say needs the text to say, end takes
// none, forward an E.164 number (spaces, dashes, dots and brackets are dropped), dtmf the
// digits to press (0-9, * and #, w or W for a pause). callID only names the call in the
// examples of its errors, which are all *ControlInputError.
func ParseCallControl(callID, action, message string) (interactly.ControlRequest, error) {
	req := interactly.ControlRequest{Type: action}
	msg := strings.TrimSpace(message)
	refuse := func(field, format string, args ...any) (interactly.ControlRequest, error) {
		return req, &ControlInputError{Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	switch action {
	case interactly.ControlEnd:
		if msg != "" {
			return refuse("message", "end takes no MESSAGE, got %q", msg)
		}
	case interactly.ControlSay:
		if msg == "" {
			return refuse("message", "say needs the text to say, e.g. dialer call say %s \"One moment, please.\"", callID)
		}
		req.Message = msg
	case interactly.ControlDTMF:
		if msg == "" {
			return refuse("message", "dtmf needs one MESSAGE: the digits to press (0-9, * and #, w or W for a pause, e.g. 1234#)")
		}
		if !dtmfDigits.MatchString(msg) {
			return refuse("message", "dtmf digits %q: use only 0-9, * and #, with w or W for a pause, e.g. 1234#", msg)
		}
		req.Message = msg
	case interactly.ControlForward:
		if msg == "" {
			return refuse("message", "forward needs one MESSAGE: the number to forward to, in E.164 (e.g. +14155550123)")
		}
		number := strings.NewReplacer(" ", "", "-", "", ".", "", "(", "", ")", "").Replace(msg)
		if !e164Destination.MatchString(number) {
			return refuse("message", "forward destination %q is not an E.164 number; pass + then the country code and number, e.g. +14155550123", msg)
		}
		req.Message = number
	default:
		return refuse("action", "unknown action %q; want one of %s", action, strings.Join(CallActions, ", "))
	}
	return req, nil
}

// ErrCallNotFound is returned by ControlCall for a call Interactly does not know, or, when
// ControlOptions.OwnCallsOnly is set, one that no campaign in this Redis placed.
var ErrCallNotFound = errors.New("no such call")

// ErrCallEnded is returned by ControlCall for a call that has ended, unless the control is
// end (ending an ended call is harmless).
var ErrCallEnded = errors.New("the call has ended; only a live call can be steered")

// ErrCallAPIKey wraps Interactly's refusal of the API key (401 or 403) in ControlCall.
var ErrCallAPIKey = errors.New("the API key was refused by Interactly; check INTERACTLY_API_KEY and INTERACTLY_BASE_URL")

// ErrNoControlAPI is returned by Operator.ControlCall when the Operator has no Interactly
// client.
var ErrNoControlAPI = errors.New("controlling calls needs INTERACTLY_API_KEY where this runs; set it there and restart")

// CallStepError is a ControlCall that ctx ended (its deadline, say) while it waited for
// Interactly: Step is what it waited for, "Get Call" or "Call Control (ACTION)". A control
// that ended so may or may not have reached the call.
type CallStepError struct {
	CallID string
	Step   string
	Err    error
}

// Error names the call and the step.
func (e *CallStepError) Error() string {
	return "call " + e.CallID + ": " + e.Step + ": " + e.Err.Error()
}

// Unwrap returns the cause, ctx's error among it.
func (e *CallStepError) Unwrap() error { return e.Err }

// ControlOptions tune ControlCall.
type ControlOptions struct {
	// API is the Interactly client the control is sent with. Required.
	API *interactly.Client
	// Others are the clients of other accounts' keys: a call that API's key does not find
	// (404) is looked up with each in turn, and controlled with the one that finds it.
	Others []*interactly.Client
	// BaseURL is the client's base URL, for saying where a control went by ID. Defaults to
	// interactly.DefaultBaseURL.
	BaseURL string
	// Store, when set, maps the call to its attempt: from the call's metadata (campaignId,
	// contactId, attempt) to the attempt record, which must name the same call.
	Store *campaign.Store
	// OwnCallsOnly refuses, with ErrCallNotFound and before anything is sent, a call that no
	// campaign of Store placed. The API sets it: a token controls the dialer's calls, not
	// every call of the Interactly team.
	OwnCallsOnly bool
	// Fallback, when set, is told each time the control goes by ID instead of to the call's
	// controlUrl, and why (`dialer call` prints it).
	Fallback func(reason string)
}

// ControlResult is what ControlCall did.
type ControlResult struct {
	// CallID is the call controlled; Action and Message the control sent.
	CallID  string `json:"callId"`
	Action  string `json:"type"`
	Message string `json:"message,omitempty"`
	// Target is where the control was posted: the call's monitor.controlUrl, or the
	// documented path by ID.
	Target string `json:"target"`
	// CampaignID, Contact and Attempt name the attempt that placed the call, when Store
	// found it; "" and 0 otherwise.
	CampaignID string `json:"campaignId,omitempty"`
	Contact    int    `json:"contact,omitempty"`
	Attempt    int    `json:"attempt,omitempty"`
}

// ControlCall sends req (see ParseCallControl) to live call callID, as `dialer call` and
// POST /api/v1/calls/{callId}/control do. It reads the call (Get Call) for its
// monitor.controlUrl and posts the control there, or to the path by ID when the call has
// none, when that URL refuses the API key, or when the call could not be read for another
// reason (the control is sent anyway: the call is live and someone is waiting). With a
// Store, the call's metadata names its attempt, whose recorded controlUrl serves when Get
// Call gives none.
//
// Errors: ErrCallNotFound (Interactly answered 404, or OwnCallsOnly and no campaign placed
// it); ErrCallEnded; ErrCallAPIKey (401 or 403); ctx's error when it ends first; else
// Interactly's refusal of the control, wrapped. Each names the call.
func ControlCall(ctx context.Context, callID string, req interactly.ControlRequest, opt ControlOptions) (ControlResult, error) {
	res := ControlResult{CallID: callID, Action: req.Type, Message: req.Message}
	base := opt.BaseURL
	if base == "" {
		base = interactly.DefaultBaseURL
	}
	fallback := func(reason string) {
		if opt.Fallback != nil {
			opt.Fallback(reason)
		}
	}
	notFound := func() error {
		return fmt.Errorf("call %s: %w at %s; check the call ID (dialer report --attempts lists each attempt's call_id)", callID, ErrCallNotFound, base)
	}

	controlURL := ""
	api := opt.API
	call, err := api.GetCall(ctx, callID)
	var apiErr *interactly.APIError
	for _, other := range opt.Others {
		if !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound {
			break
		}
		if c, oerr := other.GetCall(ctx, callID); oerr == nil || !errors.As(oerr, new(*interactly.APIError)) {
			api, call, err = other, c, oerr // found, or a failure worth reporting over the 404
		}
	}
	switch {
	case errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound:
		return res, notFound()
	case errors.As(err, &apiErr) && (apiErr.Status == http.StatusUnauthorized || apiErr.Status == http.StatusForbidden):
		return res, fmt.Errorf("call %s: %w (%w)", callID, ErrCallAPIKey, err)
	case err != nil:
		if ctx.Err() != nil {
			return res, &CallStepError{CallID: callID, Step: "Get Call", Err: err}
		}
		if opt.OwnCallsOnly {
			return res, fmt.Errorf("call %s: could not read it to find its campaign: %w", callID, err)
		}
		fallback(fmt.Sprintf("could not read call %s (%v); posting to its control path by ID", callID, err))
	case call.Ended() && req.Type != interactly.ControlEnd:
		return res, fmt.Errorf("call %s (status %s, %s): %w", callID, call.Status, call.PhoneCallStatus, ErrCallEnded)
	default:
		controlURL = call.Monitor.ControlURL
	}
	if call != nil && opt.Store != nil {
		if err := res.findAttempt(ctx, opt.Store, call); err != nil {
			return res, fmt.Errorf("call %s: %w", callID, err)
		}
		if controlURL == "" && res.CampaignID != "" {
			rec, err := opt.Store.Attempt(ctx, campaign.AttemptRef{CampaignID: res.CampaignID, ContactID: res.Contact, Attempt: res.Attempt})
			if err != nil {
				return res, fmt.Errorf("call %s: %w", callID, err)
			}
			controlURL = rec.ControlURL
		}
	}
	if opt.OwnCallsOnly && res.CampaignID == "" {
		return res, notFound()
	}

	byID := strings.TrimRight(base, "/") + "/calls/v1/conversations/" + url.PathEscape(callID) + "/control"
	if controlURL == "" {
		res.Target = byID
		_, err = api.ControlCallByID(ctx, callID, req)
	} else {
		res.Target = controlURL
		_, err = api.ControlCall(ctx, controlURL, req)
		if errors.As(err, &apiErr) && (apiErr.Status == http.StatusUnauthorized || apiErr.Status == http.StatusForbidden) {
			fallback(fmt.Sprintf("%s answered %d; posting to the control path by ID", controlURL, apiErr.Status))
			res.Target = byID
			_, err = api.ControlCallByID(ctx, callID, req)
		}
	}
	switch {
	case err == nil:
		return res, nil
	case ctx.Err() != nil:
		return res, &CallStepError{CallID: callID, Step: "Call Control (" + req.Type + ")", Err: err}
	case errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound:
		return res, notFound()
	}
	return res, fmt.Errorf("call %s: %s refused: %w", callID, req.Type, err)
}

// findAttempt fills r's attempt from call's metadata (campaign.AttemptFromMetadata) when
// the store's record of that attempt names the same call; a call of no campaign here leaves
// r as it is.
func (r *ControlResult) findAttempt(ctx context.Context, store *campaign.Store, call *interactly.Call) error {
	ref, ok := campaign.AttemptFromMetadata(call.Metadata)
	if !ok {
		return nil
	}
	rec, err := store.Attempt(ctx, ref)
	if errors.Is(err, campaign.ErrCampaignNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if rec.CallID == call.ID {
		r.CampaignID, r.Contact, r.Attempt = ref.CampaignID, ref.ContactID, ref.Attempt
	}
	return nil
}

// ControlCall sends req to live call callID with the Operator's Interactly client, as
// the package function does, with the Operator's store naming the call's attempt. With
// ownOnly, a call that no campaign here placed is ErrCallNotFound, and nothing is sent. It
// returns ErrNoControlAPI without an Interactly client.
func (o *Operator) ControlCall(ctx context.Context, callID string, req interactly.ControlRequest, ownOnly bool) (ControlResult, error) {
	if o.cfg.API == nil {
		return ControlResult{CallID: callID, Action: req.Type}, ErrNoControlAPI
	}
	others, err := o.otherAPIs(ctx)
	if err != nil {
		return ControlResult{CallID: callID, Action: req.Type}, err
	}
	return ControlCall(ctx, callID, req, ControlOptions{API: o.cfg.API, Others: others, BaseURL: o.cfg.APIBaseURL, Store: o.store, OwnCallsOnly: ownOnly})
}

// otherAPIs returns the clients of the accounts whose key is not the default's, one per
// variable; an account whose variable is not set where this runs is left out (its calls
// cannot be reached from here).
func (o *Operator) otherAPIs(ctx context.Context) ([]*interactly.Client, error) {
	if o.cfg.APIFor == nil {
		return nil, nil
	}
	accts, err := account.NewStore(o.rdb).List(ctx)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{account.DefaultAPIKeyEnv: true}
	var out []*interactly.Client
	for _, a := range accts {
		if a.APIKeyEnv == "" || seen[a.APIKeyEnv] {
			continue
		}
		seen[a.APIKeyEnv] = true
		if c, err := o.cfg.APIFor(a.APIKeyEnv); err == nil && c != nil {
			out = append(out, c)
		}
	}
	return out, nil
}

// apiOf returns the client for the calls of account name ("" for the default): API, or
// APIFor's client for the account's key variable when that is not the default's.
func (o *Operator) apiOf(ctx context.Context, name string) (*interactly.Client, error) {
	if o.cfg.APIFor == nil {
		return o.cfg.API, nil
	}
	a, err := account.NewStore(o.rdb).Get(ctx, name)
	if err != nil {
		return nil, err
	}
	if a.APIKeyEnv == account.DefaultAPIKeyEnv {
		return o.cfg.API, nil
	}
	return o.cfg.APIFor(a.APIKeyEnv)
}

// APIFromEnv returns a Config.APIFor that makes, on first use, one client per environment
// variable, with the key getenv reads from it and the base URL base ("" for Interactly's).
// A variable that is not set is an error naming it.
func APIFromEnv(getenv func(string) string, base string, cfg interactly.Config) func(env string) (*interactly.Client, error) {
	var mu sync.Mutex
	clients := map[string]*interactly.Client{}
	return func(env string) (*interactly.Client, error) {
		mu.Lock()
		defer mu.Unlock()
		if c, ok := clients[env]; ok {
			return c, nil
		}
		key := getenv(env)
		if key == "" {
			return nil, fmt.Errorf("%s is not set where this runs; set it to the account's Interactly API key", env)
		}
		cfg.BaseURL, cfg.APIKey = base, key
		c, err := interactly.New(cfg)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", env, err)
		}
		clients[env] = c
		return c, nil
	}
}
