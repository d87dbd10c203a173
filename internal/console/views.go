package console

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/operator"
)

// Viewer is who is looking, and what the page offers them.
type Viewer struct {
	// Name is the token's name (or the single sign-on user).
	Name string
	// Scope is the token's scope: read, export, operate or admin.
	Scope string
	// SignedIn is whether the user signed in here, and so may sign out.
	SignedIn bool
	// CanExport, CanOperate and CanAdmin say which controls the page shows; the handlers
	// check the scope again whatever the page showed.
	CanExport, CanOperate, CanAdmin bool
}

// Page is what every page's layout needs.
type Page struct {
	Title  string
	Viewer Viewer
	// Nav is the current section, for aria-current: campaigns, new, accounts, schedules,
	// suppression, tokens, audit; "" for none.
	Nav string
	// PollMS is the live parts' refresh interval in milliseconds.
	PollMS int64
}

// page is the layout of a page titled title in the section nav (see Page.Nav; "" for none),
// for the viewer of r.
func (c *Console) page(r *http.Request, nav, title string) Page {
	return Page{Title: title, Viewer: viewerOf(r), Nav: nav, PollMS: c.cfg.PollInterval.Milliseconds()}
}

type errorView struct {
	Page
	Status  int
	Message string
}

// CampaignRow is one campaign in the campaigns table.
type CampaignRow struct {
	ID, Name  string
	State     string
	Finished  int
	Total     int
	Percent   int
	LiveCalls int
	Attempts  int
	Created   time.Time
}

// CampaignsView is the campaigns page: the filter as asked, and the campaigns it keeps.
type CampaignsView struct {
	Page
	State  string   // the state filter, "" for all
	Search string   // the name search, "" for none
	States []string // the states the filter offers
	Rows   []CampaignRow
	// Query is the filter as a query string ("state=paused&q=flu"), for the live refresh.
	Query string
}

// filterStates are the states the campaigns filter offers.
var filterStates = func() []string {
	var out []string
	for _, s := range campaign.States {
		out = append(out, string(s))
	}
	return out
}()

// BuildCampaigns builds the campaigns page from what operator.List returned.
func BuildCampaigns(p Page, state, search string, list []operator.Summary) CampaignsView {
	v := CampaignsView{Page: p, State: state, Search: search, States: filterStates, Rows: make([]CampaignRow, 0, len(list))}
	q := url.Values{}
	if state != "" {
		q.Set("state", state)
	}
	if search != "" {
		q.Set("q", search)
	}
	v.Query = q.Encode()
	for _, s := range list {
		v.Rows = append(v.Rows, CampaignRow{
			ID: s.CampaignID, Name: s.Name, State: string(s.State),
			Finished: s.Finished, Total: s.Total, Percent: percent(s.Finished, s.Total),
			LiveCalls: s.LiveCalls, Attempts: s.Attempts, Created: s.CreatedAt,
		})
	}
	return v
}

func percent(n, total int) int {
	if total <= 0 {
		return 0
	}
	return 100 * n / total
}

// Count is one labelled number of a campaign's header.
type Count struct {
	Label string
	Value string
	// Hint explains the number, for a title and screen readers.
	Hint string
}

// Bar is one outcome of the outcome chart.
type Bar struct {
	Outcome string
	Count   int
	// Percent of the campaign's rows, 0 to 100; Width is the bar's width in percent of
	// the largest bar, at least 1 when Count is not 0 so that it shows.
	Percent, Width int
}

// Header is a campaign's live counts, as the campaign page's header shows them.
type Header struct {
	ID, Name string
	State    string
	Finished int
	Total    int
	Percent  int
	Counts   []Count
	Bars     []Bar
	// CanPause, CanResume, CanCancel, CanEdit and CanRetry say which actions the state
	// allows.
	CanPause, CanResume, CanCancel, CanEdit, CanRetry bool
	Done                                              bool
}

// BuildHeader builds a campaign's live counts from campaign c's status st at now: a
// VICIdial-style row of dialable, waiting for a window, retry pending, live calls,
// completed, failed by reason, connect rate and ETA, the outcome chart, and which actions
// the campaign's state allows (campaign.CheckAction).
func BuildHeader(c *campaign.Campaign, st *campaign.Status, now time.Time) Header {
	facts := campaign.FactsOf(c, st.Finished, st.Held)
	allowed := func(a campaign.Action) bool { return campaign.CheckAction(c.ID, facts, a, now) == nil }
	h := Header{
		ID: st.CampaignID, Name: st.Name, State: string(st.State),
		Finished: st.Finished, Total: st.Total, Percent: percent(st.Finished, st.Total), Done: st.Done,
		CanPause:  allowed(campaign.ActionPause),
		CanResume: allowed(campaign.ActionResume),
		CanCancel: allowed(campaign.ActionCancel),
		CanEdit:   allowed(campaign.ActionEdit),
		CanRetry:  allowed(campaign.ActionRetry) && retryable(st),
	}
	dialed := 0 // dialable contacts with a final outcome
	for o, n := range st.Outcomes {
		switch o {
		case campaign.OutcomeInvalid, campaign.OutcomeDuplicate, campaign.OutcomeSuppressed:
		default:
			dialed += n
		}
	}
	// Contacts still to finish that are not live, not waiting for a window: queued for
	// a first dial or a retry.
	pending := st.Total - st.Finished - st.LiveCalls - st.WaitingForWindow
	completed := st.Outcomes[campaign.OutcomeCompleted] + st.Outcomes[campaign.OutcomeForwarded]
	var failed []string
	for _, o := range []campaign.Outcome{campaign.OutcomeBusy, campaign.OutcomeNoAnswer, campaign.OutcomeFailed, campaign.OutcomeError, campaign.OutcomeExpired, campaign.OutcomeCanceled} {
		if n := st.Outcomes[o]; n > 0 {
			failed = append(failed, fmt.Sprintf("%s %d", o, n))
		}
	}
	failedText := "none"
	if len(failed) > 0 {
		failedText = strings.Join(failed, ", ")
	}
	connect := "–"
	if dialed > 0 {
		connect = fmt.Sprintf("%d%%", 100*completed/dialed)
	}
	eta := "–"
	switch {
	case st.Done:
		eta = "done"
	case st.ETASeconds > 0:
		eta = st.ETA().Round(time.Second).String()
	}
	waiting := strconv.Itoa(st.WaitingForWindow)
	if !st.NextWindowAt.IsZero() {
		waiting += " (opens " + st.NextWindowAt.UTC().Format("Mon 15:04 UTC") + ")"
	}
	h.Counts = []Count{
		{"Dialable", strconv.Itoa(st.Dialable), "rows with a valid, new, unsuppressed number"},
		{"Waiting for a window", waiting, "contacts held until their calling window opens"},
		{"Queued or retry pending", strconv.Itoa(max(pending, 0)), "contacts waiting for a first dial or a retry"},
		{"Live calls", strconv.Itoa(st.LiveCalls), "calls placed and not yet ended"},
		{"Completed", strconv.Itoa(completed), "completed or forwarded"},
		{"Not reached", failedText, "final outcomes other than completed, by reason"},
		{"Connect rate", connect, "completed among dialed contacts that finished"},
		{"ETA", eta, "from the rate contacts have finished so far"},
	}
	// Every bar is scaled by the largest one, pending rows included.
	pendingRows := max(st.Total-st.Finished, 0)
	most := pendingRows
	for _, n := range st.Outcomes {
		most = max(most, n)
	}
	bar := func(o string, n int) Bar {
		return Bar{Outcome: o, Count: n, Percent: percent(n, st.Total), Width: max(1, 100*n/max(most, 1))}
	}
	for _, o := range campaign.Outcomes {
		if n := st.Outcomes[o]; n > 0 {
			h.Bars = append(h.Bars, bar(string(o), n))
		}
	}
	if pendingRows > 0 {
		h.Bars = append(h.Bars, bar(string(campaign.OutcomePending), pendingRows))
	}
	return h
}

// retryable reports whether any contact of st has an outcome that Retry takes.
func retryable(st *campaign.Status) bool {
	for _, o := range campaign.RetryableOutcomes {
		if st.Outcomes[o] > 0 {
			return true
		}
	}
	return false
}

// ContactRow is one row of a campaign's rows table.
type ContactRow struct {
	ID, Line  int
	Name      string
	Number    string // E.164, or the cell as written when invalid
	Outcome   string
	Attempts  int
	LastCall  string
	Error     string
	Completed bool
}

// RowsView is one page of a campaign's rows table, with its filter.
type RowsView struct {
	CampaignID string
	Outcome    string   // the outcome filter, "" for all
	Search     string   // the search, "" for none
	Outcomes   []string // what the outcome filter offers
	Rows       []ContactRow
	// From is the first row this page looked at; Next is where the next page starts (0
	// when there is none), Prev where the previous one starts (0 on the first page).
	From, Next, Prev int
	// Scanned is how far a filtered page searched; Total the campaign's rows.
	Scanned, Total int
	// NextQuery and PrevQuery are the query strings of the next and previous pages.
	NextQuery, PrevQuery string
}

// RowFilter is what the rows table keeps: an outcome ("pending" for rows without one) and
// text found, ignoring case, in the name, the number or any cell.
type RowFilter struct {
	Outcome string
	Search  string
}

// Keep reports whether ct passes the filter.
func (f RowFilter) Keep(ct *campaign.Contact) bool {
	if f.Outcome != "" {
		if string(ct.OutcomeOrPending()) != f.Outcome {
			return false
		}
	}
	return ct.Matches(f.Search)
}

// contactRow is ct as the rows table shows it; numberCol is the number column's index.
func contactRow(ct *campaign.Contact, numberCol int) ContactRow {
	row := ContactRow{ID: ct.ID, Line: ct.Line, Name: ct.Name, Number: ct.Number, Outcome: string(ct.OutcomeOrPending()),
		Attempts: ct.Attempts, LastCall: ct.Last.CallID, Error: ct.Last.Error, Completed: ct.Outcome == campaign.OutcomeCompleted}
	if row.Number == "" && numberCol >= 0 && numberCol < len(ct.Fields) {
		row.Number = ct.Fields[numberCol]
	}
	return row
}

// rowOutcomes are what the rows table's outcome filter offers.
func rowOutcomes() []string {
	out := []string{string(campaign.OutcomePending)}
	for _, o := range campaign.Outcomes {
		out = append(out, string(o))
	}
	return out
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
