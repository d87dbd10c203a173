package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/operator"
)

// campaignPath is the API path of campaign id.
func campaignPath(id string) string { return Prefix + "/campaigns/" + id }

// createCampaign handles POST /api/v1/campaigns: it uploads a campaign (operator.Upload,
// as `dialer upload` does) and answers 201 with its status and Location. With an
// Idempotency-Key, a retry with the same body answers 200 with the campaign the first
// request created, and one with another body 422 (see claimIdempotencyKey).
func (s *Server) createCampaign(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get(idempotencyHeader)
	if key != "" && (len(key) > 255 || strings.TrimSpace(key) == "") {
		s.writeError(w, r, badRequest("%s: want 1 to 255 characters, such as a UUID", idempotencyHeader))
		return
	}
	u, err := s.readUpload(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer u.close()
	id := campaign.NewCampaignID(s.cfg.Now())
	var digest string
	if key != "" {
		if digest, err = u.digest(); err != nil {
			s.writeError(w, r, err)
			return
		}
		prior, err := s.claimIdempotencyKey(r.Context(), r, key, id, digest)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if prior != "" {
			st, err := s.op.Store().Status(r.Context(), prior)
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			w.Header().Set("Location", campaignPath(prior))
			w.Header().Set("Idempotent-Replayed", "true")
			writeJSON(w, http.StatusOK, st)
			return
		}
	}
	c, err := s.op.Upload(r.Context(), u.file, u.name, u.open, operator.UploadOptions{ID: id, Delimiter: u.delimiter, Encoding: u.encoding})
	if err != nil && u.fromJSON {
		err = &jsonSource{err}
	}
	if err != nil {
		if key != "" {
			s.releaseIdempotencyKey(context.WithoutCancel(r.Context()), r, key)
		}
		s.writeError(w, r, err)
		return
	}
	if key != "" {
		if err := s.keepIdempotencyKey(r.Context(), r, key, c.ID, digest); err != nil {
			s.cfg.Logger.Error("api: keep idempotency key", "campaign", c.ID, "err", err)
		}
	}
	st, err := s.op.Store().Status(r.Context(), c.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", campaignPath(c.ID))
	writeJSON(w, http.StatusCreated, st)
}

// previewRows is how many rows as dialed POST /campaigns/validate shows, and
// previewRefused how many refused rows at most (the counts cover the whole file).
const (
	previewRows    = 20
	previewRefused = 1000
)

// validateCampaign handles POST /api/v1/campaigns/validate: the checks of a create,
// storing nothing (operator.Preview). It answers the counts, the first rows as they will be
// dialed and the refused rows with their line and reason.
func (s *Server) validateCampaign(w http.ResponseWriter, r *http.Request) {
	u, err := s.readUpload(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer u.close()
	f, err := u.open()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer f.Close()
	p, err := s.op.Preview(r.Context(), u.file, u.name, f, campaign.PreviewOptions{Delimiter: u.delimiter, Encoding: u.encoding, SampleRows: previewRows, MaxRefused: previewRefused, Now: s.cfg.Now})
	if err != nil {
		if u.fromJSON {
			err = &jsonSource{err}
		}
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// campaignPage is a page of GET /api/v1/campaigns.
type campaignPage struct {
	Campaigns []operator.Summary `json:"campaigns"`
	// NextCursor fetches the next page (?cursor=); "" on the last page.
	NextCursor string `json:"nextCursor"`
}

// listCampaigns handles GET /api/v1/campaigns?state=&q=&limit=&cursor=: campaigns newest
// first, as `dialer list` shows them.
func (s *Server) listCampaigns(w http.ResponseWriter, r *http.Request) {
	limit, err := queryInt(r, "limit", 50, 1, 500)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	list, err := s.op.List(r.Context(), operator.ListOptions{
		Limit: limit + 1, State: campaign.State(q.Get("state")), Search: q.Get("q"), Before: q.Get("cursor"),
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	page := campaignPage{Campaigns: list}
	if len(list) > limit {
		page.Campaigns = list[:limit]
		page.NextCursor = list[limit-1].CampaignID
	}
	writeJSON(w, http.StatusOK, page)
}

// getCampaign handles GET /api/v1/campaigns/{id}: what `dialer status --json` prints.
func (s *Server) getCampaign(w http.ResponseWriter, r *http.Request) {
	st, err := s.op.Store().Status(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

// controlResult is the answer to pause, resume and cancel: the campaign's status after the
// action, and what the action did.
type controlResult struct {
	Campaign *campaign.Status `json:"campaign"`
	// Requeued counts the held dials a resume queued again.
	Requeued int `json:"requeued,omitempty"`
	// Canceled counts the contacts a cancel gave the outcome canceled.
	Canceled int `json:"canceled,omitempty"`
	// Ended counts the live calls a cancel with hangup ended; Failed lists those it could
	// not end.
	Ended  int          `json:"ended,omitempty"`
	Failed []callFailed `json:"failed,omitempty"`
}

// callFailed is a live call a cancel could not end.
type callFailed struct {
	CallID  string `json:"callId"`
	Contact int    `json:"contact"`
	Error   string `json:"error"`
}

// pauseCampaign handles POST /api/v1/campaigns/{id}/pause, as `dialer pause` does.
func (s *Server) pauseCampaign(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.control(w, r, id, func(ctx context.Context) (controlResult, error) {
		return controlResult{}, s.op.Pause(ctx, id)
	})
}

// resumeCampaign handles POST /api/v1/campaigns/{id}/resume, as `dialer resume` does.
func (s *Server) resumeCampaign(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.control(w, r, id, func(ctx context.Context) (controlResult, error) {
		n, err := s.op.Resume(ctx, id)
		return controlResult{Requeued: n}, err
	})
}

// cancelCampaign handles POST /api/v1/campaigns/{id}/cancel[?hangup=true], as `dialer
// cancel [--hangup]` does.
func (s *Server) cancelCampaign(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	hangup := false
	if v := r.URL.Query().Get("hangup"); v != "" {
		var err error
		if hangup, err = strconv.ParseBool(v); err != nil {
			s.writeError(w, r, badRequest("query parameter hangup=%q: want true or false", v))
			return
		}
	}
	s.control(w, r, id, func(ctx context.Context) (controlResult, error) {
		res, err := s.op.Cancel(ctx, id, hangup)
		out := controlResult{Canceled: res.Canceled, Ended: res.Ended}
		for _, f := range res.Failed {
			out.Failed = append(out.Failed, callFailed{CallID: f.CallID, Contact: f.Contact, Error: f.Err.Error()})
		}
		return out, err
	})
}

// control runs action on campaign id and answers its result with the status after it.
func (s *Server) control(w http.ResponseWriter, r *http.Request, id string, action func(context.Context) (controlResult, error)) {
	res, err := action(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if res.Campaign, err = s.op.Store().Status(r.Context(), id); err != nil && !errors.Is(err, campaign.ErrCampaignNotFound) {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}
