package audit

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/dialerhq/dialer/internal/auth"
)

// Middleware returns a wrapper, for auth.Config.Observe, that records every state-changing
// call (any method but GET, HEAD and OPTIONS) of route pattern in l once it is answered:
// the Principal, the route, its target (the "id" path value, else a created resource's
// Location, else the path), the client address and the status. A failure to record is
// logged on logger (nil: discarded), not returned to the caller: the call has happened.
func (l *Log) Middleware(logger *slog.Logger) func(pattern string, next http.Handler) http.Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return func(pattern string, next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.Method {
			case http.MethodGet, http.MethodHead, http.MethodOptions:
				next.ServeHTTP(w, r)
				return
			}
			sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
			detail := new(string)
			r = r.WithContext(context.WithValue(r.Context(), detailKey{}, detail))
			next.ServeHTTP(sw, r)
			p, _ := auth.FromContext(r.Context())
			target := r.PathValue("id")
			if target == "" {
				target = w.Header().Get("Location")
			}
			if target == "" {
				target = r.URL.Path
			}
			result := "ok"
			if sw.status >= 400 {
				result = http.StatusText(sw.status)
			}
			host, _, err := net.SplitHostPort(r.RemoteAddr)
			if err != nil {
				host = r.RemoteAddr
			}
			action := pattern
			if r.Method != "" && !hasMethod(pattern) {
				action = r.Method + " " + pattern
			}
			e := Entry{Time: l.Now(), Actor: p.Name, Scope: p.Scope.String(), Action: action, Target: target, Source: host, Status: sw.status, Result: result, Detail: *detail}
			ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 2*time.Second)
			defer cancel()
			if err := l.Append(ctx, e); err != nil {
				logger.Error("audit log", "action", e.Action, "actor", e.Actor, "err", err)
			}
		})
	}
}

// detailKey is the context key of the Detail a handler sets with SetDetail.
type detailKey struct{}

// SetDetail sets the Detail of the audit entry of the request whose context ctx is: what the
// call changed, beyond its action and target. It does nothing outside Middleware.
func SetDetail(ctx context.Context, detail string) {
	if d, ok := ctx.Value(detailKey{}).(*string); ok {
		*d = detail
	}
}

func hasMethod(pattern string) bool {
	for i := 0; i < len(pattern); i++ {
		switch pattern[i] {
		case ' ':
			return true
		case '/':
			return false
		}
	}
	return false
}

// statusWriter remembers the status a handler answered with.
type statusWriter struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.status, w.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wroteHeader = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer (to flush a stream).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
