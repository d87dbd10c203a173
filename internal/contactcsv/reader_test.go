package contactcsv

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/dialerhq/dialer/internal/testutil"
)

// mustReadAll reads every row of a contact file, returning the header, the rows and the error
// that ended reading (nil at io.EOF).
func mustReadAll(tb testing.TB, in string, opt Options) ([]string, []*Row, error) {
	tb.Helper()
	cr, err := NewReader(strings.NewReader(in), opt)
	if err != nil {
		return nil, nil, err
	}
	var rows []*Row
	for {
		row, err := cr.Read()
		if err == io.EOF {
			return cr.Header(), rows, nil
		}
		if err != nil {
			return cr.Header(), rows, err
		}
		rows = append(rows, row)
	}
}

func TestReader(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		opt       Options
		wantDelim rune
		header    []string
		rows      []*Row
		err       error
	}{
		{
			name:      "simple",
			in:        "name,phone\nAda,415 555 0100\nBob,415 555 0101\n",
			wantDelim: ',',
			header:    []string{"name", "phone"},
			rows: []*Row{
				{Index: 1, Line: 2, Fields: []string{"Ada", "415 555 0100"}},
				{Index: 2, Line: 3, Fields: []string{"Bob", "415 555 0101"}},
			},
		},
		{
			name:      "BOM, CRLF, no final newline, trimmed header",
			in:        "\ufeff First Name ,phone\r\nAda,415 555 0100\r\nBob,415 555 0101",
			wantDelim: ',',
			header:    []string{"First Name", "phone"},
			rows: []*Row{
				{Index: 1, Line: 2, Fields: []string{"Ada", "415 555 0100"}},
				{Index: 2, Line: 3, Fields: []string{"Bob", "415 555 0101"}},
			},
		},
		{
			name:      "quoted cells hold commas, quotes and newlines",
			in:        "name,phone,notes\r\nAda,1,\"late, again\"\r\nBob,2,\"says \"\"hi\"\"\"\r\nCy,3,\"two\r\nlines\"\r\nDi,4,\r\n",
			wantDelim: ',',
			header:    []string{"name", "phone", "notes"},
			rows: []*Row{
				{Index: 1, Line: 2, Fields: []string{"Ada", "1", "late, again"}},
				{Index: 2, Line: 3, Fields: []string{"Bob", "2", `says "hi"`}},
				{Index: 3, Line: 4, Fields: []string{"Cy", "3", "two\nlines"}},
				{Index: 4, Line: 6, Fields: []string{"Di", "4", ""}},
			},
		},
		{
			name:      "blank lines and all-empty rows are skipped",
			in:        "name,phone\n\nAda,1\n,\n\r\nBob,2\n,,\n",
			wantDelim: ',',
			header:    []string{"name", "phone"},
			rows: []*Row{
				{Index: 1, Line: 3, Fields: []string{"Ada", "1"}},
				{Index: 2, Line: 6, Fields: []string{"Bob", "2"}},
			},
		},
		{
			name:      "ragged rows are problems, not errors",
			in:        "a,b,c\n1,2\n1,2,3,4\n1,2,3,,\n1,2,3\n",
			wantDelim: ',',
			header:    []string{"a", "b", "c"},
			rows: []*Row{
				{Index: 1, Line: 2, Fields: []string{"1", "2"}, Problem: "row has 2 fields, header has 3"},
				{Index: 2, Line: 3, Fields: []string{"1", "2", "3", "4"}, Problem: "row has 4 fields, header has 3; quote cells that hold a ','"},
				{Index: 3, Line: 4, Fields: []string{"1", "2", "3"}},
				{Index: 4, Line: 5, Fields: []string{"1", "2", "3"}},
			},
		},
		{
			name:   "Windows-1252 bytes refuse the file",
			in:     "name,phone\nAda,1\nJos\xe9,2\n",
			header: []string{"name", "phone"},
			rows:   []*Row{{Index: 1, Line: 2, Fields: []string{"Ada", "1"}}},
			err:    &CSVError{Line: 3, Column: 4, Err: ErrNotUTF8, Msg: notUTF8Msg(0xE9)},
		},
		{
			name: "not UTF-8 in the header",
			in:   "name,t\xe9l\xe9phone\nAda,1\n",
			err:  &CSVError{Line: 1, Column: 7, Err: ErrNotUTF8, Msg: notUTF8Msg(0xE9)},
		},
		{
			name:   "a character cut off at the end",
			in:     "name,phone\nAda,1\xc3",
			header: []string{"name", "phone"},
			err:    &CSVError{Line: 2, Column: 6, Err: ErrNotUTF8, Msg: notUTF8Msg(0xC3)},
		},
		{
			name:      "Windows-1252 decoded",
			in:        "name,phone,note\r\nJos\xe9,+14152000000,Se\xf1or caf\xe9 \x80 5\r\n",
			opt:       Options{Encoding: EncodingWindows1252},
			wantDelim: ',',
			header:    []string{"name", "phone", "note"},
			rows:      []*Row{{Index: 1, Line: 2, Fields: []string{"José", "+14152000000", "Señor café € 5"}}},
		},
		{
			name:      "Latin-1 decoded",
			in:        "name;phone\nFran\xe7oise;1\n",
			opt:       Options{Encoding: EncodingLatin1},
			wantDelim: ';',
			header:    []string{"name", "phone"},
			rows:      []*Row{{Index: 1, Line: 2, Fields: []string{"Françoise", "1"}}},
		},
		{
			name:      "lines ending in CR alone (old Mac Excel)",
			in:        "name;phone\rAda;1\rBob;2\r\"Cy\rD\";3\r",
			wantDelim: ';',
			header:    []string{"name", "phone"},
			rows: []*Row{
				{Index: 1, Line: 2, Fields: []string{"Ada", "1"}},
				{Index: 2, Line: 3, Fields: []string{"Bob", "2"}},
				{Index: 3, Line: 4, Fields: []string{"Cy\nD", "3"}},
			},
		},
		{
			name: "UTF-16 little-endian without a byte order mark",
			in:   "n\x00a\x00m\x00e\x00,\x00p\x00\n\x00",
			err:  &CSVError{Msg: `file is UTF-16 text (little-endian, without a byte order mark); save it as "CSV UTF-8"`},
		},
		{
			name: "UTF-16 big-endian without a byte order mark",
			in:   "\x00n\x00a\x00m\x00e\x00,\x00p\x00\n",
			err:  &CSVError{Msg: `file is UTF-16 text (big-endian, without a byte order mark); save it as "CSV UTF-8"`},
		},
		{
			name: "binary",
			in:   "\x7fELF\x02\x01\x01\x00\x00\"\x00",
			err:  &CSVError{Msg: `not a CSV file: it holds binary data (a NUL byte at byte 8); export the contacts as "CSV UTF-8"`},
		},
		{
			name: "an Excel workbook",
			in:   "PK\x03\x04\x14\x00\x06\x00[Content_Types].xml",
			opt:  Options{Encoding: EncodingWindows1252},
			err:  &CSVError{Msg: `not a CSV file: it is a zip archive, such as an Excel workbook (.xlsx); in Excel, choose File > Save As > "CSV UTF-8 (Comma delimited)"`},
		},
		{
			name:      "semicolons detected",
			in:        "name;phone;note\nAda;1;\"a, b; c\"\n",
			wantDelim: ';',
			header:    []string{"name", "phone", "note"},
			rows:      []*Row{{Index: 1, Line: 2, Fields: []string{"Ada", "1", "a, b; c"}}},
		},
		{
			name:      "tabs detected, commas inside quotes ignored",
			in:        "\"last, first\"\tphone\nLovelace, Ada\t1\n",
			wantDelim: '\t',
			header:    []string{"last, first", "phone"},
			rows:      []*Row{{Index: 1, Line: 2, Fields: []string{"Lovelace, Ada", "1"}}},
		},
		{
			name:      "single column defaults to comma",
			in:        "phone\n415 555 0100\n",
			wantDelim: ',',
			header:    []string{"phone"},
			rows:      []*Row{{Index: 1, Line: 2, Fields: []string{"415 555 0100"}}},
		},
		{
			name:      "given delimiter wins",
			in:        "a;b,c\n1;2,3\n",
			opt:       Options{Delimiter: ','},
			wantDelim: ',',
			header:    []string{"a;b", "c"},
			rows:      []*Row{{Index: 1, Line: 2, Fields: []string{"1;2", "3"}}},
		},
		{
			name:      "header only",
			in:        "name,phone\r\n",
			wantDelim: ',',
			header:    []string{"name", "phone"},
		},
		{
			name:      "bare quote",
			in:        "name,phone\nAda,1\nBob \"the\" builder,2\n",
			opt:       Options{Path: "c.csv"},
			wantDelim: ',',
			header:    []string{"name", "phone"},
			rows:      []*Row{{Index: 1, Line: 2, Fields: []string{"Ada", "1"}}},
			err:       &CSVError{Path: "c.csv", Line: 3, Column: 5, Msg: `bare " in non-quoted field; quote the field and double the quote inside it, e.g. "say ""hi"""`},
		},
		{
			name:      "extraneous quote",
			in:        "name,phone\n\"Ada\"x,1\n",
			wantDelim: ',',
			header:    []string{"name", "phone"},
			err:       &CSVError{Line: 2, Column: 5, Msg: `extraneous " in quoted field; a quote inside a quoted field must be doubled ("")`},
		},
		{
			name:      "quote never closed",
			in:        "name,phone\nAda,1\n\"Bob,2\nCy,3\nDi,4\n",
			wantDelim: ',',
			header:    []string{"name", "phone"},
			rows:      []*Row{{Index: 1, Line: 2, Fields: []string{"Ada", "1"}}},
			err:       &CSVError{Line: 3, Msg: `a quoted field in the record starting on this line is never closed; add the closing "`},
		},
		{
			name: "empty file",
			in:   "",
			opt:  Options{Path: "c.csv"},
			err:  &CSVError{Path: "c.csv", Msg: "file is empty; its first line must be a header naming the columns, e.g. First Name,phone"},
		},
		{
			name: "only a BOM and blank lines",
			in:   "\ufeff\r\n\r\n",
			err:  &CSVError{Msg: "file is empty; its first line must be a header naming the columns, e.g. First Name,phone"},
		},
		{
			name: "UTF-16",
			in:   "\xff\xfen\x00a\x00",
			err:  &CSVError{Msg: `file is UTF-16 text; save it as "CSV UTF-8"`},
		},
		{
			name: "empty header name",
			in:   "name,,phone\n",
			err:  &CSVError{Line: 1, Column: 6, Msg: "header column 2 has no name; name the column or remove it"},
		},
		{
			name: "duplicate header name",
			in:   "phone,name, phone\n",
			err:  &CSVError{Line: 1, Column: 12, Msg: `header names columns 1 and 3 both "phone"; rename one of them`},
		},
		{
			name:      "short last row (Check counts it)",
			in:        "name,phone\nAda,1\nBob\n",
			wantDelim: ',',
			header:    []string{"name", "phone"},
			rows: []*Row{
				{Index: 1, Line: 2, Fields: []string{"Ada", "1"}},
				{Index: 2, Line: 3, Fields: []string{"Bob"}, Problem: "row has 1 fields, header has 2"},
			},
		},
		{
			name:      "quote never closed in the last row (Check counts the row before)",
			in:        "name,phone\nAda,1\nBob,\"2\n",
			wantDelim: ',',
			header:    []string{"name", "phone"},
			rows:      []*Row{{Index: 1, Line: 2, Fields: []string{"Ada", "1"}}},
			err:       &CSVError{Line: 3, Msg: `a quoted field in the record starting on this line is never closed; add the closing "`},
		},
		{
			name: "empty file without a path",
			in:   "",
			err:  &CSVError{Msg: "file is empty; its first line must be a header naming the columns, e.g. First Name,phone"},
		},
		{
			name: "broken header",
			in:   "na\"me,phone\n",
			err:  &CSVError{Line: 1, Column: 3, Msg: `bare " in non-quoted field; quote the field and double the quote inside it, e.g. "say ""hi"""`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			header, rows, err := mustReadAll(t, tt.in, tt.opt)
			if diff := cmp.Diff(tt.err, err); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.header, header); diff != "" {
				t.Errorf("header (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.rows, rows); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
			// Check counts the rows and finds the error that reading them does.
			n, err := Check(strings.NewReader(tt.in), tt.opt)
			if n != len(tt.rows) {
				t.Errorf("Check: rows = %d, want %d", n, len(tt.rows))
			}
			if diff := cmp.Diff(tt.err, err); diff != "" {
				t.Errorf("Check: error (-want +got):\n%s", diff)
			}
			if tt.wantDelim == 0 {
				return
			}
			cr, err := NewReader(strings.NewReader(tt.in), tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			if got := cr.Delimiter(); got != tt.wantDelim {
				t.Errorf("Delimiter() = %q, want %q", got, tt.wantDelim)
			}
		})
	}
}

func notUTF8Msg(b byte) string {
	return fmt.Sprintf(`byte 0x%02X is not UTF-8, so the file is in another encoding, likely Windows-1252 (what Excel's "CSV (Comma delimited)" writes); save it in Excel as "CSV UTF-8 (Comma delimited)", or upload it with --encoding windows-1252`, b)
}

// The UTF-8 check holds a character cut between two reads back until the rest comes: a file
// read one byte at a time reads the same, and its first bad byte is found at the same place.
func TestReaderUTF8AcrossReads(t *testing.T) {
	good := "name,note\n" + strings.Repeat("Zoë,日本語 🙂\n", 3)
	read := func(r io.Reader) ([]string, error) {
		cr, err := NewReader(r, Options{})
		if err != nil {
			return nil, err
		}
		var cells []string
		for {
			row, err := cr.Read()
			if err == io.EOF {
				return cells, nil
			}
			if err != nil {
				return cells, err
			}
			cells = append(cells, row.Fields...)
		}
	}
	cells, err := read(iotest.OneByteReader(strings.NewReader(good)))
	if err != nil || len(cells) != 6 || cells[1] != "日本語 🙂" {
		t.Errorf("one byte at a time: %q, %v", cells, err)
	}
	_, err = read(iotest.OneByteReader(strings.NewReader(good + "x,\xf0\x9f\x99\n")))
	want := &CSVError{Line: 5, Column: 3, Err: ErrNotUTF8, Msg: notUTF8Msg(0xF0)}
	if diff := cmp.Diff(want, err); diff != "" {
		t.Errorf("cut-off character (-want +got):\n%s", diff)
	}
}

func TestCSVErrorError(t *testing.T) {
	tests := []struct {
		name string
		err  *CSVError
		want string
	}{
		{"everything", &CSVError{Path: "contacts.csv", Line: 12, Column: 8, Msg: "bad"}, "contacts.csv:12:8: bad"},
		{"no column", &CSVError{Path: "contacts.csv", Line: 12, Msg: "bad"}, "contacts.csv:12: bad"},
		{"no line", &CSVError{Path: "contacts.csv", Msg: "bad"}, "contacts.csv: bad"},
		{"no path", &CSVError{Line: 3, Column: 1, Msg: "bad"}, "3:1: bad"},
		{"nothing", &CSVError{Msg: "bad"}, "bad"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReaderColumn(t *testing.T) {
	cr, err := NewReader(strings.NewReader("First Name,phone\n"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		column string
		want   int
		ok     bool
	}{
		{"first", "First Name", 0, true},
		{"second", "phone", 1, true},
		{"surrounding space", " phone ", 1, true},
		{"case matters", "Phone", -1, false},
		{"missing", "email", -1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := cr.Column(tt.column)
			if got != tt.want || ok != tt.ok {
				t.Errorf("Column(%q) = %d, %v; want %d, %v", tt.column, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestRowDynamicVariables(t *testing.T) {
	header := []string{"First Name", "phone", "clinic"}
	tests := []struct {
		name string
		row  Row
		want map[string]string
	}{
		{"full", Row{Fields: []string{"Ada", "1", "Main St"}}, map[string]string{"First Name": "Ada", "phone": "1", "clinic": "Main St"}},
		{"short", Row{Fields: []string{"Ada"}}, map[string]string{"First Name": "Ada", "phone": "", "clinic": ""}},
		{"long", Row{Fields: []string{"Ada", "1", "Main St", "extra"}}, map[string]string{"First Name": "Ada", "phone": "1", "clinic": "Main St"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.row.DynamicVariables(header)); diff != "" {
				t.Errorf("DynamicVariables (-want +got):\n%s", diff)
			}
		})
	}
}

// TestReaderRecordLimit checks that a quote that is never closed in a large file stops
// reading after maxRecordBytes instead of reading the whole file into one field.
func TestReaderRecordLimit(t *testing.T) {
	var in bytes.Buffer
	in.WriteString("name,phone\nAda,1\n\"Bob,2\n")
	line := strings.Repeat("x", 99) + "\n"
	for in.Len() < 3*maxRecordBytes {
		in.WriteString(line)
	}
	src := &countingReader{r: &in}
	rows, err := Check(src, Options{})
	want := &CSVError{Line: 3, Msg: "record starting on or after this line is longer than 1 MiB; a quoted cell is probably never closed"}
	if diff := cmp.Diff(want, err); diff != "" {
		t.Errorf("error (-want +got):\n%s", diff)
	}
	if rows != 1 {
		t.Errorf("rows = %d, want 1", rows)
	}
	if src.n > maxRecordBytes+2*sniffBytes {
		t.Errorf("read %d bytes, want at most about %d", src.n, maxRecordBytes)
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// TestReaderStreams checks that reading a large file allocates per row, not per file:
// the reader holds no more than one record.
func TestReaderStreams(t *testing.T) {
	const rows = 20000
	var in bytes.Buffer
	in.WriteString("First Name,phone,notes\n")
	for range rows {
		in.WriteString("Ada,(415) 555-0100,\"a note, with a comma\"\n")
	}
	data := in.Bytes()
	allocs := testing.AllocsPerRun(3, func() {
		n, err := Check(bytes.NewReader(data), Options{})
		if err != nil || n != rows {
			t.Fatalf("Check = %d, %v", n, err)
		}
	})
	// Two allocations per row (the record's string and the copied slice) and a few for Row.
	if perRow := allocs / rows; perRow > 4 {
		t.Errorf("%.1f allocations per row, want at most 4", perRow)
	}
}

// FuzzContactReader checks that any input either reads or fails with a *CSVError, that rows
// are numbered 1, 2, 3 and that Check agrees with reading row by row.
func FuzzContactReader(f *testing.F) {
	testutil.AddFileSeeds(f, "testdata/*.csv")
	f.Fuzz(func(t *testing.T, data []byte) {
		header, rows, err := mustReadAll(t, string(data), Options{})
		var ce *CSVError
		if err != nil && !errors.As(err, &ce) {
			t.Fatalf("error %T %v, want *CSVError", err, err)
		}
		for i, row := range rows {
			if row.Index != i+1 {
				t.Fatalf("row %d has Index %d", i+1, row.Index)
			}
			if row.Problem == "" && len(row.Fields) != len(header) {
				t.Fatalf("row %d has %d fields, header %d, and no problem", row.Index, len(row.Fields), len(header))
			}
			if i > 0 && row.Line <= rows[i-1].Line {
				t.Fatalf("row %d starts on line %d, before row %d on line %d", row.Index, row.Line, i, rows[i-1].Line)
			}
		}
		n, checkErr := Check(bytes.NewReader(data), Options{})
		if n != len(rows) || !cmp.Equal(checkErr, err) {
			t.Fatalf("Check = %d, %v; reading gave %d, %v", n, checkErr, len(rows), err)
		}
		// Whatever the encoding, what comes out is UTF-8.
		for _, enc := range Encodings {
			header, rows, err := mustReadAll(t, string(data), Options{Encoding: enc})
			if err != nil && !errors.As(err, &ce) {
				t.Fatalf("%s: error %T %v, want *CSVError", enc, err, err)
			}
			for _, row := range append([]*Row{{Fields: header}}, rows...) {
				for _, f := range row.Fields {
					if !utf8.ValidString(f) {
						t.Fatalf("%s: row %d has a cell that is not UTF-8: %q", enc, row.Index, f)
					}
				}
			}
		}
	})
}
