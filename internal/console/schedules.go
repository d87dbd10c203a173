package console

import (
	"cmp"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/dialerhq/dialer/internal/schedule"
)

// SchedulesView is the schedules page: each recurring campaign and its next run, and (for
// admin) the form that adds one.
type SchedulesView struct {
	Page
	Schedules []ScheduleRow
	Notice    string
	// Form is the add form as last submitted, with the error of a refused one next to its
	// field.
	Form ScheduleForm
}

// ScheduleForm is the add-a-schedule form: the flags of `dialer schedule add`.
type ScheduleForm struct {
	Cron, Timezone, Campaign, Contacts string
	// Errors maps a field (cron, timezone, campaign, contacts) to why it was refused.
	Errors map[string]string
}

// ScheduleRow is one schedule as the page shows it.
type ScheduleRow struct {
	ID, Cron, Timezone         string
	CampaignPath, ContactsPath string
	Next                       time.Time
	// NextError says why the next run cannot be told (a spec this server cannot read).
	NextError string
}

// BuildSchedules builds the schedules page from the stored schedules at now.
func BuildSchedules(p Page, list []*schedule.Schedule, now time.Time) SchedulesView {
	v := SchedulesView{Page: p}
	for _, s := range list {
		row := ScheduleRow{ID: s.ID, Cron: s.Cron, Timezone: cmp.Or(s.Timezone, "UTC"), CampaignPath: s.CampaignPath, ContactsPath: s.ContactsPath}
		if next, err := s.Next(now); err != nil {
			row.NextError = err.Error()
		} else {
			row.Next = next
		}
		v.Schedules = append(v.Schedules, row)
	}
	return v
}

func (c *Console) schedulesPage(w http.ResponseWriter, r *http.Request) {
	c.renderSchedules(w, r, http.StatusOK, "", ScheduleForm{})
}

func (c *Console) renderSchedules(w http.ResponseWriter, r *http.Request, status int, notice string, form ScheduleForm) {
	list, err := c.schedules.List(r.Context())
	if err != nil {
		c.fail(w, r, err)
		return
	}
	p := c.page(r, "schedules", "Schedules")
	v := BuildSchedules(p, list, c.cfg.Now())
	v.Notice = notice
	v.Form = form
	c.render(w, r, status, "schedules", "", v)
}

// addSchedule adds a schedule, as `dialer schedule add` does (schedule.Store.Add): the
// files are paths on the machines that run `dialer scheduler`, read at each tick. A refused
// schedule comes back with the error next to its field.
func (c *Console) addSchedule(w http.ResponseWriter, r *http.Request) {
	form := ScheduleForm{
		Cron: strings.TrimSpace(r.FormValue("cron")), Timezone: strings.TrimSpace(r.FormValue("timezone")),
		Campaign: strings.TrimSpace(r.FormValue("campaign")), Contacts: strings.TrimSpace(r.FormValue("contacts")),
	}
	missing := map[string]string{}
	for field, val := range map[string]string{"cron": form.Cron, "campaign": form.Campaign, "contacts": form.Contacts} {
		if val == "" {
			missing[field] = map[string]string{
				"cron":     `Say when, e.g. "0 9 * * MON-FRI" (09:00 on weekdays) or @daily.`,
				"campaign": "Give the campaign file's path, e.g. /srv/dialer/reminders.yaml.",
				"contacts": "Give the contact file's path, e.g. /srv/exports/today.csv.",
			}[field]
		}
	}
	if len(missing) > 0 {
		form.Errors = missing
		c.renderSchedules(w, r, http.StatusUnprocessableEntity, "", form)
		return
	}
	s, err := c.schedules.Add(r.Context(), schedule.Schedule{Cron: form.Cron, Timezone: form.Timezone, CampaignPath: form.Campaign, ContactsPath: form.Contacts})
	var fe *schedule.FieldError
	switch {
	case errors.As(err, &fe):
		msg := strings.TrimPrefix(fe.Error(), "--"+fe.Field+" ")
		msg = strings.TrimPrefix(msg, "--"+fe.Field+": ")
		form.Errors = map[string]string{fe.Field: msg}
		c.renderSchedules(w, r, http.StatusUnprocessableEntity, "", form)
		return
	case err != nil:
		c.fail(w, r, err)
		return
	}
	notice := "Added schedule " + s.ID + "."
	if next, err := s.Next(c.cfg.Now()); err == nil {
		notice += " Its first campaign is created " + formatTime(next) + " by dialer scheduler."
	}
	c.renderSchedules(w, r, http.StatusOK, notice, ScheduleForm{})
}

// removeSchedule removes a schedule, as `dialer schedule remove` does; campaigns it made
// stay.
func (c *Console) removeSchedule(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	err := c.schedules.Remove(r.Context(), id)
	switch {
	case errors.Is(err, schedule.ErrScheduleNotFound):
		c.renderSchedules(w, r, http.StatusOK, "There was no schedule "+id+"; it may have been removed already.", ScheduleForm{})
	case err != nil:
		c.fail(w, r, err)
	default:
		c.renderSchedules(w, r, http.StatusOK, "Removed schedule "+id+". The campaigns it created stay.", ScheduleForm{})
	}
}
