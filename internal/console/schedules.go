package console

import (
	"cmp"
	"errors"
	"net/http"
	"time"

	"github.com/dialerhq/dialer/internal/schedule"
)

// SchedulesView is the schedules page: each recurring campaign and its next run.
type SchedulesView struct {
	Page
	Schedules []ScheduleRow
	Notice    string
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
	c.renderSchedules(w, r, "")
}

func (c *Console) renderSchedules(w http.ResponseWriter, r *http.Request, notice string) {
	list, err := c.schedules.List(r.Context())
	if err != nil {
		c.fail(w, r, err)
		return
	}
	p := c.page(r, "Schedules")
	p.Nav = "schedules"
	v := BuildSchedules(p, list, c.cfg.Now())
	v.Notice = notice
	c.render(w, r, http.StatusOK, "schedules", "", v)
}

// removeSchedule removes a schedule, as `dialer schedule remove` does; campaigns it made
// stay.
func (c *Console) removeSchedule(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	err := c.schedules.Remove(r.Context(), id)
	switch {
	case errors.Is(err, schedule.ErrScheduleNotFound):
		c.renderSchedules(w, r, "There was no schedule "+id+"; it may have been removed already.")
	case err != nil:
		c.fail(w, r, err)
	default:
		c.renderSchedules(w, r, "Removed schedule "+id+". The campaigns it created stay.")
	}
}
