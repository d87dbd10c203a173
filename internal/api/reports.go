package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
)

// reportWriter writes one of a campaign's CSV reports, as the Store's Write… methods do.
type reportWriter func(ctx context.Context, id string, w io.Writer, opt campaign.ReportOptions) (int, error)

// report handles GET /api/v1/campaigns/{id}/report.csv[?raw=true][&bom=true], byte for
// byte what `dialer report ID --out -` writes (operator.Report: from Redis, or from the
// campaign's archive once it is deleted there).
func (s *Server) report(w http.ResponseWriter, r *http.Request) {
	s.streamCSV(w, r, "report", s.op.Report)
}

// attemptReport handles GET /api/v1/campaigns/{id}/attempts.csv, as `dialer report
// --attempts` (operator.AttemptReport).
func (s *Server) attemptReport(w http.ResponseWriter, r *http.Request) {
	s.streamCSV(w, r, "attempts", s.op.AttemptReport)
}

// rejectedReport handles GET /api/v1/campaigns/{id}/rejected.csv, as `dialer report
// --rejected`: the rows the upload refused, with line and reason (operator.RejectedReport:
// from Redis, or from the campaign's archive once it is deleted there).
func (s *Server) rejectedReport(w http.ResponseWriter, r *http.Request) {
	s.streamCSV(w, r, "rejected", s.op.RejectedReport)
}

// streamCSV streams a report as it is read: nothing holds a whole report. Its headers go
// out with its first bytes, so that a campaign that is nowhere is a 404 problem rather than
// a cut-off body.
func (s *Server) streamCSV(w http.ResponseWriter, r *http.Request, what string, write reportWriter) {
	id := r.PathValue("id")
	var opt campaign.ReportOptions
	for name, v := range map[string]*bool{"raw": &opt.Raw, "bom": &opt.BOM} {
		if q := r.URL.Query().Get(name); q != "" {
			var err error
			if *v, err = strconv.ParseBool(q); err != nil {
				s.writeError(w, r, badRequest("query parameter %s=%q: want true or false", name, q))
				return
			}
		}
	}
	// A million-row report takes longer than the server's write timeout.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
	cw := &csvWriter{w: w, filename: id + "-" + what + ".csv"}
	if _, err := write(r.Context(), id, cw, opt); err != nil {
		if !cw.started {
			s.writeError(w, r, err)
			return
		}
		// The status is sent; all that is left is to cut the body short and log why.
		s.cfg.Logger.Error("api: stream report", "campaign", id, "report", what, "err", err)
		panic(http.ErrAbortHandler)
	}
	cw.start()
}

// csvWriter sends a CSV answer's headers with its first bytes.
type csvWriter struct {
	w        http.ResponseWriter
	filename string
	started  bool
}

func (c *csvWriter) start() {
	if c.started {
		return
	}
	c.started = true
	h := c.w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"`, c.filename))
	c.w.WriteHeader(http.StatusOK)
}

func (c *csvWriter) Write(p []byte) (int, error) {
	c.start()
	return c.w.Write(p)
}

// contactRow is one contact of GET .../contacts: the row as read, what became of it, and
// each attempt.
type contactRow struct {
	Contact int               `json:"contact"`
	Line    int               `json:"line"`
	Fields  map[string]string `json:"fields"`
	Number  string            `json:"number,omitempty"`
	Name    string            `json:"name,omitempty"`
	// Outcome is the final outcome, or "pending".
	Outcome  campaign.Outcome `json:"outcome"`
	Error    string           `json:"error,omitempty"`
	Attempts []attemptRow     `json:"attempts"`
}

// attemptRow is one attempt of a contact.
type attemptRow struct {
	Attempt           int              `json:"attempt"`
	State             string           `json:"state"`
	CallID            string           `json:"callId,omitempty"`
	Outcome           campaign.Outcome `json:"outcome,omitempty"`
	StartedAt         time.Time        `json:"startedAt,omitzero"`
	EndedAt           time.Time        `json:"endedAt,omitzero"`
	PhoneCallStatus   string           `json:"phoneCallStatus,omitempty"`
	SuccessEvaluation string           `json:"successEvaluation,omitempty"`
	Summary           string           `json:"summary,omitempty"`
	Error             string           `json:"error,omitempty"`
}

// contactPage is a page of GET .../contacts.
type contactPage struct {
	Contacts []contactRow `json:"contacts"`
	// NextCursor fetches the next page (?cursor=); "" once every row has been looked at.
	NextCursor string `json:"nextCursor"`
}

// contactScan bounds how many rows one page request looks at while filtering, so that a
// filter that matches little still answers quickly; the next cursor goes on from there.
const contactScan = 5000

// listContacts handles GET /api/v1/campaigns/{id}/contacts?outcome=&q=&limit=&cursor=:
// rows in input order, each with its attempts. outcome keeps rows of those final outcomes
// (comma-separated; "pending" for rows still in progress); q keeps rows whose number, name
// or any cell contains it, ignoring case.
func (s *Server) listContacts(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	limit, err := queryInt(r, "limit", 50, 1, 500)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	from, err := queryInt(r, "cursor", 1, 1, 1<<31-1)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	var outcomes []campaign.Outcome
	if v := q.Get("outcome"); v != "" {
		for o := range strings.SplitSeq(v, ",") {
			o := campaign.Outcome(strings.TrimSpace(o))
			if o != campaign.OutcomePending && !slices.Contains(campaign.Outcomes, o) {
				s.writeError(w, r, badRequest("query parameter outcome: %q is not an outcome; want some of %s, pending", o, outcomeList()))
				return
			}
			outcomes = append(outcomes, o)
		}
	}
	search := strings.ToLower(q.Get("q"))
	store := s.op.Store()
	c, err := store.Campaign(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	page := contactPage{Contacts: []contactRow{}}
	next, scanEnd := 0, min(c.Rows, from+contactScan-1)
	for n := from; n <= scanEnd && next == 0; n += 100 {
		contacts, err := store.Contacts(r.Context(), id, n, min(n+99, scanEnd))
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		for _, ct := range contacts {
			if len(page.Contacts) == limit {
				next = ct.ID
				break
			}
			outcome := ct.OutcomeOrPending()
			if len(outcomes) > 0 && !slices.Contains(outcomes, outcome) {
				continue
			}
			if !ct.Matches(search) {
				continue
			}
			row, err := s.contactRow(r.Context(), c, ct, outcome)
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			page.Contacts = append(page.Contacts, row)
		}
	}
	if next == 0 && scanEnd < c.Rows {
		next = scanEnd + 1
	}
	if next > 0 {
		page.NextCursor = strconv.Itoa(next)
	}
	writeJSON(w, http.StatusOK, page)
}

func (s *Server) contactRow(ctx context.Context, c *campaign.Campaign, ct *campaign.Contact, outcome campaign.Outcome) (contactRow, error) {
	row := contactRow{Contact: ct.ID, Line: ct.Line, Fields: make(map[string]string, len(c.Header)),
		Number: ct.Number, Name: ct.Name, Outcome: outcome, Error: ct.Last.Error, Attempts: []attemptRow{}}
	for i, h := range c.Header {
		if i < len(ct.Fields) {
			row.Fields[h] = ct.Fields[i]
		}
	}
	for a := 1; a <= ct.Attempts; a++ {
		at, err := s.op.Store().Attempt(ctx, campaign.AttemptRef{CampaignID: c.ID, ContactID: ct.ID, Attempt: a})
		if err != nil {
			return row, err
		}
		row.Attempts = append(row.Attempts, attemptRow{
			Attempt: a, State: string(at.State), CallID: at.CallID, Outcome: at.Result.Outcome,
			StartedAt: at.Result.StartedAt, EndedAt: at.Result.EndedAt, PhoneCallStatus: at.Result.PhoneCallStatus,
			SuccessEvaluation: at.Result.SuccessEvaluation, Summary: at.Result.Summary, Error: at.Result.Error,
		})
	}
	return row, nil
}

func outcomeList() string {
	names := make([]string, len(campaign.Outcomes))
	for i, o := range campaign.Outcomes {
		names[i] = string(o)
	}
	return strings.Join(names, ", ")
}
