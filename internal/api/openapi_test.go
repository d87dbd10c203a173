package api_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/dialerhq/dialer/internal/api"
	"github.com/dialerhq/dialer/internal/api/apitest"
)

// TestOpenAPICoversRoutes pins that the document and the route table list the same
// operations, with the same scopes.
func TestOpenAPICoversRoutes(t *testing.T) {
	h := setup(t)
	doc := apitest.NewValidator(t).Doc
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
