package campaign

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"

	"github.com/gocarina/gocsv"
	"github.com/redis/go-redis/v9"
)

// AttemptRow is one row of the attempt report: one dial attempt and why it was allowed. Its
// columns are fixed, named by the csv tags, in this order.
type AttemptRow struct {
	CampaignID        string `csv:"campaign_id"`
	Row               int    `csv:"row"`        // the contact's 1-based row in the contact file
	PhoneE164         string `csv:"phone_e164"` // the number dialed
	Attempt           int    `csv:"attempt"`    // 1-based
	Worker            string `csv:"worker"`     // the worker that claimed it
	ClaimedAt         string `csv:"claimed_at"` // when it was claimed, just before the dial, RFC 3339 UTC
	CallID            string `csv:"call_id"`
	StartedAt         string `csv:"started_at"`
	EndedAt           string `csv:"ended_at"`
	Outcome           string `csv:"outcome"` // this attempt's outcome
	PhoneCallStatus   string `csv:"phone_call_status"`
	EndedBy           string `csv:"ended_by"`
	ContactLocalTime  string `csv:"contact_local_time"` // in each zone, at the claim
	ContactZones      string `csv:"contact_zones"`
	ZoneSource        string `csv:"zone_source"` // campaign, column, number or default
	CallingWindow     string `csv:"calling_window"`
	SuppressionCheck  string `csv:"suppression_check"`
	FrequencyCapCount string `csv:"frequency_cap_count"`
	CallerID          string `csv:"caller_id"` // the phoneNumberId the call came from
	Error             string `csv:"error"`
}

// neutralise passes every text cell of r through opt.cell.
func (r *AttemptRow) neutralise(opt ReportOptions) {
	for _, f := range []*string{
		&r.CampaignID, &r.PhoneE164, &r.Worker, &r.CallerID, &r.ClaimedAt, &r.CallID, &r.StartedAt, &r.EndedAt,
		&r.Outcome, &r.PhoneCallStatus, &r.EndedBy, &r.ContactLocalTime, &r.ContactZones,
		&r.ZoneSource, &r.CallingWindow, &r.SuppressionCheck, &r.FrequencyCapCount, &r.Error,
	} {
		*f = opt.cell(*f)
	}
}

var attemptReportFields = []string{
	"worker", "dialing_at", "call_id", "started_at", "ended_at", "attempt_outcome", "phone_call_status",
	"ended_by", "audit_local_time", "audit_zones", "audit_zone_source", "audit_window",
	"audit_suppression", "audit_frequency", "error", "caller_id",
}

// WriteAttemptReport writes campaign id's attempt report to w as CSV, streamed: one row per
// attempt begun, contacts in input order and each contact's attempts in order, with why each
// dial was allowed (see Audit). Rows never dialed have no attempts and no rows here; the
// contact report has them. Unless opt.Raw, cells a spreadsheet would run as formulas are
// neutralised (SafeCell); with opt.BOM the file starts with a UTF-8 byte-order mark. It returns the number of rows written and ErrCampaignNotFound for
// an unknown campaign.
func (s *Store) WriteAttemptReport(ctx context.Context, id string, w io.Writer, opt ReportOptions) (int, error) {
	c, err := s.Campaign(ctx, id)
	if err != nil {
		return 0, err
	}
	if _, err := io.WriteString(w, opt.bom()); err != nil {
		return 0, fmt.Errorf("write attempt report: %w", err)
	}
	out := gocsv.NewSafeCSVWriter(csv.NewWriter(w))
	// The header, from an empty slice; then every batch without one.
	if err := gocsv.MarshalCSV([]AttemptRow{}, out); err != nil {
		return 0, fmt.Errorf("write attempt report: %w", err)
	}
	written := 0
	for from := 1; from <= c.Rows; from += reportBatch {
		contacts, err := s.Contacts(ctx, id, from, min(from+reportBatch-1, c.Rows))
		if err != nil {
			return written, err
		}
		rows, err := s.attemptRows(ctx, id, contacts)
		if err != nil {
			return written, err
		}
		for i := range rows {
			rows[i].neutralise(opt)
		}
		if err := gocsv.MarshalCSVWithoutHeaders(rows, out); err != nil {
			return written, fmt.Errorf("write attempt report: %w", err)
		}
		written += len(rows)
	}
	out.Flush()
	return written, out.Error()
}

// attemptRows reads the attempts of contacts in one round trip.
func (s *Store) attemptRows(ctx context.Context, id string, contacts []*Contact) ([]AttemptRow, error) {
	type pending struct {
		ct  *Contact
		a   int
		cmd *redis.SliceCmd
	}
	var reads []pending
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, ct := range contacts {
			for a := 1; a <= ct.Attempts; a++ {
				reads = append(reads, pending{ct, a, p.HMGet(ctx, attemptKey(id, ct.ID, a), attemptReportFields...)})
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read attempts of %s: %w", id, err)
	}
	rows := make([]AttemptRow, len(reads))
	for i, r := range reads {
		d := hashDecoder{what: fmt.Sprintf("attempt %d of contact %d of campaign %s", r.a, r.ct.ID, id)}
		v := r.cmd.Val()
		str := func(j int) string {
			s, _ := v[j].(string)
			return s
		}
		rows[i] = AttemptRow{
			CampaignID: id, Row: r.ct.ID, PhoneE164: r.ct.Number, Attempt: r.a,
			Worker: str(0), ClaimedAt: reportTime(d.time(attemptReportFields[1], str(1))), CallID: str(2),
			StartedAt: reportTime(d.time(attemptReportFields[3], str(3))), EndedAt: reportTime(d.time(attemptReportFields[4], str(4))),
			Outcome: str(5), PhoneCallStatus: str(6), EndedBy: str(7),
			ContactLocalTime: str(8), ContactZones: str(9), ZoneSource: str(10),
			CallingWindow: str(11), SuppressionCheck: str(12), FrequencyCapCount: str(13), Error: str(14),
			CallerID: str(15),
		}
		if d.err != nil {
			return nil, d.err
		}
	}
	return rows, nil
}
