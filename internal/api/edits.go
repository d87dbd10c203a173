package api

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/dialerhq/dialer/internal/audit"
	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/operator"
)

// editResult is the answer to PATCH /api/v1/campaigns/{id}.
type editResult struct {
	// Campaign is the campaign's status after the edit.
	Campaign *campaign.Status `json:"campaign"`
	// Settings are the campaign's editable settings after the edit, keyed as in the file.
	Settings map[string]any `json:"settings"`
	// Changes lists what changed, "key: old -> new"; empty when nothing did.
	Changes []string `json:"changes"`
	// Woken counts the attempts waiting for a calling window that a window change made
	// due now; DueAtEnd those parked past an earlier endAt, now due at it.
	Woken    int `json:"woken"`
	DueAtEnd int `json:"dueAtEnd"`
}

// editCampaign handles PATCH /api/v1/campaigns/{id}: a JSON merge patch (RFC 7396) of the
// campaign file's editable keys, as `dialer edit` applies it (operator.Edit). Errors name
// the key with a JSON pointer, worded as a campaign file's are.
func (s *Server) editCampaign(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/merge-patch+json" && mt != "application/json" {
		s.writeError(w, r, &unsupportedMediaError{got: r.Header.Get("Content-Type"), want: "application/merge-patch+json (or application/json)"})
		return
	}
	var patch map[string]any
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	if err := dec.Decode(&patch); err != nil || patch == nil {
		s.writeError(w, r, badRequest("request body: want a JSON object of the keys to change, such as {\"rateLimit\": {\"callsPerSecond\": 2}}; %v", err))
		return
	}
	res, err := s.op.Edit(r.Context(), id, patch)
	if err != nil {
		s.writeError(w, r, &patchSource{err})
		return
	}
	audit.SetDetail(r.Context(), strings.Join(res.Changes, "; "))
	st, err := s.op.Store().Status(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	settings, err := res.Campaign.File.Settings()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	changes := res.Changes
	if changes == nil {
		changes = []string{}
	}
	writeJSON(w, http.StatusOK, editResult{Campaign: st, Settings: settings, Changes: changes, Woken: res.Woken, DueAtEnd: res.DueAtEnd})
}

// retryResult is the answer to POST /api/v1/campaigns/{id}/retry.
type retryResult struct {
	Campaign *campaign.Status `json:"campaign"`
	campaign.RetryResult
}

// retryCampaign handles POST /api/v1/campaigns/{id}/retry?outcome=no-answer,failed: one new
// attempt for every contact whose final outcome is listed, as `dialer retry` gives
// (operator.Retry).
func (s *Server) retryCampaign(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	raw := strings.Join(r.URL.Query()["outcome"], ",")
	outcomes, err := campaign.ParseRetryOutcomes(raw)
	if err != nil {
		s.writeError(w, r, badRequest("query parameter outcome=%q: %v", raw, err))
		return
	}
	res, err := s.op.Retry(r.Context(), id, outcomes)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	audit.SetDetail(r.Context(), fmt.Sprintf("outcome=%s: %d contacts", raw, res.Contacts))
	st, err := s.op.Store().Status(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, retryResult{Campaign: st, RetryResult: res})
}

// contactResult is the answer to a redial or skip of one contact.
type contactResult struct {
	Contact int `json:"contact"`
	// Attempt is the attempt now due (redial).
	Attempt int `json:"attempt,omitempty"`
	// Retried is the final outcome a redialed contact had; Outcome is a skipped contact's.
	Retried campaign.Outcome `json:"retried,omitempty"`
	Outcome campaign.Outcome `json:"outcome,omitempty"`
}

// contactNumber reads the {n} path value: a contact's data row, from 1.
func contactNumber(r *http.Request) (int, error) {
	raw := r.PathValue("n")
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 {
		return 0, badRequest("contact %q: want its data row number, from 1, as the contacts page and the report give it", raw)
	}
	return n, nil
}

// redialContact handles POST /api/v1/campaigns/{id}/contacts/{n}/redial, as `dialer redial`
// does (operator.Redial).
func (s *Server) redialContact(w http.ResponseWriter, r *http.Request) {
	n, err := contactNumber(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.op.Redial(r.Context(), r.PathValue("id"), n)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	audit.SetDetail(r.Context(), fmt.Sprintf("contact %d attempt %d", n, res.Attempt))
	writeJSON(w, http.StatusOK, contactResult{Contact: n, Attempt: res.Attempt, Retried: res.Retried})
}

// skipContact handles POST /api/v1/campaigns/{id}/contacts/{n}/skip, as `dialer skip` does
// (operator.Skip).
func (s *Server) skipContact(w http.ResponseWriter, r *http.Request) {
	n, err := contactNumber(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.op.Skip(r.Context(), r.PathValue("id"), n); err != nil {
		s.writeError(w, r, err)
		return
	}
	audit.SetDetail(r.Context(), fmt.Sprintf("contact %d", n))
	writeJSON(w, http.StatusOK, contactResult{Contact: n, Outcome: campaign.OutcomeCanceled})
}

// deleteResult is the answer to DELETE /api/v1/campaigns/{id}.
type deleteResult struct {
	CampaignID string `json:"campaignId"`
	// Canceled counts the contacts a forced delete canceled first; Tasks the queued tasks
	// and parked attempts deleted with the campaign.
	Canceled int `json:"canceled"`
	Tasks    int `json:"tasks"`
}

// maxDeleteWait bounds ?wait= of a forced delete: a request should not hang for long.
const maxDeleteWait = 10 * time.Minute

// deleteCampaign handles DELETE /api/v1/campaigns/{id}[?force=true&wait=2m]: it removes the
// campaign from Redis, as `dialer delete [--force --wait]` does (operator.Delete). A live
// campaign is a 409 unless force, which cancels it and waits for its live calls to end.
func (s *Server) deleteCampaign(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	q := r.URL.Query()
	var opt operator.DeleteOptions
	if v := q.Get("force"); v != "" {
		var err error
		if opt.Force, err = strconv.ParseBool(v); err != nil {
			s.writeError(w, r, badRequest("query parameter force=%q: want true or false", v))
			return
		}
	}
	if v := q.Get("wait"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > maxDeleteWait {
			s.writeError(w, r, badRequest("query parameter wait=%q: want a duration from 1s to %s, such as 2m", v, maxDeleteWait))
			return
		}
		opt.Wait = d
	}
	res, err := s.op.Delete(r.Context(), id, opt)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if opt.Force {
		audit.SetDetail(r.Context(), fmt.Sprintf("force: %d contacts canceled", res.Canceled))
	}
	writeJSON(w, http.StatusOK, deleteResult{CampaignID: id, Canceled: res.Canceled, Tasks: res.Tasks})
}
