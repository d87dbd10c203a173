package console

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/contactcsv"
	"github.com/dialerhq/dialer/internal/operator"
)

// The new campaign's preview page: what the upload of a draft would do, with the column
// mapping, and its confirm and cancel.

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
	p := c.page(r, "new", "Preview · new campaign")
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
