package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/dialerhq/dialer/internal/audit"
	"github.com/dialerhq/dialer/internal/auth"
	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/campaign/campaigntest"
	"github.com/dialerhq/dialer/internal/problem"
)

func TestEditCampaign(t *testing.T) {
	h := setup(t)
	id := h.mustCreate(t)
	path := "/api/v1/campaigns/" + id
	patch := func(scope auth.Scope, body string) *http.Response {
		t.Helper()
		return h.do(t, scope, "PATCH", path, "application/merge-patch+json", strings.NewReader(body)).Result()
	}
	type result struct {
		Campaign campaign.Status `json:"campaign"`
		Settings map[string]any  `json:"settings"`
		Changes  []string        `json:"changes"`
	}
	rec := h.do(t, auth.ScopeOperate, "PATCH", path, "application/merge-patch+json",
		strings.NewReader(`{"rateLimit": {"maxConcurrentCalls": 3}, "priority": 7, "callingWindow": {"start": "09:00", "end": "18:00", "timezone": "America/Chicago"}}`))
	if rec.Code != 200 {
		t.Fatalf("PATCH: %d %s", rec.Code, rec.Body)
	}
	res := decode[result](t, rec)
	if res.Campaign.Priority != 7 || len(res.Changes) != 5 {
		t.Errorf("after the edit: priority %d, changes %q", res.Campaign.Priority, res.Changes)
	}
	if rl, _ := res.Settings["rateLimit"].(map[string]any); rl["maxConcurrentCalls"] != 3.0 || rl["callsPerSecond"] != 1.0 {
		t.Errorf("settings after the edit: %v", res.Settings)
	}
	c, err := h.store.Campaign(t.Context(), id)
	if err != nil || c.File.RateLimit.MaxConcurrentCalls != 3 || c.File.CallingWindow == nil || c.Version != 1 {
		t.Errorf("stored: %+v %v", c, err)
	}

	// Errors: each names the key by a JSON pointer into the body, worded as the CLI words a
	// campaign file's.
	for _, tt := range []struct {
		name, body string
		status     int
		want       problem.FieldError
	}{
		{"out of range", `{"rateLimit": {"maxConcurrentCalls": 0}}`, 422,
			problem.FieldError{Pointer: "/rateLimit/maxConcurrentCalls", Key: "rateLimit.maxConcurrentCalls", Detail: "must be at least 1, got 0"}},
		{"wrong type", `{"retry": {"delay": 5}}`, 422,
			problem.FieldError{Pointer: "/retry/delay", Key: "retry.delay", Detail: "must be a duration such as 500ms, 30s, 5m or 1h30m, got 5; add a unit: s for seconds, m for minutes"}},
		{"a fixed key", `{"assistantId": "a2"}`, 422,
			problem.FieldError{Pointer: "/assistantId", Key: "assistantId", Detail: "cannot be changed once the campaign is uploaded; the keys that can are rateLimit, callingWindow, defaultTimezone, retry, endAt, priority, weight"}},
		{"endAt passed", `{"endAt": "2001-01-01T00:00:00Z"}`, 422,
			problem.FieldError{Pointer: "/endAt", Key: "endAt"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := h.do(t, auth.ScopeOperate, "PATCH", path, "application/merge-patch+json", strings.NewReader(tt.body))
			p := decode[problem.Problem](t, rec)
			if rec.Code != tt.status || len(p.Errors) != 1 {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			got := p.Errors[0]
			if tt.want.Detail == "" {
				got.Detail = ""
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
	if r := patch(auth.ScopeRead, `{"priority": 1}`); r.StatusCode != 403 {
		t.Errorf("PATCH as read: %d", r.StatusCode)
	}
	if r := h.do(t, auth.ScopeOperate, "PATCH", path, "text/plain", strings.NewReader(`{"priority": 1}`)); r.Code != 415 {
		t.Errorf("PATCH as text/plain: %d", r.Code)
	}
	if r := patch(auth.ScopeOperate, `[1]`); r.StatusCode != 400 {
		t.Errorf("PATCH of an array: %d", r.StatusCode)
	}
	if r := patch(auth.ScopeOperate, `{"priority": 1}`); r.StatusCode != 200 {
		t.Errorf("PATCH: %d", r.StatusCode)
	}

	// The audit log records what changed.
	type page struct {
		Entries []audit.Entry `json:"entries"`
	}
	p := decode[page](t, h.do(t, auth.ScopeAdmin, "GET", "/api/v1/audit?limit=1", "", nil))
	if len(p.Entries) != 1 || p.Entries[0].Action != "PATCH /api/v1/campaigns/{id}" || p.Entries[0].Detail != "priority: 7 -> 1" || p.Entries[0].Target != id {
		t.Errorf("audit entry of the edit: %+v", p.Entries)
	}

	h.do(t, auth.ScopeOperate, "POST", path+"/cancel", "", nil)
	if rec := h.do(t, auth.ScopeOperate, "PATCH", path, "application/json", strings.NewReader(`{"priority": 2}`)); rec.Code != 409 || decode[problem.Problem](t, rec).State != "canceled" {
		t.Errorf("PATCH of a canceled campaign: %d %s", rec.Code, rec.Body)
	}
}

func TestRetryRedialSkip(t *testing.T) {
	h := setup(t)
	id := h.mustCreate(t)
	path := "/api/v1/campaigns/" + id
	ctx, s := t.Context(), h.store
	// Ann (1) ends no-answer, Bob (2) is still waiting; 3 is invalid.
	campaigntest.EndAttempt(t, s, campaign.AttemptRef{CampaignID: id, ContactID: 1, Attempt: 1}, campaign.Result{Outcome: campaign.OutcomeNoAnswer})

	if rec := h.do(t, auth.ScopeOperate, "POST", path+"/retry?outcome=invalid", "", nil); rec.Code != 400 {
		t.Errorf("retry of invalid rows: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do(t, auth.ScopeRead, "POST", path+"/retry?outcome=no-answer", "", nil); rec.Code != 403 {
		t.Errorf("retry as read: %d", rec.Code)
	}
	type retried struct {
		Campaign  campaign.Status          `json:"campaign"`
		Contacts  int                      `json:"contacts"`
		ByOutcome map[campaign.Outcome]int `json:"byOutcome"`
	}
	rec := h.do(t, auth.ScopeOperate, "POST", path+"/retry?outcome=no-answer,failed", "", nil)
	res := decode[retried](t, rec)
	if rec.Code != 200 || res.Contacts != 1 || res.ByOutcome[campaign.OutcomeNoAnswer] != 1 || res.Campaign.Outcomes[campaign.OutcomeNoAnswer] != 0 {
		t.Errorf("retry: %d %s", rec.Code, rec.Body)
	}
	if ct, _ := s.Contact(ctx, id, 1); ct.Outcome != "" || ct.NextAttempt != 2 {
		t.Errorf("retried contact: outcome %q, next attempt %d", ct.Outcome, ct.NextAttempt)
	}

	type action struct {
		Contact, Attempt int
		Retried, Outcome campaign.Outcome
	}
	if rec := h.do(t, auth.ScopeOperate, "POST", path+"/contacts/2/redial", "", nil); rec.Code != 200 || decode[action](t, rec) != (action{Contact: 2, Attempt: 1}) {
		t.Errorf("redial of a waiting contact: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do(t, auth.ScopeOperate, "POST", path+"/contacts/3/redial", "", nil); rec.Code != 409 {
		t.Errorf("redial of an invalid row: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do(t, auth.ScopeOperate, "POST", path+"/contacts/99/redial", "", nil); rec.Code != 404 {
		t.Errorf("redial of no row: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do(t, auth.ScopeOperate, "POST", path+"/contacts/x/skip", "", nil); rec.Code != 400 {
		t.Errorf("skip of contact x: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do(t, auth.ScopeOperate, "POST", path+"/contacts/2/skip", "", nil); rec.Code != 200 || decode[action](t, rec) != (action{Contact: 2, Outcome: campaign.OutcomeCanceled}) {
		t.Errorf("skip: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do(t, auth.ScopeOperate, "POST", path+"/contacts/2/skip", "", nil); rec.Code != 409 {
		t.Errorf("skip of a skipped contact: %d %s", rec.Code, rec.Body)
	}
	if ct, _ := s.Contact(ctx, id, 2); ct.Outcome != campaign.OutcomeCanceled {
		t.Errorf("skipped contact's outcome %q", ct.Outcome)
	}
}

func TestDeleteCampaign(t *testing.T) {
	h := setup(t)
	id := h.mustCreate(t)
	path := "/api/v1/campaigns/" + id
	if rec := h.do(t, auth.ScopeOperate, "DELETE", path, "", nil); rec.Code != 403 {
		t.Errorf("DELETE as operate: %d", rec.Code)
	}
	rec := h.do(t, auth.ScopeAdmin, "DELETE", path, "", nil)
	if p := decode[problem.Problem](t, rec); rec.Code != 409 || !strings.Contains(p.Detail, "force=true") {
		t.Errorf("DELETE of a live campaign: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do(t, auth.ScopeAdmin, "DELETE", path+"?wait=forever", "", nil); rec.Code != 400 {
		t.Errorf("DELETE ?wait=forever: %d", rec.Code)
	}
	type deleted struct {
		CampaignID      string
		Canceled, Tasks int
	}
	rec = h.do(t, auth.ScopeAdmin, "DELETE", path+"?force=true&wait=5s", "", nil)
	if got := decode[deleted](t, rec); rec.Code != 200 || got.Canceled != 2 || got.CampaignID != id {
		t.Errorf("DELETE ?force=true: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do(t, auth.ScopeRead, "GET", path, "", nil); rec.Code != 404 {
		t.Errorf("GET after the delete: %d", rec.Code)
	}
	if rec := h.do(t, auth.ScopeAdmin, "DELETE", path, "", nil); rec.Code != 404 {
		t.Errorf("a second DELETE: %d", rec.Code)
	}
	type page struct {
		Entries []audit.Entry `json:"entries"`
	}
	p := decode[page](t, h.do(t, auth.ScopeAdmin, "GET", "/api/v1/audit?limit=2", "", nil))
	if len(p.Entries) != 2 || p.Entries[1].Action != "DELETE /api/v1/campaigns/{id}" || p.Entries[1].Detail != "force: 2 contacts canceled" || p.Entries[1].Result != "ok" {
		t.Errorf("audit of the delete: %+v", p.Entries)
	}
}
