package api_test

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/account"
	"github.com/dialerhq/dialer/internal/audit"
	"github.com/dialerhq/dialer/internal/auth"
	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/campaign/campaigntest"
	"github.com/dialerhq/dialer/internal/interactly"
	"github.com/dialerhq/dialer/internal/operator"
	"github.com/dialerhq/dialer/internal/problem"
	"github.com/dialerhq/dialer/internal/simulator"
	"github.com/dialerhq/dialer/internal/simulator/simtest"
	"github.com/dialerhq/dialer/internal/testutil"
	"github.com/google/go-cmp/cmp"
)

const simKey = "sk-api-calls-0a1b2c3d4e5f"

// TestCallControl drives POST /api/v1/calls/{callId}/control against the simulator: a call
// of a campaign is steered and named by its attempt; a call no campaign placed, an unknown
// call, an ended call, a bad body and a low scope are refused, and the audit log names the
// attempt but never the message.
func TestCallControl(t *testing.T) {
	clock := testutil.NewClock(testutil.Now())
	const westKey = "sk-api-calls-west-9z8y7x"
	var dialWith func(client *interactly.Client, campaignID string, n int) string
	sim, srv := simtest.Serve(t, simulator.Config{APIKey: simKey, Accounts: map[string]string{"west": westKey}, Now: clock.Now, RingMin: time.Second, TalkMin: time.Hour})
	client, err := interactly.New(interactly.Config{BaseURL: srv.URL, APIKey: simKey})
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"WEST_KEY": westKey}
	apiFor := operator.APIFromEnv(func(k string) string { return env[k] }, srv.URL, interactly.Config{})
	h := setupWith(t, operator.Config{API: client, APIBaseURL: srv.URL, APIFor: apiFor})
	id, id2 := h.mustCreate(t), h.mustCreate(t)
	ctx := t.Context()
	if err := account.NewStore(h.rdb).Set(ctx, account.Account{Name: "west", APIKeyEnv: "WEST_KEY"}); err != nil {
		t.Fatal(err)
	}

	// dial places a call, with the metadata of attempt 1 of contact n when n > 0 (as a
	// worker does, recording it), and lets it be answered.
	dial := func(n int) string { return dialWith(client, id, n) }
	dialWith = func(client *interactly.Client, id string, n int) string {
		t.Helper()
		req := &interactly.ConnectCallRequest{
			PhoneNumberID: "5f7b1b1b1b1b1b1b1b1b1b1b", AssistantID: "678a253ca6d866573043502e",
			Customer: interactly.Customer{Number: "+14155550101", Name: "Ann"},
		}
		if n > 0 {
			req.Metadata = map[string]any{"campaignId": id, "contactId": n, "attempt": 1}
			campaigntest.Claim(t, h.store, campaign.AttemptRef{CampaignID: id, ContactID: n, Attempt: 1}, "w1")
		}
		call, err := client.ConnectCall(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			if _, err := h.store.RecordCall(ctx, campaign.AttemptRef{CampaignID: id, ContactID: n, Attempt: 1}, call.ID, call.Monitor.ControlURL, clock.Now()); err != nil {
				t.Fatal(err)
			}
		}
		clock.Advance(2 * time.Second)
		return call.ID
	}
	own, foreign := dial(1), dial(0)
	control := func(scope auth.Scope, callID, body string) *httptest.ResponseRecorder {
		t.Helper()
		return h.do(t, scope, "POST", "/api/v1/calls/"+callID+"/control", "application/json", strings.NewReader(body))
	}

	rec := control(auth.ScopeOperate, own, `{"type": "say", "message": "  One moment, please. "}`)
	type result struct {
		CallID, Type, Message, Target, CampaignID string
		Contact, Attempt                          int
	}
	want := result{CallID: own, Type: "say", Message: "One moment, please.", CampaignID: id, Contact: 1, Attempt: 1}
	got := decode[result](t, rec)
	if rec.Code != 200 || got.Target == "" {
		t.Fatalf("say: %d %s", rec.Code, rec.Body)
	}
	got.Target = ""
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("say answered (-want +got):\n%s", diff)
	}
	if n := sim.Stats().Controls["say"]; n != 1 {
		t.Errorf("the simulator carried out %d says, want 1", n)
	}

	for _, tt := range []struct {
		name       string
		scope      auth.Scope
		call, body string
		status     int
		pointer    string // of the 422's error
		detailHas  string
	}{
		{"read scope", auth.ScopeRead, own, `{"type": "end"}`, 403, "", ""},
		{"export scope", auth.ScopeExport, own, `{"type": "end"}`, 403, "", ""},
		{"a call no campaign placed", auth.ScopeOperate, foreign, `{"type": "end"}`, 404, "", "no such call"},
		{"an unknown call", auth.ScopeOperate, "CC-00000000-0000-4000-8000-000000000000", `{"type": "end"}`, 404, "", "no such call"},
		{"an unknown type", auth.ScopeOperate, own, `{"type": "hangup"}`, 422, "/type", `unknown action "hangup"`},
		{"say without text", auth.ScopeOperate, own, `{"type": "say", "message": " "}`, 422, "/message", "say needs the text"},
		{"forward to a national number", auth.ScopeOperate, own, `{"type": "forward", "message": "415 555 0199"}`, 422, "/message", "E.164"},
		{"dtmf with letters", auth.ScopeOperate, own, `{"type": "dtmf", "message": "12a"}`, 422, "/message", "0-9, * and #"},
		{"an unknown field", auth.ScopeOperate, own, `{"type": "end", "hangup": true}`, 400, "", "unknown field"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := control(tt.scope, tt.call, tt.body)
			p := decode[problem.Problem](t, rec)
			if rec.Code != tt.status || !strings.Contains(p.Detail, tt.detailHas) {
				t.Fatalf("%d %s; want %d saying %q", rec.Code, rec.Body, tt.status, tt.detailHas)
			}
			if tt.pointer != "" && (len(p.Errors) != 1 || p.Errors[0].Pointer != tt.pointer) {
				t.Errorf("errors %+v, want one at %s", p.Errors, tt.pointer)
			}
		})
	}
	if st := sim.Stats(); st.Controls["end"] != 0 || st.Controls["say"] != 1 {
		t.Errorf("the refusals sent controls: %v", st.Controls)
	}

	if rec := control(auth.ScopeOperate, own, `{"type": "forward", "message": "+1 (415) 555-0199"}`); rec.Code != 200 || decode[result](t, rec).Message != "+14155550199" {
		t.Errorf("forward: %d %s", rec.Code, rec.Body)
	}
	if rec := control(auth.ScopeOperate, foreign, `{"type": "end"}`); rec.Code != 404 {
		t.Errorf("end of a call no campaign placed: %d", rec.Code)
	}
	own2 := dial(2)
	if rec := control(auth.ScopeOperate, own2, `{"type": "end"}`); rec.Code != 200 {
		t.Fatalf("end: %d %s", rec.Code, rec.Body)
	}
	clock.Advance(time.Second)
	if rec := control(auth.ScopeOperate, own2, `{"type": "say", "message": "hello"}`); rec.Code != 409 || !strings.Contains(rec.Body.String(), "has ended") {
		t.Errorf("say on an ended call: %d %s", rec.Code, rec.Body)
	}

	// A call placed with another account's key is not found with the default one: it is
	// looked up, and controlled, with the account's own.
	west, err := apiFor("WEST_KEY")
	if err != nil {
		t.Fatal(err)
	}
	westCall := dialWith(west, id2, 1)
	if _, err := client.GetCall(ctx, westCall); err == nil {
		t.Fatal("the default key finds the other account's call; the test proves nothing")
	}
	rec = control(auth.ScopeOperate, westCall, `{"type": "dtmf", "message": "1#"}`)
	if got := decode[result](t, rec); rec.Code != 200 || got.CampaignID != id2 || got.Contact != 1 || sim.Stats().Controls["dtmf"] != 1 {
		t.Errorf("dtmf on the other account's call: %d %s; simulator controls %v", rec.Code, rec.Body, sim.Stats().Controls)
	}

	p := decode[struct{ Entries []audit.Entry }](t, h.do(t, auth.ScopeAdmin, "GET", "/api/v1/audit?limit=5", "", nil))
	type row struct{ Actor, Action, Result, Target, Detail string }
	var rows []row
	for _, e := range p.Entries {
		rows = append(rows, row{e.Actor, e.Action, e.Result, e.Target, e.Detail})
		if strings.Contains(e.Detail, "hello") || strings.Contains(e.Detail, "0199") {
			t.Errorf("the audit entry holds the control's message: %+v", e)
		}
	}
	const action = "POST /api/v1/calls/{callId}/control"
	wantRows := []row{
		{"operate-token", action, "ok", "/api/v1/calls/" + westCall + "/control", "dtmf on campaign " + id2 + " contact 1 attempt 1"},
		{"operate-token", action, "Conflict", "/api/v1/calls/" + own2 + "/control", "say"},
		{"operate-token", action, "ok", "/api/v1/calls/" + own2 + "/control", "end on campaign " + id + " contact 2 attempt 1"},
		{"operate-token", action, "Not Found", "/api/v1/calls/" + foreign + "/control", "end"},
		{"operate-token", action, "ok", "/api/v1/calls/" + own + "/control", "forward on campaign " + id + " contact 1 attempt 1"},
	}
	if diff := cmp.Diff(wantRows, rows); diff != "" {
		t.Errorf("audit, newest first (-want +got):\n%s", diff)
	}
}

// TestCallControlWithoutAPIKey: a dialer serve without INTERACTLY_API_KEY says so.
func TestCallControlWithoutAPIKey(t *testing.T) {
	h := setup(t)
	rec := h.do(t, auth.ScopeOperate, "POST", "/api/v1/calls/CC-1/control", "application/json", strings.NewReader(`{"type": "end"}`))
	p := decode[problem.Problem](t, rec)
	if rec.Code != 503 || p.Type != "/api/v1/problems/unavailable" || !strings.Contains(p.Detail, "INTERACTLY_API_KEY") {
		t.Errorf("%d %s", rec.Code, rec.Body)
	}
}

func TestSchedulesAPI(t *testing.T) {
	h := setup(t)
	dir := t.TempDir()
	yaml, csv := filepath.Join(dir, "flu.yaml"), filepath.Join(dir, "patients.csv")
	for path, content := range map[string]string{yaml: testCampaign, csv: testContacts, filepath.Join(dir, "bad.yaml"): "name: x\n"} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	add := func(scope auth.Scope, body string) *httptest.ResponseRecorder {
		t.Helper()
		return h.do(t, scope, "POST", "/api/v1/schedules", "application/json", strings.NewReader(body))
	}
	body := `{"cron": "0 9 * * MON-FRI", "timezone": "America/New_York", "campaignPath": "` + yaml + `", "contactsPath": "` + csv + `"}`
	if rec := add(auth.ScopeOperate, body); rec.Code != 403 {
		t.Errorf("add as operate: %d", rec.Code)
	}
	rec := add(auth.ScopeAdmin, body)
	type sched struct{ ID, Cron, Timezone, CampaignPath, ContactsPath, NextTick string }
	got := decode[sched](t, rec)
	if rec.Code != 201 || got.ID == "" || rec.Header().Get("Location") != "/api/v1/schedules/"+got.ID || got.CampaignPath != yaml || got.Timezone != "America/New_York" {
		t.Fatalf("add: %d %s", rec.Code, rec.Body)
	}
	next, err := time.Parse(time.RFC3339, got.NextTick)
	if err != nil || next.Hour() != 9 || next.Minute() != 0 || next.Weekday() == time.Saturday || next.Weekday() == time.Sunday {
		t.Errorf("next tick %q (%v), want 09:00 on a weekday in New York", got.NextTick, err)
	}

	for _, tt := range []struct{ name, body, pointer, detailHas string }{
		{"bad cron", `{"cron": "9am", "campaignPath": "` + yaml + `", "contactsPath": "` + csv + `"}`, "/cron", "want 5 fields"},
		{"bad zone", `{"cron": "@daily", "timezone": "Mars/Olympus", "campaignPath": "` + yaml + `", "contactsPath": "` + csv + `"}`, "/timezone", "IANA"},
		{"relative path", `{"cron": "@daily", "campaignPath": "flu.yaml", "contactsPath": "` + csv + `"}`, "/campaignPath", "absolute"},
		{"missing contacts", `{"cron": "@daily", "campaignPath": "` + yaml + `", "contactsPath": "` + filepath.Join(dir, "none.csv") + `"}`, "/contactsPath", "contacts file " + filepath.Join(dir, "none.csv") + ": no such file on this host"},
		{"invalid campaign", `{"cron": "@daily", "campaignPath": "` + filepath.Join(dir, "bad.yaml") + `", "contactsPath": "` + csv + `"}`, "/campaignPath", "assistantId"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := add(auth.ScopeAdmin, tt.body)
			p := decode[problem.Problem](t, rec)
			if rec.Code != 422 || len(p.Errors) != 1 || p.Errors[0].Pointer != tt.pointer || !strings.Contains(p.Detail, tt.detailHas) {
				t.Errorf("%d %s; want 422 at %s saying %q", rec.Code, rec.Body, tt.pointer, tt.detailHas)
			}
		})
	}

	list := decode[struct{ Schedules []sched }](t, h.do(t, auth.ScopeRead, "GET", "/api/v1/schedules", "", nil))
	if len(list.Schedules) != 1 || list.Schedules[0] != got {
		t.Errorf("list: %+v, want the one added: %+v", list.Schedules, got)
	}
	if rec := h.do(t, auth.ScopeOperate, "DELETE", "/api/v1/schedules/"+got.ID, "", nil); rec.Code != 403 {
		t.Errorf("remove as operate: %d", rec.Code)
	}
	if rec := h.do(t, auth.ScopeAdmin, "DELETE", "/api/v1/schedules/"+got.ID, "", nil); rec.Code != 200 || decode[sched](t, rec).ID != got.ID {
		t.Errorf("remove: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do(t, auth.ScopeAdmin, "DELETE", "/api/v1/schedules/"+got.ID, "", nil); rec.Code != 404 {
		t.Errorf("remove again: %d %s", rec.Code, rec.Body)
	}
	if list := decode[struct{ Schedules []sched }](t, h.do(t, auth.ScopeRead, "GET", "/api/v1/schedules", "", nil)); len(list.Schedules) != 0 {
		t.Errorf("list after remove: %+v", list.Schedules)
	}
	p := decode[struct{ Entries []audit.Entry }](t, h.do(t, auth.ScopeAdmin, "GET", "/api/v1/audit?limit=2", "", nil))
	if len(p.Entries) != 2 || p.Entries[0].Result != "Not Found" || p.Entries[1].Action != "DELETE /api/v1/schedules/{id}" || p.Entries[1].Target != got.ID || p.Entries[1].Actor != "admin-token" {
		t.Errorf("audit: %+v", p.Entries)
	}
}

func TestAccountsAPI(t *testing.T) {
	h := setup(t)
	id := h.mustCreate(t)
	put := func(scope auth.Scope, name, body string) *httptest.ResponseRecorder {
		t.Helper()
		return h.do(t, scope, "PUT", "/api/v1/accounts/"+name, "application/json", strings.NewReader(body))
	}
	if rec := put(auth.ScopeOperate, "west", `{"apiKeyEnv": "WEST_KEY", "callsPerSecond": 5}`); rec.Code != 403 {
		t.Errorf("set as operate: %d", rec.Code)
	}
	type acct struct {
		Name, APIKeyEnv    string
		CallsPerSecond     float64
		MaxConcurrentCalls int
		Campaigns          []string
		LiveCalls, Done    int
	}
	rec := put(auth.ScopeAdmin, "west", `{"apiKeyEnv": "WEST_KEY", "callsPerSecond": 5, "maxConcurrentCalls": 20}`)
	if got := decode[acct](t, rec); rec.Code != 200 || got.APIKeyEnv != "WEST_KEY" || got.CallsPerSecond != 5 || got.MaxConcurrentCalls != 20 {
		t.Fatalf("set west: %d %s", rec.Code, rec.Body)
	}
	// An absent apiKeyEnv keeps the one set before; absent limits are no caps.
	if got := decode[acct](t, put(auth.ScopeAdmin, "west", `{"maxConcurrentCalls": 8}`)); got.APIKeyEnv != "WEST_KEY" || got.CallsPerSecond != 0 || got.MaxConcurrentCalls != 8 {
		t.Errorf("set west again: %+v", got)
	}
	for _, tt := range []struct{ name, account, body, pointer, detailHas string }{
		{"no key variable", "east", `{"callsPerSecond": 1}`, "/apiKeyEnv", "WEST_INTERACTLY_API_KEY"},
		{"a key, not a variable", "east", `{"apiKeyEnv": "sk-live-abc123"}`, "/apiKeyEnv", "not a variable name"},
		{"rate too high", "west", `{"callsPerSecond": 5000}`, "/callsPerSecond", "between 0"},
		{"bad name", "West Coast", `{"apiKeyEnv": "K"}`, "", "account name"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := put(auth.ScopeAdmin, strings.ReplaceAll(tt.account, " ", "%20"), tt.body)
			p := decode[problem.Problem](t, rec)
			if rec.Code != 422 || len(p.Errors) != 1 || p.Errors[0].Pointer != tt.pointer || !strings.Contains(p.Detail, tt.detailHas) {
				t.Errorf("%d %s; want 422 at %q saying %q", rec.Code, rec.Body, tt.pointer, tt.detailHas)
			}
			if strings.Contains(rec.Body.String(), "sk-live-abc123") {
				t.Errorf("the answer repeats what may be a key: %s", rec.Body)
			}
		})
	}
	list := decode[struct{ Accounts []acct }](t, h.do(t, auth.ScopeRead, "GET", "/api/v1/accounts", "", nil))
	want := []acct{
		{Name: "default", APIKeyEnv: "INTERACTLY_API_KEY", Campaigns: []string{id}},
		{Name: "west", APIKeyEnv: "WEST_KEY", MaxConcurrentCalls: 8, Campaigns: []string{}},
	}
	if diff := cmp.Diff(want, list.Accounts); diff != "" {
		t.Errorf("accounts as read sees them (-want +got):\n%s", diff)
	}
	p := decode[struct{ Entries []audit.Entry }](t, h.do(t, auth.ScopeAdmin, "GET", "/api/v1/audit?limit=10", "", nil))
	var ok []string
	for _, e := range p.Entries {
		if e.Action == "PUT /api/v1/accounts/{name}" && e.Result == "ok" && e.Actor == "admin-token" {
			ok = append(ok, e.Target)
		}
	}
	if diff := cmp.Diff([]string{"/api/v1/accounts/west", "/api/v1/accounts/west"}, ok); diff != "" {
		t.Errorf("audited account changes (-want +got):\n%s", diff)
	}
}

// TestMalformedJSONBodies checks that a body the JSON decoder refuses is a 400 that says
// what is wrong and where in the API's terms (a JSON pointer, "a number"), not Go's.
func TestMalformedJSONBodies(t *testing.T) {
	h := setup(t)
	for _, tt := range []struct{ name, method, path, body, pointer, detailHas string }{
		{"string for a number", "PUT", "/api/v1/accounts/west", `{"apiKeyEnv": "K", "callsPerSecond": "10"}`, "/callsPerSecond", "callsPerSecond: got a JSON string, want a number"},
		{"number for a string", "POST", "/api/v1/calls/CC-1/control", `{"type": "say", "message": 3}`, "/message", "message: got a JSON number, want a string"},
		{"array for an object", "POST", "/api/v1/schedules", `[]`, "", "got a JSON array, want an object"},
		{"cut short", "POST", "/api/v1/calls/CC-1/control", `{"type": "say", `, "", "ends before its JSON does"},
		{"not JSON", "POST", "/api/v1/calls/CC-1/control", `{type: say}`, "", "not valid JSON at byte 2"},
		{"empty", "PUT", "/api/v1/accounts/west", ``, "", "request body is empty"},
		{"unknown field", "PUT", "/api/v1/accounts/west", `{"apiKeyEnv": "K", "cps": 3}`, "/cps", "/cps: unknown field; the fields here are apiKeyEnv, callsPerSecond, maxConcurrentCalls"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := h.do(t, auth.ScopeAdmin, tt.method, tt.path, "application/json", strings.NewReader(tt.body))
			p := decode[problem.Problem](t, rec)
			if rec.Code != 400 || p.Type != "/api/v1/problems/bad-request" || !strings.Contains(p.Detail, tt.detailHas) || strings.Contains(p.Detail, "Go struct") {
				t.Errorf("%d %s; want 400 saying %q", rec.Code, rec.Body, tt.detailHas)
			}
			if tt.pointer != "" && (len(p.Errors) != 1 || p.Errors[0].Pointer != tt.pointer) {
				t.Errorf("errors %+v; want one at %s", p.Errors, tt.pointer)
			}
		})
	}
}
