package simtest

import (
	"net/http"
	"testing"

	"github.com/dialerhq/dialer/internal/simulator"
)

// TestServe: the simulator answers on the returned server's URL, and a Config New refuses
// fails the test.
func TestServe(t *testing.T) {
	_, srv := Serve(t, simulator.Config{APIKey: "sk-simtest"})
	resp, err := http.Get(srv.URL + "/calls/v1/conversations/nope")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET without a key: %d, want 401", resp.StatusCode)
	}

	ft := &fatalTB{TB: t}
	func() {
		defer func() { recover() }()
		Serve(ft, simulator.Config{}) // no APIKey
	}()
	if !ft.fatal {
		t.Error("Serve of a Config without APIKey did not fail the test")
	}
}

// fatalTB records a Fatalf instead of ending the test, and stops the caller with a panic.
type fatalTB struct {
	testing.TB
	fatal bool
}

func (f *fatalTB) Fatalf(string, ...any) {
	f.fatal = true
	panic("fatal")
}
