package api_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/dialerhq/dialer/internal/api"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

func init() {
	openapi3filter.RegisterBodyDecoder("text/csv", openapi3filter.FileBodyDecoder)
	openapi3filter.RegisterBodyDecoder("text/event-stream", openapi3filter.FileBodyDecoder)
}

// mustLoadOpenAPI loads and validates the checked-in OpenAPI document.
func mustLoadOpenAPI(tb testing.TB) (*openapi3.T, routers.Router) {
	tb.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI)
	if err != nil {
		tb.Fatalf("load openapi.json: %v", err)
	}
	if err := doc.Validate(tb.Context()); err != nil {
		tb.Fatalf("openapi.json is not a valid OpenAPI document: %v", err)
	}
	if !doc.IsOpenAPI31OrLater() {
		tb.Errorf("openapi.json says openapi %s, want 3.1", doc.OpenAPI)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		tb.Fatal(err)
	}
	return doc, router
}

// checkOpenAPI validates one request (with its body) and its recorded answer against the
// document, failing the test on any difference.
func checkOpenAPI(t *testing.T, router routers.Router, r *http.Request, body []byte, rec *httptest.ResponseRecorder) {
	t.Helper()
	req := r.Clone(r.Context())
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.URL = &url.URL{Scheme: "http", Host: "dialer.test", Path: r.URL.Path, RawQuery: r.URL.RawQuery}
	req.Host = "dialer.test"
	route, params, err := router.FindRoute(req)
	if err != nil {
		t.Errorf("%s %s is not in openapi.json: %v", r.Method, r.URL.Path, err)
		return
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}}
	// Refused requests (4xx) may be refused precisely because they do not fit the document.
	if rec.Code < 400 {
		if err := openapi3filter.ValidateRequest(t.Context(), in); err != nil {
			t.Errorf("request %s %s does not fit openapi.json: %v", r.Method, r.URL.Path, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: rec.Code, Header: rec.Header(),
		Body: io.NopCloser(bytes.NewReader(rec.Body.Bytes())), Options: &openapi3filter.Options{MultiError: true, IncludeResponseStatus: true}}
	if err := openapi3filter.ValidateResponse(t.Context(), out); err != nil {
		t.Errorf("answer %d to %s %s does not fit openapi.json: %v\n%.300s", rec.Code, r.Method, r.URL.Path, err, rec.Body)
	}
}

// TestOpenAPICoversRoutes pins that the document and the route table list the same
// operations, with the same scopes.
func TestOpenAPICoversRoutes(t *testing.T) {
	h := setup(t)
	doc, _ := mustLoadOpenAPI(t)
	documented := map[string]string{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			scope, _ := op.Extensions["x-scope"].(string)
			documented[method+" "+path] = scope
		}
	}
	for _, rt := range h.routes {
		scope, ok := documented[rt.Pattern]
		switch {
		case !ok:
			t.Errorf("route %s is not in openapi.json", rt.Pattern)
		case scope != rt.Scope.String():
			t.Errorf("route %s needs %s; openapi.json says x-scope %q", rt.Pattern, rt.Scope, scope)
		}
		delete(documented, rt.Pattern)
	}
	for op := range documented {
		t.Errorf("openapi.json documents %s, which no route serves", op)
	}
	rec := h.do(t, 1, "GET", "/api/v1/openapi.json", "", nil)
	if rec.Code != 200 || !bytes.Equal(rec.Body.Bytes(), api.OpenAPI) || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		t.Errorf("GET /api/v1/openapi.json: %d", rec.Code)
	}
}
