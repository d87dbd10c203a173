package api

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/dialerhq/dialer/internal/auth"
	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/contactcsv"
	"github.com/dialerhq/dialer/internal/interactly"
	"github.com/dialerhq/dialer/internal/operator"
	"github.com/dialerhq/dialer/internal/problem"
	"github.com/dialerhq/dialer/internal/schedule"
)

// Problem types: URI references naming each kind of problem the API answers with, stable
// within v1 (see openapi.json).
const (
	typeValidation = "/api/v1/problems/validation"
	typeNotFound   = "/api/v1/problems/not-found"
	typeConflict   = "/api/v1/problems/conflict"
	// typeIdempotency: an Idempotency-Key reused with another request body.
	typeIdempotency = "/api/v1/problems/idempotency-key-reused"
	typeBadRequest  = "/api/v1/problems/bad-request"
	// typeUpstream: Interactly refused, or did not answer, a request made on the caller's
	// behalf (a call control).
	typeUpstream = "/api/v1/problems/upstream"
	typeInternal = "/api/v1/problems/internal"
	// typeUnavailable: the action needs something dialer serve was started without (an
	// Interactly API key).
	typeUnavailable = problem.TypeUnavailable
)

// conflict is the 409 problem titled title: the request conflicts with the state of what it
// names, and detail says how.
func conflict(title, detail string) *problem.Problem {
	return &problem.Problem{Type: typeConflict, Title: title, Status: http.StatusConflict, Detail: detail}
}

// notFound is the 404 problem titled title ("Campaign not found"); detail says what was
// looked for and, where it helps, where to find what there is.
func notFound(title, detail string) *problem.Problem {
	return &problem.Problem{Type: typeNotFound, Title: title, Status: http.StatusNotFound, Detail: detail}
}

// badRequestError is a request the API cannot read: a malformed body or parameter.
type badRequestError struct{ msg string }

func (e *badRequestError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &badRequestError{msg: fmt.Sprintf(format, args...)}
}

// jsonSource marks errors about a campaign given as JSON ({"campaign": {...}, "contacts":
// [...]}), whose places are JSON pointers rather than file lines.
type jsonSource struct{ err error }

// patchSource marks errors about a campaign edit (PATCH), whose body is the campaign file's
// keys themselves: a key's pointer is /rateLimit/callsPerSecond, with no /campaign before it.
type patchSource struct{ err error }

func (e *patchSource) Error() string { return e.err.Error() }
func (e *patchSource) Unwrap() error { return e.err }

func (e *jsonSource) Error() string { return e.err.Error() }
func (e *jsonSource) Unwrap() error { return e.err }

// writeError answers err as a problem document: the one place where a domain error becomes
// a status. An error it does not know is logged with a request ID and answered as a
// generic 500 that shows only that ID.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	problem.Write(w, s.problemFor(r, err))
}

func (s *Server) problemFor(r *http.Request, err error) *problem.Problem {
	var (
		p        *problem.Problem
		bad      *badRequestError
		fileErr  *campaign.FileError
		csvErr   *contactcsv.CSVError
		colErr   *campaign.ColumnError
		state    *campaign.StateError
		contact  *campaign.ContactStateError
		live     *operator.LiveError
		media    *unsupportedMediaError
		field    *fieldError
		step     *operator.CallStepError
		upstream *interactly.APIError
	)
	fromJSON := errors.As(err, new(*jsonSource))
	// filePointer is the JSON pointer of a campaign file key in the request's body.
	filePointer := func(key string) string { return "/campaign" + keyPointer(key) }
	if errors.As(err, new(*patchSource)) {
		fromJSON, filePointer = true, keyPointer
	}
	switch {
	case errors.As(err, &p):
		return p
	case errors.As(err, &bad):
		return &problem.Problem{Type: typeBadRequest, Title: "Bad request", Status: http.StatusBadRequest, Detail: bad.msg}
	case errors.As(err, &media):
		return &problem.Problem{Type: typeBadRequest, Title: "Unsupported media type", Status: http.StatusUnsupportedMediaType, Detail: media.Error()}
	case errors.As(err, &field):
		return validation(err, problem.FieldError{Pointer: field.pointer, Detail: field.msg})
	case errors.As(err, &fileErr):
		fe := problem.FieldError{Key: fileErr.Key, Detail: fileErr.Msg}
		if fromJSON {
			fe.Pointer = filePointer(fileErr.Key)
		} else {
			fe.File, fe.Line, fe.Column = fileErr.Path, fileErr.Line, fileErr.Column
		}
		return validation(err, fe)
	case errors.As(err, &csvErr):
		fe := problem.FieldError{Detail: csvErr.Msg}
		if fromJSON && csvErr.Line >= 2 {
			fe.Pointer = "/contacts/" + strconv.Itoa(csvErr.Line-2)
		} else {
			fe.File, fe.Line, fe.Column = csvErr.Path, csvErr.Line, csvErr.Column
		}
		return validation(err, fe)
	case errors.As(err, &colErr):
		fe := problem.FieldError{Key: colErr.Key, Detail: err.Error()}
		if fromJSON {
			fe.Pointer = filePointer(colErr.Key)
		}
		return validation(err, fe)
	case errors.Is(err, operator.ErrEndAtPassed):
		fe := problem.FieldError{Key: "endAt", Detail: err.Error()}
		if fromJSON {
			fe.Pointer = filePointer("endAt")
		}
		return validation(err, fe)
	case errors.As(err, &live):
		return conflict("Campaign is live", strings.ReplaceAll(err.Error(), "--force", "force=true"))
	case errors.As(err, &contact):
		return conflict("Contact state forbids this", err.Error())
	case errors.Is(err, campaign.ErrContactNotFound):
		return notFound("Contact not found", err.Error()+"; contacts are numbered by their data row, from 1")
	case errors.Is(err, campaign.ErrEditConflict):
		return conflict("Edited meanwhile", err.Error())
	case errors.Is(err, campaign.ErrCampaignNotFound):
		return notFound("Campaign not found", err.Error()+"; GET /api/v1/campaigns lists them")
	case errors.As(err, &state):
		p := conflict("Campaign state forbids this", err.Error())
		p.State = string(state.State)
		return p
	case errors.Is(err, campaign.ErrCampaignCanceled), errors.Is(err, campaign.ErrCampaignPaused):
		return conflict("Campaign state forbids this", err.Error())
	case errors.Is(err, operator.ErrNoAPI):
		return &problem.Problem{Type: typeUnavailable, Title: "Hang-up unavailable", Status: http.StatusServiceUnavailable, Detail: "ending live calls needs INTERACTLY_API_KEY where dialer serve runs; set it there, or cancel without hangup"}
	case errors.Is(err, operator.ErrNoControlAPI):
		return &problem.Problem{Type: typeUnavailable, Title: "Call control unavailable", Status: http.StatusServiceUnavailable, Detail: "controlling calls needs INTERACTLY_API_KEY (and INTERACTLY_BASE_URL, for another server than Interactly's) where dialer serve runs; set it there and restart it"}
	case errors.Is(err, operator.ErrCallNotFound):
		return &problem.Problem{Type: typeNotFound, Title: "Call not found", Status: http.StatusNotFound, Detail: err.Error() + "; only the calls of this dialer's campaigns can be controlled (GET /api/v1/campaigns/{id}/contacts lists each attempt's callId)"}
	case errors.Is(err, operator.ErrCallEnded):
		return conflict("Call has ended", err.Error())
	case errors.As(err, &step):
		return &problem.Problem{Type: typeUpstream, Title: "Interactly did not answer", Status: http.StatusGatewayTimeout, Detail: err.Error() + "; the control may or may not have reached the call"}
	case errors.Is(err, operator.ErrCallAPIKey), errors.As(err, &upstream):
		return &problem.Problem{Type: typeUpstream, Title: "Interactly refused", Status: http.StatusBadGateway, Detail: err.Error()}
	case errors.Is(err, schedule.ErrScheduleNotFound):
		return notFound("Schedule not found", err.Error()+"; GET /api/v1/schedules lists them")
	case errors.Is(err, auth.ErrTokenExists):
		return conflict("Token exists", err.Error())
	case errors.Is(err, auth.ErrTokenNotFound):
		return notFound("Token not found", err.Error())
	case errors.Is(err, auth.ErrInvalidOption):
		return validation(err, problem.FieldError{Detail: err.Error()})
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		return &problem.Problem{Title: "Client closed request", Status: 499}
	}
	id := requestID()
	s.cfg.Logger.Error("api: internal error", "request", id, "method", r.Method, "path", r.URL.Path, "err", err)
	return &problem.Problem{Type: typeInternal, Title: "Internal error", Status: http.StatusInternalServerError,
		Detail: "the server failed; its log holds the cause under this request ID", RequestID: id}
}

// validation is a 422 problem whose errors list fe.
func validation(err error, fe problem.FieldError) *problem.Problem {
	return &problem.Problem{Type: typeValidation, Title: "Invalid campaign", Status: http.StatusUnprocessableEntity,
		Detail: err.Error(), Errors: []problem.FieldError{fe}}
}

// keyPointer turns a campaign file key into a JSON pointer: "phoneNumberIds[0].id" ->
// "/phoneNumberIds/0/id".
func keyPointer(key string) string {
	if key == "" {
		return ""
	}
	var b strings.Builder
	for _, part := range strings.Split(key, ".") {
		name, idx, _ := strings.Cut(part, "[")
		b.WriteString("/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(name))
		for idx != "" {
			var n string
			n, idx, _ = strings.Cut(idx, "]")
			b.WriteString("/" + n)
			idx = strings.TrimPrefix(idx, "[")
		}
	}
	return b.String()
}

// requestID returns a fresh ID for a request's log line.
func requestID() string { return "req_" + strings.ToLower(rand.Text()[:16]) }
