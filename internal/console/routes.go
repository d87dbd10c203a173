package console

import (
	"io/fs"
	"net/http"

	"github.com/dialerhq/dialer/internal/auth"
)

// Routes is the console's route table: the one place that says who may see and do what in
// the console. dialer serve mounts it beside the API's.
func (c *Console) Routes() []auth.Route {
	static, _ := fs.Sub(staticFS, "static")
	h := func(f func(http.ResponseWriter, *http.Request)) http.Handler { return http.HandlerFunc(f) }
	return []auth.Route{
		{Pattern: "GET /{$}", Scope: auth.ScopeRead, Handler: h(func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/campaigns", http.StatusFound) })},
		{Pattern: "GET /static/", Public: true, Handler: http.StripPrefix("/static/", cacheStatic(http.FileServerFS(static)))},
		{Pattern: "GET /signin", Public: true, Handler: h(c.signInForm)},
		{Pattern: "POST /signin", Public: true, Handler: h(c.signIn)},
		{Pattern: "POST /signout", Public: true, Handler: h(c.signOut)},
		{Pattern: "GET /campaigns", Scope: auth.ScopeRead, Handler: h(c.campaigns)},
		{Pattern: "GET /campaigns/{id}", Scope: auth.ScopeRead, Handler: h(c.campaignPage)},
		{Pattern: "GET /campaigns/{id}/contacts/{n}", Scope: auth.ScopeExport, Handler: h(c.contact)},
		{Pattern: "GET /campaigns/{id}/report.csv", Scope: auth.ScopeExport, Handler: c.report(false)},
		{Pattern: "GET /campaigns/{id}/attempts.csv", Scope: auth.ScopeExport, Handler: c.report(true)},
		{Pattern: "POST /campaigns/{id}/pause", Scope: auth.ScopeOperate, Handler: h(c.pause)},
		{Pattern: "POST /campaigns/{id}/resume", Scope: auth.ScopeOperate, Handler: h(c.resume)},
		{Pattern: "GET /campaigns/{id}/edit", Scope: auth.ScopeOperate, Handler: h(c.editForm)},
		{Pattern: "POST /campaigns/{id}/edit", Scope: auth.ScopeOperate, Handler: h(c.editCampaign)},
		{Pattern: "GET /campaigns/{id}/retry", Scope: auth.ScopeOperate, Handler: h(c.retryForm)},
		{Pattern: "POST /campaigns/{id}/retry", Scope: auth.ScopeOperate, Handler: h(c.retryOutcomes)},
		{Pattern: "GET /campaigns/{id}/cancel", Scope: auth.ScopeOperate, Handler: h(c.cancelForm)},
		{Pattern: "POST /campaigns/{id}/cancel", Scope: auth.ScopeOperate, Handler: h(c.cancel)},
		{Pattern: "GET /suppression", Scope: auth.ScopeOperate, Handler: h(c.suppressionPage)},
		{Pattern: "POST /suppression/check", Scope: auth.ScopeOperate, Handler: c.suppressNumbers("check")},
		{Pattern: "POST /suppression/add", Scope: auth.ScopeAdmin, Handler: c.suppressNumbers("add")},
		{Pattern: "POST /suppression/remove", Scope: auth.ScopeAdmin, Handler: c.suppressNumbers("remove")},
		{Pattern: "POST /suppression/import", Scope: auth.ScopeAdmin, Handler: h(c.suppressImport)},
		{Pattern: "GET /schedules", Scope: auth.ScopeOperate, Handler: h(c.schedulesPage)},
		{Pattern: "POST /schedules", Scope: auth.ScopeAdmin, Handler: h(c.addSchedule)},
		{Pattern: "POST /schedules/{id}/remove", Scope: auth.ScopeAdmin, Handler: h(c.removeSchedule)},
		{Pattern: "GET /accounts", Scope: auth.ScopeRead, Handler: h(c.accountsPage)},
		{Pattern: "POST /accounts", Scope: auth.ScopeAdmin, Handler: h(c.setAccount)},
		{Pattern: "GET /tokens", Scope: auth.ScopeAdmin, Handler: h(c.tokensPage)},
		{Pattern: "POST /tokens", Scope: auth.ScopeAdmin, Handler: h(c.createToken)},
		{Pattern: "POST /tokens/{name}/revoke", Scope: auth.ScopeAdmin, Handler: h(c.revokeToken)},
		{Pattern: "GET /audit", Scope: auth.ScopeAdmin, Handler: h(c.auditPage)},
		{Pattern: "GET /campaigns/new", Scope: auth.ScopeOperate, Handler: h(c.newForm)},
		{Pattern: "GET /campaigns/new/template.csv", Scope: auth.ScopeRead, Handler: h(c.template)},
		{Pattern: "POST /campaigns/new", Scope: auth.ScopeOperate, Handler: h(c.createDraft)},
		{Pattern: "GET /drafts/{draft}", Scope: auth.ScopeOperate, Handler: h(c.previewDraft)},
		{Pattern: "POST /drafts/{draft}/confirm", Scope: auth.ScopeOperate, Handler: h(c.confirmDraft)},
		{Pattern: "POST /drafts/{draft}/cancel", Scope: auth.ScopeOperate, Handler: h(c.cancelDraft)},
	}
}

// cacheStatic lets browsers keep the vendored files for an hour.
func cacheStatic(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		h.ServeHTTP(w, r)
	})
}
