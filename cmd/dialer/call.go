package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/dialerhq/dialer/internal/interactly"
)

// callTimeout bounds a whole `dialer call`, both its requests and their retries: someone is
// waiting, and an API that does not answer must not hold them. A variable for tests.
var callTimeout = 20 * time.Second

// apiRequestTimeout bounds one HTTP request of a command that calls the API (its retries
// are bounded apart, by the retry budget).
const apiRequestTimeout = 10 * time.Second

var (
	// dtmfDigits are the keys a dtmf control may press: 0-9, * and #, w or W for a pause.
	dtmfDigits = regexp.MustCompile(`^[0-9*#wW]+$`)
	// e164Destination is a forward destination once spaces, dashes, dots and brackets are gone.
	e164Destination = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
)

// callActions are the actions `dialer call` takes, in the order usage lists them.
var callActions = []string{interactly.ControlSay, interactly.ControlEnd, interactly.ControlForward, interactly.ControlDTMF}

const callUsage = `say|end|forward|dtmf CALL_ID [MESSAGE]

  say CALL_ID TEXT          the assistant says TEXT (several words are joined with spaces)
  end CALL_ID               hang up
  forward CALL_ID NUMBER    hand the call to NUMBER, in E.164 (+14155550123)
  dtmf CALL_ID DIGITS       press DIGITS: 0-9, * and #, w or W for a pause

The call's monitor.controlUrl is read with Get Call and the control is posted there; a call
without one is controlled through POST /calls/v1/conversations/CALL_ID/control.
Uses INTERACTLY_API_KEY and INTERACTLY_BASE_URL.`

// runCall steers a live call: `dialer call say|end|forward|dtmf CALL_ID [MESSAGE]`. It reads
// the call for its monitor.controlUrl and posts {"type", "message"} there (Call Control), or
// to the documented path by id when the call has none, then prints one line saying what was
// done. Wrong arguments are errUsage (exit 2); an unknown call, an ended call and an API
// refusal are errors naming the call.
func runCall(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "call", callUsage)
	fs.Usage = func() { fmt.Fprintf(fs.Output(), "usage: dialer call %s\n", callUsage) } // it has no flags
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	req, id, err := parseCallArgs(fs.Args())
	if err != nil {
		fs.Usage()
		return err
	}
	api, err := newAPIClient(e, "dialer call", interactly.Config{RetryBudget: callTimeout})
	if err != nil {
		return err
	}
	base := e.getenv("INTERACTLY_BASE_URL")
	if base == "" {
		base = interactly.DefaultBaseURL
	}
	if err := resolveAPIHost(ctx, e, base); err != nil {
		return fmt.Errorf("call %s: %w", id, err)
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	// timedOut says what the command gave up waiting for, when its deadline passed.
	timedOut := func(what string) error {
		return fmt.Errorf("call %s: gave up after %s waiting for Interactly at %s to answer %s; check INTERACTLY_BASE_URL and the network, then try again", id, callTimeout, base, what)
	}

	controlURL := ""
	call, err := api.GetCall(ctx, id)
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return timedOut("Get Call")
	}
	var apiErr *interactly.APIError
	switch {
	case errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound:
		return fmt.Errorf("call %s: no such call at %s; check the call ID (dialer report --attempts lists each attempt's call_id)", id, base)
	case errors.As(err, &apiErr) && (apiErr.Status == http.StatusUnauthorized || apiErr.Status == http.StatusForbidden):
		return fmt.Errorf("call %s: %w; check INTERACTLY_API_KEY and INTERACTLY_BASE_URL", id, err)
	case err != nil:
		if ctx.Err() != nil {
			return fmt.Errorf("call %s: %w", id, err)
		}
		fmt.Fprintf(e.stderr, "dialer call: could not read call %s (%v); posting to its control path by ID\n", id, err)
	case call.Ended() && req.Type != interactly.ControlEnd:
		return fmt.Errorf("call %s has ended (status %s, %s); only a live call can be steered", id, call.Status, call.PhoneCallStatus)
	default:
		controlURL = call.Monitor.ControlURL
	}

	target, err := postCallControl(ctx, api, base, id, controlURL, req, e)
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return timedOut("Call Control (" + req.Type + "); the control may or may not have reached the call")
	}
	if err != nil {
		if errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound {
			return fmt.Errorf("call %s: no such call at %s; check the call ID (dialer report --attempts lists each attempt's call_id)", id, base)
		}
		return fmt.Errorf("call %s: %s refused: %w", id, req.Type, err)
	}
	switch req.Type {
	case interactly.ControlSay:
		fmt.Fprintf(e.stdout, "said %q on call %s (POST %s)\n", req.Message, id, target)
	case interactly.ControlEnd:
		fmt.Fprintf(e.stdout, "ended call %s (POST %s)\n", id, target)
	case interactly.ControlForward:
		fmt.Fprintf(e.stdout, "forwarded call %s to %s (POST %s)\n", id, req.Message, target)
	case interactly.ControlDTMF:
		fmt.Fprintf(e.stdout, "pressed %s on call %s (POST %s)\n", req.Message, id, target)
	}
	return nil
}

// resolveAPIHost looks up the host of base (INTERACTLY_BASE_URL) once, so that a name that
// does not resolve is said at once, rather than after the retry budget (or as "context
// canceled" when the operator gives up first). Other lookup failures, which may pass, are
// left to the client's retries; so is every host when a proxy is set, since the proxy
// resolves it.
func resolveAPIHost(ctx context.Context, e *env, base string) error {
	u, err := url.Parse(base)
	if err != nil || u.Hostname() == "" || net.ParseIP(u.Hostname()) != nil {
		return nil
	}
	if proxy, _ := http.ProxyFromEnvironment(&http.Request{URL: u}); proxy != nil {
		return nil
	}
	lookup := e.lookupHost
	if lookup == nil {
		lookup = net.DefaultResolver.LookupHost
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err = lookup(ctx, u.Hostname())
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return fmt.Errorf("cannot reach Interactly at %s: the host name %s does not resolve (no such host); check INTERACTLY_BASE_URL and this machine's DNS", base, u.Hostname())
	}
	return nil
}

// postCallControl posts req to controlURL, or by id when it is empty or refuses the request as
// unauthorized (a controlUrl on another host gets no API key), and returns where it posted.
func postCallControl(ctx context.Context, api *interactly.Client, base, id, controlURL string, req interactly.ControlRequest, e *env) (string, error) {
	byID := strings.TrimRight(base, "/") + "/calls/v1/conversations/" + url.PathEscape(id) + "/control"
	if controlURL == "" {
		_, err := api.ControlCallByID(ctx, id, req)
		return byID, err
	}
	_, err := api.ControlCall(ctx, controlURL, req)
	var apiErr *interactly.APIError
	if errors.As(err, &apiErr) && (apiErr.Status == http.StatusUnauthorized || apiErr.Status == http.StatusForbidden) {
		fmt.Fprintf(e.stderr, "dialer call: %s answered %d; posting to the control path by ID\n", controlURL, apiErr.Status)
		_, err = api.ControlCallByID(ctx, id, req)
		return byID, err
	}
	return controlURL, err
}

// parseCallArgs reads ACTION CALL_ID [MESSAGE...] into a control request. Every error
// wraps errUsage and says what to pass.
func parseCallArgs(args []string) (interactly.ControlRequest, string, error) {
	if len(args) < 2 {
		return interactly.ControlRequest{}, "", fmt.Errorf("%w: want an action (%s) and a call ID", errUsage, strings.Join(callActions, ", "))
	}
	action, id, rest := args[0], strings.TrimSpace(args[1]), args[2:]
	if id == "" {
		return interactly.ControlRequest{}, "", fmt.Errorf("%w: the call ID is empty", errUsage)
	}
	req := interactly.ControlRequest{Type: action}
	switch action {
	case interactly.ControlEnd:
		if len(rest) > 0 {
			return req, id, fmt.Errorf("%w: end takes no MESSAGE, got %q", errUsage, strings.Join(rest, " "))
		}
		return req, id, nil
	case interactly.ControlSay:
		req.Message = strings.TrimSpace(strings.Join(rest, " "))
		if req.Message == "" {
			return req, id, fmt.Errorf("%w: say needs the text to say, e.g. dialer call say %s \"One moment, please.\"", errUsage, id)
		}
		return req, id, nil
	case interactly.ControlForward, interactly.ControlDTMF:
	default:
		return req, id, fmt.Errorf("%w: unknown action %q; want one of %s", errUsage, action, strings.Join(callActions, ", "))
	}
	if len(rest) != 1 {
		what := "the number to forward to, in E.164 (e.g. +14155550123)"
		if action == interactly.ControlDTMF {
			what = "the digits to press (0-9, * and #, w or W for a pause, e.g. 1234#)"
		}
		return req, id, fmt.Errorf("%w: %s needs one MESSAGE: %s", errUsage, action, what)
	}
	msg := strings.TrimSpace(rest[0])
	if action == interactly.ControlDTMF {
		if !dtmfDigits.MatchString(msg) {
			return req, id, fmt.Errorf("%w: dtmf digits %q: use only 0-9, * and #, with w or W for a pause, e.g. 1234#", errUsage, msg)
		}
		req.Message = msg
		return req, id, nil
	}
	number := strings.NewReplacer(" ", "", "-", "", ".", "", "(", "", ")", "").Replace(msg)
	if !e164Destination.MatchString(number) {
		return req, id, fmt.Errorf("%w: forward destination %q is not an E.164 number; pass + then the country code and number, e.g. +14155550123", errUsage, msg)
	}
	req.Message = number
	return req, id, nil
}
