package console

import (
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/dialerhq/dialer/internal/auth"
	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/metrics"
	"github.com/dialerhq/dialer/internal/operator"
	"github.com/dialerhq/dialer/internal/redistest"
	"github.com/dialerhq/dialer/internal/schedule"
	"github.com/dialerhq/dialer/internal/testutil"
)

// setup returns a console on a clean database, its route table mounted behind auth and the
// session middleware as dialer serve mounts it, and an operate token.
func setup(t *testing.T) (*Console, http.Handler, string) {
	t.Helper()
	c, h, token, _ := setupRedis(t)
	return c, h, token
}

// setupRedis is setup that also returns the console's Redis database.
func setupRedis(t *testing.T) (*Console, http.Handler, string, *redis.Client) {
	t.Helper()
	return setupWith(t, Config{})
}

// setupWith is setupRedis with the console's Config cfg, in which it sets Operator, Tokens,
// DraftDir and Now; cfg.SignInFailures (if set) is shared with the API's sign-in, as dialer
// serve shares it.
func setupWith(t *testing.T, cfg Config) (*Console, http.Handler, string, *redis.Client) {
	t.Helper()
	rdb, _ := redistest.Setup(t, 17)
	op := operator.New(rdb, operator.Config{Now: testutil.Now})
	t.Cleanup(func() { op.Close() })
	tokens := auth.NewStore(rdb)
	cfg.Operator, cfg.Tokens, cfg.DraftDir, cfg.Now = op, tokens, t.TempDir(), testutil.Now
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a, err := auth.New(auth.Config{Tokens: tokens, Failures: cfg.SignInFailures})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	a.Mount(mux, c.Routes())
	secret, _, err := tokens.Create(t.Context(), auth.CreateOptions{Name: "ops", Scope: auth.ScopeOperate})
	if err != nil {
		t.Fatal(err)
	}
	return c, c.Sessions(auth.CrossOrigin(mux)), secret, rdb
}

func TestBuildHeader(t *testing.T) {
	c := &campaign.Campaign{ID: "c1", Rows: 10, Upload: campaign.UploadComplete}
	st := &campaign.Status{
		CampaignID: "c1", Name: "flu", State: campaign.StateRunning, Total: 10, Dialable: 8, Invalid: 2,
		Finished: 6, LiveCalls: 1, WaitingForWindow: 1,
		Outcomes: map[campaign.Outcome]int{campaign.OutcomeInvalid: 2, campaign.OutcomeCompleted: 3, campaign.OutcomeBusy: 1},
	}
	h := BuildHeader(c, st, testutil.Now())
	got := map[string]string{}
	for _, cnt := range h.Counts {
		got[cnt.Label] = cnt.Value
	}
	want := map[string]string{
		"Dialable": "8", "Waiting for a window": "1", "Queued or retry pending": "2", "Live calls": "1",
		"Completed": "3", "Not reached": "busy 1", "Connect rate": "75%", "ETA": "–",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("counts -want +got:\n%s", diff)
	}
	if !h.CanPause || h.CanResume || !h.CanCancel {
		t.Errorf("running: pause %v resume %v cancel %v; want pause and cancel", h.CanPause, h.CanResume, h.CanCancel)
	}
	var bars []string
	for _, b := range h.Bars {
		bars = append(bars, fmt.Sprintf("%s %d %d%% w%d", b.Outcome, b.Count, b.Percent, b.Width))
	}
	if diff := cmp.Diff([]string{"completed 3 30% w75", "busy 1 10% w25", "invalid 2 20% w50", "pending 4 40% w100"}, bars); diff != "" {
		t.Errorf("chart bars -want +got:\n%s", diff)
	}

	c.Control = campaign.ControlPaused
	st.State = campaign.StatePaused
	if h := BuildHeader(c, st, testutil.Now()); h.CanPause || !h.CanResume {
		t.Errorf("paused: pause %v resume %v; want resume only", h.CanPause, h.CanResume)
	}
}

func TestRowFilter(t *testing.T) {
	ct := &campaign.Contact{ID: 3, Name: "Aiko", Number: "+14155550103", Fields: []string{"Aiko", "Tanaka", "Mission Bay"}}
	for _, tt := range []struct {
		name string
		f    RowFilter
		want bool
	}{
		{"no filter", RowFilter{}, true},
		{"pending", RowFilter{Outcome: "pending"}, true},
		{"other outcome", RowFilter{Outcome: "completed"}, false},
		{"number", RowFilter{Search: "555010"}, true},
		{"cell, any case", RowFilter{Search: "mission"}, true},
		{"nowhere", RowFilter{Search: "oakland"}, false},
	} {
		if got := tt.f.Keep(ct); got != tt.want {
			t.Errorf("%s: Keep = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestFormErrorsByField checks that the form is a campaign file: its defaults are the
// file's, and a refused value is shown next to its field.
func TestFormErrorsByField(t *testing.T) {
	fields := formFields()
	set := func(key, val string) {
		for i := range fields {
			if fields[i].Key == key {
				fields[i].Value = val
			}
		}
	}
	set("name", "flu")
	set("assistantId", "a1")
	set("phoneNumberId", "p1")
	set("rateLimit.maxConcurrentCalls", "0")
	y, err := formYAML(fields)
	if err != nil {
		t.Fatal(err)
	}
	f, err := campaign.Parse("form", y)
	if err == nil {
		f.Contacts.NumberColumn = "phone"
		f.WithDefaults()
		err = f.Validate()
	}
	v := NewView{Mode: "form", Fields: fields}
	v.attach(err)
	for _, fl := range v.Fields {
		if fl.Key == "rateLimit.maxConcurrentCalls" && !strings.Contains(fl.Error, "at least 1") {
			t.Errorf("maxConcurrentCalls error = %q (whole error %v)", fl.Error, err)
		}
		if fl.Key == "retry.maxAttempts" && fl.Value != "3" {
			t.Errorf("maxAttempts defaults to %q, want the file's 3", fl.Value)
		}
	}
}

// TestNewCampaignCancelLeavesNothing uploads the example files, previews them, cancels,
// and finds nothing in Redis and no draft on disk; then confirms a second upload.
func TestNewCampaignCancelLeavesNothing(t *testing.T) {
	c, h, token, rdb := setupRedis(t)
	keys := func() []string {
		ks, _ := rdb.Keys(t.Context(), "*").Result()
		var out []string
		for _, k := range ks {
			if !strings.HasPrefix(k, "dialer:{auth}") {
				out = append(out, k)
			}
		}
		return out
	}
	do := func(method, target string, body io.Reader, contentType string) *httptest.ResponseRecorder {
		return send(h, token, method, target, body, contentType)
	}
	upload := func() string {
		body, contentType := newCampaignForm(t, map[string]string{"contacts": "../../campaigns/example.csv", "campaign": "../../campaigns/example.yaml"}, nil)
		rec := do("POST", "/campaigns/new", strings.NewReader(body), contentType)
		if rec.Code != http.StatusSeeOther {
			t.Fatalf("upload: %d %s", rec.Code, rec.Body)
		}
		return rec.Header().Get("Location")
	}

	draft := upload()
	rec := do("GET", draft, nil, "")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "has extension 204") {
		t.Fatalf("preview: %d %s", rec.Code, rec.Body)
	}
	if k := keys(); len(k) > 0 {
		t.Errorf("the preview stored %v", k)
	}
	if rec := do("POST", draft+"/cancel", nil, ""); rec.Code != http.StatusSeeOther {
		t.Fatalf("cancel: %d", rec.Code)
	}
	if k := keys(); len(k) > 0 {
		t.Errorf("after cancel Redis holds %v", k)
	}
	if entries, _ := os.ReadDir(c.cfg.DraftDir); len(entries) > 0 {
		t.Errorf("after cancel %d drafts are left on disk", len(entries))
	}

	draft = upload()
	form := url.Values{"number": {"phone"}, "name": {"First Name"}, "tz": {"-"}}
	rec = do("POST", draft+"/confirm", strings.NewReader(form.Encode()), "application/x-www-form-urlencoded")
	if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/campaigns/") {
		t.Fatalf("confirm: %d %s", rec.Code, rec.Body)
	}
	ids, _ := c.op.Store().CampaignIDs(t.Context())
	if len(ids) != 1 {
		t.Fatalf("after confirm: campaigns %v", ids)
	}
	cmp, _ := c.op.Store().Campaign(t.Context(), ids[0])
	if cmp.Rows != 50 || cmp.Invalid != 4 || cmp.Duplicate != 2 {
		t.Errorf("created campaign: %d rows, %d invalid, %d duplicate", cmp.Rows, cmp.Invalid, cmp.Duplicate)
	}
}

// TestPagesNeedSignIn: a browser without a session is sent to the sign-in page and back.
func TestPagesNeedSignIn(t *testing.T) {
	_, h, _ := setup(t)
	r := httptest.NewRequest("GET", "/campaigns?state=paused", nil)
	r.Header.Set("Accept", "text/html")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/signin?next=%2Fcampaigns%3Fstate%3Dpaused" {
		t.Errorf("GET /campaigns without a session: %d, Location %q", rec.Code, rec.Header().Get("Location"))
	}
	for _, next := range []string{"//evil.example/x", "https://evil.example", "/\\evil"} {
		if got := safeNext(next); got != "/campaigns" {
			t.Errorf("safeNext(%q) = %q", next, got)
		}
	}
}

// TestNewCampaignByForm fills the form instead of uploading a campaign file: a refused value
// comes back next to its field; a good form previews the example contacts.
func TestNewCampaignByForm(t *testing.T) {
	_, h, token := setup(t)
	post := func(fields map[string]string) *httptest.ResponseRecorder {
		fields["mode"] = "form"
		body, contentType := newCampaignForm(t, map[string]string{"contacts": "../../campaigns/example.csv"}, fields)
		return send(h, token, "POST", "/campaigns/new", strings.NewReader(body), contentType)
	}
	rec := post(map[string]string{"name": "flu", "assistantId": "a1", "phoneNumberId": "p1", "retry.maxAttempts": "11"})
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), `id="f-retry-maxAttempts-error"`) {
		t.Fatalf("maxAttempts 11: %d, error not next to the field:\n%s", rec.Code, rec.Body)
	}
	rec = post(map[string]string{"name": "flu", "assistantId": "a1", "phoneNumberId": "p1"})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("good form: %d %s", rec.Code, rec.Body)
	}
	prev := send(h, token, "GET", rec.Header().Get("Location"), nil, "")
	// The number column is guessed from the header ("phone"), the name column too.
	if prev.Code != http.StatusOK || !strings.Contains(prev.Body.String(), "<option selected>phone</option>") || !strings.Contains(prev.Body.String(), "14155550101</td>") {
		t.Errorf("preview of the form's campaign: %d\n%s", prev.Code, prev.Body)
	}
}

func TestBuildSchedules(t *testing.T) {
	// Friday 2026-12-04 15:00 UTC is 10:00 in New York: the next 09:00 weekday is Monday.
	now := time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC)
	v := BuildSchedules(Page{}, []*schedule.Schedule{
		{ID: "s1", Cron: "0 9 * * MON-FRI", Timezone: "America/New_York", CampaignPath: "/c.yaml", ContactsPath: "/c.csv"},
		{ID: "s2", Cron: "@daily"},
	}, now)
	got := []string{v.Schedules[0].Next.Format(time.RFC3339), v.Schedules[1].Timezone, v.Schedules[1].Next.Format(time.RFC3339)}
	want := []string{"2026-12-07T09:00:00-05:00", "UTC", "2026-12-05T00:00:00Z"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("-want +got:\n%s", diff)
	}
}

// TestTrustedProxy: X-Forwarded-Email is believed from a trusted proxy's address only, with
// the configured scope.
func TestTrustedProxy(t *testing.T) {
	_, h, _, _ := setupWith(t, Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24")}, ProxyScope: auth.ScopeExport})
	get := func(remote, path string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", path, nil)
		r.RemoteAddr = remote
		r.Header.Set("Accept", "text/html")
		r.Header.Set("X-Forwarded-Email", "dana@clinic.example")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec
	}
	if rec := get("10.0.0.5:5000", "/campaigns"); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "dana@clinic.example") {
		t.Errorf("from the proxy: %d", rec.Code)
	}
	if rec := get("10.0.0.5:5000", "/campaigns/new"); rec.Code != http.StatusForbidden {
		t.Errorf("new campaign as the proxy's export user: %d, want 403", rec.Code)
	}
	if rec := get("203.0.113.7:5000", "/campaigns"); rec.Code != http.StatusSeeOther {
		t.Errorf("the same header from elsewhere: %d, want a redirect to sign in", rec.Code)
	}
}

// TestSignInThrottled: after ten wrong tokens from one address the sign-in form refuses even
// a good token from it, says how long to wait, and counts failures made through the API's
// Authorization header too when the two share auth.Failures; another address still signs in.
func TestSignInThrottled(t *testing.T) {
	failures := auth.NewFailures(10, time.Minute)
	_, h, good, _ := setupWith(t, Config{SignInFailures: failures})
	signIn := func(remote, token string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/signin", strings.NewReader(url.Values{"token": {token}}.Encode()))
		r.RemoteAddr = remote
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec
	}
	const wrong = "dlr_0000000000000000_wrong"
	for i := range 9 {
		if rec := signIn("192.0.2.1:4000", wrong); rec.Code != http.StatusUnauthorized {
			t.Fatalf("wrong token %d: %d, want 401", i+1, rec.Code)
		}
	}
	// The tenth failure comes through the API.
	r := httptest.NewRequest("GET", "/campaigns", nil)
	r.RemoteAddr = "192.0.2.1:4001"
	r.Header.Set("Authorization", "Bearer "+wrong)
	if rec := httptest.NewRecorder(); func() int { h.ServeHTTP(rec, r); return rec.Code }() != http.StatusUnauthorized {
		t.Fatalf("a wrong bearer token: %d, want 401", rec.Code)
	}
	rec := signIn("192.0.2.1:4002", good)
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "60" {
		t.Fatalf("a good token after 10 failures: %d (Retry-After %q), want 429 and 60", rec.Code, rec.Header().Get("Retry-After"))
	}
	body := rec.Body.String()
	if !strings.Contains(body, `id="token-error"`) || !strings.Contains(body, "Wait 1 minute") {
		t.Errorf("the page does not say, next to the field, how long to wait:\n%s", body)
	}
	if rec := signIn("198.51.100.9:4000", good); rec.Code != http.StatusSeeOther || rec.Header().Get("Set-Cookie") == "" {
		t.Errorf("a good token from another address: %d, want a session", rec.Code)
	}
}

// TestNewCampaignEncoding: a Windows-1252 contact file dropped without its encoding gets a
// preview that names the line and column and both fixes, next to the encoding field; picking
// the encoding there, or on the upload form, previews it and creates it as written.
func TestNewCampaignEncoding(t *testing.T) {
	c, h, token := setup(t)
	do := func(method, target string, body io.Reader, contentType string) *httptest.ResponseRecorder {
		return send(h, token, method, target, body, contentType)
	}
	upload := func(encoding string) string {
		files := map[string]string{"contacts": "../contactcsv/testdata/excel-windows-1252.csv", "campaign": "../../campaigns/example.yaml"}
		body, contentType := newCampaignForm(t, files, map[string]string{"encoding": encoding})
		rec := do("POST", "/campaigns/new", strings.NewReader(body), contentType)
		if rec.Code != http.StatusSeeOther {
			t.Fatalf("upload with encoding %q: %d %s", encoding, rec.Code, rec.Body)
		}
		return rec.Header().Get("Location")
	}

	draft := upload("")
	rec := do("GET", draft, nil, "")
	body := rec.Body.String()
	for _, want := range []string{"line 2, column 4", `id="encoding-error"`, "CSV UTF-8 (Comma delimited)", "pick Windows-1252"} {
		if !strings.Contains(body, want) {
			t.Errorf("preview of a Windows-1252 file without its encoding lacks %q", want)
		}
	}
	if rec.Code != http.StatusUnprocessableEntity {
		t.Errorf("preview without the encoding: %d, want 422", rec.Code)
	}
	if rec := do("GET", draft+"?encoding=windows-1252", nil, ""); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "José") {
		t.Errorf("preview with windows-1252 picked on it: %d\n%s", rec.Code, rec.Body)
	}
	if rec := do("GET", draft+"?encoding=ebcdic", nil, ""); rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), `id="encoding-error"`) {
		t.Errorf("an encoding not offered: %d, want 422 with the error next to the field", rec.Code)
	}

	draft = upload("windows-1252")
	if rec := do("GET", draft, nil, ""); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `<option value="windows-1252" selected>`) {
		t.Fatalf("preview with windows-1252 picked on the upload form: %d\n%s", rec.Code, rec.Body)
	}
	form := url.Values{"number": {"phone"}, "name": {"First Name"}, "tz": {"-"}, "encoding": {"windows-1252"}}
	if rec := do("POST", draft+"/confirm", strings.NewReader(form.Encode()), "application/x-www-form-urlencoded"); rec.Code != http.StatusSeeOther {
		t.Fatalf("confirm: %d %s", rec.Code, rec.Body)
	}
	ids, _ := c.op.Store().CampaignIDs(t.Context())
	if len(ids) != 1 {
		t.Fatalf("campaigns after confirm: %v", ids)
	}
	ct, err := c.op.Store().Contact(t.Context(), ids[0], 1)
	if err != nil || ct.Name != "José" {
		t.Errorf("row 1 of the created campaign: %+v, %v; want José", ct, err)
	}
}

// TestAddSchedule adds a schedule from the form, as `dialer schedule add` does; a refused
// field is shown next to it, and nothing is stored.
func TestAddSchedule(t *testing.T) {
	c, h, opToken := setup(t)
	admin, _, err := c.cfg.Tokens.Create(t.Context(), auth.CreateOptions{Name: "root", Scope: auth.ScopeAdmin})
	if err != nil {
		t.Fatal(err)
	}
	campaignPath, _ := filepath.Abs("../../campaigns/example.yaml")
	contactsPath, _ := filepath.Abs("../../campaigns/example.csv")
	post := func(form url.Values) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/schedules", strings.NewReader(form.Encode()))
		r.AddCookie(&http.Cookie{Name: SessionCookie, Value: admin})
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec
	}
	for _, tt := range []struct {
		name, field, want string
		form              url.Values
	}{
		{"no cron", "s-cron", "Say when", url.Values{"campaign": {campaignPath}, "contacts": {contactsPath}}},
		{"bad cron", "s-cron", "want 5 fields", url.Values{"cron": {"every morning"}, "campaign": {campaignPath}, "contacts": {contactsPath}}},
		{"bad zone", "s-timezone", "not an IANA time zone", url.Values{"cron": {"@daily"}, "timezone": {"Mars/Olympus"}, "campaign": {campaignPath}, "contacts": {contactsPath}}},
		{"no such file", "s-contacts", "no such file", url.Values{"cron": {"@daily"}, "campaign": {campaignPath}, "contacts": {"/nowhere/x.csv"}}},
	} {
		rec := post(tt.form)
		body := rec.Body.String()
		i := strings.Index(body, `id="`+tt.field+`-error"`)
		if rec.Code != http.StatusUnprocessableEntity || i < 0 || !strings.Contains(body[i:], tt.want) {
			t.Errorf("%s: %d; want 422 with %q next to %s", tt.name, rec.Code, tt.want, tt.field)
		}
	}
	if list, _ := c.schedules.List(t.Context()); len(list) != 0 {
		t.Fatalf("refused forms stored %d schedules", len(list))
	}
	rec := post(url.Values{"cron": {"0 9 * * MON-FRI"}, "timezone": {"America/New_York"}, "campaign": {campaignPath}, "contacts": {contactsPath}})
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Added schedule") {
		t.Fatalf("a good schedule: %d\n%s", rec.Code, rec.Body)
	}
	list, _ := c.schedules.List(t.Context())
	if len(list) != 1 || list[0].Cron != "0 9 * * MON-FRI" || list[0].Timezone != "America/New_York" || list[0].ContactsPath != contactsPath {
		t.Errorf("stored schedules: %+v", list)
	}
	// An operator may read the schedules but not add one.
	r := httptest.NewRequest("POST", "/schedules", strings.NewReader("cron=@daily"))
	r.AddCookie(&http.Cookie{Name: SessionCookie, Value: opToken})
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != http.StatusForbidden {
		t.Errorf("an operator adding a schedule: %d, want 403", rec.Code)
	}
}

// TestAccountsPage lists the accounts with their key's variable, limits and campaigns; an
// admin sets limits, a refused value is shown next to its field, and a pasted key is
// neither repeated nor kept in the form.
func TestAccountsPage(t *testing.T) {
	c, h, opToken := setup(t)
	admin, _, err := c.cfg.Tokens.Create(t.Context(), auth.CreateOptions{Name: "root", Scope: auth.ScopeAdmin})
	if err != nil {
		t.Fatal(err)
	}
	do := func(token, method, target string, form url.Values) *httptest.ResponseRecorder {
		return submit(h, token, method, target, form)
	}
	rec := do(admin, "POST", "/accounts", url.Values{"new": {"1"}, "name": {"west-clinics"}, "apiKeyEnv": {"WEST_KEY"}, "callsPerSecond": {"5"}, "maxConcurrentCalls": {"8"}})
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Account west-clinics set: 5 calls/s, 8 live calls") {
		t.Fatalf("add west-clinics: %d\n%s", rec.Code, rec.Body)
	}
	for _, tt := range []struct {
		name, field, want string
		form              url.Values
	}{
		{"cps not a number", "a-west-clinics-cps", "such as 5 or 0.5", url.Values{"name": {"west-clinics"}, "callsPerSecond": {"fast"}}},
		{"cps too high", "a-west-clinics-cps", "between 0 (no cap) and 1000", url.Values{"name": {"west-clinics"}, "callsPerSecond": {"5000"}}},
		{"negative calls", "a-west-clinics-max", "0 (no cap) or more", url.Values{"name": {"west-clinics"}, "maxConcurrentCalls": {"-1"}}},
		{"no variable", "new-env", "Name the environment variable", url.Values{"new": {"1"}, "name": {"east"}}},
		{"bad name", "new-name", "lowercase letters", url.Values{"new": {"1"}, "name": {"East Clinics"}, "apiKeyEnv": {"EAST_KEY"}}},
	} {
		rec := do(admin, "POST", "/accounts", tt.form)
		body := rec.Body.String()
		i := strings.Index(body, `id="`+tt.field+`-error"`)
		if rec.Code != http.StatusUnprocessableEntity || i < 0 || !strings.Contains(body[i:], tt.want) {
			t.Errorf("%s: %d; want 422 with %q next to %s", tt.name, rec.Code, tt.want, tt.field)
		}
	}
	const pasted = "sk-live-0123456789abcdef"
	rec = do(admin, "POST", "/accounts", url.Values{"name": {"west-clinics"}, "apiKeyEnv": {pasted}})
	if rec.Code != http.StatusUnprocessableEntity || strings.Contains(rec.Body.String(), pasted) || !strings.Contains(rec.Body.String(), `id="a-west-clinics-env-error"`) {
		t.Errorf("a pasted key: %d; want 422, the error next to the field, and the key nowhere in the page", rec.Code)
	}
	if a, err := c.op.Accounts(t.Context()); err != nil || len(a) != 2 || a[1].CallsPerSecond != 5 || a[1].APIKeyEnv != "WEST_KEY" {
		t.Fatalf("accounts after the refusals: %+v, %v", a, err)
	}

	// A campaign on west-clinics is listed under it; an operator reads the page, without forms.
	yamlText, err := os.ReadFile("../../campaigns/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f, err := campaign.Parse("example.yaml", append(yamlText, []byte("\naccount: west-clinics\n")...))
	if err != nil {
		t.Fatal(err)
	}
	f.WithDefaults()
	if _, err := c.op.Upload(t.Context(), f, "example.csv", func() (io.ReadCloser, error) { return os.Open("../../campaigns/example.csv") }, operator.UploadOptions{}); err != nil {
		t.Fatal(err)
	}
	rec = do(opToken, "GET", "/accounts", nil)
	body := rec.Body.String()
	if rec.Code != http.StatusOK || !strings.Contains(body, "$WEST_KEY") || !strings.Contains(body, f.Name) || strings.Contains(body, `action="/accounts"`) {
		t.Errorf("the operator's accounts page: %d; want $WEST_KEY, the campaign %s, and no form\n%s", rec.Code, f.Name, body)
	}
	if rec := do(opToken, "POST", "/accounts", url.Values{"name": {"west-clinics"}, "callsPerSecond": {"50"}}); rec.Code != http.StatusForbidden {
		t.Errorf("an operator setting limits: %d, want 403", rec.Code)
	}
}

func TestBuildAttemptsChart(t *testing.T) {
	start := time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC)
	pts := []metrics.Point{{Minute: start, Count: 3}, {Minute: start.Add(3 * time.Minute), Count: 1}}
	ch := BuildAttemptsChart(pts, start.Add(20*time.Minute+30*time.Second), false)
	if len(ch.Bins) != 21 || ch.Width != "minute" || ch.Total != 4 || ch.Peak != 3 || ch.From != "15:00 UTC" || ch.To != "15:21 UTC" {
		t.Errorf("running, 20 minutes in: %d bins per %s, total %d, peak %d, %s to %s; want 21 per minute, 4, 3, 15:00 to 15:21",
			len(ch.Bins), ch.Width, ch.Total, ch.Peak, ch.From, ch.To)
	}
	if b := ch.Bins[0]; b.H != float64(ch.ViewH) || b.Y != 0 {
		t.Errorf("the peak bar: y %v h %v; want the full height", b.Y, b.H)
	}
	if b := ch.Bins[3]; b.H != float64(ch.ViewH)/3 || ch.Bins[1].H != 0 {
		t.Errorf("a third of the peak: h %v, an empty minute h %v", b.H, ch.Bins[1].H)
	}
	// Done: the chart ends at the last dial. Five hours need 5-minute bins (60 of them).
	pts = append(pts, metrics.Point{Minute: start.Add(5*time.Hour - time.Minute), Count: 2})
	ch = BuildAttemptsChart(pts, start.Add(48*time.Hour), true)
	if len(ch.Bins) != 60 || ch.Width != "5 minutes" || ch.Bins[59].Count != 2 || ch.Bins[0].Count != 4 {
		t.Errorf("done, 5 hours: %d bins per %s, last %d, first %d; want 60 per 5 minutes, 2, 4", len(ch.Bins), ch.Width, ch.Bins[59].Count, ch.Bins[0].Count)
	}
	// Done within a minute: 15 bars, the campaign's in the middle.
	ch = BuildAttemptsChart([]metrics.Point{{Minute: start, Count: 44}}, start.Add(time.Hour), true)
	if len(ch.Bins) != 15 || ch.Bins[7].Count != 44 || ch.From != "14:53 UTC" || ch.To != "15:08 UTC" {
		t.Errorf("done in one minute: %d bins, the 8th %d, %s to %s; want 15, 44, 14:53 to 15:08", len(ch.Bins), ch.Bins[7].Count, ch.From, ch.To)
	}
	if ch := BuildAttemptsChart(nil, start, false); len(ch.Bins) != 0 {
		t.Errorf("no dials: %d bins", len(ch.Bins))
	}
}

// TestEditAndRetry changes a campaign's limits and window through operator.Edit, a refused
// value next to its field, and retries chosen outcomes through operator.Retry.
func TestEditAndRetry(t *testing.T) {
	c, h, token := setup(t)
	f, err := campaign.ParseFile("../../campaigns/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	f.WithDefaults()
	cmp, err := c.op.Upload(t.Context(), f, "example.csv", func() (io.ReadCloser, error) { return os.Open("../../campaigns/example.csv") }, operator.UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	do := func(method, target string, form url.Values) *httptest.ResponseRecorder {
		return submit(h, token, method, target, form)
	}
	rec := do("GET", "/campaigns/"+cmp.ID+"/edit", nil)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `name="rateLimit.callsPerSecond" type="text" value="2"`) {
		t.Fatalf("edit form: %d\n%s", rec.Code, rec.Body)
	}
	form := url.Values{"rateLimit.callsPerSecond": {"0.5"}, "rateLimit.maxConcurrentCalls": {"0"}, "callingWindow.start": {"09:00"}, "callingWindow.end": {"19:00"}, "retry.maxAttempts": {"3"}}

	rec = do("POST", "/campaigns/"+cmp.ID+"/edit", form)
	if body := rec.Body.String(); rec.Code != http.StatusUnprocessableEntity || !strings.Contains(body, `id="f-rateLimit-maxConcurrentCalls-error"`) {
		t.Errorf("maxConcurrentCalls 0: %d; want 422 with the error next to it\n%s", rec.Code, body)
	}
	form.Set("rateLimit.maxConcurrentCalls", "4")
	if rec := do("POST", "/campaigns/"+cmp.ID+"/edit", form); !strings.Contains(rec.Body.String(), `id="f-defaultTimezone-error"`) {
		t.Errorf("a window on contacts' clocks without a default zone: %d; want the error next to the zone", rec.Code)
	}
	form.Set("defaultTimezone", "America/New_York")
	form.Set("callingWindow.end", "08:00")
	if rec := do("POST", "/campaigns/"+cmp.ID+"/edit", form); rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), `id="f-callingWindow-end-error"`) {
		t.Errorf("a window that shuts before it opens: %d; want 422 next to the window", rec.Code)
	}
	form.Set("callingWindow.end", "19:00")
	rec = do("POST", "/campaigns/"+cmp.ID+"/edit", form)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/campaigns/"+cmp.ID+"?done=edited" {
		t.Fatalf("a good edit: %d %s\n%s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	got, _ := c.op.Store().Campaign(t.Context(), cmp.ID)
	if rl, cw := got.File.RateLimit, got.File.CallingWindow; rl.CallsPerSecond != 0.5 || rl.MaxConcurrentCalls != 4 || cw == nil || cw.Start != "09:00" || cw.End != "19:00" {
		t.Errorf("after the edit: rate %+v, window %+v", rl, cw)
	}
	form.Set("callingWindow.start", "")
	form.Set("callingWindow.end", "")
	if rec := do("POST", "/campaigns/"+cmp.ID+"/edit", form); rec.Code != http.StatusSeeOther {
		t.Fatalf("removing the window: %d", rec.Code)
	}
	if got, _ := c.op.Store().Campaign(t.Context(), cmp.ID); got.File.CallingWindow != nil {
		t.Errorf("the window is still %+v", got.File.CallingWindow)
	}

	// Retry: nothing is retryable yet; picking nothing is refused next to the outcomes.
	if rec := do("GET", "/campaigns/"+cmp.ID+"/retry", nil); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "No contact has a final outcome that can be retried") {
		t.Errorf("retry page before any outcome: %d", rec.Code)
	}
	if rec := do("POST", "/campaigns/"+cmp.ID+"/retry", url.Values{}); rec.Code != http.StatusUnprocessableEntity {
		t.Errorf("retry without outcomes: %d, want 422", rec.Code)
	}
	if rec := do("POST", "/campaigns/"+cmp.ID+"/retry", url.Values{"outcome": {"invalid"}}); rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "retry-error") {
		t.Errorf("retrying invalid rows: %d, want 422 next to the outcomes", rec.Code)
	}
	if rec := do("POST", "/campaigns/"+cmp.ID+"/retry", url.Values{"outcome": {"no-answer"}}); rec.Code != http.StatusSeeOther || !strings.Contains(rec.Header().Get("Location"), "done=retried&n=0") {
		t.Errorf("retrying no-answer: %d %s", rec.Code, rec.Header().Get("Location"))
	}
}

// submit sends form to h as a signed-in user of token and returns the answer.
func submit(h http.Handler, token, method, target string, form url.Values) *httptest.ResponseRecorder {
	return send(h, token, method, target, strings.NewReader(form.Encode()), "application/x-www-form-urlencoded")
}

// send sends body (of contentType, "" for none) to h as a browser signed in with token (a
// session cookie, Accept: text/html) and returns the answer.
func send(h http.Handler, token, method, target string, body io.Reader, contentType string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, body)
	r.AddCookie(&http.Cookie{Name: SessionCookie, Value: token})
	r.Header.Set("Accept", "text/html")
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// newCampaignForm returns a multipart form as the new-campaign page posts it, and its content
// type: each of files (form field -> path) as a file of the path's base name, then fields.
func newCampaignForm(t *testing.T, files, fields map[string]string) (string, string) {
	t.Helper()
	var body strings.Builder
	mw := multipart.NewWriter(&body)
	for field, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		w, _ := mw.CreateFormFile(field, filepath.Base(path))
		w.Write(data)
	}
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	mw.Close()
	return body.String(), mw.FormDataContentType()
}
