package console

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/contactcsv"
)

// A draft is a new campaign between its upload and its confirm: a directory under
// Config.DraftDir holding the contact file and the campaign file, and nothing in Redis.
const (
	draftContacts = "contacts.csv"
	draftCampaign = "campaign.yaml"
	draftName     = "name"     // the contact file's name as uploaded
	draftEncoding = "encoding" // the encoding picked on the upload form; absent for the campaign file's
)

var draftIDRE = regexp.MustCompile(`^[0-9a-f]{32}$`)

// FormField is one setting of the campaign form: its campaign file key, label, value and,
// after a refused submit, the error next to it.
type FormField struct {
	Key, Label, Value string
	Type              string // input type: text, number
	Hint              string
	Required          bool
	Error             string
}

// ID is the field's element id.
func (f FormField) ID() string { return "f-" + strings.ReplaceAll(f.Key, ".", "-") }

// NewView is the new campaign page: the upload form, with the error of a refused submit
// next to its field.
type NewView struct {
	Page
	// Mode is "file" to upload a campaign file, "form" to fill the settings in.
	Mode   string
	Fields []FormField
	// ContactsError and FileError are shown next to the two file inputs.
	ContactsError, FileError string
	// Encoding is the contact file's encoding as picked ("" for the campaign file's, else
	// UTF-8), Encodings what the form offers, and EncodingError why a pick was refused.
	Encoding      string
	Encodings     []EncodingOption
	EncodingError string
}

// EncodingOption is one contact file encoding the forms offer.
type EncodingOption struct{ Value, Label string }

// encodingOptions are the encodings `dialer upload --encoding` takes; "" leaves it to the
// campaign file's contacts.encoding, else UTF-8.
func encodingOptions() []EncodingOption {
	return []EncodingOption{
		{"", "As the campaign file says (UTF-8 if it says nothing)"},
		{string(contactcsv.EncodingUTF8), "UTF-8"},
		{string(contactcsv.EncodingWindows1252), "Windows-1252 (Excel's CSV on Windows)"},
		{string(contactcsv.EncodingLatin1), "Latin-1 (ISO-8859-1)"},
	}
}

// parseEncodingField reads an encoding picked in a form: "" stays "" (the campaign file's).
func parseEncodingField(s string) (contactcsv.Encoding, error) {
	if strings.TrimSpace(s) == "" {
		return "", nil
	}
	return contactcsv.ParseEncoding(s)
}

// formFields are the campaign form's settings, with the campaign file's defaults filled in.
func formFields() []FormField {
	var d campaign.File
	d.WithDefaults()
	return []FormField{
		{Key: "name", Label: "Campaign name", Type: "text", Required: true, Hint: "Shown in the list and in reports, e.g. flu-shot-reminders."},
		{Key: "assistantId", Label: "Assistant ID", Type: "text", Required: true, Hint: "The Interactly assistant that makes the calls."},
		{Key: "phoneNumberId", Label: "Phone number ID", Type: "text", Required: true, Hint: "The Interactly phone number the calls come from."},
		{Key: "defaultRegion", Label: "Default country", Type: "text", Value: d.DefaultRegion, Hint: "ISO code of numbers written without a country code, e.g. US, GB."},
		{Key: "retry.maxAttempts", Label: "Attempts per contact", Type: "number", Value: strconv.Itoa(d.Retry.MaxAttempts), Hint: "1 to 10, the first dial included."},
		{Key: "retry.delay", Label: "Wait before a retry", Type: "text", Value: d.Retry.Delay.String(), Hint: "e.g. 30m, 2h."},
		{Key: "rateLimit.callsPerSecond", Label: "Calls started per second", Type: "text", Value: strconv.FormatFloat(d.RateLimit.CallsPerSecond, 'f', -1, 64), Hint: "More than 0, at most 1000; 0.5 is one call every 2 seconds."},
		{Key: "rateLimit.maxConcurrentCalls", Label: "Calls at once", Type: "number", Value: strconv.Itoa(d.RateLimit.MaxConcurrentCalls), Hint: "At least 1."},
		{Key: "callingWindow.start", Label: "Calling window opens", Type: "text", Hint: "Local time HH:MM, e.g. 09:00. Leave both times empty to call at any time."},
		{Key: "callingWindow.end", Label: "Calling window shuts", Type: "text", Hint: "Local time HH:MM, e.g. 19:00."},
		{Key: "defaultTimezone", Label: "Time zone of contacts whose zone is unknown", Type: "text", Hint: "With a calling window: an IANA zone, e.g. America/New_York. Each contact is called on its own clock."},
	}
}

// newForm shows the new campaign page.
func (c *Console) newForm(w http.ResponseWriter, r *http.Request) {
	p := c.page(r, "new", "New campaign")
	mode := "file"
	if r.URL.Query().Get("mode") == "form" {
		mode = "form"
	}
	c.render(w, r, http.StatusOK, "new", "", NewView{Page: p, Mode: mode, Fields: formFields(), Encodings: encodingOptions()})
}

// templateCSV is the contact file template the new campaign page offers.
const templateCSV = "First Name,Last Name,phone,timezone,appointment_date\r\nMaria,Gonzalez,(415) 555-0101,America/Los_Angeles,2026-12-07\r\n"

func (c *Console) template(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="contacts-template.csv"`)
	_, _ = io.WriteString(w, templateCSV)
}

// createDraft takes the upload: it keeps the contact file and the campaign file (uploaded,
// or written from the form) in a new draft and shows its preview. A campaign file that
// does not parse is refused here, with the error next to its field.
func (c *Console) createDraft(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, c.cfg.MaxUploadBytes)
	p := c.page(r, "new", "New campaign")
	v := NewView{Page: p, Mode: "file", Fields: formFields(), Encodings: encodingOptions()}
	refuse := func() { c.render(w, r, http.StatusUnprocessableEntity, "new", "", v) }
	if err := r.ParseMultipartForm(8 << 20); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			v.ContactsError = fmt.Sprintf("The files are larger than %d MiB together; split the contact file.", c.cfg.MaxUploadBytes>>20)
		} else {
			v.ContactsError = "The upload did not arrive whole; choose the files again."
		}
		refuse()
		return
	}
	defer r.MultipartForm.RemoveAll()
	if r.FormValue("mode") == "form" {
		v.Mode = "form"
	}
	for i := range v.Fields {
		if val, ok := r.MultipartForm.Value[v.Fields[i].Key]; ok {
			v.Fields[i].Value = strings.TrimSpace(val[0])
		}
	}
	v.Encoding = r.FormValue("encoding")
	enc, err := parseEncodingField(v.Encoding)
	if err != nil {
		v.EncodingError = "Pick one of the encodings offered: " + err.Error() + "."
		v.Encoding = ""
		refuse()
		return
	}
	contacts, hdr, err := r.FormFile("contacts")
	if err != nil {
		v.ContactsError = "Choose the contact file (CSV with a header row)."
		refuse()
		return
	}
	defer contacts.Close()

	var yamlText []byte
	if v.Mode == "form" {
		yamlText, err = formYAML(v.Fields)
		if err != nil {
			c.internalError(w, r, err)
			return
		}
	} else {
		fh, _, err := r.FormFile("campaign")
		if err != nil {
			v.FileError = "Choose the campaign file (YAML, like campaigns/example.yaml), or fill the settings in instead."
			refuse()
			return
		}
		yamlText, err = io.ReadAll(io.LimitReader(fh, 1<<20))
		fh.Close()
		if err != nil {
			c.internalError(w, r, err)
			return
		}
	}
	// Check now, so a broken campaign file or a refused setting is shown next to its field
	// before anything else. The columns are picked on the preview page.
	if err := checkFile(yamlText); err != nil {
		v.attach(err)
		refuse()
		return
	}
	id, err := c.saveDraft(hdr.Filename, contacts, yamlText, enc)
	if err != nil {
		c.internalError(w, r, err)
		return
	}
	http.Redirect(w, r, "/drafts/"+id, http.StatusSeeOther)
}

// checkFile parses and validates a campaign file as upload would, but for its columns,
// which the preview page picks.
func checkFile(yamlText []byte) error {
	f, err := campaign.Parse(draftCampaign, yamlText)
	if err != nil {
		return err
	}
	if f.Contacts.NumberColumn == "" {
		f.Contacts.NumberColumn = "picked on the preview page"
	}
	f.WithDefaults()
	return f.Validate()
}

// attach puts a campaign file error next to the form field it names, or next to the
// campaign file input.
func (v *NewView) attach(err error) {
	var fe *campaign.FileError
	if v.Mode == "form" && errors.As(err, &fe) {
		for i := range v.Fields {
			if v.Fields[i].Key == fe.Key || (fe.Key == "callingWindow" && v.Fields[i].Key == "callingWindow.start") {
				v.Fields[i].Error = fe.Msg
				return
			}
		}
	}
	v.FileError = err.Error()
}

// formYAML writes the form's settings as a campaign file, so that the form gets exactly
// the checks and defaults of a file. Empty fields are left out.
func formYAML(fields []FormField) ([]byte, error) {
	doc := map[string]any{}
	for _, f := range fields {
		if f.Value == "" {
			continue
		}
		var val any = f.Value
		if f.Type == "number" {
			if n, err := strconv.Atoi(f.Value); err == nil {
				val = n
			}
		}
		if f.Key == "rateLimit.callsPerSecond" {
			if x, err := strconv.ParseFloat(f.Value, 64); err == nil {
				val = x
			}
		}
		m := doc
		parts := strings.Split(f.Key, ".")
		for _, part := range parts[:len(parts)-1] {
			sub, ok := m[part].(map[string]any)
			if !ok {
				sub = map[string]any{}
				m[part] = sub
			}
			m = sub
		}
		m[parts[len(parts)-1]] = val
	}
	if cw, ok := doc["callingWindow"].(map[string]any); ok {
		cw["timezone"] = campaign.TimezoneContact
	}
	return yaml.Marshal(doc)
}

// saveDraft writes a new draft and returns its id. It also removes drafts older than
// Config.DraftTTL.
func (c *Console) saveDraft(name string, contacts io.Reader, yamlText []byte, enc contactcsv.Encoding) (string, error) {
	c.sweepDrafts()
	id := newID()
	dir := filepath.Join(c.cfg.DraftDir, id)
	if err := os.Mkdir(dir, 0o700); err != nil {
		return "", err
	}
	fh, err := os.Create(filepath.Join(dir, draftContacts))
	if err == nil {
		_, err = io.Copy(fh, contacts)
		if cerr := fh.Close(); err == nil {
			err = cerr
		}
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, draftCampaign), yamlText, 0o600)
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, draftName), []byte(filepath.Base(name)), 0o600)
	}
	if err == nil && enc != "" {
		err = os.WriteFile(filepath.Join(dir, draftEncoding), []byte(enc), 0o600)
	}
	if err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("save draft: %w", err)
	}
	return id, nil
}

func (c *Console) sweepDrafts() {
	entries, _ := os.ReadDir(c.cfg.DraftDir)
	for _, e := range entries {
		if info, err := e.Info(); err == nil && c.cfg.Now().Sub(info.ModTime()) > c.cfg.DraftTTL {
			os.RemoveAll(filepath.Join(c.cfg.DraftDir, e.Name()))
		}
	}
}

// draft is a saved draft, read back.
type draft struct {
	id, dir, name string
	yaml          []byte
	// enc is the encoding picked on the upload form, "" for none.
	enc contactcsv.Encoding
}

func (c *Console) loadDraft(id string) (*draft, error) {
	if !draftIDRE.MatchString(id) {
		return nil, os.ErrNotExist
	}
	dir := filepath.Join(c.cfg.DraftDir, id)
	y, err := os.ReadFile(filepath.Join(dir, draftCampaign))
	if err != nil {
		return nil, err
	}
	name, _ := os.ReadFile(filepath.Join(dir, draftName))
	enc, _ := os.ReadFile(filepath.Join(dir, draftEncoding))
	return &draft{id: id, dir: dir, name: string(name), yaml: y, enc: contactcsv.Encoding(enc)}, nil
}

func (d *draft) open() (io.ReadCloser, error) { return os.Open(filepath.Join(d.dir, draftContacts)) }

// Mapping is the columns and the encoding picked on the preview page; "" keeps the
// campaign file's (for the encoding: the upload form's pick, else the campaign file's).
type Mapping struct {
	Number, Name, Timezone string
	Encoding               string
}

func mappingOf(r *http.Request) Mapping {
	return Mapping{Number: r.FormValue("number"), Name: r.FormValue("name"), Timezone: r.FormValue("tz"), Encoding: r.FormValue("encoding")}
}

// encodingError is an encoding picked on the preview page that is not one of those offered.
type encodingError struct{ err error }

func (e *encodingError) Error() string {
	return "Pick one of the encodings offered: " + e.err.Error() + "."
}

// encoding is the contact file's encoding: picked on the preview page, else on the upload
// form, else the campaign file's contacts.encoding; "" means UTF-8.
func (d *draft) encoding(m Mapping) (contactcsv.Encoding, error) {
	if m.Encoding != "" {
		enc, err := parseEncodingField(m.Encoding)
		if err != nil {
			return "", &encodingError{err}
		}
		return enc, nil
	}
	if d.enc != "" {
		return d.enc, nil
	}
	if f, err := campaign.Parse(draftCampaign, d.yaml); err == nil {
		return contactcsv.Encoding(f.Contacts.Encoding), nil
	}
	return "", nil
}

// file parses the draft's campaign file with the mapping and encoding enc applied,
// defaults filled, checked.
func (d *draft) file(m Mapping, enc contactcsv.Encoding, header []string) (*campaign.File, error) {
	f, err := campaign.Parse(draftCampaign, d.yaml)
	if err != nil {
		return nil, err
	}
	f.Contacts.Encoding = string(enc)
	if m.Number != "" {
		f.Contacts.NumberColumn = m.Number
	} else if f.Contacts.NumberColumn == "" || !slices.Contains(header, f.Contacts.NumberColumn) {
		f.Contacts.NumberColumn = guessColumn(header, "phone", "number", "mobile", "tel", "cell")
	}
	switch {
	case m.Name == "-":
		f.Contacts.NameColumn = ""
	case m.Name != "":
		f.Contacts.NameColumn = m.Name
	case f.Contacts.NameColumn == "" || !slices.Contains(header, f.Contacts.NameColumn):
		f.Contacts.NameColumn = guessColumn(header, "first name", "first_name", "firstname", "name")
	}
	if f.CallingWindow != nil && f.CallingWindow.Timezone == campaign.TimezoneContact {
		switch {
		case m.Timezone == "-":
			f.CallingWindow.TimezoneColumn = ""
		case m.Timezone != "":
			f.CallingWindow.TimezoneColumn = m.Timezone
		case f.CallingWindow.TimezoneColumn == "" && m.Number == "" && m.Name == "" && m.Timezone == "":
			f.CallingWindow.TimezoneColumn = guessColumn(header, "timezone", "time_zone", "tz", "time zone")
		}
	}
	f.WithDefaults()
	if err := f.Validate(); err != nil {
		return nil, err
	}
	f.Normalize()
	return f, nil
}

// guessColumn returns the first header name that, lowercased, equals one of names, then
// the first that contains one of them; "" when none does.
func guessColumn(header []string, names ...string) string {
	for _, n := range names {
		for _, h := range header {
			if strings.EqualFold(h, n) {
				return h
			}
		}
	}
	for _, n := range names {
		for _, h := range header {
			if strings.Contains(strings.ToLower(h), n) {
				return h
			}
		}
	}
	return ""
}

// header reads the draft's contact file header, in encoding enc.
func (d *draft) header(enc contactcsv.Encoding) ([]string, error) {
	rc, err := d.open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	cr, err := contactcsv.NewReader(rc, contactcsv.Options{Path: d.name, Encoding: enc})
	if err != nil {
		return nil, err
	}
	return cr.Header(), nil
}
