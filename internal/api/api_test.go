package api_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dialerhq/dialer/internal/api"
	"github.com/dialerhq/dialer/internal/api/apitest"
	"github.com/dialerhq/dialer/internal/audit"
	"github.com/dialerhq/dialer/internal/auth"
	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/operator"
	"github.com/dialerhq/dialer/internal/problem"
	"github.com/dialerhq/dialer/internal/redistest"
	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"
)

const testDB = 18

const testCampaign = `name: api-test
assistantId: 678a253ca6d866573043502e
phoneNumberId: 5f7b1b1b1b1b1b1b1b1b1b1b
contacts: {numberColumn: phone, nameColumn: name}
retry: {maxAttempts: 2, retryOn: [busy, no-answer], delay: 1s}
`

const testContacts = "name,phone\nAnn,415 555 0101\nBob,415 555 0102\nCy,not a number\nDi,+1 415 555 0101\n"

// harness is the API mounted as dialer serve mounts it, with a token of each scope.
type harness struct {
	rdb     *redis.Client
	store   *campaign.Store
	handler http.Handler
	routes  []auth.Route
	token   map[auth.Scope]string
	// openapi checks every request and answer against openapi.json.
	openapi *apitest.Validator
}

func setup(t *testing.T) *harness {
	t.Helper()
	return setupWith(t, operator.Config{})
}

// setupWith is setup with an Operator configured by cfg (an Interactly client, say).
func setupWith(t *testing.T, cfg operator.Config) *harness {
	t.Helper()
	rdb, _ := redistest.Setup(t, testDB)
	op := operator.New(rdb, cfg)
	t.Cleanup(func() { op.Close() })
	tokens := auth.NewStore(rdb)
	log := audit.New(rdb)
	srv, err := api.New(api.Config{Operator: op, Tokens: tokens, Audit: log, Redis: rdb, TempDir: t.TempDir(), EventInterval: 10_000_000})
	if err != nil {
		t.Fatal(err)
	}
	a, err := auth.New(auth.Config{Tokens: tokens, Observe: log.Middleware(nil)})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{rdb: rdb, store: op.Store(), routes: srv.Routes(), token: map[auth.Scope]string{}}
	h.openapi = apitest.NewValidator(t)
	mux := http.NewServeMux()
	a.Mount(mux, h.routes)
	h.handler = auth.CrossOrigin(mux)
	for _, sc := range auth.Scopes {
		secret, _, err := tokens.Create(t.Context(), auth.CreateOptions{Name: sc.String() + "-token", Scope: sc})
		if err != nil {
			t.Fatal(err)
		}
		h.token[sc] = secret
	}
	return h
}

// do sends a request as scope (0: anonymous) and returns the recorded answer.
func (h *harness) do(t *testing.T, scope auth.Scope, method, path, contentType string, body io.Reader, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	var sent []byte
	if body != nil {
		var err error
		if sent, err = io.ReadAll(body); err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(sent)
	}
	r := httptest.NewRequest(method, path, body)
	r.RemoteAddr = "198.51.100.4:1234"
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	if scope != 0 {
		r.Header.Set("Authorization", "Bearer "+h.token[scope])
	}
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.handler.ServeHTTP(rec, r.Clone(r.Context()))
	if strings.HasPrefix(r.URL.Path, api.Prefix) && rec.Code != http.StatusNotFound || rec.Header().Get("Content-Type") == problem.ContentType {
		h.openapi.Check(t, r, sent, rec.Code, rec.Header(), rec.Body.Bytes())
	}
	return rec
}

// multipartBody is a create request's body with a campaign and a contacts part.
func multipartBody(t *testing.T, campaignFile, contacts string) (string, io.Reader) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range []struct{ name, file, content string }{{"campaign", "flu.yaml", campaignFile}, {"contacts", "patients.csv", contacts}} {
		w, err := mw.CreateFormFile(p.name, p.file)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.WriteString(w, p.content)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return mw.FormDataContentType(), &buf
}

func decode[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("answer %d %q: %v", rec.Code, rec.Body, err)
	}
	return v
}

// mustCreate creates the test campaign through the API and returns its ID.
func (h *harness) mustCreate(t *testing.T) string {
	t.Helper()
	ct, body := multipartBody(t, testCampaign, testContacts)
	rec := h.do(t, auth.ScopeOperate, "POST", "/api/v1/campaigns", ct, body)
	if rec.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	st := decode[campaign.Status](t, rec)
	if loc := rec.Header().Get("Location"); loc != "/api/v1/campaigns/"+st.CampaignID {
		t.Errorf("Location %q for campaign %s", loc, st.CampaignID)
	}
	return st.CampaignID
}

func TestCreateAndRead(t *testing.T) {
	h := setup(t)
	id := h.mustCreate(t)

	st := decode[campaign.Status](t, h.do(t, auth.ScopeRead, "GET", "/api/v1/campaigns/"+id, "", nil))
	if st.Total != 4 || st.Dialable != 2 || st.Invalid != 1 || st.Duplicate != 1 || st.Name != "api-test" {
		t.Errorf("GET campaign = %+v", st)
	}

	// The report is byte for byte what `dialer report` writes.
	var want bytes.Buffer
	if _, err := h.store.WriteReport(t.Context(), id, &want, campaign.ReportOptions{}); err != nil {
		t.Fatal(err)
	}
	rec := h.do(t, auth.ScopeExport, "GET", "/api/v1/campaigns/"+id+"/report.csv", "", nil)
	if rec.Code != 200 || rec.Body.String() != want.String() || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/csv") {
		t.Errorf("report.csv: %d %q\nwant %q", rec.Code, rec.Body, want.String())
	}
	rec = h.do(t, auth.ScopeExport, "GET", "/api/v1/campaigns/"+id+"/rejected.csv", "", nil)
	wantRejected := "line,outcome,reason,name,phone\n4,invalid,"
	if rec.Code != 200 || !strings.HasPrefix(rec.Body.String(), wantRejected) || strings.Count(rec.Body.String(), "\n") != 3 {
		t.Errorf("rejected.csv: %d\n%s", rec.Code, rec.Body)
	}
	if rec := h.do(t, auth.ScopeExport, "GET", "/api/v1/campaigns/"+id+"/attempts.csv", "", nil); rec.Code != 200 {
		t.Errorf("attempts.csv: %d %s", rec.Code, rec.Body)
	}

	type page struct {
		Contacts []struct {
			Contact int               `json:"contact"`
			Line    int               `json:"line"`
			Fields  map[string]string `json:"fields"`
			Outcome string            `json:"outcome"`
		} `json:"contacts"`
		NextCursor string `json:"nextCursor"`
	}
	p := decode[page](t, h.do(t, auth.ScopeExport, "GET", "/api/v1/campaigns/"+id+"/contacts?limit=3", "", nil))
	if len(p.Contacts) != 3 || p.NextCursor != "4" || p.Contacts[0].Fields["name"] != "Ann" || p.Contacts[0].Outcome != "pending" {
		t.Fatalf("contacts page 1 = %+v", p)
	}
	p = decode[page](t, h.do(t, auth.ScopeExport, "GET", "/api/v1/campaigns/"+id+"/contacts?limit=3&cursor="+p.NextCursor, "", nil))
	if len(p.Contacts) != 1 || p.Contacts[0].Contact != 4 || p.Contacts[0].Outcome != "duplicate" || p.NextCursor != "" {
		t.Errorf("contacts page 2 = %+v", p)
	}
	p = decode[page](t, h.do(t, auth.ScopeExport, "GET", "/api/v1/campaigns/"+id+"/contacts?outcome=invalid,duplicate", "", nil))
	if len(p.Contacts) != 2 || p.Contacts[0].Line != 4 {
		t.Errorf("contacts?outcome=invalid,duplicate = %+v", p)
	}
	p = decode[page](t, h.do(t, auth.ScopeExport, "GET", "/api/v1/campaigns/"+id+"/contacts?q=bob", "", nil))
	if len(p.Contacts) != 1 || p.Contacts[0].Fields["name"] != "Bob" {
		t.Errorf("contacts?q=bob = %+v", p)
	}

	for _, report := range []string{"report.csv", "attempts.csv", "rejected.csv"} {
		if rec := h.do(t, auth.ScopeExport, "GET", "/api/v1/campaigns/nosuch/"+report, "", nil); rec.Code != 404 || rec.Header().Get("Content-Type") != problem.ContentType {
			t.Errorf("%s of an unknown campaign: %d %q %s", report, rec.Code, rec.Header().Get("Content-Type"), rec.Body)
		}
	}
	if rec := h.do(t, auth.ScopeExport, "GET", "/api/v1/campaigns/"+id+"/report.csv?bom=true", "", nil); rec.Code != 200 || rec.Body.String() != "\xEF\xBB\xBF"+want.String() {
		t.Errorf("report.csv?bom=true: %d %.20q", rec.Code, rec.Body)
	}
	if rec := h.do(t, auth.ScopeRead, "GET", "/api/v1/campaigns/nosuch", "", nil); rec.Code != 404 || rec.Header().Get("Content-Type") != problem.ContentType {
		t.Errorf("GET unknown campaign: %d %s", rec.Code, rec.Body)
	}
}

func TestListPages(t *testing.T) {
	h := setup(t)
	var ids []string
	for range 3 {
		ids = append(ids, h.mustCreate(t))
	}
	type page struct {
		Campaigns []struct {
			CampaignID string `json:"campaignId"`
		} `json:"campaigns"`
		NextCursor string `json:"nextCursor"`
	}
	var got []string
	cursor := ""
	for range 3 {
		p := decode[page](t, h.do(t, auth.ScopeRead, "GET", "/api/v1/campaigns?limit=2&cursor="+cursor, "", nil))
		for _, c := range p.Campaigns {
			got = append(got, c.CampaignID)
		}
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	want := []string{ids[2], ids[1], ids[0]}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("campaigns over pages of 2, newest first (-want +got):\n%s", diff)
	}
}

func TestCreateJSON(t *testing.T) {
	h := setup(t)
	body := `{"campaign": {"name": "json", "assistantId": "678a253ca6d866573043502e", "phoneNumberId": "5f7b1b1b1b1b1b1b1b1b1b1b",
	  "contacts": {"numberColumn": "phone"}},
	 "contacts": [{"phone": "415 555 0101", "name": "Ann", "visits": 3}, {"phone": "bad", "name": null}]}`
	rec := h.do(t, auth.ScopeOperate, "POST", "/api/v1/campaigns", "application/json", strings.NewReader(body))
	if rec.Code != 201 {
		t.Fatalf("JSON create: %d %s", rec.Code, rec.Body)
	}
	st := decode[campaign.Status](t, rec)
	c, err := h.store.Campaign(t.Context(), st.CampaignID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"phone", "name", "visits"}, c.Header); diff != "" || st.Dialable != 1 || st.Invalid != 1 {
		t.Errorf("header (-want +got):\n%s; status %+v", diff, st)
	}

	for _, tt := range []struct {
		name, body string
		status     int
		want       problem.FieldError
	}{
		{"bad key", `{"campaign": {"name": "x", "assistantId": "678a253ca6d866573043502e", "phoneNumberId": "5f7b1b1b1b1b1b1b1b1b1b1b", "contacts": {"numberColumn": "phone"}, "retry": {"maxAttempts": 0}}, "contacts": [{"phone": "1"}]}`,
			422, problem.FieldError{Pointer: "/campaign/retry/maxAttempts", Key: "retry.maxAttempts"}},
		{"missing column", `{"campaign": {"name": "x", "assistantId": "678a253ca6d866573043502e", "phoneNumberId": "5f7b1b1b1b1b1b1b1b1b1b1b", "contacts": {"numberColumn": "mobile"}}, "contacts": [{"phone": "1"}]}`,
			422, problem.FieldError{Pointer: "/campaign/contacts/numberColumn", Key: "contacts.numberColumn"}},
		{"new key in a later contact", `{"campaign": {"name": "x", "assistantId": "678a253ca6d866573043502e", "phoneNumberId": "5f7b1b1b1b1b1b1b1b1b1b1b", "contacts": {"numberColumn": "phone"}}, "contacts": [{"phone": "1"}, {"phone": "2", "email": "a@b"}]}`,
			422, problem.FieldError{Pointer: "/contacts/1/email"}},
		{"server files", `{"campaign": {"name": "x", "assistantId": "678a253ca6d866573043502e", "phoneNumberId": "5f7b1b1b1b1b1b1b1b1b1b1b", "contacts": {"numberColumn": "phone"}, "suppressionFiles": ["/etc/passwd"]}, "contacts": [{"phone": "1"}]}`,
			422, problem.FieldError{Pointer: "/campaign/suppressionFiles", Key: "suppressionFiles"}},
	} {
		rec := h.do(t, auth.ScopeOperate, "POST", "/api/v1/campaigns", "application/json", strings.NewReader(tt.body))
		p := decode[problem.Problem](t, rec)
		if rec.Code != tt.status || len(p.Errors) != 1 {
			t.Errorf("%s: %d %s", tt.name, rec.Code, rec.Body)
			continue
		}
		got := p.Errors[0]
		got.Detail = ""
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: error (-want +got):\n%s", tt.name, diff)
		}
	}
	if ids, _ := h.store.CampaignIDs(t.Context()); len(ids) != 1 {
		t.Errorf("refused creates stored campaigns: %v", ids)
	}
}

func TestCreateErrorsAsTheCLIWordsThem(t *testing.T) {
	h := setup(t)
	ct, body := multipartBody(t, testCampaign+"retry: {maxAttempts: 0}\n", testContacts)
	rec := h.do(t, auth.ScopeOperate, "POST", "/api/v1/campaigns", ct, body)
	p := decode[problem.Problem](t, rec)
	_, cliErr := campaign.ParseChecked("flu.yaml", []byte(testCampaign+"retry: {maxAttempts: 0}\n"))
	if rec.Code != 422 || cliErr == nil || p.Detail != cliErr.Error() || len(p.Errors) != 1 || p.Errors[0].File != "flu.yaml" || p.Errors[0].Line == 0 {
		t.Errorf("a bad campaign file: %d %s; the CLI says %v", rec.Code, rec.Body, cliErr)
	}
	ct, body = multipartBody(t, testCampaign, "name,phone\nAnn,\"415\n")
	rec = h.do(t, auth.ScopeOperate, "POST", "/api/v1/campaigns", ct, body)
	p = decode[problem.Problem](t, rec)
	if rec.Code != 422 || len(p.Errors) != 1 || p.Errors[0].File != "patients.csv" || p.Errors[0].Line != 2 {
		t.Errorf("a broken CSV: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do(t, auth.ScopeOperate, "POST", "/api/v1/campaigns", "text/plain", strings.NewReader("x")); rec.Code != 415 {
		t.Errorf("text/plain: %d %s", rec.Code, rec.Body)
	}
}

func TestIdempotencyKey(t *testing.T) {
	h := setup(t)
	create := func(scope auth.Scope, key string) *httptest.ResponseRecorder {
		ct, body := multipartBody(t, testCampaign, testContacts)
		return h.do(t, scope, "POST", "/api/v1/campaigns", ct, body, "Idempotency-Key", key)
	}
	first := create(auth.ScopeOperate, "k-1")
	again := create(auth.ScopeOperate, "k-1")
	if first.Code != 201 || again.Code != 200 || again.Header().Get("Idempotent-Replayed") != "true" {
		t.Fatalf("first %d, retry %d %s", first.Code, again.Code, again.Body)
	}
	a, b := decode[campaign.Status](t, first), decode[campaign.Status](t, again)
	if a.CampaignID != b.CampaignID {
		t.Errorf("a retry made campaign %s besides %s", b.CampaignID, a.CampaignID)
	}
	if other := create(auth.ScopeAdmin, "k-1"); other.Code != 201 {
		t.Errorf("the same key from another token: %d", other.Code)
	}
	// A create that failed frees its key.
	ct, body := multipartBody(t, "name: broken\n", testContacts)
	if rec := h.do(t, auth.ScopeOperate, "POST", "/api/v1/campaigns", ct, body, "Idempotency-Key", "k-2"); rec.Code != 422 {
		t.Fatalf("a bad create: %d", rec.Code)
	}
	if rec := create(auth.ScopeOperate, "k-2"); rec.Code != 201 {
		t.Errorf("a retry of a failed create with the same key: %d %s", rec.Code, rec.Body)
	}
	if ids, _ := h.store.CampaignIDs(t.Context()); len(ids) != 3 {
		t.Errorf("%d campaigns, want 3", len(ids))
	}

	// The same key with another body is refused, whichever part differs; the same body in
	// another multipart boundary (above) or other JSON whitespace is a retry.
	for name, contacts := range map[string]string{"other contacts": testContacts + "Eve,415 555 0105\n"} {
		ct, body := multipartBody(t, testCampaign, contacts)
		rec := h.do(t, auth.ScopeOperate, "POST", "/api/v1/campaigns", ct, body, "Idempotency-Key", "k-1")
		if p := decode[problem.Problem](t, rec); rec.Code != 422 || p.Type != "/api/v1/problems/idempotency-key-reused" || !strings.Contains(p.Detail, "another body") {
			t.Errorf("%s with a used key: %d %s", name, rec.Code, rec.Body)
		}
	}
	ct, body = multipartBody(t, strings.Replace(testCampaign, "api-test", "api-test-2", 1), testContacts)
	if rec := h.do(t, auth.ScopeOperate, "POST", "/api/v1/campaigns", ct, body, "Idempotency-Key", "k-1"); rec.Code != 422 {
		t.Errorf("another campaign file with a used key: %d %s", rec.Code, rec.Body)
	}
	jsonBody := `{"campaign": {"name": "j", "assistantId": "678a253ca6d866573043502e", "phoneNumberId": "5f7b1b1b1b1b1b1b1b1b1b1b", "contacts": {"numberColumn": "phone"}}, "contacts": [{"phone": "415 555 0101"}]}`
	j1 := h.do(t, auth.ScopeOperate, "POST", "/api/v1/campaigns", "application/json", strings.NewReader(jsonBody), "Idempotency-Key", "k-3")
	j2 := h.do(t, auth.ScopeOperate, "POST", "/api/v1/campaigns", "application/json", strings.NewReader(strings.ReplaceAll(jsonBody, ", ", ",\n  ")), "Idempotency-Key", "k-3")
	if j1.Code != 201 || j2.Code != 200 || decode[campaign.Status](t, j1).CampaignID != decode[campaign.Status](t, j2).CampaignID {
		t.Errorf("JSON create and its retry in other whitespace: %d, %d %s", j1.Code, j2.Code, j2.Body)
	}
	if ids, _ := h.store.CampaignIDs(t.Context()); len(ids) != 4 {
		t.Errorf("%d campaigns, want 4", len(ids))
	}
}

func TestValidate(t *testing.T) {
	h := setup(t)
	ct, body := multipartBody(t, testCampaign, testContacts)
	rec := h.do(t, auth.ScopeOperate, "POST", "/api/v1/campaigns/validate", ct, body)
	p := decode[campaign.UploadPreview](t, rec)
	if rec.Code != 200 || p.Rows != 4 || p.Dialable != 2 || p.Invalid != 1 || p.Duplicate != 1 || len(p.Sample) != 2 || p.Sample[0].Number != "+14155550101" || len(p.Refused) != 2 || p.Refused[0].Line != 4 {
		t.Errorf("validate: %d %s", rec.Code, rec.Body)
	}
	if ids, _ := h.store.CampaignIDs(t.Context()); len(ids) != 0 {
		t.Errorf("validate stored campaigns %v", ids)
	}
}

func TestScopes(t *testing.T) {
	h := setup(t)
	id := h.mustCreate(t)
	for _, tt := range []struct {
		scope        auth.Scope
		method, path string
		want         int
	}{
		{auth.ScopeRead, "POST", "/api/v1/campaigns/" + id + "/pause", 403},
		{auth.ScopeRead, "GET", "/api/v1/campaigns/" + id + "/report.csv", 403},
		{auth.ScopeRead, "GET", "/api/v1/campaigns/" + id + "/contacts", 403},
		{auth.ScopeExport, "GET", "/api/v1/campaigns/" + id + "/report.csv", 200},
		{auth.ScopeExport, "POST", "/api/v1/campaigns/" + id + "/pause", 403},
		{auth.ScopeOperate, "GET", "/api/v1/tokens", 403},
		{auth.ScopeOperate, "GET", "/api/v1/audit", 403},
		{auth.ScopeOperate, "POST", "/api/v1/campaigns/" + id + "/pause", 200},
		{auth.ScopeOperate, "POST", "/api/v1/campaigns/" + id + "/resume", 200},
		{auth.ScopeAdmin, "GET", "/api/v1/tokens", 200},
		{auth.ScopeExport, "POST", "/api/v1/calls/CC-1/control", 403},
		{auth.ScopeRead, "GET", "/api/v1/schedules", 200},
		{auth.ScopeOperate, "POST", "/api/v1/schedules", 403},
		{auth.ScopeOperate, "DELETE", "/api/v1/schedules/x", 403},
		{auth.ScopeRead, "GET", "/api/v1/accounts", 200},
		{auth.ScopeOperate, "PUT", "/api/v1/accounts/west", 403},
	} {
		if rec := h.do(t, tt.scope, tt.method, tt.path, "", nil); rec.Code != tt.want {
			t.Errorf("%s %s as %s: %d, want %d: %s", tt.method, tt.path, tt.scope, rec.Code, tt.want, rec.Body)
		}
	}
	// Every route of the table refuses an anonymous caller.
	for _, rt := range h.routes {
		method, path, _ := strings.Cut(rt.Pattern, " ")
		path = strings.NewReplacer("{id}", id, "{name}", "x", "{n}", "1", "{callId}", "CC-1").Replace(path)
		if rec := h.do(t, 0, method, path, "", nil); rec.Code != 401 {
			t.Errorf("anonymous %s: %d", rt.Pattern, rec.Code)
		}
	}
}

func TestControlAndAudit(t *testing.T) {
	h := setup(t)
	id := h.mustCreate(t)
	type result struct {
		Campaign campaign.Status `json:"campaign"`
		Canceled int             `json:"canceled"`
	}
	res := decode[result](t, h.do(t, auth.ScopeOperate, "POST", "/api/v1/campaigns/"+id+"/pause", "", nil))
	if res.Campaign.Control != campaign.ControlPaused {
		t.Errorf("after pause: %+v", res)
	}
	h.do(t, auth.ScopeRead, "POST", "/api/v1/campaigns/"+id+"/cancel", "", nil) // refused: 403
	res = decode[result](t, h.do(t, auth.ScopeOperate, "POST", "/api/v1/campaigns/"+id+"/cancel", "", nil))
	if res.Canceled != 2 || !res.Campaign.Done {
		t.Errorf("after cancel: %+v", res)
	}
	if rec := h.do(t, auth.ScopeOperate, "POST", "/api/v1/campaigns/"+id+"/pause", "", nil); rec.Code != 409 || decode[problem.Problem](t, rec).State != "canceled" {
		t.Errorf("pause of a canceled campaign: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do(t, auth.ScopeOperate, "POST", "/api/v1/campaigns/"+id+"/cancel?hangup=true", "", nil); rec.Code != 503 {
		t.Errorf("cancel with hangup and no Interactly client: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do(t, auth.ScopeOperate, "POST", "/api/v1/campaigns/nosuch/pause", "", nil); rec.Code != 404 {
		t.Errorf("pause of an unknown campaign: %d %s", rec.Code, rec.Body)
	}

	type page struct {
		Entries    []audit.Entry `json:"entries"`
		NextCursor string        `json:"nextCursor"`
	}
	p := decode[page](t, h.do(t, auth.ScopeAdmin, "GET", "/api/v1/audit?limit=4", "", nil))
	type row struct{ Actor, Scope, Action, Target, Source string }
	var got []row
	for _, e := range p.Entries {
		got = append(got, row{e.Actor, e.Scope, e.Action + " " + e.Result, e.Target, e.Source})
	}
	want := []row{
		{"operate-token", "operate", "POST /api/v1/campaigns/{id}/pause Not Found", "nosuch", "198.51.100.4"},
		{"operate-token", "operate", "POST /api/v1/campaigns/{id}/cancel Service Unavailable", id, "198.51.100.4"},
		{"operate-token", "operate", "POST /api/v1/campaigns/{id}/pause Conflict", id, "198.51.100.4"},
		{"operate-token", "operate", "POST /api/v1/campaigns/{id}/cancel ok", id, "198.51.100.4"},
	}
	if diff := cmp.Diff(want, got); diff != "" || p.NextCursor == "" {
		t.Errorf("audit, newest first (-want +got):\n%s", diff)
	}
	older := decode[page](t, h.do(t, auth.ScopeAdmin, "GET", "/api/v1/audit?limit=10&cursor="+p.NextCursor, "", nil))
	if len(older.Entries) != 3 || older.Entries[0].Result != "Forbidden" || older.Entries[1].Action != "POST /api/v1/campaigns/{id}/pause" || older.Entries[2].Action != "POST /api/v1/campaigns" || older.Entries[2].Target != "/api/v1/campaigns/"+id {
		t.Errorf("older audit entries: %+v", older.Entries)
	}
}

func TestTokensAPI(t *testing.T) {
	h := setup(t)
	rec := h.do(t, auth.ScopeAdmin, "POST", "/api/v1/tokens", "application/json", strings.NewReader(`{"name": "crm", "scope": "export", "expires": "30d"}`))
	type created struct {
		Name  string `json:"name"`
		Scope string `json:"scope"`
		Token string `json:"token"`
	}
	c := decode[created](t, rec)
	if rec.Code != 201 || c.Scope != "export" || !strings.HasPrefix(c.Token, auth.TokenPrefix) {
		t.Fatalf("create token: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do(t, auth.ScopeAdmin, "GET", "/api/v1/tokens", "", nil); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"crm"`) || strings.Contains(rec.Body.String(), c.Token[20:]) {
		t.Errorf("list tokens: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do(t, auth.ScopeAdmin, "POST", "/api/v1/tokens", "application/json", strings.NewReader(`{"name": "crm", "scope": "read"}`)); rec.Code != 409 {
		t.Errorf("a second crm: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do(t, auth.ScopeAdmin, "POST", "/api/v1/tokens", "application/json", strings.NewReader(`{"name": "x", "scope": "root"}`)); rec.Code != 400 {
		t.Errorf("scope root: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do(t, auth.ScopeAdmin, "DELETE", "/api/v1/tokens/crm", "", nil); rec.Code != 204 {
		t.Errorf("revoke: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do(t, auth.ScopeAdmin, "DELETE", "/api/v1/tokens/crm", "", nil); rec.Code != 404 {
		t.Errorf("revoke twice: %d %s", rec.Code, rec.Body)
	}
}

func TestEvents(t *testing.T) {
	h := setup(t)
	ct, body := multipartBody(t, testCampaign, "name,phone\nAnn,bad\n")
	rec := h.do(t, auth.ScopeOperate, "POST", "/api/v1/campaigns", ct, body)
	id := decode[campaign.Status](t, rec).CampaignID
	// Every row is invalid, so the campaign is done and the stream ends after one event.
	rec = h.do(t, auth.ScopeRead, "GET", "/api/v1/campaigns/"+id+"/events", "", nil)
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %d %s", rec.Code, rec.Body)
	}
	sc := bufio.NewScanner(rec.Body)
	var events []string
	for sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			events = append(events, data)
		}
	}
	if len(events) != 1 || !strings.Contains(events[0], `"done":true`) {
		t.Errorf("events = %q", events)
	}
}

func TestSuppression(t *testing.T) {
	h := setup(t)
	type change struct{ Changed, Unchanged, Size int }
	rec := h.do(t, auth.ScopeAdmin, "POST", "/api/v1/suppression", "application/json", strings.NewReader(`{"numbers": ["(415) 555-0101", "+1 415 555 0102"]}`))
	if c := decode[change](t, rec); rec.Code != 200 || c != (change{2, 0, 2}) {
		t.Errorf("add: %d %s", rec.Code, rec.Body)
	}
	rec = h.do(t, auth.ScopeAdmin, "POST", "/api/v1/suppression", "application/json", strings.NewReader(`{"numbers": ["4155550101", "not a number"]}`))
	if p := decode[problem.Problem](t, rec); rec.Code != 422 || len(p.Errors) != 1 || p.Errors[0].Pointer != "/numbers" || !strings.Contains(p.Errors[0].Detail, "nothing changed") {
		t.Errorf("add with a bad number: %d %s", rec.Code, rec.Body)
	}
	rec = h.do(t, auth.ScopeExport, "POST", "/api/v1/suppression/check", "application/json", strings.NewReader(`{"numbers": ["415-555-0102", "415-555-0199"]}`))
	if rec.Code != 200 || rec.Body.String() != `{"numbers":[{"number":"+14155550102","suppressed":true},{"number":"+14155550199","suppressed":false}]}`+"\n" {
		t.Errorf("check: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do(t, auth.ScopeOperate, "POST", "/api/v1/suppression", "application/json", strings.NewReader(`{"numbers": ["4155550103"]}`)); rec.Code != 403 {
		t.Errorf("add as operate: %d", rec.Code)
	}
	rec = h.do(t, auth.ScopeAdmin, "POST", "/api/v1/suppression/import?region=US", "text/csv", strings.NewReader("number,reason\n415 555 0103,asked\n415 555 0101,again\n12,short\n"))
	type imported struct {
		Rows, Added, AlreadyThere, Size int
		Rejected                        []struct{ Line int }
	}
	if im := decode[imported](t, rec); rec.Code != 200 || im.Rows != 3 || im.Added != 1 || im.AlreadyThere != 1 || im.Size != 3 || len(im.Rejected) != 1 || im.Rejected[0].Line != 4 {
		t.Errorf("import: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do(t, auth.ScopeAdmin, "POST", "/api/v1/suppression/import", "text/csv", strings.NewReader("phone\n4155550104\n")); rec.Code != 422 {
		t.Errorf("import without a number column: %d %s", rec.Code, rec.Body)
	}
	rec = h.do(t, auth.ScopeAdmin, "POST", "/api/v1/suppression/remove", "application/json", strings.NewReader(`{"numbers": ["4155550101", "4155550199"]}`))
	if c := decode[change](t, rec); rec.Code != 200 || c != (change{1, 1, 2}) {
		t.Errorf("remove: %d %s", rec.Code, rec.Body)
	}
	// A campaign uploaded now leaves the suppressed number out.
	ct, body := multipartBody(t, testCampaign, "name,phone\nAnn,415 555 0102\nBob,415 555 0105\n")
	st := decode[campaign.Status](t, h.do(t, auth.ScopeOperate, "POST", "/api/v1/campaigns", ct, body))
	if st.Suppressed != 1 || st.Dialable != 1 {
		t.Errorf("a campaign after the API suppressed a number: %+v", st)
	}
}
