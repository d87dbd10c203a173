package console

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/dialerhq/dialer/internal/campaign"
)

// CampaignView is the campaign page.
type CampaignView struct {
	Page
	Header Header
	// Attempts is the attempts-over-time chart.
	Attempts AttemptsChart
	Rows     RowsView
	// CanHangUp says whether cancel may end live calls (the server has an API key).
	CanHangUp bool
	// Notice is what the last action did, e.g. "Paused.".
	Notice string
}

// ScanBudget bounds how many rows one filtered page of the rows table reads, so that a
// filter keeping few rows of a million-row campaign still answers within 100 ms (cmd/bench
// measures it); the page then offers to search on from where it stopped.
const ScanBudget = 2500

// scanBatch is how many contacts one read of the rows table takes.
const scanBatch = 500

// campaignPage serves a campaign's page, or its live header alone for the refresh.
func (c *Console) campaignPage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	cmp, st, err := c.status(r, id)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	p := c.page(r, "campaigns", st.Name)
	v := CampaignView{Page: p, Header: BuildHeader(cmp, st, c.cfg.Now()), CanHangUp: c.op.CanHangUp(), Notice: noticeText(r.URL.Query())}
	points, err := c.op.DialsPerMinute(r.Context(), id)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	v.Attempts = BuildAttemptsChart(points, c.cfg.Now(), st.Done)
	if isHTMX(r) && r.URL.Query().Get("part") == "header" {
		c.render(w, r, http.StatusOK, "campaign", "campaign-header", v)
		return
	}
	if v.Viewer.CanExport {
		rows, err := c.rows(r, cmp, st.Total)
		if err != nil {
			c.fail(w, r, err)
			return
		}
		v.Rows = rows
	}
	c.render(w, r, http.StatusOK, "campaign", "", v)
}

// status reads campaign id and its status.
func (c *Console) status(r *http.Request, id string) (*campaign.Campaign, *campaign.Status, error) {
	cmp, err := c.store.Campaign(r.Context(), id)
	if err != nil {
		return nil, nil, err
	}
	st, err := c.store.Status(r.Context(), id)
	return cmp, st, err
}

// noticeText is the sentence shown after an action redirected back to the campaign page:
// q's done, and n for a retry.
func noticeText(q url.Values) string {
	if q.Get("done") == "retried" {
		n, _ := strconv.Atoi(q.Get("n"))
		if n == 1 {
			return "Retried: 1 contact gets one more attempt, due now."
		}
		return fmt.Sprintf("Retried: %d contacts get one more attempt each, due now.", n)
	}
	return map[string]string{
		"edited":    "Settings changed: every worker applies them within about a second; calls under way are not touched.",
		"unchanged": "Nothing changed: the settings were already so.",
		"paused":    "Paused: no new call starts; calls under way finish and are recorded.",
		"resumed":   "Resumed: dialing goes on where it stopped.",
		"canceled":  "Canceled: the remaining contacts will not be called.",
		"created":   "Campaign created. Progress updates on its own.",
	}[q.Get("done")]
}

// rows reads one page of campaign id's rows table, as the query asks: from (the first row),
// outcome and q.
func (c *Console) rows(r *http.Request, cmp *campaign.Campaign, total int) (RowsView, error) {
	q := r.URL.Query()
	f := RowFilter{Outcome: q.Get("outcome"), Search: strings.TrimSpace(q.Get("q"))}
	from, _ := strconv.Atoi(q.Get("from"))
	from = max(from, 1)
	id := cmp.ID
	v := RowsView{CampaignID: id, Outcome: f.Outcome, Search: f.Search, Outcomes: rowOutcomes(), From: from, Total: total}
	numberCol := cmp.NumberIndex()
	size := c.cfg.PageSize
	n := from
	for n <= total && len(v.Rows) < size && n-from < ScanBudget {
		to := min(total, n+scanBatch-1)
		if f == (RowFilter{}) {
			to = min(total, n+size-1)
		}
		contacts, err := c.store.Contacts(r.Context(), id, n, to)
		if err != nil {
			return RowsView{}, err
		}
		for _, ct := range contacts {
			n = ct.ID + 1
			if !f.Keep(ct) {
				continue
			}
			v.Rows = append(v.Rows, contactRow(ct, numberCol))
			if len(v.Rows) == size {
				break
			}
		}
		if len(contacts) == 0 {
			n = to + 1
		}
	}
	v.Scanned = n - 1
	if n <= total {
		v.Next = n
	}
	if from > 1 {
		v.Prev = max(1, from-size)
		if f != (RowFilter{}) {
			v.Prev = 1 // a filtered page does not know where the one before began
		}
	}
	page := func(start int) string {
		vals := url.Values{}
		if f.Outcome != "" {
			vals.Set("outcome", f.Outcome)
		}
		if f.Search != "" {
			vals.Set("q", f.Search)
		}
		vals.Set("from", strconv.Itoa(start))
		return vals.Encode()
	}
	if v.Next > 0 {
		v.NextQuery = page(v.Next)
	}
	if v.Prev > 0 {
		v.PrevQuery = page(v.Prev)
	}
	return v, nil
}

// ContactView is one contact's page: its row and every attempt.
type ContactView struct {
	Page
	CampaignID, CampaignName string
	Row                      ContactRow
	Fields                   []Field
	Attempts                 []AttemptView
}

// Field is one cell of a contact's row.
type Field struct{ Name, Value string }

// AttemptView is one dial attempt as the contact page shows it.
type AttemptView struct {
	N                  int
	State              string
	CallerID           string
	DialingAt          string
	CallID, Outcome    string
	StartedAt, EndedAt string
	Status, EndedBy    string
	Success, Summary   string
	StructuredData     string
	Error, Cost        string
	Recording          string
}

// BuildContact builds a contact's page from its campaign, contact and attempts.
func BuildContact(p Page, cmp *campaign.Campaign, ct *campaign.Contact, attempts []*campaign.Attempt) ContactView {
	v := ContactView{Page: p, CampaignID: cmp.ID, CampaignName: cmp.File.Name, Row: contactRow(ct, cmp.NumberIndex())}
	for i, name := range cmp.Header {
		val := ""
		if i < len(ct.Fields) {
			val = ct.Fields[i]
		}
		v.Fields = append(v.Fields, Field{name, val})
	}
	for i, a := range attempts {
		if a == nil {
			continue
		}
		res := a.Result
		v.Attempts = append(v.Attempts, AttemptView{
			N: i + 1, State: string(a.State), CallerID: a.CallerID, DialingAt: formatTime(a.DialingAt),
			CallID: res.CallID, Outcome: string(res.Outcome),
			StartedAt: formatTime(res.StartedAt), EndedAt: formatTime(res.EndedAt),
			Status: res.PhoneCallStatus, EndedBy: res.EndedBy, Success: res.SuccessEvaluation,
			Summary: res.Summary, StructuredData: res.StructuredData, Error: res.Error, Cost: res.Cost,
			Recording: res.Recording,
		})
	}
	return v
}

// contact serves one contact's page.
func (c *Console) contact(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 1 {
		c.errorPage(w, r, http.StatusNotFound, "There is no such row; row numbers start at 1.")
		return
	}
	cmp, err := c.store.Campaign(r.Context(), id)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	ct, err := c.store.Contact(r.Context(), id, n)
	if err != nil || n > cmp.Rows {
		if err == nil {
			err = campaign.ErrCampaignNotFound
		}
		if errors.Is(err, campaign.ErrCampaignNotFound) {
			c.errorPage(w, r, http.StatusNotFound, "This campaign has no row "+strconv.Itoa(n)+".")
			return
		}
		c.fail(w, r, err)
		return
	}
	var attempts []*campaign.Attempt
	for a := 1; a <= ct.Attempts; a++ {
		at, err := c.store.Attempt(r.Context(), campaign.AttemptRef{CampaignID: id, ContactID: n, Attempt: a})
		if err != nil {
			c.fail(w, r, err)
			return
		}
		attempts = append(attempts, at)
	}
	p := c.page(r, "campaigns", "Row "+strconv.Itoa(n)+" · "+cmp.File.Name)
	c.render(w, r, http.StatusOK, "contact", "", BuildContact(p, cmp, ct, attempts))
}
