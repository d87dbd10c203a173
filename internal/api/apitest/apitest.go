// Package apitest checks requests to the operator API, and its answers, against the API's
// OpenAPI document (api.OpenAPI) with kin-openapi. Tests of package api and the end-to-end
// test of the built commands both use it, so every exchange they make is held to the
// document.
package apitest

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/dialerhq/dialer/internal/api"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

func init() {
	// Report and event bodies are text the document describes as strings.
	openapi3filter.RegisterBodyDecoder("text/csv", openapi3filter.FileBodyDecoder)
	openapi3filter.RegisterBodyDecoder("text/event-stream", openapi3filter.FileBodyDecoder)
}

// Validator holds the loaded document.
type Validator struct {
	// Doc is the parsed document.
	Doc    *openapi3.T
	router routers.Router
}

// NewValidator loads api.OpenAPI and fails tb unless it is a valid OpenAPI 3.1 document.
func NewValidator(tb testing.TB) *Validator {
	tb.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI)
	if err != nil {
		tb.Fatalf("load openapi.json: %v", err)
	}
	if err := doc.Validate(tb.Context()); err != nil {
		tb.Fatalf("openapi.json is not a valid OpenAPI document: %v", err)
	}
	if !doc.IsOpenAPI31OrLater() {
		tb.Fatalf("openapi.json says openapi %s, want 3.1", doc.OpenAPI)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		tb.Fatal(err)
	}
	return &Validator{Doc: doc, router: router}
}

// Check fails tb when request r (whose body was reqBody) is not an operation of the
// document, when a request that was answered below 400 does not fit it (a refused request
// may be refused precisely for not fitting), or when the answer (status, header, body) does
// not fit the operation's responses.
func (v *Validator) Check(tb testing.TB, r *http.Request, reqBody []byte, status int, header http.Header, body []byte) {
	tb.Helper()
	req := r.Clone(r.Context())
	req.Body = io.NopCloser(bytes.NewReader(reqBody))
	req.URL = &url.URL{Scheme: "http", Host: "dialer.test", Path: r.URL.Path, RawQuery: r.URL.RawQuery}
	req.Host = "dialer.test"
	route, params, err := v.router.FindRoute(req)
	if err != nil {
		tb.Errorf("%s %s is not in openapi.json: %v", r.Method, r.URL.Path, err)
		return
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}}
	if status < 400 {
		if err := openapi3filter.ValidateRequest(tb.Context(), in); err != nil {
			tb.Errorf("request %s %s does not fit openapi.json: %v", r.Method, r.URL.Path, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: header,
		Body: io.NopCloser(bytes.NewReader(body)), Options: &openapi3filter.Options{MultiError: true, IncludeResponseStatus: true}}
	if err := openapi3filter.ValidateResponse(tb.Context(), out); err != nil {
		tb.Errorf("answer %d to %s %s does not fit openapi.json: %v\n%.300s", status, r.Method, r.URL.Path, err, body)
	}
}

// Client calls a running dialer serve, checking every exchange with its Validator.
type Client struct {
	// BaseURL is serve's address, e.g. "http://127.0.0.1:41234".
	BaseURL string
	V       *Validator
	HTTP    *http.Client
}

// Do sends method path (with query) with token (none when "") and body of contentType,
// checks the exchange against the document and returns the answer's status, header and
// body. A transport error fails tb.
func (c *Client) Do(tb testing.TB, method, path, token, contentType string, body []byte, header ...string) (int, http.Header, []byte) {
	tb.Helper()
	r, err := http.NewRequestWithContext(tb.Context(), method, c.BaseURL+path, bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(r)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("%s %s: read the answer: %v", method, path, err)
	}
	c.V.Check(tb, r, body, resp.StatusCode, resp.Header, got)
	return resp.StatusCode, resp.Header, got
}
