package campaign

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"time"
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
var ReportColumns = []string{
	"phone_e164", "outcome", "attempts", "call_id", "started_at", "ended_at",
	"phone_call_status", "ended_by", "success_evaluation", "summary", "structured_data", "error",
}

// OutcomePending is what a report says for a contact without a final outcome yet.
const OutcomePending Outcome = "pending"

// reportBatch is how many contacts one Redis round trip reads.
const reportBatch = 500

// WriteReport writes campaign id's report to w as CSV, streamed: one row per contact file
// row, in input order, holding every original column as read and then ReportColumns.
// A row shorter than the header is padded with empty cells and a longer one cut to the
// header's width (its error cell says so). Unless opt.Raw, cells a spreadsheet would run as
// formulas are neutralised (SafeCell). It returns the number of rows written and
// ErrCampaignNotFound for an unknown campaign.
func (s *Store) WriteReport(ctx context.Context, id string, w io.Writer, opt ReportOptions) (int, error) {
	c, err := s.Campaign(ctx, id)
	if err != nil {
		return 0, err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	cw := csv.NewWriter(bw)
	record := ReportHeader(c)
	for i := range record {
		record[i] = opt.cell(record[i])
	}
	if err := cw.Write(record); err != nil {
		return 0, err
	}
	written := 0
	for from := 1; from <= c.Rows; from += reportBatch {
		contacts, err := s.Contacts(ctx, id, from, min(from+reportBatch-1, c.Rows))
		if err != nil {
			return written, err
		}
		for _, ct := range contacts {
			record = ReportRecord(c, ct, record)
			for i := range record {
				record[i] = opt.cell(record[i])
			}
			if err := cw.Write(record); err != nil {
				return written, fmt.Errorf("write report: %w", err)
			}
			written++
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return written, fmt.Errorf("write report: %w", err)
	}
	return written, bw.Flush()
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
	outcome := ct.Outcome
	if outcome == "" {
		outcome = OutcomePending
	}
	r := ct.Last
	copy(record[width:], []string{
		ct.Number, string(outcome), strconv.Itoa(ct.Attempts), r.CallID,
		reportTime(r.StartedAt), reportTime(r.EndedAt), r.PhoneCallStatus, r.EndedBy,
		r.SuccessEvaluation, r.Summary, r.StructuredData, r.Error,
	})
	return record
}

func reportTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
