package console

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/dialerhq/dialer/internal/audit"
	"github.com/dialerhq/dialer/internal/auth"
	"github.com/dialerhq/dialer/internal/suppression"
)

// SuppressionView is the suppression page: the global list's size, a check, and (for admin)
// add, remove and import.
type SuppressionView struct {
	Page
	Size int64
	// Numbers and Region are the form as last submitted.
	Numbers, Region string
	// Checked is the answer of a check: each number and whether it is suppressed.
	Checked []CheckedNumber
	// Notice says what an add, remove or import did; Error what was refused, next to the
	// numbers field (or the file field, with ImportError).
	Notice, Error, ImportError string
	Rejected                   []suppression.Rejected
}

// CheckedNumber is one number of a check.
type CheckedNumber struct {
	Number     string
	Suppressed bool
}

// suppressionPage shows the suppression page.
func (c *Console) suppressionPage(w http.ResponseWriter, r *http.Request) {
	c.renderSuppression(w, r, http.StatusOK, SuppressionView{Region: "US"})
}

func (c *Console) renderSuppression(w http.ResponseWriter, r *http.Request, status int, v SuppressionView) {
	list := c.op.Suppression()
	n, err := list.Count(r.Context())
	if err != nil {
		c.fail(w, r, err)
		return
	}
	v.Page = c.page(r, "suppression", "Suppression list")
	v.Size = n
	c.render(w, r, status, "suppression", "", v)
}

// suppressNumbers checks, adds or removes the numbers of the form, all or none, as
// `dialer suppress check|add|remove` does.
func (c *Console) suppressNumbers(action string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := SuppressionView{Numbers: r.FormValue("numbers"), Region: strings.ToUpper(strings.TrimSpace(r.FormValue("region")))}
		raw := strings.FieldsFunc(v.Numbers, func(r rune) bool { return r == '\n' || r == ',' || r == ';' })
		for i := range raw {
			raw[i] = strings.TrimSpace(raw[i])
		}
		raw = slicesCompactEmpty(raw)
		if len(raw) == 0 {
			v.Error = "Enter at least one number, one a line."
			c.renderSuppression(w, r, http.StatusUnprocessableEntity, v)
			return
		}
		numbers, err := suppression.Normalize(raw, v.Region)
		if err != nil {
			v.Error = "Nothing changed: " + err.Error() + ". Correct or remove these numbers."
			c.renderSuppression(w, r, http.StatusUnprocessableEntity, v)
			return
		}
		list := c.op.Suppression()
		switch action {
		case "check":
			got, err := list.SuppressedMany(r.Context(), "", numbers)
			if err != nil {
				c.fail(w, r, err)
				return
			}
			for i, n := range numbers {
				v.Checked = append(v.Checked, CheckedNumber{n, got[i]})
			}
		case "add", "remove":
			change, notice := list.Add, "Added %d (%d were on it already)."
			if action == "remove" {
				change, notice = list.Remove, "Removed %d (%d were not on it)."
			}
			n, err := change(r.Context(), numbers...)
			if err != nil {
				c.fail(w, r, err)
				return
			}
			v.Notice, v.Numbers = fmt.Sprintf(notice, n, len(numbers)-n), ""
		}
		c.renderSuppression(w, r, http.StatusOK, v)
	}
}

func slicesCompactEmpty(ss []string) []string {
	out := ss[:0]
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// suppressImport imports a CSV of numbers into the global list, as `dialer suppress import`.
func (c *Console) suppressImport(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, c.cfg.MaxUploadBytes)
	v := SuppressionView{Region: strings.ToUpper(strings.TrimSpace(r.FormValue("region")))}
	fh, hdr, err := r.FormFile("file")
	if err != nil {
		v.ImportError = "Choose a CSV file with a phone number column."
		c.renderSuppression(w, r, http.StatusUnprocessableEntity, v)
		return
	}
	defer fh.Close()
	res, err := c.op.Suppression().Import(r.Context(), fh, hdr.Filename, v.Region, "")
	if res != nil {
		v.Rejected = res.Rejected
	}
	if err != nil {
		v.ImportError = err.Error()
		c.renderSuppression(w, r, http.StatusUnprocessableEntity, v)
		return
	}
	v.Notice = fmt.Sprintf("%s: %d rows: %d added, %d already there, %d rejected.", hdr.Filename, res.Rows, res.Added, res.AlreadyThere, len(res.Rejected))
	c.renderSuppression(w, r, http.StatusOK, v)
}

// TokensView is the tokens page (admin).
type TokensView struct {
	Page
	Tokens []auth.Token
	Scopes []string
	// Name and Scope are the create form as submitted; Error is why it was refused.
	Name, Scope, Expires, Error string
	// Secret is a token just made, shown this once.
	Secret, SecretName string
	Notice             string
}

func (c *Console) tokensPage(w http.ResponseWriter, r *http.Request) {
	c.renderTokens(w, r, http.StatusOK, TokensView{Scope: "read"})
}

func (c *Console) renderTokens(w http.ResponseWriter, r *http.Request, status int, v TokensView) {
	toks, err := c.cfg.Tokens.List(r.Context())
	if err != nil {
		c.fail(w, r, err)
		return
	}
	v.Page = c.page(r, "tokens", "Tokens")
	v.Tokens = toks
	for _, s := range auth.Scopes {
		v.Scopes = append(v.Scopes, s.String())
	}
	c.render(w, r, status, "tokens", "", v)
}

// createToken makes a token, as `dialer token create` does, and shows it once.
func (c *Console) createToken(w http.ResponseWriter, r *http.Request) {
	v := TokensView{Name: strings.TrimSpace(r.FormValue("name")), Scope: r.FormValue("scope"), Expires: strings.TrimSpace(r.FormValue("expires"))}
	scope, err := auth.ParseScope(v.Scope)
	var ttl time.Duration
	if err == nil && v.Expires != "" {
		ttl, err = auth.ParseTTL(v.Expires)
	}
	var secret string
	if err == nil {
		secret, _, err = c.cfg.Tokens.Create(r.Context(), auth.CreateOptions{Name: v.Name, Scope: scope, TTL: ttl})
	}
	if err != nil {
		v.Error = err.Error()
		if errors.Is(err, auth.ErrTokenExists) {
			v.Error = fmt.Sprintf("A token named %q exists already; choose another name, or revoke that one first.", v.Name)
		}
		c.renderTokens(w, r, http.StatusUnprocessableEntity, v)
		return
	}
	c.renderTokens(w, r, http.StatusOK, TokensView{Scope: "read", Secret: secret, SecretName: v.Name})
}

// revokeToken revokes a token by name, as `dialer token revoke` does.
func (c *Console) revokeToken(w http.ResponseWriter, r *http.Request) {
	name, err := c.cfg.Tokens.Revoke(r.Context(), r.PathValue("name"))
	if err != nil && !errors.Is(err, auth.ErrTokenNotFound) {
		c.fail(w, r, err)
		return
	}
	v := TokensView{Scope: "read", Notice: "Revoked " + name + "; its sessions end at their next request."}
	if err != nil {
		v.Notice = "There was no such token; it may have been revoked already."
	}
	c.renderTokens(w, r, http.StatusOK, v)
}

// AuditView is a page of the audit log (admin), newest first.
type AuditView struct {
	Page
	Entries []audit.Entry
	// Next is the cursor of the next (older) page; "" on the last.
	Next string
}

func (c *Console) auditPage(w http.ResponseWriter, r *http.Request) {
	if c.cfg.Audit == nil {
		c.errorPage(w, r, http.StatusNotFound, "This server keeps no audit log.")
		return
	}
	entries, next, err := c.cfg.Audit.List(r.Context(), audit.ListOptions{Before: r.URL.Query().Get("cursor"), Limit: 100})
	if errors.Is(err, audit.ErrBadCursor) {
		c.errorPage(w, r, http.StatusBadRequest, "That page of the audit log does not exist; start from the newest entries.")
		return
	}
	if err != nil {
		c.fail(w, r, err)
		return
	}
	p := c.page(r, "audit", "Audit log")
	c.render(w, r, http.StatusOK, "audit", "", AuditView{Page: p, Entries: entries, Next: next})
}
