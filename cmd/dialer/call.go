package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/dialerhq/dialer/internal/account"
	"github.com/dialerhq/dialer/internal/interactly"
	"github.com/dialerhq/dialer/internal/operator"
)

// callTimeout bounds a whole `dialer call`, both its requests and their retries: someone is
// waiting, and an API that does not answer must not hold them. A variable for tests.
var callTimeout = 20 * time.Second

// apiRequestTimeout bounds one HTTP request of a command that calls the API (its retries
// are bounded apart, by the retry budget).
const apiRequestTimeout = 10 * time.Second

const callUsage = `[--api-key-env VAR] say|end|forward|dtmf CALL_ID [MESSAGE]

  say CALL_ID TEXT          the assistant says TEXT (several words are joined with spaces)
  end CALL_ID               hang up
  forward CALL_ID NUMBER    hand the call to NUMBER, in E.164 (+14155550123)
  dtmf CALL_ID DIGITS       press DIGITS: 0-9, * and #, w or W for a pause

The call's monitor.controlUrl is read with Get Call and the control is posted there; a call
without one is controlled through POST /calls/v1/conversations/CALL_ID/control.
Uses INTERACTLY_BASE_URL and the API key in INTERACTLY_API_KEY, or, for a call of another
account, in the variable --api-key-env names (the account's, as dialer account list shows).`

// runCall steers a live call: `dialer call say|end|forward|dtmf CALL_ID [MESSAGE]`, through
// operator.ControlCall (what POST /api/v1/calls/{callId}/control does too), then prints one
// line saying what was done. Wrong arguments are errUsage (exit 2); an unknown call, an
// ended call and an API refusal are errors naming the call.
func runCall(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "call", callUsage)
	fs.Usage = func() { fmt.Fprintf(fs.Output(), "usage: dialer call %s\n", callUsage) } // its one flag is in callUsage
	keyEnv := fs.String("api-key-env", account.DefaultAPIKeyEnv, "environment `variable` holding the API key of the call's account")
	if err := parseFlags(e, fs, args); err != nil {
		return err
	}
	req, id, err := parseCallArgs(fs.Args())
	if err != nil {
		fs.Usage()
		return err
	}
	api, err := newAPIClientOf(e, "dialer call", *keyEnv, interactly.Config{RetryBudget: callTimeout})
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
	res, err := operator.ControlCall(ctx, id, req, operator.ControlOptions{
		API: api, BaseURL: base,
		Fallback: func(reason string) { fmt.Fprintf(e.stderr, "dialer call: %s\n", reason) },
	})
	var step *operator.CallStepError
	switch {
	case errors.As(err, &step) && errors.Is(ctx.Err(), context.DeadlineExceeded):
		what := step.Step
		if what != "Get Call" {
			what += "; the control may or may not have reached the call"
		}
		return fmt.Errorf("call %s: gave up after %s waiting for Interactly at %s to answer %s; check INTERACTLY_BASE_URL and the network, then try again", id, callTimeout, base, what)
	case err != nil:
		return err
	}
	switch req.Type {
	case interactly.ControlSay:
		fmt.Fprintf(e.stdout, "said %q on call %s (POST %s)\n", req.Message, id, res.Target)
	case interactly.ControlEnd:
		fmt.Fprintf(e.stdout, "ended call %s (POST %s)\n", id, res.Target)
	case interactly.ControlForward:
		fmt.Fprintf(e.stdout, "forwarded call %s to %s (POST %s)\n", id, req.Message, res.Target)
	case interactly.ControlDTMF:
		fmt.Fprintf(e.stdout, "pressed %s on call %s (POST %s)\n", req.Message, id, res.Target)
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

// parseCallArgs reads ACTION CALL_ID [MESSAGE...] into a control request
// (operator.ParseCallControl): say joins the words of MESSAGE, forward and dtmf take one.
// Every error wraps errUsage and says what to pass.
func parseCallArgs(args []string) (interactly.ControlRequest, string, error) {
	if len(args) < 2 {
		return interactly.ControlRequest{}, "", fmt.Errorf("%w: want an action (%s) and a call ID", errUsage, strings.Join(operator.CallActions, ", "))
	}
	action, id, rest := args[0], strings.TrimSpace(args[1]), args[2:]
	if id == "" {
		return interactly.ControlRequest{}, "", fmt.Errorf("%w: the call ID is empty", errUsage)
	}
	msg := strings.Join(rest, " ")
	if (action == interactly.ControlForward || action == interactly.ControlDTMF) && len(rest) != 1 {
		msg = "" // one MESSAGE, no more
	}
	req, err := operator.ParseCallControl(id, action, msg)
	if err != nil {
		return req, id, fmt.Errorf("%w: %w", errUsage, err)
	}
	return req, id, nil
}
