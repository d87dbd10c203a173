package api

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strconv"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/contactcsv"
)

// upload is a campaign to create or validate, read from a request: the campaign file,
// and the contact file spooled to disk, so that a large one is never held in memory.
type upload struct {
	file      *campaign.File
	name      string // the contact file's name in errors and in the campaign
	path      string // the spooled contact file
	delimiter rune
	encoding  contactcsv.Encoding // "" for the campaign file's contacts.encoding
	fromJSON  bool
	// source is the campaign as sent: the campaign part's name and bytes, or the JSON
	// body's campaign object compacted. digest hashes it.
	sourceName string
	source     []byte
}

// open opens the spooled contact file; Upload reads it twice.
func (u *upload) open() (io.ReadCloser, error) { return os.Open(u.path) }

// close removes the spooled contact file.
func (u *upload) close() {
	if u.path != "" {
		os.Remove(u.path)
	}
}

// digest returns a hex SHA-256 of what u creates: the form, the campaign as sent, the
// contact file's name, delimiter and encoding, and the spooled contact file. Two requests
// digest alike when they send the same campaign and contacts, whatever their multipart
// boundaries or (for JSON) their whitespace.
func (u *upload) digest() (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "json=%t\x00%s\x00%d\x00%s\x00%s\x00%q\x00", u.fromJSON, u.sourceName, len(u.source), u.source, u.name, string(u.delimiter)+"|"+string(u.encoding))
	f, err := u.open()
	if err != nil {
		return "", fmt.Errorf("digest the contact file: %w", err)
	}
	defer f.Close()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("digest the contact file: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// readUpload reads a create or validate request, in either form:
//   - multipart/form-data with a part "campaign" (the campaign file, YAML) and a part
//     "contacts" (the contact CSV), and optionally "delimiter" ("," ";" or "tab") and
//     "encoding" (utf-8, windows-1252 or latin-1; also the query parameter encoding), as
//     dialer upload's --delimiter and --encoding;
//   - application/json {"campaign": {...the campaign file's keys...}, "contacts":
//     [{"column": "value", ...}, ...]}: the first contact's keys are the header.
//
// Errors in a JSON campaign carry JSON pointers; those in files carry the file's line and
// column, worded as the CLI words them.
func (s *Server) readUpload(w http.ResponseWriter, r *http.Request) (*upload, error) {
	// A 100 MB file may take longer to arrive than the server's read timeout allows.
	_ = http.NewResponseController(w).SetReadDeadline(s.cfg.Now().Add(s.cfg.UploadTimeout))
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxUploadBytes)
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		mt = ""
	}
	var u *upload
	switch mt {
	case "multipart/form-data":
		u, err = s.readMultipart(r)
	case "application/json":
		u, err = s.readJSON(r)
	default:
		return nil, &unsupportedMediaError{got: r.Header.Get("Content-Type")}
	}
	if raw := r.URL.Query().Get("encoding"); err == nil && raw != "" {
		switch enc, perr := contactcsv.ParseEncoding(raw); {
		case perr != nil:
			err = badRequest("query parameter encoding: %v", perr)
		case u.fromJSON:
			err = badRequest("query parameter encoding: a JSON body is UTF-8 already; encoding is for an uploaded contact file")
		case u.encoding != "" && u.encoding != enc:
			err = badRequest("query parameter encoding=%s and part encoding=%s disagree; give one", raw, u.encoding)
		default:
			u.encoding = enc
		}
	}
	if err != nil {
		if u != nil {
			u.close()
		}
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, badRequest("the request is larger than %d bytes; split the contact file", tooBig.Limit)
		}
		return nil, err
	}
	if len(u.file.SuppressionFiles) > 0 {
		u.close()
		err := &campaign.FileError{Path: u.campaignName(), Key: "suppressionFiles", Msg: "names files on the server, which the API does not read; upload the numbers with `dialer suppress import` first, and leave suppressionFiles out"}
		if u.fromJSON {
			return nil, &jsonSource{err}
		}
		return nil, err
	}
	return u, nil
}

// unsupportedMediaError is a request body in a form its route does not read: for a create
// or validate, neither form; want, when set, names the forms the route reads.
type unsupportedMediaError struct{ got, want string }

func (e *unsupportedMediaError) Error() string {
	want := e.want
	if want == "" {
		want = "multipart/form-data (parts campaign and contacts) or application/json ({\"campaign\": {...}, \"contacts\": [...]})"
	}
	return fmt.Sprintf("Content-Type %q: send %s", e.got, want)
}

func (u *upload) campaignName() string {
	if u.fromJSON {
		return ""
	}
	return "campaign"
}

// readMultipart streams the parts of a multipart request: the campaign part is read into
// memory (at most 1 MiB), the contacts part copied to a spool file.
func (s *Server) readMultipart(r *http.Request) (*upload, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, badRequest("multipart body: %v", err)
	}
	u := &upload{}
	var campaignName string
	var campaignData []byte
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return u, badRequest("multipart body: %v", err)
		}
		switch part.FormName() {
		case "campaign":
			campaignName = partName(part.FileName(), "campaign.yaml")
			campaignData, err = io.ReadAll(io.LimitReader(part, 1<<20+1))
			if err != nil {
				return u, badRequest("part campaign: %v", err)
			}
			if len(campaignData) > 1<<20 {
				return u, &campaign.FileError{Path: campaignName, Msg: "file is larger than 1 MiB; a campaign file is a few lines of YAML (is this the contact file?)"}
			}
		case "contacts":
			u.name = partName(part.FileName(), "contacts.csv")
			if u.path, err = s.spool(part); err != nil {
				return u, err
			}
		case "delimiter":
			b, _ := io.ReadAll(io.LimitReader(part, 16))
			if u.delimiter, err = contactcsv.ParseDelimiter(string(b)); err != nil {
				return u, badRequest("part delimiter: %v", err)
			}
		case "encoding":
			b, _ := io.ReadAll(io.LimitReader(part, 32))
			if u.encoding, err = contactcsv.ParseEncoding(string(b)); err != nil {
				return u, badRequest("part encoding: %v", err)
			}
		default:
			return u, badRequest("multipart part %q: want campaign, contacts, delimiter or encoding", part.FormName())
		}
		part.Close()
	}
	if campaignData == nil || u.path == "" {
		return u, badRequest("multipart body: want a part named campaign (the campaign file) and a part named contacts (the contact CSV)")
	}
	if u.file, err = campaign.ParseChecked(campaignName, campaignData); err != nil {
		return u, err
	}
	u.sourceName, u.source = campaignName, campaignData
	return u, nil
}

// partName is a part's file name without its directories, def when it has none.
func partName(name, def string) string {
	if name = filepath.Base(name); name == "." || name == "/" || name == "" {
		return def
	}
	return name
}

// spool copies r to a new temporary file and returns its path.
func (s *Server) spool(r io.Reader) (string, error) {
	f, err := os.CreateTemp(s.cfg.TempDir, "dialer-upload-*.csv")
	if err != nil {
		return "", fmt.Errorf("spool the contact file: %w", err)
	}
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("spool the contact file: %w", err)
	}
	return f.Name(), nil
}

// readJSON reads {"campaign": {...}, "contacts": [...], "delimiter": ...} token by token,
// writing the contacts to a spooled CSV as they come.
func (s *Server) readJSON(r *http.Request) (*upload, error) {
	u := &upload{fromJSON: true, name: "contacts"}
	dec := json.NewDecoder(bufio.NewReaderSize(r.Body, 64<<10))
	dec.UseNumber()
	if err := expectDelim(dec, '{', ""); err != nil {
		return u, err
	}
	var campaignData json.RawMessage
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return u, badRequest("JSON body: %v", err)
		}
		switch key, _ := tok.(string); key {
		case "campaign":
			if err := dec.Decode(&campaignData); err != nil {
				return u, badRequest("JSON body at /campaign: %v", err)
			}
		case "contacts":
			if u.path, err = s.spoolJSONContacts(dec); err != nil {
				return u, err
			}
		case "delimiter":
			var d string
			if err := dec.Decode(&d); err != nil {
				return u, badRequest("JSON body at /delimiter: %v", err)
			}
			if u.delimiter, err = contactcsv.ParseDelimiter(d); err != nil {
				return u, badRequest("/delimiter: %v", err)
			}
		default:
			return u, badRequest("JSON body: unknown key %q at /%s; want campaign and contacts", key, key)
		}
	}
	if campaignData == nil || u.path == "" {
		return u, badRequest("JSON body: want {\"campaign\": {...the campaign file's keys...}, \"contacts\": [{\"column\": \"value\"}, ...]}")
	}
	f, err := campaign.ParseChecked("", campaignData)
	if err != nil {
		return u, &jsonSource{err}
	}
	u.file = f
	var compact bytes.Buffer
	if err := json.Compact(&compact, campaignData); err == nil {
		u.source = compact.Bytes()
	}
	return u, nil
}

// spoolJSONContacts writes the JSON array of contact objects that dec is at to a spooled
// CSV file: the first object's keys, in order, are the header. A later object with a key
// the first lacks, or a value that is an object or array, is refused with its pointer.
func (s *Server) spoolJSONContacts(dec *json.Decoder) (string, error) {
	if err := expectDelim(dec, '[', "/contacts"); err != nil {
		return "", err
	}
	f, err := os.CreateTemp(s.cfg.TempDir, "dialer-upload-*.csv")
	if err != nil {
		return "", fmt.Errorf("spool the contacts: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	bw := bufio.NewWriterSize(f, 64<<10)
	cw := csv.NewWriter(bw)
	var header []string
	index := map[string]int{}
	row := []string{}
	for i := 0; dec.More(); i++ {
		at := "/contacts/" + strconv.Itoa(i)
		if err := expectDelim(dec, '{', at); err != nil {
			return "", err
		}
		for j := range row {
			row[j] = ""
		}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return "", badRequest("JSON body at %s: %v", at, err)
			}
			key := tok.(string)
			var v any
			if err := dec.Decode(&v); err != nil {
				return "", badRequest("JSON body at %s/%s: %v", at, key, err)
			}
			cell, err := jsonCell(v)
			if err != nil {
				return "", &jsonSource{&fieldError{pointer: at + "/" + key, msg: err.Error()}}
			}
			col, seen := index[key]
			if !seen {
				if i > 0 {
					return "", &jsonSource{&fieldError{pointer: at + "/" + key, msg: fmt.Sprintf("column %q is not a key of the first contact, whose keys are the header; give every contact the same keys", key)}}
				}
				col = len(header)
				index[key] = col
				header = append(header, key)
				row = append(row, "")
			}
			row[col] = cell
		}
		if _, err := dec.Token(); err != nil { // '}'
			return "", badRequest("JSON body at %s: %v", at, err)
		}
		if i == 0 {
			if err := cw.Write(header); err != nil {
				return "", fmt.Errorf("spool the contacts: %w", err)
			}
		}
		if err := cw.Write(row); err != nil {
			return "", fmt.Errorf("spool the contacts: %w", err)
		}
	}
	if _, err := dec.Token(); err != nil { // ']'
		return "", badRequest("JSON body at /contacts: %v", err)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return "", fmt.Errorf("spool the contacts: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return "", fmt.Errorf("spool the contacts: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("spool the contacts: %w", err)
	}
	ok = true
	return f.Name(), nil
}

// fieldError is an error at a JSON pointer of the request body.
type fieldError struct{ pointer, msg string }

func (e *fieldError) Error() string { return e.pointer + ": " + e.msg }

// jsonCell is a contact's JSON value as a CSV cell.
func jsonCell(v any) (string, error) {
	switch v := v.(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case json.Number:
		return v.String(), nil
	case bool:
		return strconv.FormatBool(v), nil
	}
	return "", errors.New("a contact's values are strings, numbers, booleans or null, not objects or arrays")
}

func expectDelim(dec *json.Decoder, want json.Delim, at string) error {
	tok, err := dec.Token()
	if err != nil {
		return badRequest("JSON body at %s: %v", orRoot(at), err)
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		what := "an object"
		if want == '[' {
			what = "an array"
		}
		return badRequest("JSON body at %s: want %s", orRoot(at), what)
	}
	return nil
}

func orRoot(at string) string {
	if at == "" {
		return "/"
	}
	return at
}
