package api

import (
	"errors"
	"net/http"

	"github.com/dialerhq/dialer/internal/audit"
)

// auditPage is a page of GET /api/v1/audit.
type auditPage struct {
	Entries []audit.Entry `json:"entries"`
	// NextCursor fetches older entries (?cursor=); "" on the last page.
	NextCursor string `json:"nextCursor"`
}

// listAudit handles GET /api/v1/audit?limit=&cursor=: the audit log, newest first, as
// `dialer audit` prints it.
func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) {
	limit, err := queryInt(r, "limit", 100, 1, 1000)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	entries, next, err := s.cfg.Audit.List(r.Context(), audit.ListOptions{Before: r.URL.Query().Get("cursor"), Limit: limit})
	if errors.Is(err, audit.ErrBadCursor) {
		err = badRequest("query parameter cursor: %v", err)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, auditPage{Entries: entries, NextCursor: next})
}
