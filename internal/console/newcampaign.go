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
	"github.com/dialerhq/dialer/internal/operator"
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
	p := c.page(r, "New campaign")
	p.Nav = "new"
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
	p := c.page(r, "New campaign")
	p.Nav = "new"
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

// PreviewView is the preview page: what the upload would do, the column mapping, and
// confirm and cancel.
type PreviewView struct {
	Page
	DraftID      string
	ContactsName string
	CampaignName string
	Header       []string
	Delimiter    string
	// Mapping is the columns in use, and MappingQuery them as form values for confirm.
	Mapping Mapping
	// HasZoneColumn says whether the campaign reads each contact's own clock, so a time
	// zone column may be picked.
	HasZoneColumn bool
	// Error is why nothing can be created yet (a broken file, a missing column), and
	// ErrorField the mapping field it belongs to ("number", "name", "tz", "encoding"), ""
	// for none. Fixes are the ways out of Error, when there are several.
	Error, ErrorField string
	Fixes             []string
	// Encodings are the contact file encodings the page offers.
	Encodings []EncodingOption
	Preview   *campaign.UploadPreview
	// SampleColumns are the header names shown for each sample row's variables.
	SampleColumns []string
	Window        string
	Openings      []OpeningView
	Refused       []campaign.RefusedRow
	RefusedMore   int
}

// OpeningView is one zone's next window opening.
type OpeningView struct {
	Zones    string
	Contacts int
	When     string
}

// BuildPreview builds the preview page from a draft's preview (nil with err set when the
// preview failed).
func BuildPreview(p Page, id, contactsName string, f *campaign.File, m Mapping, header []string, pv *campaign.UploadPreview, err error) PreviewView {
	v := PreviewView{Page: p, DraftID: id, ContactsName: contactsName, Header: header, Preview: pv, Encodings: encodingOptions()[1:]}
	if f != nil {
		v.CampaignName = f.Name
		v.Mapping = Mapping{Number: f.Contacts.NumberColumn, Name: f.Contacts.NameColumn, Encoding: f.Contacts.Encoding}
		if cw := f.CallingWindow; cw != nil {
			v.HasZoneColumn = cw.Timezone == campaign.TimezoneContact
			v.Mapping.Timezone = cw.TimezoneColumn
			if w, werr := f.Window(); werr == nil {
				v.Window = w.String() + " on " + map[bool]string{true: "each contact's clock", false: cw.Timezone + " time"}[v.HasZoneColumn]
			}
		}
	} else {
		v.Mapping = m
	}
	if v.Mapping.Encoding == "" {
		v.Mapping.Encoding = string(contactcsv.EncodingUTF8)
	}
	var ce *contactcsv.CSVError
	switch {
	case errors.Is(err, contactcsv.ErrNotUTF8) && errors.As(err, &ce):
		v.Error = fmt.Sprintf("%s is not %s: line %d, column %d holds a byte that is not. The file was saved in another encoding, most likely Windows-1252 (what Excel's \"CSV (Comma delimited)\" writes).", contactsName, encodingName(v.Mapping.Encoding), ce.Line, ce.Column)
		v.ErrorField = "encoding"
		v.Fixes = []string{
			"pick Windows-1252 (or the file's encoding) under Encoding below and apply it; or",
			"save the file in Excel as \"CSV UTF-8 (Comma delimited)\" and start a new campaign with it.",
		}
		return v
	case err != nil:
		v.Error, v.ErrorField = err.Error(), errorField(err)
		return v
	}
	v.Delimiter = map[string]string{",": "comma (,)", ";": "semicolon (;)", "\t": "tab"}[pv.Delimiter]
	v.Header = pv.Header
	v.SampleColumns = pv.Header
	for _, o := range pv.Openings {
		when := "never: the window is not open in all these zones at once"
		switch {
		case o.OpenNow:
			when = "open now"
		case !o.Next.IsZero():
			when = o.Next.UTC().Format("Mon 2 Jan 15:04 UTC")
		}
		v.Openings = append(v.Openings, OpeningView{Zones: o.Zones, Contacts: o.Contacts, When: when})
	}
	v.Refused = pv.Refused
	v.RefusedMore = pv.Invalid + pv.Duplicate + pv.Suppressed + pv.ZoneErrors - len(pv.Refused)
	return v
}

// encodingName is an encoding for a person: UTF-8, Windows-1252, Latin-1.
func encodingName(enc string) string {
	for _, o := range encodingOptions()[1:] {
		if o.Value == enc {
			name, _, _ := strings.Cut(o.Label, " (")
			return name
		}
	}
	return enc
}

// errorField is the mapping field an error is about: number, name, tz or encoding; ""
// otherwise.
func errorField(err error) string {
	var ce *campaign.ColumnError
	var fe *campaign.FileError
	key := ""
	switch {
	case errors.Is(err, contactcsv.ErrNotUTF8), errors.As(err, new(*encodingError)):
		return "encoding"
	case errors.As(err, &ce):
		key = ce.Key
	case errors.As(err, &fe):
		key = fe.Key
	}
	return map[string]string{"contacts.numberColumn": "number", "contacts.nameColumn": "name", "callingWindow.timezoneColumn": "tz", "contacts.encoding": "encoding"}[key]
}

// previewDraft shows what the upload of a draft would do, with the columns as mapped.
func (c *Console) previewDraft(w http.ResponseWriter, r *http.Request) {
	d, err := c.loadDraft(r.PathValue("draft"))
	if err != nil {
		c.errorPage(w, r, http.StatusNotFound, "This upload is gone: it was created or canceled, or is older than a day. Start a new campaign.")
		return
	}
	v := c.preview(r, d)
	status := http.StatusOK
	if v.Error != "" {
		status = http.StatusUnprocessableEntity
	}
	c.render(w, r, status, "preview", "", v)
}

// preview runs operator.Preview on a draft.
func (c *Console) preview(r *http.Request, d *draft) PreviewView {
	p := c.page(r, "Preview · new campaign")
	p.Nav = "new"
	m := mappingOf(r)
	enc, err := d.encoding(m)
	if err != nil {
		return BuildPreview(p, d.id, d.name, nil, m, nil, nil, err)
	}
	m.Encoding = string(enc)
	header, herr := d.header(enc)
	if herr != nil {
		return BuildPreview(p, d.id, d.name, nil, m, nil, nil, herr)
	}
	f, err := d.file(m, enc, header)
	if err != nil {
		return BuildPreview(p, d.id, d.name, nil, m, header, nil, err)
	}
	rc, err := d.open()
	if err != nil {
		return BuildPreview(p, d.id, d.name, f, m, header, nil, err)
	}
	defer rc.Close()
	pv, err := c.op.Preview(r.Context(), f, d.name, rc, campaign.PreviewOptions{})
	return BuildPreview(p, d.id, d.name, f, m, header, pv, err)
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

// confirmDraft creates the campaign (operator.Upload) from a draft, as mapped, and removes
// the draft.
func (c *Console) confirmDraft(w http.ResponseWriter, r *http.Request) {
	d, err := c.loadDraft(r.PathValue("draft"))
	if err != nil {
		c.errorPage(w, r, http.StatusNotFound, "This upload is gone: it was created or canceled already. See the campaigns list.")
		return
	}
	m := mappingOf(r)
	enc, err := d.encoding(m)
	var header []string
	if err == nil {
		header, err = d.header(enc)
	}
	var f *campaign.File
	if err == nil {
		f, err = d.file(m, enc, header)
	}
	if err != nil {
		c.render(w, r, http.StatusUnprocessableEntity, "preview", "", c.preview(r, d))
		return
	}
	cmp, err := c.op.Upload(r.Context(), f, d.name, d.open, operator.UploadOptions{})
	if err != nil {
		var ce *contactcsv.CSVError
		var col *campaign.ColumnError
		if errors.As(err, &ce) || errors.As(err, &col) || errors.Is(err, operator.ErrEndAtPassed) {
			v := c.preview(r, d)
			v.Error, v.ErrorField = err.Error(), errorField(err)
			c.render(w, r, http.StatusUnprocessableEntity, "preview", "", v)
			return
		}
		c.fail(w, r, err)
		return
	}
	os.RemoveAll(d.dir)
	http.Redirect(w, r, "/campaigns/"+cmp.ID+"?done=created", http.StatusSeeOther)
}

// cancelDraft drops a draft. Nothing of it was ever in Redis.
func (c *Console) cancelDraft(w http.ResponseWriter, r *http.Request) {
	if d, err := c.loadDraft(r.PathValue("draft")); err == nil {
		os.RemoveAll(d.dir)
	}
	http.Redirect(w, r, "/campaigns", http.StatusSeeOther)
}
