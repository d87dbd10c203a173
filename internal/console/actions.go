package console

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
)

// pause pauses a campaign (operator.Pause) and goes back to its page.
func (c *Console) pause(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := c.op.Pause(r.Context(), id); err != nil {
		c.fail(w, r, err)
		return
	}
	c.back(w, r, id, "paused")
}

// resume resumes a paused campaign (operator.Resume).
func (c *Console) resume(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := c.op.Resume(r.Context(), id); err != nil {
		c.fail(w, r, err)
		return
	}
	c.back(w, r, id, "resumed")
}

// CancelView is the page that confirms a cancel, with the hang-up choice.
type CancelView struct {
	Page
	Header    Header
	CanHangUp bool
}

// cancelForm asks for confirmation before a cancel.
func (c *Console) cancelForm(w http.ResponseWriter, r *http.Request) {
	cmp, st, err := c.status(r, r.PathValue("id"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	p := c.page(r, "campaigns", "Cancel "+st.Name)
	c.render(w, r, http.StatusOK, "cancel", "", CancelView{Page: p, Header: BuildHeader(cmp, st, c.cfg.Now()), CanHangUp: c.op.CanHangUp()})
}

// cancel cancels a campaign (operator.Cancel); hangup=on, only from the confirmation page,
// also ends its live calls.
func (c *Console) cancel(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if r.FormValue("confirm") != "yes" {
		http.Redirect(w, r, "/campaigns/"+id+"/cancel", http.StatusSeeOther)
		return
	}
	res, err := c.op.Cancel(r.Context(), id, r.FormValue("hangup") == "on")
	if err != nil {
		c.fail(w, r, err)
		return
	}
	if len(res.Failed) > 0 {
		var calls []string
		for _, f := range res.Failed {
			calls = append(calls, fmt.Sprintf("call %s (row %d): %v", f.CallID, f.Contact, f.Err))
		}
		c.errorPage(w, r, http.StatusBadGateway, fmt.Sprintf("The campaign is canceled and %d live calls were ended, but %d could not be: %s. Cancel again with hang-up to retry them.",
			res.Ended, len(res.Failed), strings.Join(calls, "; ")))
		return
	}
	c.back(w, r, id, "canceled")
}

// back sends the browser to campaign id's page after an action.
func (c *Console) back(w http.ResponseWriter, r *http.Request, id, done string) {
	http.Redirect(w, r, "/campaigns/"+id+"?done="+done, http.StatusSeeOther)
}

// report downloads a campaign's report, or its attempt report: operator.Report and
// AttemptReport, as `dialer report` (with --attempts) and the API write them (from Redis, or
// from the archive of a deleted campaign), streamed as they are read.
func (c *Console) report(attempts bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		write, name := c.op.Report, id+"-report.csv"
		if attempts {
			write, name = c.op.AttemptReport, id+"-attempts.csv"
		}
		// A large report takes longer than the server's write timeout.
		_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
		lw := &lazyHeaders{w: w, rc: http.NewResponseController(w), name: name}
		n, err := write(r.Context(), id, lw, campaign.ReportOptions{})
		switch {
		case err == nil && !lw.started:
			lw.start() // an empty report still answers with its headers
		case err != nil && !lw.started:
			c.fail(w, r, err)
		case err != nil:
			// The status line is gone; all that is left is to cut the body short.
			c.cfg.Logger.Error("console: report", "campaign", id, "rows", n, "err", err)
			panic(http.ErrAbortHandler)
		}
	}
}

// lazyHeaders sets a CSV download's headers at the first write, so that a report that fails
// before writing (an unknown campaign) can still answer with an error page; it flushes each
// write, so the report streams.
type lazyHeaders struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	name    string
	started bool
}

func (l *lazyHeaders) start() {
	l.started = true
	l.w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	l.w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", l.name))
	l.w.Header().Set("Cache-Control", "no-store")
}

func (l *lazyHeaders) Write(p []byte) (int, error) {
	if !l.started {
		l.start()
	}
	n, err := l.w.Write(p)
	if err == nil {
		err = l.rc.Flush()
	}
	return n, err
}
