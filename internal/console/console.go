// Package console is the web console for operations staff, served by dialer serve at /:
// campaigns with live progress, a new campaign from a CSV with a preview before anything is
// stored, a campaign's counts, rows and attempts, pause, resume and cancel, and the report
// downloads.
//
// Pages are html/template files (templates/) rendered from view structs that functions in
// views.go build, so what a page shows is tested without a browser. Templates and the
// vendored htmx (static/, with its licence and version) are embedded with go:embed: the
// console needs no Node toolchain. Every action calls the operator package, as the CLI and
// the HTTP API do. Pages read without JavaScript; htmx only refreshes the live parts.
package console

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dialerhq/dialer/internal/audit"
	"github.com/dialerhq/dialer/internal/auth"
	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/operator"
	"github.com/dialerhq/dialer/internal/schedule"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config configures a Console.
type Config struct {
	// Operator performs every action and read. Required.
	Operator *operator.Operator
	// DraftDir is where uploaded files wait between the preview and the confirm, one
	// directory per draft, removed on confirm or cancel (and after DraftTTL). Defaults to a
	// directory under os.TempDir().
	DraftDir string
	// DraftTTL is how long an abandoned draft's files are kept. Defaults to 24h.
	DraftTTL time.Duration
	// MaxUploadBytes bounds one upload (contact file and campaign file together). Defaults
	// to 256 MiB.
	MaxUploadBytes int64
	// PageSize is how many rows the campaign page's table shows. Defaults to 50.
	PageSize int
	// PollInterval is how often the live parts of a page refresh. Defaults to 2s.
	PollInterval time.Duration
	// Tokens verifies the tokens users sign in with. Required for sign-in.
	Tokens *auth.Store
	// Audit is the audit log the admin's audit page shows. Optional: without it the page
	// says there is none.
	Audit *audit.Log
	// TrustedProxies are the addresses of single sign-on proxies (oauth2-proxy) whose
	// X-Forwarded-User / X-Forwarded-Email headers are believed. Optional: none.
	TrustedProxies []netip.Prefix
	// ProxyScope is the scope of a user a trusted proxy vouches for. Defaults to read.
	ProxyScope auth.Scope
	// SignInFailures counts failed sign-ins per client address; an address over its limit
	// is refused without its token being checked, and told how long to wait. dialer serve
	// shares it with the API's authenticator, so guesses count together however they are
	// made. Defaults to auth.NewFailures(10, time.Minute).
	SignInFailures *auth.Failures
	// Logger receives internal errors with a request id. Defaults to discarding.
	Logger *slog.Logger
	// Now is the clock. Defaults to time.Now.
	Now func() time.Time
}

// WithDefaults returns c with its zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.DraftDir == "" {
		c.DraftDir = filepath.Join(os.TempDir(), "dialer-console-drafts")
	}
	if c.DraftTTL <= 0 {
		c.DraftTTL = 24 * time.Hour
	}
	if c.MaxUploadBytes <= 0 {
		c.MaxUploadBytes = 256 << 20
	}
	if c.PageSize <= 0 {
		c.PageSize = 50
	}
	if c.PollInterval <= 0 {
		c.PollInterval = 2 * time.Second
	}
	if c.SignInFailures == nil {
		c.SignInFailures = auth.NewFailures(10, time.Minute)
	}
	if !c.ProxyScope.Valid() {
		c.ProxyScope = auth.ScopeRead
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Console serves the web console. Its handlers are listed by Routes.
type Console struct {
	cfg   Config
	op    *operator.Operator
	store *campaign.Store
	pages map[string]*template.Template
	// schedules are the recurring campaigns, kept beside the campaigns.
	schedules *schedule.Store
}

// New returns a Console, or an error for a Config without an Operator or a draft directory
// that cannot be made.
func New(cfg Config) (*Console, error) {
	cfg = cfg.WithDefaults()
	if cfg.Operator == nil {
		return nil, errors.New("console.Config.Operator is required")
	}
	if err := os.MkdirAll(cfg.DraftDir, 0o700); err != nil {
		return nil, fmt.Errorf("console drafts: %w", err)
	}
	pages, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	return &Console{cfg: cfg, op: cfg.Operator, store: cfg.Operator.Store(), pages: pages, schedules: cfg.Operator.Schedules()}, nil
}

// parseTemplates parses each page template with the shared layout and partials.
func parseTemplates() (map[string]*template.Template, error) {
	shared := []string{"templates/layout.html", "templates/partials.html"}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, name := range names {
		base := strings.TrimSuffix(filepath.Base(name), ".html")
		if base == "layout" || base == "partials" {
			continue
		}
		t, err := template.New(base).Funcs(funcs).ParseFS(templateFS, append(shared, name)...)
		if err != nil {
			return nil, fmt.Errorf("console template %s: %w", name, err)
		}
		pages[base] = t
	}
	return pages, nil
}

// funcs are the template functions: formatting only, no logic.
var funcs = template.FuncMap{
	"time":    formatTime,
	"rfc3339": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"pct": func(n, total int) int {
		if total <= 0 {
			return 0
		}
		return 100 * n / total
	},
	"join": strings.Join,
	"add":  func(a, b int) int { return a + b },
	// dict passes several values to a shared template: dict "Key" value "Key2" value2.
	"dict": func(kv ...any) (map[string]any, error) {
		if len(kv)%2 != 0 {
			return nil, errors.New("dict: odd number of arguments")
		}
		m := make(map[string]any, len(kv)/2)
		for i := 0; i < len(kv); i += 2 {
			k, ok := kv[i].(string)
			if !ok {
				return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
			}
			m[k] = kv[i+1]
		}
		return m, nil
	},
}

// formatTime is t for a person, in UTC to the minute; "" for the zero time.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// render writes page name with data: the whole page, or only its "content" block for an
// htmx request that asks for a fragment (block, when not "").
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name, block string, data any) {
	t, ok := c.pages[name]
	if !ok {
		c.internalError(w, r, fmt.Errorf("no template %q", name))
		return
	}
	if block == "" {
		block = "layout"
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, block, data); err != nil {
		c.internalError(w, r, fmt.Errorf("render %s/%s: %w", name, block, err))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// internalError logs err with a request id and shows a generic page that quotes the id.
func (c *Console) internalError(w http.ResponseWriter, r *http.Request, err error) {
	id := newID()[:12]
	c.cfg.Logger.Error("console", "request", id, "method", r.Method, "path", r.URL.Path, "err", err)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	fmt.Fprintf(w, "<!doctype html><html lang=en><title>Error</title><p>Something went wrong on the server (request %s). Try again; if it keeps happening, give the request id to whoever runs the dialer.</p><p><a href=\"/campaigns\">Back to campaigns</a></p></html>", id)
}

// errorPage shows a problem the user can act on, with a status code.
func (c *Console) errorPage(w http.ResponseWriter, r *http.Request, status int, msg string) {
	c.render(w, r, status, "error", "", errorView{Page: c.page(r, "", "Error"), Status: status, Message: msg})
}

// fail maps an operation's error to a page: unknown campaign 404, a refused action 409,
// anything else a 500.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, campaign.ErrCampaignNotFound):
		c.errorPage(w, r, http.StatusNotFound, "There is no such campaign; it may have been deleted. Pick one from the campaigns list.")
	case errors.As(err, new(*campaign.StateError)), errors.Is(err, operator.ErrNoAPI):
		c.errorPage(w, r, http.StatusConflict, err.Error())
	case errors.Is(err, context.Canceled):
	default:
		c.internalError(w, r, err)
	}
}

// isHTMX reports whether r is an htmx request for a fragment.
func isHTMX(r *http.Request) bool { return r.Header.Get("HX-Request") == "true" }
