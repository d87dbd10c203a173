package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/simulator"
)

// reportRow is what the checks read of one row of `dialer report`.
type reportRow struct {
	phone    string // phone_e164
	outcome  string // final outcome, or "pending"
	attempts int
	errText  string // error
}

// attemptRow is what the checks read of one row of `dialer report --attempts`.
type attemptRow struct {
	campaign     string // the campaign's ID: not in the report, set by whoever reads it
	row, attempt int
	worker       string
	callID       string
	outcome      string // this attempt's outcome
	errText      string
}

// readCSV reads a CSV with a header row and returns, for each data row, its cells by
// column name. Every name in need must be in the header.
func readCSV(r io.Reader, need ...string) ([]map[string]string, error) {
	recs, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("no header row")
	}
	for _, n := range need {
		if !slices.Contains(recs[0], n) {
			return nil, fmt.Errorf("no column %q in header %q", n, recs[0])
		}
	}
	out := make([]map[string]string, 0, len(recs)-1)
	for _, rec := range recs[1:] {
		m := make(map[string]string, len(rec))
		for i, v := range rec {
			m[recs[0][i]] = v
		}
		out = append(out, m)
	}
	return out, nil
}

// readReport reads a contact report (`dialer report --raw`): one row per input row, in
// input order.
func readReport(r io.Reader) ([]reportRow, error) {
	rows, err := readCSV(r, "phone_e164", "outcome", "attempts", "error")
	if err != nil {
		return nil, fmt.Errorf("read report: %w", err)
	}
	out := make([]reportRow, len(rows))
	for i, m := range rows {
		n, err := strconv.Atoi(m["attempts"])
		if err != nil {
			return nil, fmt.Errorf("read report: row %d: attempts %q: %v", i+1, m["attempts"], err)
		}
		out[i] = reportRow{phone: m["phone_e164"], outcome: m["outcome"], attempts: n, errText: m["error"]}
	}
	return out, nil
}

// readAttempts reads an attempt report (`dialer report --attempts --raw`).
func readAttempts(r io.Reader) ([]attemptRow, error) {
	rows, err := readCSV(r, "row", "attempt", "worker", "call_id", "outcome", "error")
	if err != nil {
		return nil, fmt.Errorf("read attempt report: %w", err)
	}
	out := make([]attemptRow, len(rows))
	for i, m := range rows {
		row, err1 := strconv.Atoi(m["row"])
		a, err2 := strconv.Atoi(m["attempt"])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("read attempt report: line %d: row %q, attempt %q are not numbers", i+2, m["row"], m["attempt"])
		}
		out[i] = attemptRow{row: row, attempt: a, worker: m["worker"], callID: m["call_id"], outcome: m["outcome"], errText: m["error"]}
	}
	return out, nil
}

// findings are what the checks found wrong in one run; every count must be 0.
type findings struct {
	// dials counts the simulator's dials of the campaign.
	dials int
	// doubleDials counts dials beyond the first of one (contact, attempt).
	doubleDials int
	// strayDials counts dials that are not of the campaign's contacts: another campaign,
	// a row not in the file, a number not the row's, an attempt with no number.
	strayDials int
	// lost counts contacts with no final outcome: pending, or missing from the report.
	lost int
	// wrong counts contacts whose final outcome or attempts are not what the script makes.
	wrong int
	// offLog counts contacts whose attempt records do not match the simulator's dial log:
	// each attempt recorded with the call id and outcome of its dial, and each dial recorded.
	offLog int
	// problems describes each finding, in the order found.
	problems []string
}

// broken returns the number of findings.
func (f *findings) broken() int { return f.doubleDials + f.strayDials + f.lost + f.wrong + f.offLog }

func (f *findings) problem(format string, args ...any) {
	f.problems = append(f.problems, fmt.Sprintf(format, args...))
}

// dialsOf splits the simulator's dial log by campaign: the dials of each of ids, in order,
// and those of none of them.
func dialsOf(ids []string, dials []simulator.Dial) (byCampaign [][]simulator.Dial, none []simulator.Dial) {
	byCampaign = make([][]simulator.Dial, len(ids))
	for _, d := range dials {
		id, _ := d.Metadata["campaignId"].(string)
		if k := slices.Index(ids, id); k >= 0 {
			byCampaign[k] = append(byCampaign[k], d)
		} else {
			none = append(none, d)
		}
	}
	return byCampaign, none
}

// checkRun checks every campaign of a run with check, each against its own contacts,
// reports and dials, and adds up the findings. A dial of none of the run's campaigns is
// stray. With more than one campaign, each problem starts with its campaign's name.
func checkRun(camps []chaosCampaign, ran []campaignRun, dials []simulator.Dial) findings {
	ids := make([]string, len(ran))
	for k, cr := range ran {
		ids[k] = cr.id
	}
	byCampaign, none := dialsOf(ids, dials)
	var f findings
	for _, d := range none {
		f.strayDials++
		f.problem("call %s to %s is of campaign %v, none of the run's %v", d.CallID, d.Number, d.Metadata["campaignId"], ids)
	}
	for k, cr := range ran {
		fk := check(cr.id, camps[k].contacts, cr.report, cr.attempts, byCampaign[k])
		f.dials += fk.dials
		f.doubleDials += fk.doubleDials
		f.strayDials += fk.strayDials
		f.lost += fk.lost
		f.wrong += fk.wrong
		f.offLog += fk.offLog
		for _, p := range fk.problems {
			if len(ran) > 1 {
				p = camps[k].file.Name + ": " + p
			}
			f.problems = append(f.problems, p)
		}
	}
	return f
}

// check compares what became of campaign id's contacts (its contact and attempt reports)
// with their scripts and with the simulator's dial log.
func check(id string, contacts []contact, report []reportRow, attempts []attemptRow, dials []simulator.Dial) findings {
	var f findings
	byKey := map[campaign.AttemptRef][]simulator.Dial{}
	for _, d := range dials {
		campaignID, _ := d.Metadata["campaignId"].(string)
		k, ok := campaign.AttemptFromMetadata(d.Metadata)
		switch {
		case campaignID != id:
			f.strayDials++
			f.problem("call %s to %s is of campaign %q, not %s", d.CallID, d.Number, campaignID, id)
			continue
		case !ok || k.ContactID > len(contacts):
			f.strayDials++
			f.problem("call %s to %s has contactId %v and attempt %v, which name no attempt of the %d contacts", d.CallID, d.Number, d.Metadata["contactId"], d.Metadata["attempt"], len(contacts))
			continue
		case d.Number != contacts[k.ContactID-1].number:
			f.strayDials++
			f.problem("call %s of row %d dialed %s; the row's number is %s", d.CallID, k.ContactID, d.Number, contacts[k.ContactID-1].number)
			continue
		}
		f.dials++
		byKey[k] = append(byKey[k], d)
	}
	for k, ds := range byKey {
		if len(ds) > 1 {
			f.doubleDials += len(ds) - 1
			ids := make([]string, len(ds))
			for i, d := range ds {
				ids[i] = d.CallID + " at " + d.At.Format("15:04:05.000")
			}
			f.problem("row %d attempt %d was dialed %d times: %s", k.ContactID, k.Attempt, len(ds), strings.Join(ids, ", "))
		}
	}
	recorded := map[campaign.AttemptRef]attemptRow{}
	for _, r := range attempts {
		recorded[campaign.AttemptRef{CampaignID: id, ContactID: r.row, Attempt: r.attempt}] = r
	}

	for _, c := range contacts {
		if c.row > len(report) {
			f.lost++
			f.problem("row %d is missing from the report", c.row)
			continue
		}
		r := report[c.row-1]
		if r.outcome == "" || r.outcome == "pending" {
			f.lost++
			f.problem("row %d (%s) has no final outcome after %d attempts", c.row, c.class.name, r.attempts)
			continue
		}
		if r.outcome != c.class.outcome || r.attempts != c.class.attempts {
			f.wrong++
			f.problem("row %d (%s): outcome %s after %d attempts, want %s after %d; error %q",
				c.row, c.class.name, r.outcome, r.attempts, c.class.outcome, c.class.attempts, r.errText)
		}
		if why := offLog(id, c, r.attempts, byKey, recorded); why != "" {
			f.offLog++
			f.problem("row %d: %s", c.row, why)
		}
	}
	return f
}

// offLog returns why the attempt records of contact c of campaign id, n of them, do not
// match the dial log, or "" when they do: each of attempts 1..n recorded with the call id
// and outcome of its one dial, and no dial of a later attempt.
func offLog(id string, c contact, n int, byKey map[campaign.AttemptRef][]simulator.Dial, recorded map[campaign.AttemptRef]attemptRow) string {
	for a := 1; a <= n; a++ {
		k := campaign.AttemptRef{CampaignID: id, ContactID: c.row, Attempt: a}
		rec, ok := recorded[k]
		ds := byKey[k]
		switch {
		case !ok:
			return fmt.Sprintf("attempt %d is not in the attempt report", a)
		case len(ds) == 0:
			return fmt.Sprintf("attempt %d (call %q, worker %s) was never dialed, by the simulator's log", a, rec.callID, rec.worker)
		case rec.callID != ds[0].CallID:
			return fmt.Sprintf("attempt %d is recorded with call %q; its dial was call %s", a, rec.callID, ds[0].CallID)
		case rec.outcome != ds[0].Outcome:
			return fmt.Sprintf("attempt %d is recorded %q; its call %s ended %s", a, rec.outcome, ds[0].CallID, ds[0].Outcome)
		}
	}
	for a := n + 1; a <= maxAttemptsAllowed; a++ {
		if ds := byKey[campaign.AttemptRef{CampaignID: id, ContactID: c.row, Attempt: a}]; len(ds) > 0 {
			return fmt.Sprintf("attempt %d was dialed (call %s) but the report counts %d attempts", a, ds[0].CallID, n)
		}
	}
	return ""
}

// maxAttemptsAllowed is the most retry.maxAttempts a campaign file may set.
const maxAttemptsAllowed = 10
