package api

import (
	"errors"
	"net/http"
	"path/filepath"
	"time"

	"github.com/dialerhq/dialer/internal/problem"
	"github.com/dialerhq/dialer/internal/schedule"
)

// scheduleView is a schedule as the API shows it: the stored schedule and its next tick.
type scheduleView struct {
	*schedule.Schedule
	// NextTick is the schedule's next tick after now, RFC 3339 in its time zone; "" when its
	// spec no longer reads.
	NextTick string `json:"nextTick"`
}

func (s *Server) viewSchedule(sc *schedule.Schedule) scheduleView {
	v := scheduleView{Schedule: sc}
	if t, err := sc.Next(s.cfg.Now()); err == nil {
		v.NextTick = t.Format(time.RFC3339)
	}
	return v
}

// listSchedules handles GET /api/v1/schedules: every recurring campaign, oldest first, as
// `dialer schedule list` shows them.
func (s *Server) listSchedules(w http.ResponseWriter, r *http.Request) {
	serveList(s, w, r, "schedules", s.op.Schedules().List, s.viewSchedule)
}

// scheduleRequest is the body of POST /api/v1/schedules.
type scheduleRequest struct {
	Cron         string `json:"cron"`
	Timezone     string `json:"timezone"`
	CampaignPath string `json:"campaignPath"`
	ContactsPath string `json:"contactsPath"`
}

// schedulePointers are the JSON pointers of schedule.FieldError's fields.
var schedulePointers = map[string]string{"cron": "/cron", "timezone": "/timezone", "campaign": "/campaignPath", "contacts": "/contactsPath"}

// addSchedule handles POST /api/v1/schedules, with the checks of `dialer schedule add`
// (schedule.Store.Add): the spec and zone must read, both files must exist on the host
// where `dialer scheduler` runs, and the campaign file must be valid. The paths must be
// absolute: dialer serve's working directory means nothing to the caller.
func (s *Server) addSchedule(w http.ResponseWriter, r *http.Request) {
	var body scheduleRequest
	if err := decodeJSON(r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	for _, p := range []struct{ pointer, path string }{{"/campaignPath", body.CampaignPath}, {"/contactsPath", body.ContactsPath}} {
		if p.path != "" && !filepath.IsAbs(p.path) {
			s.writeError(w, r, scheduleProblem(p.pointer, "path "+p.path+" is relative; give the absolute path of the file on the host where dialer scheduler runs"))
			return
		}
	}
	sc, err := s.op.Schedules().Add(r.Context(), schedule.Schedule{
		Cron: body.Cron, Timezone: body.Timezone, CampaignPath: body.CampaignPath, ContactsPath: body.ContactsPath,
	})
	var fe *schedule.FieldError
	if errors.As(err, &fe) {
		err = scheduleProblem(schedulePointers[fe.Field], fe.Error())
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", Prefix+"/schedules/"+sc.ID)
	writeJSON(w, http.StatusCreated, s.viewSchedule(sc))
}

// scheduleProblem is a 422 naming the body's field at pointer.
func scheduleProblem(pointer, msg string) *problem.Problem {
	return &problem.Problem{Type: typeValidation, Title: "Invalid schedule", Status: http.StatusUnprocessableEntity,
		Detail: msg, Errors: []problem.FieldError{{Pointer: pointer, Detail: msg}}}
}

// removeSchedule handles DELETE /api/v1/schedules/{id}, as `dialer schedule remove`: no
// campaign is created from it from then on. It answers with the schedule removed.
func (s *Server) removeSchedule(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	store := s.op.Schedules()
	sc, err := store.Get(r.Context(), id)
	if err == nil {
		err = store.Remove(r.Context(), id)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.viewSchedule(sc))
}
