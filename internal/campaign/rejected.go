package campaign

import (
	"context"
	"fmt"
	"io"
	"strconv"
)

// RejectedColumns are the columns a rejected-rows file puts before the contact file's own:
// the row's line in the contact file, its outcome (invalid, duplicate or suppressed) and why.
var RejectedColumns = []string{"line", "outcome", "reason"}

// WriteRejected writes, as CSV streamed to w, the rows of campaign id that its upload
// refused (invalid, duplicate or suppressed, never dialed), in input order: RejectedColumns
// then the contact file's columns as read, so the file can be fixed and uploaded again once
// the first three columns are dropped. Unless opt.Raw, formula cells are neutralised
// (SafeCell). It returns the number of rows written and ErrCampaignNotFound for an unknown
// campaign.
func (s *Store) WriteRejected(ctx context.Context, id string, w io.Writer, opt ReportOptions) (int, error) {
	c, err := s.Campaign(ctx, id)
	if err != nil {
		return 0, err
	}
	record := append(append([]string(nil), RejectedColumns...), c.Header...)
	for i := range record {
		record[i] = opt.cell(record[i])
	}
	buf := appendCSVRecord([]byte(opt.bom()), record)
	written := 0
	for from := 1; from <= c.Rows; from += exportBatch {
		contacts, err := s.Contacts(ctx, id, from, min(from+exportBatch-1, c.Rows))
		if err != nil {
			return written, err
		}
		for _, ct := range contacts {
			if !refusedAtUpload(ct) {
				continue
			}
			record = append(record[:0], strconv.Itoa(ct.Line), string(ct.Outcome), ct.Last.Error)
			for i := range c.Header {
				cell := ""
				if i < len(ct.Fields) {
					cell = ct.Fields[i]
				}
				record = append(record, cell)
			}
			for i := range record {
				record[i] = opt.cell(record[i])
			}
			buf = appendCSVRecord(buf, record)
			written++
		}
		if _, err := w.Write(buf); err != nil {
			return written, fmt.Errorf("write rejected rows: %w", err)
		}
		buf = buf[:0]
	}
	return written, nil
}

// refusedAtUpload reports whether the upload gave ct its outcome without a dial.
func refusedAtUpload(ct *Contact) bool {
	switch ct.Outcome {
	case OutcomeInvalid, OutcomeDuplicate, OutcomeSuppressed:
		return ct.Attempts == 0
	}
	return false
}
