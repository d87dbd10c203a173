package campaign

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dialerhq/dialer/internal/contactcsv"
	"github.com/dialerhq/dialer/internal/window"
)

// PreviewOptions tune Preview. The zero value works.
type PreviewOptions struct {
	// CampaignID, when set, is the campaign whose own suppression list Suppressor is asked
	// about besides the global one. Defaults to "": the global list only.
	CampaignID string
	// Suppressor, when set, is asked about every dialable number, as Upload asks it.
	Suppressor Suppressor
	// Delimiter of the contact file: ',', ';' or '\t'. Defaults to the campaign file's
	// contacts.delimiter, else it is detected from the header line.
	Delimiter rune
	// Encoding of the contact file. Defaults to the campaign file's contacts.encoding, else
	// EncodingUTF8: a file that is not UTF-8 is then a *contactcsv.CSVError wrapping contactcsv.ErrNotUTF8.
	Encoding contactcsv.Encoding
	// SampleRows is how many dialable rows UploadPreview.Sample holds at most. Defaults to 10.
	SampleRows int
	// MaxRefused is how many refused rows UploadPreview.Refused holds at most; the counts always
	// cover the whole file. Defaults to 100.
	MaxRefused int
	// Now is the clock the calling window's next openings are counted from. Defaults to
	// time.Now.
	Now func() time.Time
}

func (o *PreviewOptions) withDefaults(f *File) {
	f.Contacts.readDefaults(&o.Delimiter, &o.Encoding)
	if o.SampleRows <= 0 {
		o.SampleRows = 10
	}
	if o.MaxRefused <= 0 {
		o.MaxRefused = 100
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// UploadPreview is what Upload would make of a contact file, found without storing anything.
// Its counts are the ones Upload would report (Campaign.Rows, Dialable, Invalid, Duplicate,
// Suppressed), given the same suppression lists.
type UploadPreview struct {
	// Delimiter is the field delimiter in use, given or detected: ",", ";" or "\t".
	Delimiter string `json:"delimiter"`
	// Header is the contact file's column names, trimmed, in file order.
	Header []string `json:"header"`
	// Rows counts the data rows; Dialable, Invalid, Duplicate and Suppressed split them.
	Rows       int `json:"rows"`
	Dialable   int `json:"dialable"`
	Invalid    int `json:"invalid"`
	Duplicate  int `json:"duplicate"`
	Suppressed int `json:"suppressed"`
	// ZoneErrors counts dialable rows whose time zone column cell is not a time zone; Upload
	// stores them as dialable, and their first dial ends them with outcome error. They are
	// listed in Refused with that outcome.
	ZoneErrors int `json:"zoneErrors"`
	// Sample is the first dialable rows, as they will be dialed; at most
	// PreviewOptions.SampleRows.
	Sample []PreviewRow `json:"sample"`
	// Refused is the rows that will not be dialed, in file order, each with its reason; at
	// most PreviewOptions.MaxRefused of them.
	Refused []RefusedRow `json:"refused"`
	// Openings is, for each set of time zones the dialable contacts are read in, when the
	// calling window next opens there; ordered by zones. Empty when the campaign has no
	// calling window (it dials at any time).
	Openings []ZoneOpening `json:"openings"`
}

// PreviewRow is one dialable row as it will be dialed.
type PreviewRow struct {
	// Line is the file line the row starts on; Contact is its contact ID (the data row's
	// 1-based index).
	Line    int `json:"line"`
	Contact int `json:"contact"`
	// Number is the E.164 number that will be dialed.
	Number string `json:"number"`
	// Name is the name column's cell, sent as customer.name; "" without a name column.
	Name string `json:"name"`
	// Zones are the IANA time zones the calling window is read in for this contact, and
	// ZoneSource where they came from: campaign, column, number or default. Both empty
	// without a calling window.
	Zones      []string `json:"zones"`
	ZoneSource string   `json:"zoneSource"`
	// Variables are the assistant's dynamic variables from the row: header name to cell.
	Variables map[string]string `json:"variables"`
}

// RefusedRow is a row that will not be dialed.
type RefusedRow struct {
	// Line is the file line the row starts on.
	Line int `json:"line"`
	// Raw is the number column's cell as written; "" when the row has none.
	Raw string `json:"raw"`
	// Outcome is what the row's contact gets: invalid, duplicate, suppressed, or error for a
	// time zone cell that is not a zone (found at the first dial).
	Outcome Outcome `json:"outcome"`
	// Reason says why, in the words the report's error column uses.
	Reason string `json:"reason"`
}

// ZoneOpening is when the calling window next opens for the contacts read in Zones.
type ZoneOpening struct {
	// Zones are the IANA zone names, joined by "+" when a contact may be in several (a
	// number whose area spans zones must be inside the window in all of them).
	Zones string `json:"zones"`
	// Contacts counts the dialable contacts read in these zones.
	Contacts int `json:"contacts"`
	// Next is the window's next opening at or after now (or the campaign's startAt, when
	// later), in UTC; zero when it never opens in all of the zones at once.
	Next time.Time `json:"next"`
	// OpenNow is whether the window is open in these zones now (and the campaign may start).
	OpenNow bool `json:"openNow"`
}

// previewBatch is how many rows Preview asks the Suppressor about at once.
const previewBatch = 512

// Preview reads the contact file r once, as Upload would with campaign file f, and says
// what Upload would do, storing nothing: the delimiter and header, how many rows are
// dialable, invalid, duplicate or suppressed, the first dialable rows as they will be
// dialed, the refused rows with their lines and reasons, and the calling window's next
// opening per zone. It uses Upload's reader, number rules and duplicate rule, so the two
// cannot disagree. path names the contact file in errors. The errors are Upload's: a
// *ColumnError, a *contactcsv.CSVError, a file without rows, or the Suppressor's.
func Preview(ctx context.Context, f *File, path string, r io.Reader, opt PreviewOptions) (*UploadPreview, error) {
	opt.withDefaults(f)
	cr, err := contactcsv.NewReader(r, contactcsv.Options{Path: path, Delimiter: opt.Delimiter, Encoding: opt.Encoding})
	if err != nil {
		return nil, err
	}
	if err := checkColumns(f, path, cr); err != nil {
		return nil, err
	}
	w, err := f.Window()
	if err != nil {
		return nil, err
	}
	p := &UploadPreview{Delimiter: string(cr.Delimiter()), Header: cr.Header(), Sample: []PreviewRow{}, Refused: []RefusedRow{}, Openings: []ZoneOpening{}}
	pv := previewer{p: p, f: f, opt: opt, header: p.Header, firstLine: map[string]int{}, openings: map[string]*zoneGroup{}}
	pv.numberCol, _ = cr.Column(f.Contacts.NumberColumn)
	pv.nameCol = -1
	if f.Contacts.NameColumn != "" {
		pv.nameCol, _ = cr.Column(f.Contacts.NameColumn)
	}
	var batch []*contactcsv.Row
	for {
		row, err := cr.Read()
		if err != nil && err != io.EOF {
			return nil, err
		}
		if row != nil {
			batch = append(batch, row)
		}
		if len(batch) == previewBatch || (err == io.EOF && len(batch) > 0) {
			if err := pv.batch(ctx, batch); err != nil {
				return nil, err
			}
			batch = batch[:0]
		}
		if err == io.EOF {
			break
		}
	}
	if p.Rows == 0 {
		return nil, fmt.Errorf("%s: %w; add contacts below the header", path, errNoRows)
	}
	pv.window(w)
	return p, nil
}

// previewer is the state of one Preview as it reads the file.
type previewer struct {
	p         *UploadPreview
	f         *File
	opt       PreviewOptions
	header    []string
	numberCol int
	nameCol   int
	firstLine map[string]int        // E.164 number -> line of the first row that has it
	openings  map[string]*zoneGroup // ZoneOpening.Zones -> its contacts' zones
}

type zoneGroup struct {
	locs     []*time.Location
	contacts int
}

// batch classifies one run of rows, in file order, as Upload's storeBatch does: invalid,
// then duplicate of an earlier row, then suppressed, else dialable.
func (pv *previewer) batch(ctx context.Context, rows []*contactcsv.Row) error {
	contacts := make([]uploadContact, len(rows))
	for i, row := range rows {
		contacts[i] = normalizeRow(row, pv.numberCol, pv.nameCol, pv.f.DefaultRegion)
	}
	dup := make([]int, len(rows)) // line of the earlier row with the number, 0 when none
	for i, uc := range contacts {
		if uc.reason != "" {
			continue
		}
		if line, ok := pv.firstLine[uc.number]; ok {
			dup[i] = line
			contacts[i].reason = "duplicate" // not asked about suppression, like Upload
			continue
		}
		pv.firstLine[uc.number] = rows[i].Line
	}
	suppressed, err := suppressedIn(ctx, pv.opt.Suppressor, pv.opt.CampaignID, contacts)
	if err != nil {
		return err
	}
	for i, row := range rows {
		pv.p.Rows++
		uc := contacts[i]
		raw := ""
		if pv.numberCol < len(row.Fields) {
			raw = row.Fields[pv.numberCol]
		}
		switch {
		case dup[i] > 0:
			pv.p.Duplicate++
			pv.refuse(row.Line, raw, OutcomeDuplicate, duplicateReason(uc.number, strconv.Itoa(dup[i])))
		case uc.reason != "":
			pv.p.Invalid++
			pv.refuse(row.Line, raw, OutcomeInvalid, uc.reason)
		case suppressed[i]:
			pv.p.Suppressed++
			pv.refuse(row.Line, raw, OutcomeSuppressed, SuppressedReason)
		default:
			pv.p.Dialable++
			pv.dialable(row, raw, uc)
		}
	}
	return nil
}

// dialable notes one dialable row: its zones for the openings, and a sample while there is
// room.
func (pv *previewer) dialable(row *contactcsv.Row, raw string, uc uploadContact) {
	vars := row.DynamicVariables(pv.header)
	locs, source, err := pv.f.ContactZones(uc.number, vars)
	if err != nil {
		pv.p.ZoneErrors++
		pv.refuse(row.Line, raw, OutcomeError, err.Error())
		return
	}
	zones := make([]string, len(locs))
	for i, l := range locs {
		zones[i] = l.String()
	}
	if pv.f.CallingWindow != nil {
		key := strings.Join(zones, "+")
		g := pv.openings[key]
		if g == nil {
			g = &zoneGroup{locs: locs}
			pv.openings[key] = g
		}
		g.contacts++
	}
	if len(pv.p.Sample) < pv.opt.SampleRows {
		pv.p.Sample = append(pv.p.Sample, PreviewRow{
			Line: row.Line, Contact: row.Index, Number: uc.number, Name: uc.name,
			Zones: zones, ZoneSource: source, Variables: vars,
		})
	}
}

func (pv *previewer) refuse(line int, raw string, o Outcome, reason string) {
	if len(pv.p.Refused) < pv.opt.MaxRefused {
		pv.p.Refused = append(pv.p.Refused, RefusedRow{Line: line, Raw: raw, Outcome: o, Reason: reason})
	}
}

// window fills Openings: for each zone set, the window's next opening from now, or from
// startAt when that is later.
func (pv *previewer) window(w *window.Window) {
	if pv.f.CallingWindow == nil {
		return
	}
	now := pv.opt.Now()
	from := now
	if s := pv.f.StartAt; s != nil && s.After(from) {
		from = *s
	}
	for key, g := range pv.openings {
		next := w.NextOpening(from, g.locs)
		o := ZoneOpening{Zones: key, Contacts: g.contacts, OpenNow: !next.IsZero() && !next.After(now)}
		if !next.IsZero() {
			o.Next = next.UTC()
		}
		pv.p.Openings = append(pv.p.Openings, o)
	}
	slices.SortFunc(pv.p.Openings, func(a, b ZoneOpening) int { return strings.Compare(a.Zones, b.Zones) })
}
