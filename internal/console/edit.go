package console

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/dialerhq/dialer/internal/campaign"
)

// EditView is the page that changes a running campaign's limits and calling window
// (operator.Edit, the same operation as the API's PATCH).
type EditView struct {
	Page
	CampaignID, CampaignName string
	// Fields are the settings with their current values (or as submitted, with the error of
	// a refused one next to it).
	Fields []FormField
	// Error is a refusal that belongs to no one field.
	Error string
}

// editFields are the settings the edit page changes, filled from f.
func editFields(f *campaign.File) []FormField {
	start, end, zone := "", "", ""
	if cw := f.CallingWindow; cw != nil {
		start, end, zone = cw.Start, cw.End, cw.Timezone
		if zone == campaign.TimezoneContact {
			zone = "each contact's own clock"
		}
	}
	windowHint := "Local time HH:MM, e.g. 09:00. Leave both times empty to call at any time."
	if zone != "" {
		windowHint = "Local time HH:MM on " + zone + ". Leave both times empty to call at any time."
	}
	return []FormField{
		{Key: "rateLimit.callsPerSecond", Label: "Calls started per second", Type: "text", Value: strconv.FormatFloat(f.RateLimit.CallsPerSecond, 'f', -1, 64), Hint: "More than 0, at most 1000; 0.5 is one call every 2 seconds."},
		{Key: "rateLimit.maxConcurrentCalls", Label: "Calls at once", Type: "number", Value: strconv.Itoa(f.RateLimit.MaxConcurrentCalls), Hint: "At least 1. Calls under way are not ended."},
		{Key: "callingWindow.start", Label: "Calling window opens", Type: "text", Value: start, Hint: windowHint},
		{Key: "callingWindow.end", Label: "Calling window shuts", Type: "text", Value: end, Hint: "Local time HH:MM, e.g. 19:00."},
		{Key: "defaultTimezone", Label: "Time zone of contacts whose zone is unknown", Type: "text", Value: f.DefaultTimezone, Hint: "With a window on each contact's clock: an IANA zone, e.g. America/New_York."},
		{Key: "retry.maxAttempts", Label: "Attempts per contact", Type: "number", Value: strconv.Itoa(f.Retry.MaxAttempts), Hint: "1 to 10, the first dial included."},
	}
}

func (c *Console) editForm(w http.ResponseWriter, r *http.Request) {
	cmp, err := c.store.Campaign(r.Context(), r.PathValue("id"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	c.renderEdit(w, r, http.StatusOK, cmp, editFields(&cmp.File), "")
}

func (c *Console) renderEdit(w http.ResponseWriter, r *http.Request, status int, cmp *campaign.Campaign, fields []FormField, msg string) {
	p := c.page(r, "campaigns", "Change settings · "+cmp.File.Name)
	c.render(w, r, status, "edit", "", EditView{Page: p, CampaignID: cmp.ID, CampaignName: cmp.File.Name, Fields: fields, Error: msg})
}

// editCampaign applies the form as a merge patch (operator.Edit): each setting the form
// shows, the window removed when both its times are empty. A refused value comes back next
// to its field.
func (c *Console) editCampaign(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	cmp, err := c.store.Campaign(r.Context(), id)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	fields := editFields(&cmp.File)
	val := map[string]string{}
	for i := range fields {
		fields[i].Value = strings.TrimSpace(r.FormValue(fields[i].Key))
		val[fields[i].Key] = fields[i].Value
	}
	fieldErr := func(key, msg string) bool {
		for i := range fields {
			if fields[i].Key == key {
				fields[i].Error = msg
				return true
			}
		}
		return false
	}
	patch := map[string]any{}
	rate := map[string]any{}
	if x, err := strconv.ParseFloat(val["rateLimit.callsPerSecond"], 64); err != nil {
		fieldErr("rateLimit.callsPerSecond", "Give a number such as 2 or 0.5.")
	} else {
		rate["callsPerSecond"] = x
	}
	if n, err := strconv.Atoi(val["rateLimit.maxConcurrentCalls"]); err != nil {
		fieldErr("rateLimit.maxConcurrentCalls", "Give a whole number, at least 1.")
	} else {
		rate["maxConcurrentCalls"] = n
	}
	patch["rateLimit"] = rate
	if n, err := strconv.Atoi(val["retry.maxAttempts"]); err != nil {
		fieldErr("retry.maxAttempts", "Give a whole number from 1 to 10.")
	} else {
		patch["retry"] = map[string]any{"maxAttempts": n}
	}
	switch start, end := val["callingWindow.start"], val["callingWindow.end"]; {
	case start == "" && end == "":
		patch["callingWindow"] = nil
	default:
		cw := map[string]any{"start": start, "end": end}
		if cmp.File.CallingWindow == nil {
			cw["timezone"] = campaign.TimezoneContact // as the new-campaign form sets it
		}
		patch["callingWindow"] = cw
	}
	if tz := val["defaultTimezone"]; tz != "" {
		patch["defaultTimezone"] = tz
	}
	if slices.ContainsFunc(fields, func(f FormField) bool { return f.Error != "" }) {
		c.renderEdit(w, r, http.StatusUnprocessableEntity, cmp, fields, "")
		return
	}
	res, err := c.op.Edit(r.Context(), id, patch)
	var fe *campaign.FileError
	switch {
	case errors.As(err, &fe):
		key := fe.Key
		if key == "callingWindow" || key == "callingWindow.timezone" || key == "callingWindow.days" {
			key = "callingWindow.start"
		}
		if !fieldErr(key, fe.Msg) {
			c.renderEdit(w, r, http.StatusUnprocessableEntity, cmp, fields, fe.Error())
			return
		}
		c.renderEdit(w, r, http.StatusUnprocessableEntity, cmp, fields, "")
		return
	case err != nil:
		c.fail(w, r, err)
		return
	}
	q := url.Values{"done": {"edited"}}
	if len(res.Changes) == 0 {
		q.Set("done", "unchanged")
	}
	http.Redirect(w, r, "/campaigns/"+id+"?"+q.Encode(), http.StatusSeeOther)
}

// RetryView is the page that gives finished contacts of chosen outcomes another attempt
// (operator.Retry, the API's retry).
type RetryView struct {
	Page
	CampaignID, CampaignName string
	Options                  []RetryOption
	// Error is shown next to the outcomes.
	Error string
}

// RetryOption is one outcome the retry page offers, with how many contacts have it.
type RetryOption struct {
	Outcome string
	Count   int
	Checked bool
}

func (c *Console) retryForm(w http.ResponseWriter, r *http.Request) {
	c.renderRetry(w, r, http.StatusOK, nil, "")
}

func (c *Console) renderRetry(w http.ResponseWriter, r *http.Request, status int, checked []string, msg string) {
	cmp, st, err := c.status(r, r.PathValue("id"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	p := c.page(r, "campaigns", "Retry outcomes · "+cmp.File.Name)
	v := RetryView{Page: p, CampaignID: cmp.ID, CampaignName: cmp.File.Name, Error: msg}
	for _, o := range campaign.RetryableOutcomes {
		if n := st.Outcomes[o]; n > 0 {
			v.Options = append(v.Options, RetryOption{Outcome: string(o), Count: n, Checked: slices.Contains(checked, string(o))})
		}
	}
	c.render(w, r, status, "retry", "", v)
}

// retryOutcomes gives every contact with one of the outcomes picked one more attempt.
func (c *Console) retryOutcomes(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := r.ParseForm(); err != nil {
		c.renderRetry(w, r, http.StatusBadRequest, nil, "The form did not arrive whole; pick the outcomes again.")
		return
	}
	picked := r.PostForm["outcome"]
	if len(picked) == 0 {
		c.renderRetry(w, r, http.StatusUnprocessableEntity, nil, "Pick at least one outcome to retry.")
		return
	}
	outcomes, err := campaign.ParseRetryOutcomes(strings.Join(picked, ","))
	if err != nil {
		c.renderRetry(w, r, http.StatusUnprocessableEntity, picked, err.Error())
		return
	}
	res, err := c.op.Retry(r.Context(), id, outcomes)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/campaigns/"+id+"?"+url.Values{"done": {"retried"}, "n": {strconv.Itoa(res.Contacts)}}.Encode(), http.StatusSeeOther)
}
