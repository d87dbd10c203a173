package interactly

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// API paths (api-reference/calls/*).
const (
	connectPath = "/calls/v1/conversations/connect"
	callsPath   = "/calls/v1/conversations"
)

// MetadataIdempotencyKey is the metadata field that carries
// ConnectCallRequest.IdempotencyKey. The API has no idempotency support of
// its own; metadata is echoed on the call object (api-reference/calls/connect),
// which is what lets FindCall find a call by its key.
const MetadataIdempotencyKey = "idempotencyKey"

// Call directions for ConnectCallRequest.Direction
// (api-reference/calls/connect).
const (
	Outbound = "outbound"
	Inbound  = "inbound"
)

// findWindow widens FindCall's date range on both sides, for clock skew
// between this host and the API and for the time a connect took.
const findWindow = 2 * time.Minute

// findNear is the narrow range FindCall reads first, on both sides of when the call was
// placed: with the clocks in step the call is there, on its first page or two however busy
// the account, where the wide range (findWindow) holds every call of the last minutes.
const findNear = 5 * time.Second

// findPageSize and findMaxPages bound FindCall's paging.
const (
	findPageSize = 100
	findMaxPages = 200
)

// ConnectCallRequest is the body of Connect Call
// (api-reference/calls/connect).
type ConnectCallRequest struct {
	// Direction is "outbound" (Outbound) or "inbound". Defaults to outbound.
	Direction string `json:"direction"`
	// PhoneNumberID is the team's caller number that places the call.
	// Required by the API.
	PhoneNumberID string `json:"phoneNumberId"`
	// Customer is who is called; Customer.Number is required, in E.164.
	Customer Customer `json:"customer"`
	// AssistantID names an existing assistant. With neither AssistantID nor
	// Assistant, the phone number's attached assistant answers.
	AssistantID string `json:"assistantId,omitempty"`
	// Assistant is a full inline assistant; it wins over AssistantID.
	Assistant map[string]any `json:"assistant,omitempty"`
	// AssistantOverrides are per-call overrides: welcomeMessage,
	// welcomeMessageMode, recordingEnabled, dynamicVariables (a map of
	// string to string filling {{name}} placeholders), variablesValidations.
	AssistantOverrides map[string]any `json:"assistantOverrides,omitempty"`
	// Metadata is free-form and echoed on the call object and in webhooks.
	Metadata map[string]any `json:"metadata,omitempty"`
	// IdempotencyKey, when set, is sent as metadata.idempotencyKey (see
	// MetadataIdempotencyKey) and lets ConnectCall retry after an ambiguous
	// failure without placing the call twice. Use one key per attempt to
	// call a contact.
	IdempotencyKey string `json:"-"`
	// Pace, when set, is called before every send of the request, retries
	// included, and the request waits for it; an error from it ends
	// ConnectCall with that error. A dialer takes a calls-per-second token
	// here, so that the client's own retries after a 429 or a 5xx are paced
	// like first dials.
	Pace func(ctx context.Context) error `json:"-"`
	// OnRetry, when set, is called each time a send fails and the request is to be
	// tried again after wait: sent again, or, after an ambiguous failure, first
	// looked up by IdempotencyKey. err is the failure (an *APIError). A dialer logs
	// it: the retries of one Connect Call can take many seconds, all of them with
	// the attempt's slot held and its call perhaps placed.
	OnRetry func(err error, wait time.Duration) `json:"-"`
}

// body is the request as sent: direction defaulted and the idempotency key
// merged into a copy of Metadata.
func (r *ConnectCallRequest) body() ConnectCallRequest {
	b := *r
	if b.Direction == "" {
		b.Direction = Outbound
	}
	if r.IdempotencyKey != "" {
		b.Metadata = make(map[string]any, len(r.Metadata)+1)
		maps.Copy(b.Metadata, r.Metadata)
		b.Metadata[MetadataIdempotencyKey] = r.IdempotencyKey
	}
	return b
}

// ConnectCall places a call: POST /calls/v1/conversations/connect
// (api-reference/calls/connect). The returned Call has Status queued; poll
// GetCall until Call.Ended.
//
// Connect Call is not idempotent. It is sent again freely only when the
// request certainly was not processed (429, connection refused). After an
// ambiguous failure (5xx, a timeout or a dropped connection after the
// request was written) it is sent again only if req.IdempotencyKey is set
// and FindCall shows no call with that key; if FindCall finds one, that
// call is the result. Without a key, an ambiguous failure is returned at
// once: the call may or may not exist.
//
// Errors are *APIError (possibly wrapped together with the FindCall error
// that prevented a retry).
func (c *Client) ConnectCall(ctx context.Context, req *ConnectCallRequest) (*Call, error) {
	if req == nil {
		return nil, errors.New("interactly: connect call: nil request")
	}
	body, err := json.Marshal(req.body())
	if err != nil {
		return nil, fmt.Errorf("interactly: connect call: encode request: %w", err)
	}
	start := c.now()
	r := &request{
		op:       "connect call",
		kind:     "connect",
		method:   http.MethodPost,
		url:      c.url(connectPath, nil),
		body:     body,
		deadline: start.Add(c.budget),
		pace:     req.Pace,
		onRetry:  req.OnRetry,
	}
	var found *Call
	if key := req.IdempotencyKey; key != "" {
		r.resend = func(ctx context.Context) (bool, error) {
			call, err := c.findCall(ctx, key, start, r.deadline)
			if err != nil {
				return false, err
			}
			found = call
			return call == nil, nil
		}
	}
	var call Call
	if err := c.do(ctx, r, &call); err != nil {
		return nil, err
	}
	if found != nil {
		return found, nil
	}
	return &call, nil
}

// GetCall reads a call: GET /calls/v1/conversations/{id}
// (api-reference/calls/get-call). An unknown id is an *APIError with
// Status 404.
func (c *Client) GetCall(ctx context.Context, id string) (*Call, error) {
	if id == "" {
		return nil, errors.New("interactly: get call: empty call id")
	}
	var call Call
	err := c.do(ctx, &request{
		op:         "get call",
		kind:       "get",
		method:     http.MethodGet,
		url:        c.url(callsPath+"/"+url.PathEscape(id), nil),
		deadline:   c.deadline(),
		idempotent: true,
	}, &call)
	if err != nil {
		return nil, err
	}
	return &call, nil
}

// ListCallsParams selects a page of List Calls
// (api-reference/calls/list-calls).
type ListCallsParams struct {
	// StartDate and EndDate bound the calls listed; both are required by
	// the API and sent as ISO-8601 with milliseconds in UTC.
	StartDate, EndDate time.Time
	// Page is 1-based. Defaults to 1.
	Page int
	// Size is the page size. Defaults to 10, the API's default.
	Size int
	// Sort names the field to order by, e.g. "startAt". Defaults to the
	// API's order when empty.
	Sort string
}

// ListCalls reads one page of the team's calls: GET
// /calls/v1/conversations?startDate=&endDate=&page=&size=&sort=
// (api-reference/calls/list-calls). The API cannot filter by metadata.
func (c *Client) ListCalls(ctx context.Context, p ListCallsParams) (*CallList, error) {
	return c.listCalls(ctx, p, c.deadline())
}

func (c *Client) listCalls(ctx context.Context, p ListCallsParams, deadline time.Time) (*CallList, error) {
	if p.StartDate.IsZero() || p.EndDate.IsZero() {
		return nil, errors.New("interactly: list calls: ListCallsParams.StartDate and EndDate are required")
	}
	q := url.Values{}
	q.Set("startDate", p.StartDate.UTC().Format(TimeLayout))
	q.Set("endDate", p.EndDate.UTC().Format(TimeLayout))
	q.Set("page", strconv.Itoa(max(p.Page, 1)))
	size := p.Size
	if size <= 0 {
		size = 10
	}
	q.Set("size", strconv.Itoa(size))
	if p.Sort != "" {
		q.Set("sort", p.Sort)
	}
	var list CallList
	err := c.do(ctx, &request{
		op:         "list calls",
		kind:       "list",
		method:     http.MethodGet,
		url:        c.url(callsPath, q),
		deadline:   deadline,
		idempotent: true,
	}, &list)
	if err != nil {
		return nil, err
	}
	return &list, nil
}

// FindCall looks for the call placed with idempotencyKey (see
// ConnectCallRequest.IdempotencyKey) by paging through ListCalls, first over
// [since-5s, now+5s], then, when it is not there, over [since-2m, now+2m]
// (for clocks out of step); since is when the call was (or may have been)
// placed. It returns (nil, nil) when no call carries the key. The API
// cannot filter by metadata, so this reads every call of the team in those
// ranges (api-reference/calls/list-calls); it gives up with an error after
// 200 pages of 100 rather than report "none" without having looked.
func (c *Client) FindCall(ctx context.Context, idempotencyKey string, since time.Time) (*Call, error) {
	return c.findCall(ctx, idempotencyKey, since, c.deadline())
}

func (c *Client) findCall(ctx context.Context, key string, since, deadline time.Time) (*Call, error) {
	if key == "" {
		return nil, errors.New("interactly: find call: empty idempotency key")
	}
	now := c.now()
	call, err := c.findIn(ctx, key, since.Add(-findNear), now.Add(findNear), deadline)
	if call != nil || err != nil {
		return call, err
	}
	return c.findIn(ctx, key, since.Add(-findWindow), now.Add(findWindow), deadline)
}

// findIn pages through the calls created in [start, end] for the one with idempotency key
// key (see findCall).
func (c *Client) findIn(ctx context.Context, key string, start, end, deadline time.Time) (*Call, error) {
	p := ListCallsParams{
		StartDate: start,
		EndDate:   end,
		Size:      findPageSize,
		Sort:      "startAt",
	}
	seen := 0
	for p.Page = 1; p.Page <= findMaxPages; p.Page++ {
		list, err := c.listCalls(ctx, p, deadline)
		if err != nil {
			return nil, err
		}
		for i := range list.Conversations {
			call := &list.Conversations[i]
			if k, ok := call.Metadata[MetadataIdempotencyKey].(string); ok && k == key {
				return call, nil
			}
		}
		seen += len(list.Conversations)
		// Some servers omit totalCount; then only an empty page ends the list.
		if len(list.Conversations) == 0 || (list.TotalCount > 0 && seen >= list.TotalCount) {
			return nil, nil
		}
	}
	return nil, fmt.Errorf("interactly: find call: no call with idempotency key %q in the first %d pages of %d; the window holds too many calls to tell", key, findMaxPages, findPageSize)
}

// Call Control types for ControlRequest.Type (api-reference/calls/control).
const (
	ControlSay     = "say"
	ControlEnd     = "end"
	ControlForward = "forward" // Message is presumably the destination
	ControlDTMF    = "dtmf"    // Message is presumably the digits
	ControlSMS     = "sms"
)

// ControlRequest is the body of Call Control (api-reference/calls/control).
type ControlRequest struct {
	Type    string `json:"type"` // ControlSay, ControlEnd, ControlForward, ControlDTMF or ControlSMS
	Message string `json:"message,omitempty"`
}

// ControlResponse is Call Control's answer, documented as
// {"message": "Call controlled successfully.", "data": {"success": true}}
// (api-reference/calls/control).
type ControlResponse struct {
	Message string `json:"message"`
	Data    struct {
		Success bool `json:"success"`
	} `json:"data"`
}

// UnmarshalJSON implements json.Unmarshaler, accepting "true" and 1 as
// success.
func (r *ControlResponse) UnmarshalJSON(b []byte) error {
	var w struct {
		Message flexString `json:"message"`
		Data    struct {
			Success flexBool `json:"success"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	r.Message = string(w.Message)
	r.Data.Success = bool(w.Data.Success)
	return nil
}

// ControlCall steers a live call by posting req to controlURL, the call's
// Monitor.ControlURL, exactly as given (api-reference/calls/control; one
// published sample spells the path "convesations", and the client does not
// correct it). A relative controlURL is resolved against Config.BaseURL;
// an empty one is an error — use ControlCallByID.
//
// The API key is sent only when controlURL has Config.BaseURL's scheme and
// host (default ports aside). A controlUrl on any other host is posted
// without an Authorization header, as a capability URL: a call object's
// fields are data from the network, and the team's key must not follow
// them to whichever host they name. If that host wants the key, the post
// fails with its 401 or 403; use ControlCallByID then.
//
// Only "end" is sent again after an ambiguous failure, since ending a call
// twice is harmless and saying something twice is not.
func (c *Client) ControlCall(ctx context.Context, controlURL string, req ControlRequest) (*ControlResponse, error) {
	if controlURL == "" {
		return nil, errors.New("interactly: control call: empty controlURL; use ControlCallByID with the call's id")
	}
	u, err := url.Parse(controlURL)
	if err != nil {
		return nil, fmt.Errorf("interactly: control call: controlURL %q cannot be parsed: %w", controlURL, err)
	}
	target := controlURL
	if !u.IsAbs() {
		base, err := url.Parse(c.base + "/")
		if err != nil {
			return nil, fmt.Errorf("interactly: control call: %w", err)
		}
		target = base.ResolveReference(u).String()
	} else if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("interactly: control call: controlURL %q is not an http or https URL", controlURL)
	}
	return c.control(ctx, target, req)
}

// ControlCallByID steers a live call through the documented
// POST /calls/v1/conversations/{id}/control (api-reference/calls/control),
// for when the call's Monitor.ControlURL is unknown.
func (c *Client) ControlCallByID(ctx context.Context, id string, req ControlRequest) (*ControlResponse, error) {
	if id == "" {
		return nil, errors.New("interactly: control call: empty call id")
	}
	return c.control(ctx, c.url(callsPath+"/"+url.PathEscape(id)+"/control", nil), req)
}

func (c *Client) control(ctx context.Context, target string, req ControlRequest) (*ControlResponse, error) {
	if req.Type == "" {
		return nil, errors.New("interactly: control call: ControlRequest.Type is required (say, end, forward, dtmf or sms)")
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("interactly: control call: encode request: %w", err)
	}
	var resp ControlResponse
	err = c.do(ctx, &request{
		op:         "control call",
		kind:       "control",
		method:     http.MethodPost,
		url:        target,
		body:       body,
		deadline:   c.deadline(),
		idempotent: req.Type == ControlEnd,
	}, &resp)
	if err != nil {
		return nil, err
	}
	return &resp, nil
}
