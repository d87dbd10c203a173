package api

import (
	_ "embed"
	"net/http"
)

// OpenAPI is the API's OpenAPI 3.1 document, served at /api/v1/openapi.json; the
// end-to-end test validates every request and response against it.
//
//go:embed openapi.json
var OpenAPI []byte

// openAPI handles GET /api/v1/openapi.json.
func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(OpenAPI)
}
