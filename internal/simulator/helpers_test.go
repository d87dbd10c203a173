package simulator

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/testutil"
)

const testKey = "sim-key-0123456789"

var epoch = time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)

// mustServer builds a Server for cfg with the test key and, unless cfg has
// one, a fake clock at epoch.
func mustServer(tb testing.TB, cfg Config) (*Server, *testutil.Clock) {
	tb.Helper()
	clock := testutil.NewClock(epoch)
	if cfg.APIKey == "" {
		cfg.APIKey = testKey
	}
	if cfg.Now == nil {
		cfg.Now = clock.Now
	}
	s, err := New(cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return s, clock
}

// response is what serve returns: the status, headers and the body
// decoded as generic JSON (nil when not JSON).
type response struct {
	status int
	header http.Header
	body   any
	raw    string
}

// serve sends one request to s in-process, with the test key unless auth
// is given ("" sends no Authorization header).
func serve(tb testing.TB, s http.Handler, method, target string, body any, auth ...string) response {
	tb.Helper()
	var rd *bytes.Reader
	switch b := body.(type) {
	case nil:
		rd = bytes.NewReader(nil)
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		data, err := json.Marshal(b)
		if err != nil {
			tb.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req := httptest.NewRequest(method, "http://sim.test"+target, rd)
	header := "Bearer " + testKey
	if len(auth) > 0 {
		header = auth[0]
	}
	if header != "" {
		req.Header.Set("Authorization", header)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	resp := response{status: rec.Code, header: rec.Header(), raw: rec.Body.String()}
	_ = json.Unmarshal(rec.Body.Bytes(), &resp.body)
	return resp
}

// connectBody is a valid Connect Call body for number.
func connectBody(number, name string, vars map[string]string, meta map[string]any) map[string]any {
	b := map[string]any{
		"direction":     "outbound",
		"phoneNumberId": "3b1f6a2e-9c1d-4e7a-8f2b-5d6c7e8f9a0b",
		"customer":      map[string]any{"number": number, "name": name},
		"assistantId":   "6601a2b3c4d5e6f708192a3c",
	}
	if vars != nil {
		b["assistantOverrides"] = map[string]any{"dynamicVariables": vars}
	}
	if meta != nil {
		b["metadata"] = meta
	}
	return b
}

// mustConnect places a call and returns its id.
func mustConnect(tb testing.TB, s http.Handler, body map[string]any) string {
	tb.Helper()
	resp := serve(tb, s, http.MethodPost, "/calls/v1/conversations/connect", body)
	if resp.status != http.StatusCreated {
		tb.Fatalf("connect: %d %s", resp.status, resp.raw)
	}
	return field(resp.body, "id").(string)
}

// field walks a decoded JSON value by object keys.
func field(v any, path ...string) any {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}
