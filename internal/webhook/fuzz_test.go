package webhook

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dialerhq/dialer/internal/testutil"
)

// FuzzServerMessage feeds arbitrary bodies to the receiver (with the attempt lookup on a
// Redis of its own): it must answer 200 or 400, never panic, and 400 only for bodies
// interactly.ParseServerMessage refuses. Seeds are testdata/*.json.
func FuzzServerMessage(f *testing.F) {
	testutil.AddFileSeeds(f, "testdata/*.json")
	f.Add([]byte(`{"message":{}}`))
	f.Add([]byte(`[]`))
	fx := setup(f)
	h, err := New(Config{Store: fx.store})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		rr := httptest.NewRecorder()
		h.ServeHTTP(rr, httptest.NewRequest(http.MethodPost, "/webhooks/interactly", strings.NewReader(string(body))))
		switch rr.Code {
		case http.StatusOK, http.StatusBadRequest:
		default:
			t.Fatalf("status %d for %q: %s", rr.Code, body, rr.Body)
		}
		if rr.Code == http.StatusBadRequest && !strings.Contains(rr.Body.String(), "not an Interactly server message") {
			t.Fatalf("400 without the reason: %s", rr.Body)
		}
	})
}
