package api

import (
	"errors"
	"net/http"

	"github.com/dialerhq/dialer/internal/account"
	"github.com/dialerhq/dialer/internal/operator"
	"github.com/dialerhq/dialer/internal/problem"
)

// accountView is an Interactly account as the API shows it. It names the environment
// variable that holds the account's API key, never the key.
type accountView struct {
	Name string `json:"name"`
	// APIKeyEnv is "" for an account a campaign names that is not set any more.
	APIKeyEnv          string  `json:"apiKeyEnv"`
	CallsPerSecond     float64 `json:"callsPerSecond"`
	MaxConcurrentCalls int     `json:"maxConcurrentCalls"`
	// Campaigns are the IDs of its campaigns that are not done, newest first; LiveCalls sums
	// their live calls; Done counts its done campaigns.
	Campaigns []string `json:"campaigns"`
	LiveCalls int      `json:"liveCalls"`
	Done      int      `json:"done"`
}

func viewAccount(a *account.Account) accountView {
	return accountView{Name: a.Name, APIKeyEnv: a.APIKeyEnv, CallsPerSecond: a.CallsPerSecond, MaxConcurrentCalls: a.MaxConcurrentCalls, Campaigns: []string{}}
}

// viewAccountUsage is an account with its campaigns and live calls, as listAccounts shows it.
func viewAccountUsage(u operator.AccountUsage) accountView {
	v := viewAccount(&u.Account)
	for _, c := range u.Campaigns {
		v.Campaigns = append(v.Campaigns, c.CampaignID)
	}
	v.LiveCalls, v.Done = u.LiveCalls, u.Done
	return v
}

// listAccounts handles GET /api/v1/accounts: every account with its limits and campaigns,
// as `dialer account list` shows them (operator.Accounts).
func (s *Server) listAccounts(w http.ResponseWriter, r *http.Request) {
	serveList(s, w, r, "accounts", s.op.Accounts, viewAccountUsage)
}

// accountRequest is the body of PUT /api/v1/accounts/{name}: the flags of `dialer account
// set`. An absent apiKeyEnv keeps the variable an earlier set named; an absent limit is 0,
// no cap.
type accountRequest struct {
	APIKeyEnv          string  `json:"apiKeyEnv"`
	CallsPerSecond     float64 `json:"callsPerSecond"`
	MaxConcurrentCalls int     `json:"maxConcurrentCalls"`
}

// setAccount handles PUT /api/v1/accounts/{name}, as `dialer account set` does
// (operator.SetAccount). Workers apply the limits within 5 seconds.
func (s *Server) setAccount(w http.ResponseWriter, r *http.Request) {
	var body accountRequest
	if err := decodeJSON(r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	a, err := s.op.SetAccount(r.Context(), account.Account{
		Name: r.PathValue("name"), APIKeyEnv: body.APIKeyEnv, CallsPerSecond: body.CallsPerSecond, MaxConcurrentCalls: body.MaxConcurrentCalls,
	})
	var fe *account.FieldError
	if errors.As(err, &fe) {
		pointer := "/" + fe.Field
		if fe.Field == "name" {
			pointer = "" // the path's, not the body's
		}
		err = &problem.Problem{Type: typeValidation, Title: "Invalid account", Status: http.StatusUnprocessableEntity,
			Detail: fe.Error(), Errors: []problem.FieldError{{Pointer: pointer, Detail: fe.Error()}}}
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, viewAccount(a))
}
