package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// keepAlive is how often an idle event stream sends a comment, so that proxies keep it open.
const keepAlive = 15 * time.Second

// campaignEvents handles GET /api/v1/campaigns/{id}/events: Server-Sent Events of the
// campaign's progress. Each event is "event: status" with the status JSON of GET
// /campaigns/{id}, sent when it changed, at most once per Config.EventInterval (two a second
// by default); the stream ends after the event whose done is true.
func (s *Server) campaignEvents(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	store := s.op.Store()
	st, err := store.Status(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a stream outlives the server's write timeout
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	tick := time.NewTicker(s.cfg.EventInterval)
	defer tick.Stop()
	var last []byte
	lastSent := time.Now()
	for {
		b, err := json.Marshal(st)
		if err != nil {
			return
		}
		switch {
		case !bytes.Equal(b, last):
			if _, err := fmt.Fprintf(w, "event: status\ndata: %s\n\n", b); err != nil {
				return
			}
			last, lastSent = b, time.Now()
		case time.Since(lastSent) >= keepAlive:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return
			}
			lastSent = time.Now()
		}
		if err := rc.Flush(); err != nil {
			return
		}
		if st.Done {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
		}
		if st, err = store.Status(r.Context(), id); err != nil {
			fmt.Fprintf(w, "event: error\ndata: %q\n\n", "the campaign's status cannot be read; reconnect")
			s.cfg.Logger.Error("api: events", "campaign", id, "err", err)
			return
		}
	}
}
