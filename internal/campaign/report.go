package campaign

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
)

// ReportColumns are the columns a report adds after the contact file's own, in order.
//
//	phone_e164          the number dialed, E.164; empty for an invalid row
//	outcome             the final outcome (see Outcomes), or "pending" while the contact is in progress
//	attempts            attempts begun
//	call_id             Interactly call id of the last attempt
//	started_at          when the last call was created, RFC 3339 UTC
//	ended_at            when the last call ended, RFC 3339 UTC
//	phone_call_status   Interactly phoneCallStatus of the last call
//	ended_by            Interactly callEndTriggerBy of the last call
//	success_evaluation  the assistant's analysis.successEvaluation
//	summary             the assistant's analysis.summary
//	structured_data     the assistant's analysis.structuredData, JSON
//	error               why the row was not dialed, or the API's refusal
//	cost_usd            the last call's cost.totalCost in USD, as Interactly reported it
//	recording           the last call's recording path
var ReportColumns = []string{
	"phone_e164", "outcome", "attempts", "call_id", "started_at", "ended_at",
	"phone_call_status", "ended_by", "success_evaluation", "summary", "structured_data", "error",
	"cost_usd", "recording",
}

// OutcomePending is what a report says for a contact without a final outcome yet.
const OutcomePending Outcome = "pending"

// reportBatch is how many contacts one Redis round trip of the attempt report reads.
const reportBatch = 500

// exportBatch is how many contacts one Redis round trip of WriteReport reads, and
// exportReaders how many such reads run ahead of the writer at once, each on its own
// connection: Redis serves one while the writer encodes the rows of another, so neither
// waits for the other. A million rows take 1,000 round trips; a batch holds about 1 MB.
const (
	exportBatch   = 1000
	exportReaders = 2
)

// WriteReport writes campaign id's report to w as CSV, streamed: one row per contact file
// row, in input order, holding every original column as read and then ReportColumns.
// A row shorter than the header is padded with empty cells and a longer one cut to the
// header's width (its error cell says so). Unless opt.Raw, cells a spreadsheet would run as
// formulas are neutralised (SafeCell); with opt.BOM the file starts with a UTF-8 byte-order
// mark. Contacts are read exportBatch at a time on
// exportReaders connections, ahead of the writing. It returns the number of rows written and
// ErrCampaignNotFound for an unknown campaign.
func (s *Store) WriteReport(ctx context.Context, id string, w io.Writer, opt ReportOptions) (int, error) {
	return s.writeReport(ctx, id, w, opt, exportBatch)
}

// writeReport is WriteReport reading batch contacts a round trip.
func (s *Store) writeReport(ctx context.Context, id string, w io.Writer, opt ReportOptions, batch int) (int, error) {
	c, err := s.Campaign(ctx, id)
	if err != nil {
		return 0, err
	}
	record := ReportHeader(c)
	for i := range record {
		record[i] = opt.cell(record[i])
	}
	buf := appendCSVRecord(append(make([]byte, 0, exportBuffer+64<<10), opt.bom()...), record)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the readers when the writer returns early
	batches := s.readReport(ctx, id, c.Rows, batch)
	written := 0
	for b := 0; written < c.Rows; b++ {
		next := <-batches[b%len(batches)]
		if next.err != nil {
			return written, next.err
		}
		for j := range next.contacts {
			record = ReportRecord(c, &next.contacts[j], record)
			for i := range record {
				record[i] = opt.cell(record[i])
			}
			buf = appendCSVRecord(buf, record)
			written++
			if len(buf) >= exportBuffer {
				if _, err := w.Write(buf); err != nil {
					return written, fmt.Errorf("write report: %w", err)
				}
				buf = buf[:0]
			}
		}
	}
	if _, err := w.Write(buf); err != nil {
		return written, fmt.Errorf("write report: %w", err)
	}
	return written, nil
}

// exportBuffer is how many bytes of rows WriteReport gathers before it writes them.
const exportBuffer = 256 << 10

// appendCSVRecord appends record to buf as one CSV line, byte for byte as encoding/csv's
// Writer writes it with its defaults (Comma ',', UseCRLF false): a field holding a comma,
// a quote, CR or LF, starting with white space, or equal to `\.` is quoted, its quotes
// doubled; the line ends in LF. It is that Writer without its calls into a bufio.Writer for
// every field and separator: less than half its CPU time on the bench's million rows.
func appendCSVRecord(buf []byte, record []string) []byte {
	for n, field := range record {
		if n > 0 {
			buf = append(buf, ',')
		}
		if !csvNeedsQuotes(field) {
			buf = append(buf, field...)
			continue
		}
		buf = append(buf, '"')
		for {
			i := strings.IndexByte(field, '"')
			if i < 0 {
				break
			}
			buf = append(buf, field[:i+1]...)
			buf = append(buf, '"')
			field = field[i+1:]
		}
		buf = append(buf, field...)
		buf = append(buf, '"')
	}
	return append(buf, '\n')
}

// csvNeedsQuotes is encoding/csv's Writer.fieldNeedsQuotes for Comma ','.
func csvNeedsQuotes(field string) bool {
	if field == "" {
		return false
	}
	if field == `\.` {
		return true
	}
	for i := 0; i < len(field); i++ {
		switch field[i] {
		case ',', '"', '\r', '\n':
			return true
		}
	}
	r, _ := utf8.DecodeRuneInString(field)
	return unicode.IsSpace(r)
}

// reportContacts is one batch of a report's contacts, in order, or the error that ended
// reading them.
type reportContacts struct {
	contacts []Contact
	err      error
}

// readReport reads contacts 1..rows of campaign id with exportReaders goroutines, reader r
// reading batches r, r+exportReaders, … of batch contacts each into channel r, so that batch
// b is the next one on channel b mod exportReaders. A reader stops at the first error, which
// it sends, or when ctx ends.
func (s *Store) readReport(ctx context.Context, id string, rows, batch int) []chan reportContacts {
	out := make([]chan reportContacts, exportReaders)
	for r := range out {
		out[r] = make(chan reportContacts, 1)
		go func() {
			for from := 1 + r*batch; from <= rows; from += exportReaders * batch {
				contacts, err := s.reportContacts(ctx, id, from, min(from+batch-1, rows))
				select {
				case out[r] <- reportContacts{contacts, err}:
				case <-ctx.Done():
					return
				}
				if err != nil {
					return
				}
			}
		}()
	}
	return out
}

// reportFields are the contact hash fields ReportRecord uses, in the order
// decodeReportContact reads them: fewer than contactFields, so Redis sends less.
var reportFields = []string{
	"line", "row", "e164", "outcome", "attempts", "call_id", "started_at", "ended_at",
	"phone_call_status", "ended_by", "success_evaluation", "summary", "structured_data", "error",
	"cost", "recording", "texts",
}

// hmgetReportArgs are the arguments of one contact's HMGET after its key, boxed once: boxing
// them anew for every contact is most of what building a million commands costs.
var hmgetReportArgs = func() []any {
	args := make([]any, len(reportFields))
	for i, f := range reportFields {
		args[i] = f
	}
	return args
}()

// reportContacts reads contacts from..to (inclusive) of campaign id, with what ReportRecord
// needs of each, as Contacts would read it, in two round trips: the contact hashes and
// their rows (one HMGET of the rows hash), then the texts the contacts show (one HMGET of
// the texts hash).
func (s *Store) reportContacts(ctx context.Context, id string, from, to int) ([]Contact, error) {
	n := to - from + 1
	width := 2 + len(reportFields) // HMGET, the key, the fields
	args := make([]any, n*width)
	cmds := make([]*redis.StringSliceCmd, n)
	rowArgs := make([]any, 2, 2+n)
	rowArgs[0], rowArgs[1] = "hmget", rowsKey(id)
	for i := range n {
		rowArgs = append(rowArgs, strconv.Itoa(from+i))
	}
	rows := redis.NewStringSliceCmd(ctx, rowArgs...)
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := range cmds {
			a := args[i*width : (i+1)*width : (i+1)*width]
			a[0], a[1] = "hmget", contactKey(id, from+i)
			copy(a[2:], hmgetReportArgs)
			// A missing field reads "": only "line" tells a missing contact, and a stored
			// line is never "".
			cmds[i] = redis.NewStringSliceCmd(ctx, a...)
			_ = p.Process(ctx, cmds[i])
		}
		_ = p.Process(ctx, rows)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read contacts %s/%d-%d: %w", id, from, to, err)
	}
	contacts := make([]Contact, n)
	var cells []string // the batch's row cells, one allocation for many rows
	var join textsJoin
	for i, cmd := range cmds {
		var at string
		cells, at, err = decodeReportContact(id, from+i, cmd.Val(), rows.Val()[i], &contacts[i], cells)
		if err != nil {
			return nil, err
		}
		if at != "" {
			join.add(from+i, at, &contacts[i].Last)
		}
	}
	if err := join.read(ctx, s.rdb, id); err != nil {
		return nil, err
	}
	return contacts, nil
}

// decodeReportContact fills c with contact n's fields as read by HMGET reportFields, and
// its row from the rows hash ("" for a contact stored with its row in its hash), the way
// decodeContact does (a contact without a line is the zero Contact), and returns cells with
// c's row cells appended (c.Fields is a slice of it), and the attempt whose texts c shows
// ("" when its own fields hold them). Its error names a count or time of campaign id's
// contact n that does not parse.
func decodeReportContact(id string, n int, vals []string, row string, c *Contact, cells []string) ([]string, string, error) {
	if vals[0] == "" { // no line: no such contact
		return cells, "", nil
	}
	if row == "" {
		row = vals[1]
	}
	start := len(cells)
	cells = decodeCells(row, cells)
	c.Fields = cells[start:len(cells):len(cells)]
	c.ID, c.Number, c.Outcome = n, vals[2], Outcome(vals[3])
	var d hashDecoder // no what: naming the contact costs an allocation, so only on error
	c.Attempts = d.int("attempts", vals[4])
	c.Last = Result{
		CallID: vals[5], StartedAt: d.time("started_at", vals[6]), EndedAt: d.time("ended_at", vals[7]),
		PhoneCallStatus: vals[8], EndedBy: vals[9], SuccessEvaluation: vals[10],
		Summary: vals[11], StructuredData: vals[12], Error: vals[13],
		Cost: vals[14], Recording: vals[15],
	}
	if d.err != nil {
		return cells, "", fmt.Errorf("contact %d of campaign %s: %w", n, id, d.err)
	}
	return cells, vals[16], nil
}

// decodeCells appends to cells the strings of row, a JSON array of strings as upload stores
// a contact's row, decoded as json.Unmarshal decodes it into a []string (nothing for a row
// it cannot decode). A row as json.Marshal writes it whose strings hold no escapes, which
// is nearly every row, is cut into substrings of row, without copying.
func decodeCells(row string, cells []string) []string {
	if out, ok := splitPlainCells(row, cells); ok {
		return out
	}
	var decoded []string
	_ = json.Unmarshal([]byte(row), &decoded)
	return append(cells, decoded...)
}

// splitPlainCells appends the strings of row to cells when row is `["…","…",…]` with no
// space between tokens and each string plain (see plainJSONString); it reports false, with
// cells as given, for anything else.
func splitPlainCells(row string, cells []string) ([]string, bool) {
	if len(row) < 2 || row[0] != '[' || row[len(row)-1] != ']' {
		return cells, false
	}
	start, rest := len(cells), row[1:len(row)-1]
	if rest == "" {
		return cells, true
	}
	for {
		if rest == "" || rest[0] != '"' {
			return cells[:start], false
		}
		end := strings.IndexByte(rest[1:], '"')
		if end < 0 || !plainJSONString(rest[1:1+end]) {
			return cells[:start], false
		}
		cells = append(cells, rest[1:1+end])
		rest = rest[end+2:]
		if rest == "" {
			return cells, true
		}
		if rest[0] != ',' {
			return cells[:start], false
		}
		rest = rest[1:]
	}
}

// plainJSONString reports whether s, the inside of a JSON string, decodes to itself: valid
// UTF-8 with no escape and no control character.
func plainJSONString(s string) bool {
	ascii := true
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c == '\\':
			return false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return ascii || utf8.ValidString(s)
}

// ReportHeader returns the report's header: campaign c's contact file header, then
// ReportColumns, as read (not neutralised).
func ReportHeader(c *Campaign) []string {
	return append(append(make([]string, 0, len(c.Header)+len(ReportColumns)), c.Header...), ReportColumns...)
}

// ReportRecord fills record (reused when it has room) with contact ct's report row: its cells
// as read, padded with empty cells or cut to c's header width, then ReportColumns. Cells are
// as read, not neutralised.
func ReportRecord(c *Campaign, ct *Contact, record []string) []string {
	width := len(c.Header)
	if cap(record) < width+len(ReportColumns) {
		record = make([]string, width+len(ReportColumns))
	}
	record = record[:width+len(ReportColumns)]
	clear(record)
	copy(record[:width], ct.Fields)
	r := ct.Last
	copy(record[width:], []string{
		ct.Number, string(ct.OutcomeOrPending()), strconv.Itoa(ct.Attempts), r.CallID,
		reportTime(r.StartedAt), reportTime(r.EndedAt), r.PhoneCallStatus, r.EndedBy,
		r.SuccessEvaluation, r.Summary, r.StructuredData, r.Error, r.Cost, r.Recording,
	})
	return record
}

func reportTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
