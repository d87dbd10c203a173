package console

import (
	"cmp"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/dialerhq/dialer/internal/account"
	"github.com/dialerhq/dialer/internal/operator"
)

// AccountsView is the accounts page: each Interactly account with its limits, the variable
// that holds its API key (its name, never its value) and its active campaigns with their
// current share; an admin sets limits there.
type AccountsView struct {
	Page
	Accounts []AccountView
	Notice   string
	// NewForm is the form that adds an account, as last submitted when that was refused.
	NewForm AccountForm
}

// AccountView is one account on the accounts page.
type AccountView struct {
	Name      string
	APIKeyEnv string // "" for an account a campaign names that is not set any more
	Limits    string // e.g. "10 calls/s, 20 live calls"
	// Form is its set form: its limits, or what was submitted when that was refused.
	Form AccountForm
	// LiveCalls is the live calls of its campaigns; Cap its maxConcurrentCalls (0: none)
	// and Percent how much of the cap is in use.
	LiveCalls, Cap, Percent int
	Done                    int
	Campaigns               []AccountCampaign
}

// AccountCampaign is one active campaign of an account, with its share.
type AccountCampaign struct {
	ID, Name, State  string
	LiveCalls        int
	Priority, Weight int
	// HasShare says whether a feeder reported a share in the last minute; Slots and CPS
	// are that share, Waiting why due attempts wait ("" when none does).
	HasShare bool
	Slots    int
	CPS      string
	Waiting  string
}

// AccountForm is the form that sets an account, as `dialer account set` takes it, with
// the errors of a refused one by field (name, apiKeyEnv, callsPerSecond, maxConcurrentCalls).
type AccountForm struct {
	Name, APIKeyEnv, CPS, MaxCalls string
	// New says it is the form that adds an account.
	New    bool
	Errors map[string]string
}

// BuildAccounts builds the accounts page from what operator.Accounts returned.
func BuildAccounts(p Page, list []operator.AccountUsage) AccountsView {
	v := AccountsView{Page: p}
	for _, u := range list {
		av := AccountView{
			Name: u.Name, APIKeyEnv: u.APIKeyEnv, Limits: u.Limits(),
			Form:      AccountForm{Name: u.Name, APIKeyEnv: u.APIKeyEnv, CPS: strconv.FormatFloat(u.CallsPerSecond, 'f', -1, 64), MaxCalls: strconv.Itoa(u.MaxConcurrentCalls)},
			LiveCalls: u.LiveCalls, Cap: u.MaxConcurrentCalls, Done: u.Done,
		}
		if av.Cap > 0 {
			av.Percent = min(100, percent(av.LiveCalls, av.Cap))
		}
		for _, s := range u.Campaigns {
			ac := AccountCampaign{ID: s.CampaignID, Name: s.Name, State: string(s.State), LiveCalls: s.LiveCalls, Priority: s.Priority, Weight: s.Weight}
			if sh := s.Share; sh != nil {
				ac.HasShare, ac.Slots, ac.CPS, ac.Waiting = true, sh.Slots, strconv.FormatFloat(sh.CallsPerSecond, 'f', -1, 64), sh.Waiting
			}
			av.Campaigns = append(av.Campaigns, ac)
		}
		v.Accounts = append(v.Accounts, av)
	}
	return v
}

func (c *Console) accountsPage(w http.ResponseWriter, r *http.Request) {
	c.renderAccounts(w, r, http.StatusOK, "", AccountForm{})
}

func (c *Console) renderAccounts(w http.ResponseWriter, r *http.Request, status int, notice string, form AccountForm) {
	list, err := c.op.Accounts(r.Context())
	if err != nil {
		c.fail(w, r, err)
		return
	}
	p := c.page(r, "accounts", "Accounts")
	v := BuildAccounts(p, list)
	v.Notice = notice
	if form.New {
		v.NewForm = form
	} else {
		for i := range v.Accounts {
			if v.Accounts[i].Name == form.Name {
				v.Accounts[i].Form = form
			}
		}
	}
	c.render(w, r, status, "accounts", "", v)
}

// setAccount sets an account's limits (and the variable of its key), as `dialer account
// set` does (operator.SetAccount). A refused value comes back next to its field.
func (c *Console) setAccount(w http.ResponseWriter, r *http.Request) {
	form := AccountForm{
		Name: strings.TrimSpace(r.FormValue("name")), APIKeyEnv: strings.TrimSpace(r.FormValue("apiKeyEnv")),
		CPS: strings.TrimSpace(r.FormValue("callsPerSecond")), MaxCalls: strings.TrimSpace(r.FormValue("maxConcurrentCalls")),
		New: r.FormValue("new") != "",
	}
	form.Errors = map[string]string{}
	a := account.Account{Name: form.Name, APIKeyEnv: form.APIKeyEnv}
	var err error
	if a.CallsPerSecond, err = strconv.ParseFloat(cmp.Or(form.CPS, "0"), 64); err != nil {
		form.Errors["callsPerSecond"] = "Give a number of calls per second, such as 5 or 0.5; 0 for no account-wide cap."
	}
	if a.MaxConcurrentCalls, err = strconv.Atoi(cmp.Or(form.MaxCalls, "0")); err != nil {
		form.Errors["maxConcurrentCalls"] = "Give a whole number of calls, such as 20; 0 for no account-wide cap."
	}
	if len(form.Errors) == 0 {
		_, err = c.op.SetAccount(r.Context(), a)
		var fe *account.FieldError
		switch {
		case errors.Is(err, operator.ErrAPIKeyEnvRequired):
			form.Errors["apiKeyEnv"] = "Name the environment variable that holds this account's API key in every worker, such as WEST_INTERACTLY_API_KEY."
		case errors.As(err, &fe) && fe.Field == "apiKeyEnv":
			// The value may be a pasted key: it is neither repeated nor kept in the form.
			form.Errors["apiKeyEnv"] = "That is not a variable name. Name the environment variable that holds the key (letters, digits and _), such as WEST_INTERACTLY_API_KEY, never the key itself."
			form.APIKeyEnv = ""
		case errors.As(err, &fe):
			form.Errors[fe.Field] = fe.Error()
		case err != nil:
			c.fail(w, r, err)
			return
		}
	}
	if len(form.Errors) > 0 {
		c.renderAccounts(w, r, http.StatusUnprocessableEntity, "", form)
		return
	}
	c.renderAccounts(w, r, http.StatusOK, "Account "+a.Name+" set: "+a.Limits()+". Workers apply it within 5 seconds.", AccountForm{})
}
