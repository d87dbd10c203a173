package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/dialerhq/dialer/internal/suppression"
)

// numbersRequest is the body of the suppression routes that take numbers.
type numbersRequest struct {
	// Numbers are phone numbers as written anywhere: "+1 415 555 0101", "(415) 555-0101".
	Numbers []string `json:"numbers"`
	// Region is the ISO country of numbers written without +country. Defaults to "US".
	Region *string `json:"region,omitempty"`
}

// normalized reads the request's numbers into E.164, refusing them all (a 422 naming each
// bad one) when one cannot be read, as `dialer suppress` does, so that nothing changes.
func (s *Server) normalized(w http.ResponseWriter, r *http.Request) ([]string, bool) {
	var req numbersRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeError(w, r, err)
		return nil, false
	}
	if len(req.Numbers) == 0 || len(req.Numbers) > 10000 {
		s.writeError(w, r, &fieldError{pointer: "/numbers", msg: "want 1 to 10,000 numbers; import a file with POST /api/v1/suppression/import for more"})
		return nil, false
	}
	region := "US"
	if req.Region != nil {
		region = *req.Region
	}
	numbers, err := suppression.Normalize(req.Numbers, region)
	if err != nil {
		s.writeError(w, r, &fieldError{pointer: "/numbers", msg: "nothing changed: " + err.Error()})
		return nil, false
	}
	return numbers, true
}

// suppressionChange is the answer of adding or removing numbers.
type suppressionChange struct {
	// Changed counts the numbers added (or removed); Unchanged those already there (or not
	// on the list).
	Changed   int `json:"changed"`
	Unchanged int `json:"unchanged"`
	// Size is the global list's size afterwards.
	Size int64 `json:"size"`
}

// addSuppressed handles POST /api/v1/suppression, as `dialer suppress add`.
func (s *Server) addSuppressed(w http.ResponseWriter, r *http.Request) {
	s.changeSuppressed(w, r, s.op.Suppression().Add)
}

// removeSuppressed handles POST /api/v1/suppression/remove, as `dialer suppress remove`.
func (s *Server) removeSuppressed(w http.ResponseWriter, r *http.Request) {
	s.changeSuppressed(w, r, s.op.Suppression().Remove)
}

func (s *Server) changeSuppressed(w http.ResponseWriter, r *http.Request, change func(ctx context.Context, numbers ...string) (int, error)) {
	numbers, ok := s.normalized(w, r)
	if !ok {
		return
	}
	n, err := change(r.Context(), numbers...)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	size, ok := s.listSize(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, suppressionChange{Changed: n, Unchanged: len(numbers) - n, Size: size})
}

// listSize returns how many numbers the global list holds after a change, to say in the
// answer; on an error it writes the error and returns false.
func (s *Server) listSize(w http.ResponseWriter, r *http.Request) (int64, bool) {
	size, err := s.op.Suppression().Count(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return 0, false
	}
	return size, true
}

// suppressionCheck is one number of the answer of POST /api/v1/suppression/check.
type suppressionCheck struct {
	Number     string `json:"number"`
	Suppressed bool   `json:"suppressed"`
}

// checkSuppressed handles POST /api/v1/suppression/check, as `dialer suppress check`: for
// each number, in E.164, whether the global list holds it.
func (s *Server) checkSuppressed(w http.ResponseWriter, r *http.Request) {
	numbers, ok := s.normalized(w, r)
	if !ok {
		return
	}
	got, err := s.op.Suppression().SuppressedMany(r.Context(), "", numbers)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := struct {
		Numbers []suppressionCheck `json:"numbers"`
	}{Numbers: make([]suppressionCheck, len(numbers))}
	for i, n := range numbers {
		out.Numbers[i] = suppressionCheck{Number: n, Suppressed: got[i]}
	}
	writeJSON(w, http.StatusOK, out)
}

// importResult is the answer of POST /api/v1/suppression/import.
type importResult struct {
	Rows         int            `json:"rows"`
	Added        int            `json:"added"`
	AlreadyThere int            `json:"alreadyThere"`
	Rejected     []rejectedLine `json:"rejected"`
	Size         int64          `json:"size"`
}

// rejectedLine is a row of a suppression file that was refused.
type rejectedLine struct {
	Line   int    `json:"line"`
	Number string `json:"number"`
	Reason string `json:"reason"`
}

// importSuppressed handles POST /api/v1/suppression/import?region=US with a CSV body (a
// column number, optionally reason), as `dialer suppress import`: streamed, so a file of any
// size is read as it arrives.
func (s *Server) importSuppressed(w http.ResponseWriter, r *http.Request) {
	region := "US"
	if q := r.URL.Query(); q.Has("region") {
		region = q.Get("region")
	}
	_ = http.NewResponseController(w).SetReadDeadline(s.cfg.Now().Add(s.cfg.UploadTimeout))
	body := http.MaxBytesReader(w, r.Body, s.cfg.MaxUploadBytes)
	const name = "suppression.csv"
	res, err := s.op.Suppression().Import(r.Context(), body, name, region, "")
	if err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			err = badRequest("the file is larger than %d bytes; split it", tooBig.Limit)
		case strings.HasPrefix(err.Error(), name+":"):
			// Import words the file's own faults "FILE:LINE[:COL]: …"; the rows before the
			// fault stay added, as with the CLI.
			err = &fieldError{pointer: "/", msg: fmt.Sprintf("%v (%d rows before it were added)", err, res.Added)}
		}
		s.writeError(w, r, err)
		return
	}
	size, ok := s.listSize(w, r)
	if !ok {
		return
	}
	out := importResult{Rows: res.Rows, Added: res.Added, AlreadyThere: res.AlreadyThere, Rejected: []rejectedLine{}, Size: size}
	for _, rj := range res.Rejected {
		out.Rejected = append(out.Rejected, rejectedLine{Line: rj.Line, Number: rj.Number, Reason: rj.Reason})
	}
	writeJSON(w, http.StatusOK, out)
}
