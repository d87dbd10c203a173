package suppression

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/dialerhq/dialer/internal/phone"
	"github.com/gocarina/gocsv"
	"github.com/redis/go-redis/v9"
)

// ImportResult counts what Import did with a file's rows.
type ImportResult struct {
	// Rows is the number of data rows read; rows whose cells are all empty are not counted.
	// Rows == Added + AlreadyThere + len(Rejected) once the whole file is read.
	Rows int
	// Added is the number of rows whose number was not on the list before.
	Added int
	// AlreadyThere is the number of rows whose number the list held already, an earlier row
	// of the same file included.
	AlreadyThere int
	// Rejected holds every row whose number could not be used, in file order.
	Rejected []Rejected
}

// Rejected is a row Import refused.
type Rejected struct {
	Line   int    // 1-based file line the row starts on
	Number string // the number cell as written
	Reason string // why, e.g. "not a valid US number (too short)"
}

// importRow is one row of a suppression file. Its tags are the file's only columns.
type importRow struct {
	Number string `csv:"number"`
	Reason string `csv:"reason"`
}

// importBatch is how many numbers go to Redis in one pipeline.
const importBatch = 512

// Import reads a suppression file from r and adds its numbers to campaign campaignID's list,
// or to the global list when campaignID is "". path names the file in errors; it is never
// opened.
//
// The file is CSV with a header row naming the columns number (required) and reason
// (optional, read and not kept); names are matched ignoring case and surrounding space.
// The delimiter is ',', ';' or tab, whichever the header line holds most. A UTF-8
// byte-order mark, CRLF line endings and quoted cells are accepted. Each number is normalised
// to E.164 with phone.Normalize and region (the ISO code of numbers written without
// +country, e.g. "US"; "" requires +country).
//
// Import streams: its memory does not grow with the file, only with the number of rejected
// rows. A row whose number cannot be normalised does not stop it: the row goes to
// Result.Rejected with its line and reason. A row with more or fewer cells than the header is
// read as far as it goes; if its number cell is not a number, it is rejected the same way.
//
// It returns an error, naming the file and line, when the header is missing, names another
// column, names one twice or lacks number; when the file cannot be read or parsed (a stray or
// unclosed quote); or when Redis fails. Numbers of the rows before a mid-file error stay
// added, and the result, never nil, counts them.
func (l *List) Import(ctx context.Context, r io.Reader, path, region, campaignID string) (*ImportResult, error) {
	return l.ImportColumn(ctx, r, path, region, campaignID, "")
}

// ImportColumn is Import reading the numbers from the column named column (matched ignoring
// case and surrounding space) instead of number, for a file exported by another system. Every
// other column is then ignored. With column "" it is Import. A header without that column is
// refused, naming the columns it has.
func (l *List) ImportColumn(ctx context.Context, r io.Reader, path, region, campaignID, column string) (*ImportResult, error) {
	res := &ImportResult{}
	key := globalKey()
	if campaignID != "" {
		key = campaignKey(campaignID)
	}
	cr, err := newCSVReader(r, path)
	if err != nil {
		return res, err
	}
	um, err := gocsv.NewUnmarshaller(cr, importRow{})
	switch {
	case errors.Is(err, io.EOF):
		return res, fmt.Errorf("%s: file is empty; its first line must be the header: number,reason", path)
	case err != nil:
		return res, parseError(path, err)
	}
	if column != "" {
		err = pickColumn(path, um, column)
	} else {
		err = checkHeader(path, um)
	}
	if err != nil {
		return res, err
	}

	batch := make([]pending, 0, importBatch)
	flush := func() error {
		if err := l.addBatch(ctx, key, batch, res); err != nil {
			return fmt.Errorf("%s: add %d numbers to the suppression list: %w", path, len(batch), err)
		}
		batch = batch[:0]
		return nil
	}
	for {
		v, err := um.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			if ferr := flush(); ferr != nil {
				return res, ferr
			}
			return res, parseError(path, err)
		}
		row := v.(importRow)
		if strings.TrimSpace(row.Number) == "" && strings.TrimSpace(row.Reason) == "" {
			continue // a blank row, such as a lone delimiter
		}
		line, _ := cr.FieldPos(0)
		res.Rows++
		number, err := phone.Normalize(row.Number, region)
		if err != nil {
			res.Rejected = append(res.Rejected, Rejected{Line: line, Number: row.Number, Reason: err.Error()})
			continue
		}
		batch = append(batch, pending{line: line, number: number})
		if len(batch) == importBatch {
			if err := flush(); err != nil {
				return res, err
			}
		}
	}
	return res, flush()
}

// pending is a normalised number waiting for its batch to go to Redis.
type pending struct {
	line   int
	number string
}

// addBatch adds batch to key with one SADD per number, in one pipeline, so that each row is
// counted as added or already there, a repeat within the batch included.
func (l *List) addBatch(ctx context.Context, key string, batch []pending, res *ImportResult) error {
	if len(batch) == 0 {
		return nil
	}
	pipe := l.rdb.Pipeline()
	cmds := make([]*redis.IntCmd, len(batch))
	for i, p := range batch {
		cmds[i] = pipe.SAdd(ctx, key, p.number)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return err
	}
	for _, cmd := range cmds {
		if cmd.Val() == 1 {
			res.Added++
		} else {
			res.AlreadyThere++
		}
	}
	return nil
}

// newCSVReader returns a csv.Reader of r without its UTF-8 byte-order mark (gocsv would keep
// it in the first column's name), with the delimiter the header line uses.
func newCSVReader(r io.Reader, path string) (*csv.Reader, error) {
	const sniff = 4096
	br := bufio.NewReaderSize(r, sniff)
	head, err := br.Peek(sniff)
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	switch {
	case bytes.HasPrefix(head, []byte("\xef\xbb\xbf")):
		br.Discard(3)
		head = head[3:]
	case bytes.HasPrefix(head, []byte("\xff\xfe")), bytes.HasPrefix(head, []byte("\xfe\xff")):
		return nil, fmt.Errorf("%s: file is UTF-16 text; save it as \"CSV UTF-8\"", path)
	}
	cr := csv.NewReader(br)
	cr.Comma = delimiter(head)
	cr.FieldsPerRecord = -1 // a ragged row is read as far as it goes; see Import
	cr.ReuseRecord = true
	return cr, nil
}

// delimiter returns the one of ',', ';' and '\t' that the first line of head holds most,
// ',' on a tie or when it holds none (a one-column file).
func delimiter(head []byte) rune {
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		head = head[:i]
	}
	best, most := ',', bytes.Count(head, []byte{','})
	for _, d := range []rune{';', '\t'} {
		if n := bytes.Count(head, []byte{byte(d)}); n > most {
			best, most = d, n
		}
	}
	return best
}

// pickColumn points the unmarshaller's number at the column named column and ignores every
// other column, or says that the header has no such column.
func pickColumn(path string, um *gocsv.Unmarshaller, column string) error {
	want := strings.ToLower(strings.TrimSpace(column))
	names := make([]string, len(um.Headers))
	found := false
	for i, h := range um.Headers {
		if strings.ToLower(strings.TrimSpace(h)) == want && !found {
			names[i], found = "number", true
			continue
		}
		names[i] = fmt.Sprintf("ignored column %d", i+1) // matches no field
	}
	if !found {
		quoted := make([]string, len(um.Headers))
		for i, h := range um.Headers {
			quoted[i] = fmt.Sprintf("%q", h)
		}
		return fmt.Errorf("%s:1: no column %q (named by --column); the header has %s", path, column, strings.Join(quoted, ", "))
	}
	return um.RenormalizeHeaders(func([]string) []string { return names })
}

// checkHeader refuses a header that is not number and, optionally, reason, and points the
// unmarshaller at the normalised names.
func checkHeader(path string, um *gocsv.Unmarshaller) error {
	written := append([]string(nil), um.Headers...)
	names := make([]string, len(written))
	var unknown []string
	seen := map[string]int{}
	hasNumber := false
	for i, h := range written {
		name := strings.ToLower(strings.TrimSpace(h))
		names[i] = name
		switch name {
		case "number":
			hasNumber = true
		case "reason":
		default:
			unknown = append(unknown, fmt.Sprintf("%q", h))
			continue
		}
		if j, dup := seen[name]; dup {
			return fmt.Errorf("%s:1: header names columns %d and %d both %q; remove one of them", path, j+1, i+1, name)
		}
		seen[name] = i
	}
	const want = "a suppression file has the columns number (required) and reason (optional)"
	if len(unknown) > 0 {
		noun := "column"
		if len(unknown) > 1 {
			noun = "columns"
		}
		hint := ""
		if !hasNumber {
			hint = "; name the column of numbers \"number\""
		}
		return fmt.Errorf("%s:1: unknown %s %s; %s%s", path, noun, strings.Join(unknown, ", "), want, hint)
	}
	if !hasNumber {
		return fmt.Errorf("%s:1: no column \"number\"; %s", path, want)
	}
	return um.RenormalizeHeaders(func([]string) []string { return names })
}

// parseError turns an error of the CSV reader into one naming the file, line and column.
func parseError(path string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s:%d:%d: %v; check the quoting of the row that starts on line %d", path, pe.Line, pe.Column, pe.Err, pe.StartLine)
	}
	return fmt.Errorf("read %s: %w", path, err)
}
