// Package contactcsv reads contact files: CSV with a header line, in UTF-8, Windows-1252 or
// Latin-1, one contact per row. Reader streams the rows in constant memory (Row: the cells as
// written, and a Problem when a row cannot be used); a file that cannot be read at all is a
// *CSVError naming its line and column. Check reads a whole file once to find such errors
// before anything is stored. The package knows nothing of campaigns or phone numbers: package
// campaign's upload picks the number column and normalises it with package phone.
package contactcsv

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// maxRecordBytes bounds one CSV record. Without a bound, a quote that is never closed makes
// encoding/csv read the rest of the file into one field, so memory would grow with the file.
const maxRecordBytes = 1 << 20

// sniffBytes is how much of the file delimiter detection looks at.
const sniffBytes = 64 << 10

var errRecordTooLong = errors.New("record too long")

// CSVError is a contact file that cannot be read: no header, a broken header, or a record
// encoding/csv cannot parse. Its Error reads "contacts.csv:12:8: message", leaving out what is
// not known.
type CSVError struct {
	Path   string // the file as given in Options.Path; "" when unknown
	Line   int    // 1-based line; 0 when the error is not tied to a line
	Column int    // 1-based byte column; 0 when unknown
	Msg    string // what is wrong and what to do about it
	// Err is the kind of problem, for errors.Is: ErrNotUTF8, or nil.
	Err error
}

// ErrNotUTF8 is the Err of a CSVError for a contact file read as UTF-8 that is not: its Line
// and Column are the first byte that is not. The two fixes are to save the file as UTF-8
// or to name its encoding (ReaderOptions.Encoding, contacts.encoding, --encoding).
var ErrNotUTF8 error = csvProblem("the contact file is not UTF-8")

// csvProblem is a kind of CSVError; a string, so that CSVErrors compare with cmp.
type csvProblem string

func (p csvProblem) Error() string { return string(p) }

// Unwrap returns e.Err.
func (e *CSVError) Unwrap() error { return e.Err }

// Error returns "path:line:column: message".
func (e *CSVError) Error() string { return ErrorPrefix(e.Path, e.Line, e.Column) + e.Msg }

// ErrorPrefix formats "path:line:col: ", leaving out the parts that are empty or zero: the
// start of a CSVError's message, and of a campaign file's error (campaign.FileError).
func ErrorPrefix(path string, line, col int) string {
	var b strings.Builder
	b.WriteString(path)
	if line > 0 {
		if b.Len() > 0 {
			b.WriteByte(':')
		}
		b.WriteString(strconv.Itoa(line))
		if col > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(col))
		}
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	return b.String()
}

// Options configures a Reader.
type Options struct {
	// Path names the file in error messages, e.g. "contacts.csv". It is never opened.
	Path string
	// Delimiter separates fields: ',', ';' or '\t'. Zero means detect it from the header line,
	// taking the one of the three that occurs most often outside quotes, and ',' when none does.
	Delimiter rune
	// Encoding is the file's character encoding. Defaults to EncodingUTF8, under which a
	// byte that is not UTF-8 is a *CSVError that names its line and column.
	Encoding Encoding
}

// Row is one data record of a contact file.
type Row struct {
	// Index is the 1-based number of the row among the file's data rows: the contact's ID.
	Index int
	// Line is the 1-based file line where the record starts.
	Line int
	// Fields are the record's cells as written. A record longer than the header whose extra
	// cells are all empty (a trailing delimiter) is cut to the header's length.
	Fields []string
	// Problem says why the row cannot be used as it is, e.g. "row has 4 fields, header has 6";
	// "" when it can. A row with a problem is not an error: it becomes an invalid contact.
	Problem string
}

// DynamicVariables maps each header name to the row's cell in that column, as the assistant's
// dynamic variables. A short row's missing cells are ""; cells beyond the header are left out.
func (r *Row) DynamicVariables(header []string) map[string]string {
	vars := make(map[string]string, len(header))
	for i, name := range header {
		if i < len(r.Fields) {
			vars[name] = r.Fields[i]
		} else {
			vars[name] = ""
		}
	}
	return vars
}

// Reader reads a contact file one row at a time, in constant memory. The file is CSV
// (RFC 4180: quoted cells may hold delimiters, doubled quotes and line breaks; lines end in LF,
// CRLF, or CR alone as old Mac Excel writes them) with a header line naming the columns, in
// UTF-8 or the Options.Encoding. A UTF-8 byte order mark is skipped. Blank lines, and
// rows whose cells are all empty, are skipped.
type Reader struct {
	path    string
	csv     *csv.Reader
	src     *recordGuard
	header  []string
	comma   rune
	index   int   // Index of the last row read
	endLine int   // line the last record read ended on
	err     error // the error that ended reading, returned again by later calls
}

// NewReader reads the header line from r. It returns a *CSVError when the file is empty,
// is UTF-16, is no text (a workbook, binary data), or has a header that names no column or
// names one column twice; and an error when opt has an unknown Delimiter or Encoding.
func NewReader(r io.Reader, opt Options) (*Reader, error) {
	switch opt.Delimiter {
	case 0, ',', ';', '\t':
	default:
		return nil, fmt.Errorf("contact reader: delimiter %q is not one of ',' ';' '\\t'", opt.Delimiter)
	}
	enc, err := ParseEncoding(string(opt.Encoding))
	if err != nil {
		return nil, fmt.Errorf("contact reader: %w", err)
	}
	br := bufio.NewReaderSize(r, sniffBytes)
	head, err := br.Peek(sniffBytes)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, fmt.Errorf("read %s: %w", opt.Path, err)
	}
	switch {
	case bytes.HasPrefix(head, []byte("\xef\xbb\xbf")):
		br.Discard(3)
		head = head[3:]
	case bytes.HasPrefix(head, []byte("\xff\xfe")), bytes.HasPrefix(head, []byte("\xfe\xff")):
		return nil, &CSVError{Path: opt.Path, Msg: "file is UTF-16 text; save it as \"CSV UTF-8\""}
	}
	if msg := sniffNotCSV(head); msg != "" {
		return nil, &CSVError{Path: opt.Path, Msg: msg}
	}
	cr := &Reader{path: opt.Path, comma: opt.Delimiter}
	if cr.comma == 0 {
		cr.comma = detectDelimiter(head)
	}
	var src io.Reader = br
	if crOnly(head) {
		src = crToLF{src}
	}
	cr.src = &recordGuard{r: enc.decoder(src)}
	cr.csv = csv.NewReader(cr.src)
	cr.csv.Comma = cr.comma
	cr.csv.FieldsPerRecord = -1 // a ragged row is a Row.Problem, not an error
	cr.csv.ReuseRecord = true

	rec, err := cr.csv.Read()
	if err == io.EOF {
		return nil, &CSVError{Path: opt.Path, Msg: "file is empty; its first line must be a header naming the columns, e.g. First Name,phone"}
	}
	if err != nil {
		return nil, cr.readError(err)
	}
	cr.consumed(rec)
	cr.header = make([]string, len(rec))
	seen := make(map[string]int, len(rec))
	for i, name := range rec {
		name = strings.TrimSpace(name)
		line, col := cr.csv.FieldPos(i)
		switch j, dup := seen[name]; {
		case name == "":
			return nil, &CSVError{Path: opt.Path, Line: line, Column: col,
				Msg: fmt.Sprintf("header column %d has no name; name the column or remove it", i+1)}
		case dup:
			return nil, &CSVError{Path: opt.Path, Line: line, Column: col,
				Msg: fmt.Sprintf("header names columns %d and %d both %q; rename one of them", j+1, i+1, name)}
		}
		seen[name] = i
		cr.header[i] = name
	}
	return cr, nil
}

// Header returns the column names, trimmed of surrounding space, in file order.
func (cr *Reader) Header() []string { return slices.Clone(cr.header) }

// Delimiter returns the field delimiter in use, given or detected.
func (cr *Reader) Delimiter() rune { return cr.comma }

// Column returns the index of the column whose header is name, and whether there is one.
func (cr *Reader) Column(name string) (int, bool) {
	i := slices.Index(cr.header, strings.TrimSpace(name))
	return i, i >= 0
}

// Read returns the next row, and io.EOF after the last. A record that cannot be parsed (a stray
// quote, a quoted cell that is never closed, a record over 1 MiB) is a *CSVError, after which
// the reader is done; a row that parses but cannot be used is a Row with a Problem.
func (cr *Reader) Read() (*Row, error) {
	for cr.err == nil {
		rec, err := cr.csv.Read()
		if err == io.EOF {
			cr.err = io.EOF
			break
		}
		if err != nil {
			cr.err = cr.readError(err)
			break
		}
		line := cr.consumed(rec)
		if !slices.ContainsFunc(rec, func(f string) bool { return f != "" }) {
			continue
		}
		cr.index++
		row := &Row{Index: cr.index, Line: line, Fields: cr.cut(rec)}
		row.Problem = cr.problem(row.Fields)
		return row, nil
	}
	return nil, cr.err
}

// consumed notes that the csv.Reader has just returned rec, and returns the line it starts on.
func (cr *Reader) consumed(rec []string) int {
	cr.src.mark = cr.csv.InputOffset()
	line, _ := cr.csv.FieldPos(0)
	cr.endLine = line
	for _, f := range rec {
		cr.endLine += strings.Count(f, "\n")
	}
	return line
}

// cut copies rec, which the csv.Reader reuses, dropping empty cells beyond the header.
func (cr *Reader) cut(rec []string) []string {
	n := len(rec)
	for n > len(cr.header) && rec[n-1] == "" {
		n--
	}
	return slices.Clone(rec[:n])
}

func (cr *Reader) problem(fields []string) string {
	switch n, h := len(fields), len(cr.header); {
	case n > h:
		return fmt.Sprintf("row has %d fields, header has %d; quote cells that hold %s", n, h, delimiterName(cr.comma))
	case n < h:
		return fmt.Sprintf("row has %d fields, header has %d", n, h)
	}
	return ""
}

// readError turns what csv.Reader.Read returned into a *CSVError that says what to do.
func (cr *Reader) readError(err error) error {
	var pe *csv.ParseError
	var bad *notUTF8Error
	switch {
	case errors.As(err, &bad):
		return &CSVError{Path: cr.path, Line: bad.line, Column: bad.col, Err: ErrNotUTF8,
			Msg: fmt.Sprintf(`byte 0x%02X is not UTF-8, so the file is in another encoding, likely Windows-1252 (what Excel's "CSV (Comma delimited)" writes); save it in Excel as "CSV UTF-8 (Comma delimited)", or upload it with --encoding windows-1252`, bad.b)}
	case errors.Is(err, errRecordTooLong):
		return &CSVError{Path: cr.path, Line: cr.endLine + 1,
			Msg: fmt.Sprintf("record starting on or after this line is longer than %d MiB; a quoted cell is probably never closed", maxRecordBytes>>20)}
	case errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrBareQuote):
		return &CSVError{Path: cr.path, Line: pe.Line, Column: pe.Column,
			Msg: `bare " in non-quoted field; quote the field and double the quote inside it, e.g. "say ""hi"""`}
	case errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrQuote) && cr.src.eof && cr.csv.InputOffset() == cr.src.n:
		return &CSVError{Path: cr.path, Line: pe.StartLine,
			Msg: `a quoted field in the record starting on this line is never closed; add the closing "`}
	case errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrQuote):
		return &CSVError{Path: cr.path, Line: pe.Line, Column: pe.Column,
			Msg: `extraneous " in quoted field; a quote inside a quoted field must be doubled ("")`}
	case errors.As(err, &pe):
		return &CSVError{Path: cr.path, Line: pe.Line, Column: pe.Column, Msg: pe.Err.Error()}
	}
	return fmt.Errorf("read %s: %w", cr.path, err)
}

// Check reads a whole contact file and returns how many data rows it holds and the
// first error that would stop a Reader (a *CSVError for a broken file). The uploader
// runs it before storing anything, so a broken file enqueues nothing. Rows with a Problem are
// counted, not errors.
func Check(r io.Reader, opt Options) (rows int, err error) {
	cr, err := NewReader(r, opt)
	if err != nil {
		return 0, err
	}
	for {
		if _, err := cr.Read(); err == io.EOF {
			return rows, nil
		} else if err != nil {
			return rows, err
		}
		rows++
	}
}

// detectDelimiter returns the most frequent of , ; and tab outside quotes on the first line of
// head, preferring them in that order on a tie, and ',' when none occurs.
func detectDelimiter(head []byte) rune {
	var comma, semi, tab int
	quoted := false
scan:
	for _, c := range head {
		switch {
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '\n', c == '\r':
			break scan
		case c == ',':
			comma++
		case c == ';':
			semi++
		case c == '\t':
			tab++
		}
	}
	switch {
	case semi > comma && semi >= tab:
		return ';'
	case tab > comma && tab > semi:
		return '\t'
	}
	return ','
}

func delimiterName(r rune) string {
	switch r {
	case '\t':
		return "a tab"
	case ';':
		return "a ';'"
	}
	return "a ','"
}

// recordGuard passes bytes through to the csv.Reader and fails once the record being read
// is over maxRecordBytes: more than that past mark, the input offset where it began.
type recordGuard struct {
	r    io.Reader
	n    int64 // bytes passed on
	mark int64 // input offset of the end of the last record read
	eof  bool  // r has returned io.EOF
}

func (g *recordGuard) Read(p []byte) (int, error) {
	if g.n-g.mark > maxRecordBytes {
		return 0, errRecordTooLong
	}
	n, err := g.r.Read(p)
	g.n += int64(n)
	if err == io.EOF {
		g.eof = true
	}
	return n, err
}

// ParseDelimiter reads a contact file delimiter as an operator writes it: "," ";" or
// "tab" (or a tab character, or `\t`); "" is 0, which means the campaign file's, else
// detected. Anything else is an error listing the choices.
func ParseDelimiter(s string) (rune, error) {
	switch s {
	case "":
		return 0, nil
	case ",", ";":
		return rune(s[0]), nil
	case "tab", `\t`, "\t":
		return '\t', nil
	}
	return 0, fmt.Errorf(`delimiter %q: want "," ";" or "tab"`, s)
}
