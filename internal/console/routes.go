package console

import (
	"io/fs"
	"net/http"
)

// Route is one console route and the lowest scope that may use it.
type Route struct {
	// Pattern is an http.ServeMux pattern.
	Pattern string
	// Scope is "read", "export", "operate" or "admin"; "" for a public route.
	Scope   string
	Handler http.Handler
}

// Routes is the console's route table: the one place that says who may see and do what in
// the console. dialer serve mounts it beside the API's.
func (c *Console) Routes() []Route {
	static, _ := fs.Sub(staticFS, "static")
	h := func(f func(http.ResponseWriter, *http.Request)) http.Handler { return http.HandlerFunc(f) }
	return []Route{
		{"GET /{$}", "", h(func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/campaigns", http.StatusFound) })},
		{"GET /static/", "", http.StripPrefix("/static/", cacheStatic(http.FileServerFS(static)))},
		{"GET /campaigns", "read", h(c.campaigns)},
		{"GET /campaigns/{id}", "read", h(c.campaignPage)},
		{"GET /campaigns/{id}/contacts/{n}", "export", h(c.contact)},
		{"GET /campaigns/{id}/report.csv", "export", c.report(false)},
		{"GET /campaigns/{id}/attempts.csv", "export", c.report(true)},
		{"POST /campaigns/{id}/pause", "operate", h(c.pause)},
		{"POST /campaigns/{id}/resume", "operate", h(c.resume)},
		{"GET /campaigns/{id}/cancel", "operate", h(c.cancelForm)},
		{"POST /campaigns/{id}/cancel", "operate", h(c.cancel)},
		{"GET /campaigns/new", "operate", h(c.newForm)},
		{"GET /campaigns/new/template.csv", "read", h(c.template)},
		{"POST /campaigns/new", "operate", h(c.createDraft)},
		{"GET /campaigns/new/{draft}", "operate", h(c.previewDraft)},
		{"POST /campaigns/new/{draft}/confirm", "operate", h(c.confirmDraft)},
		{"POST /campaigns/new/{draft}/cancel", "operate", h(c.cancelDraft)},
	}
}

// cacheStatic lets browsers keep the vendored files for an hour.
func cacheStatic(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		h.ServeHTTP(w, r)
	})
}

// viewerOf is who is looking at r's page.
func viewerOf(r *http.Request) Viewer {
	return Viewer{Name: "local", Scope: "admin", CanExport: true, CanOperate: true, CanAdmin: true}
}

// Handler returns the console's routes on a new ServeMux, for tests and for a server
// without authentication.
func (c *Console) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range c.Routes() {
		mux.Handle(rt.Pattern, rt.Handler)
	}
	return mux
}
