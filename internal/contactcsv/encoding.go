package contactcsv

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/transform"
)

// Encoding is a contact file's character encoding.
type Encoding string

const (
	// EncodingUTF8 is the default: the file must be valid UTF-8 (with or without a byte
	// order mark), as Excel's "CSV UTF-8 (Comma delimited)" writes it.
	EncodingUTF8 Encoding = "utf-8"
	// EncodingWindows1252 is what Excel on Windows writes for "CSV (Comma delimited)" in
	// Western European and American locales.
	EncodingWindows1252 Encoding = "windows-1252"
	// EncodingLatin1 is ISO-8859-1.
	EncodingLatin1 Encoding = "latin-1"
)

// Encodings lists the encodings ParseEncoding accepts, by their canonical names.
var Encodings = []Encoding{EncodingUTF8, EncodingWindows1252, EncodingLatin1}

// ParseEncoding reads an encoding's name, case-insensitively: utf-8 (utf8), windows-1252
// (cp1252), latin-1 (latin1, iso-8859-1). "" is EncodingUTF8. Other names are an error that
// lists the accepted ones.
func ParseEncoding(s string) (Encoding, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "utf-8", "utf8":
		return EncodingUTF8, nil
	case "windows-1252", "cp1252":
		return EncodingWindows1252, nil
	case "latin-1", "latin1", "iso-8859-1":
		return EncodingLatin1, nil
	}
	return "", fmt.Errorf("unknown encoding %q; use utf-8, windows-1252 or latin-1", s)
}

// decoder returns r decoded from e to UTF-8. UTF-8 is checked instead, by utf8Guard.
func (e Encoding) decoder(r io.Reader) io.Reader {
	switch e {
	case EncodingWindows1252:
		return transform.NewReader(r, charmap.Windows1252.NewDecoder())
	case EncodingLatin1:
		return transform.NewReader(r, charmap.ISO8859_1.NewDecoder())
	}
	return &utf8Guard{r: r, line: 1, col: 1}
}

// notUTF8Error is a byte that is not UTF-8, where utf8Guard found it.
type notUTF8Error struct {
	line, col int  // 1-based; col counts bytes
	b         byte // the first byte of the bad sequence
}

func (e *notUTF8Error) Error() string {
	return fmt.Sprintf("line %d column %d: byte 0x%02X is not UTF-8", e.line, e.col, e.b)
}

// utf8Guard passes UTF-8 text through and fails at the first byte that is not UTF-8, with
// its line and column: a contact file in another encoding is refused whole, before anything
// is stored, instead of loading with every accented row invalid.
type utf8Guard struct {
	r         io.Reader
	line, col int    // position of the next byte checked
	chunk     []byte // the last read, reused
	out       []byte // the checked bytes of chunk not yet passed on
	carry     []byte // the start of a character split across reads, not yet checked
	err       error  // what to return once out is passed on
}

func (g *utf8Guard) Read(p []byte) (int, error) {
	for len(g.out) == 0 {
		if g.err != nil {
			return 0, g.err
		}
		g.fill()
	}
	n := copy(p, g.out)
	g.out = g.out[n:]
	return n, nil
}

// fill reads the next chunk and checks it, holding back a character cut off at its end.
func (g *utf8Guard) fill() {
	if g.chunk == nil {
		g.chunk = make([]byte, 32<<10)
	}
	k := copy(g.chunk, g.carry)
	n, err := g.r.Read(g.chunk[k:])
	n += k
	end := n
	if err == nil {
		end = fullRunes(g.chunk[:n])
	}
	g.carry = append(g.carry[:0], g.chunk[end:n]...)
	good, bad := g.scan(g.chunk[:end])
	g.out = g.chunk[:good]
	switch {
	case bad != nil:
		g.err = bad
	case err == io.EOF && len(g.carry) > 0:
		g.err = &notUTF8Error{line: g.line, col: g.col, b: g.carry[0]}
	case err != nil:
		g.err = err
	}
}

// scan advances the position over b's valid prefix and returns its length, and the error
// for the byte after it, if any.
func (g *utf8Guard) scan(b []byte) (int, error) {
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if c == '\n' {
				g.line++
				g.col = 1
			} else {
				g.col++
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i, &notUTF8Error{line: g.line, col: g.col, b: c}
		}
		g.col += size
		i += size
	}
	return len(b), nil
}

// fullRunes returns the length of b without a character cut off at its end.
func fullRunes(b []byte) int {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if utf8.FullRune(b[i:]) {
				return len(b)
			}
			return i
		}
	}
	return len(b)
}

// crOnly reports whether head's lines end in a lone CR, as old Mac Excel writes "CSV":
// the first line break is a CR not followed by LF.
func crOnly(head []byte) bool {
	i := bytes.IndexAny(head, "\r\n")
	return i >= 0 && head[i] == '\r' && (i+1 == len(head) || head[i+1] != '\n')
}

// crToLF turns every CR into LF, byte for byte, so that encoding/csv (which knows LF and
// CRLF) reads a file whose lines end in CR alone.
type crToLF struct{ r io.Reader }

func (c crToLF) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	for i, b := range p[:n] {
		if b == '\r' {
			p[i] = '\n'
		}
	}
	return n, err
}

// sniffNotCSV looks at a contact file's first bytes (after any byte order mark) for what
// is no CSV text: UTF-16 without a byte order mark, a spreadsheet or PDF, or binary data.
// It returns the message for the user, or "".
func sniffNotCSV(head []byte) string {
	const saveAs = `in Excel, choose File > Save As > "CSV UTF-8 (Comma delimited)"`
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return "not a CSV file: it is a zip archive, such as an Excel workbook (.xlsx); " + saveAs
	case bytes.HasPrefix(head, []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")):
		return "not a CSV file: it is an old Excel workbook (.xls); " + saveAs
	case bytes.HasPrefix(head, []byte("%PDF-")):
		return "not a CSV file: it is a PDF; export the contacts from their source as \"CSV UTF-8\""
	}
	if le, be := utf16Shape(head); le || be {
		order := "little-endian"
		if be {
			order = "big-endian"
		}
		return "file is UTF-16 text (" + order + ", without a byte order mark); save it as \"CSV UTF-8\""
	}
	if i := bytes.IndexByte(head, 0); i >= 0 {
		return fmt.Sprintf("not a CSV file: it holds binary data (a NUL byte at byte %d); export the contacts as \"CSV UTF-8\"", i+1)
	}
	controls := 0
	for _, c := range head {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' {
			controls++
		}
	}
	if controls > 8 && controls*100 > len(head) {
		return fmt.Sprintf("not a CSV file: %d of its first %d bytes are control characters, as in binary data; export the contacts as \"CSV UTF-8\"", controls, len(head))
	}
	return ""
}

// utf16Shape reports whether head reads as UTF-16 without a byte order mark: mostly-ASCII
// text has a NUL in every second byte, the odd ones for little-endian, the even ones for
// big-endian.
func utf16Shape(head []byte) (le, be bool) {
	head = head[:min(len(head), 1024)&^1]
	if len(head) < 4 {
		return false, false
	}
	var even, odd int
	for i, c := range head {
		if c != 0 {
			continue
		}
		if i%2 == 0 {
			even++
		} else {
			odd++
		}
	}
	half := len(head) / 2
	return odd*2 > half && even*20 < half, even*2 > half && odd*20 < half
}
