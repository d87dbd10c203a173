package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/dialerhq/dialer/internal/audit"
	"github.com/dialerhq/dialer/internal/interactly"
	"github.com/dialerhq/dialer/internal/operator"
	"github.com/dialerhq/dialer/internal/problem"
)

// callControlTimeout bounds POST /api/v1/calls/{callId}/control: reading the call and
// posting the control, retries included. Someone is waiting on the call.
const callControlTimeout = 20 * time.Second

// controlRequest is the body of POST /api/v1/calls/{callId}/control: Interactly's Call
// Control body.
type controlRequest struct {
	// Type is say, end, forward or dtmf.
	Type string `json:"type"`
	// Message is the text to say, the E.164 number to forward to, or the digits to press;
	// end takes none.
	Message string `json:"message"`
}

// controlCall handles POST /api/v1/calls/{callId}/control, as `dialer call` does (one
// implementation: operator.ControlCall). Only the calls the dialer's campaigns placed may be
// controlled; another call of the Interactly team is 404. The audit entry's detail names the
// control and the attempt, never the message (a number, or words said to a patient).
func (s *Server) controlCall(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("callId")
	var body controlRequest
	if err := decodeJSON(r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	req, err := parseControl(id, body)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), callControlTimeout)
	defer cancel()
	res, err := s.op.ControlCall(ctx, id, req, true)
	if res.CampaignID != "" {
		audit.SetDetail(r.Context(), fmt.Sprintf("%s on campaign %s contact %d attempt %d", req.Type, res.CampaignID, res.Contact, res.Attempt))
	} else {
		audit.SetDetail(r.Context(), req.Type)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// parseControl checks body as `dialer call` checks its arguments (operator.ParseCallControl);
// a refusal names the body's field.
func parseControl(id string, body controlRequest) (interactly.ControlRequest, error) {
	req, err := operator.ParseCallControl(id, body.Type, body.Message)
	var in *operator.ControlInputError
	if errors.As(err, &in) {
		pointer := "/message"
		if in.Field == "action" {
			pointer = "/type"
		}
		return req, &problem.Problem{Type: typeValidation, Title: "Invalid call control", Status: http.StatusUnprocessableEntity,
			Detail: in.Msg, Errors: []problem.FieldError{{Pointer: pointer, Detail: in.Msg}}}
	}
	return req, err
}
