package campaign

import (
	"errors"
	"strings"
	"testing"
)

// TestDamagedHashIsAnError: a field of a campaign or contact hash that does not parse is an
// error that names the record and the field, not a silent zero.
func TestDamagedHashIsAnError(t *testing.T) {
	s, rdb := newStore(t)
	ctx := t.Context()
	rdb.HSet(ctx, campaignKey("c1"), "file", "{}", "header", `["phone"]`, "rows", "12x")
	_, err := s.Campaign(ctx, "c1")
	if err == nil || !strings.Contains(err.Error(), "campaign c1: field rows") {
		t.Errorf("Campaign with rows 12x: %v; want an error naming field rows", err)
	}
	rdb.HSet(ctx, campaignKey("c1"), "rows", "12")
	if c, err := s.Campaign(ctx, "c1"); err != nil || c.Rows != 12 {
		t.Fatalf("Campaign once repaired = %+v, %v", c, err)
	}

	rdb.HSet(ctx, contactKey("c1", 3), "line", "4", "row", `["+14155550100"]`, "attempts", "two")
	for name, read := range map[string]func() error{
		"Contact":  func() error { _, err := s.Contact(ctx, "c1", 3); return err },
		"Contacts": func() error { _, err := s.Contacts(ctx, "c1", 1, 3); return err },
	} {
		if err := read(); err == nil || !strings.Contains(err.Error(), "contact 3 of campaign c1: field attempts") {
			t.Errorf("%s with attempts two: %v; want an error naming field attempts", name, err)
		}
	}
	rdb.HSet(ctx, contactKey("c1", 3), "attempts", "2")
	if c, err := s.Contact(ctx, "c1", 3); err != nil || c.Attempts != 2 || c.Line != 4 {
		t.Errorf("Contact once repaired = %+v, %v", c, err)
	}
	if _, err := s.Campaign(ctx, "gone"); !errors.Is(err, ErrCampaignNotFound) {
		t.Errorf("Campaign of a missing ID: %v; want ErrCampaignNotFound", err)
	}
}

// TestDamagedStatusIsAnError: a count, time or share field that does not parse fails Status
// and Statuses with an error naming the field, instead of showing a zero.
func TestDamagedStatusIsAnError(t *testing.T) {
	s, rdb := newStore(t)
	ctx := t.Context()
	rdb.HSet(ctx, campaignKey("c1"), "file", "{}", "header", `["phone"]`, "rows", "1", "state", string(UploadComplete))
	statuses := func() error {
		c, err := s.Campaign(ctx, "c1")
		if err != nil {
			return err
		}
		_, err = s.Statuses(ctx, []*Campaign{c})
		return err
	}
	for _, tt := range []struct {
		key, field, value, want string
	}{
		{countersKey("c1"), "attempts", "many", "field attempts"},
		{countersKey("c1"), "first_dial_at", "yesterday", "field first_dial_at"},
		{outcomesKey("c1"), "busy", "1.5", "field outcome busy"},
		{shareKey("c1"), "cps", "fast", "field share cps"},
	} {
		rdb.HSet(ctx, tt.key, tt.field, tt.value)
		if _, err := s.Status(ctx, "c1"); err == nil || !strings.Contains(err.Error(), "status of campaign c1: "+tt.want) {
			t.Errorf("Status with %s = %q: %v; want an error naming %s", tt.field, tt.value, err, tt.want)
		}
		if err := statuses(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Statuses with %s = %q: %v; want an error naming %s", tt.field, tt.value, err, tt.want)
		}
		rdb.HDel(ctx, tt.key, tt.field)
		if _, err := s.Status(ctx, "c1"); err != nil {
			t.Fatalf("Status once %s is gone: %v", tt.field, err)
		}
	}
}

// TestDamagedAttemptIsAnError: a time of an attempt hash, or a count or time of a contact
// as the report reads it, that does not parse is an error naming the record and the field.
func TestDamagedAttemptIsAnError(t *testing.T) {
	s, rdb := newStore(t)
	ctx := t.Context()
	rdb.HSet(ctx, attemptKey("c1", 3, 1), "state", "done", "started_at", "noon")
	_, err := s.Attempt(ctx, AttemptRef{CampaignID: "c1", ContactID: 3, Attempt: 1})
	if err == nil || !strings.Contains(err.Error(), "attempt c1/3/1: field started_at") {
		t.Errorf("Attempt with started_at noon: %v; want an error naming field started_at", err)
	}
	rdb.HDel(ctx, attemptKey("c1", 3, 1), "started_at")
	if a, err := s.Attempt(ctx, AttemptRef{CampaignID: "c1", ContactID: 3, Attempt: 1}); err != nil || a.State != AttemptDone {
		t.Errorf("Attempt once repaired = %+v, %v", a, err)
	}

	rdb.HSet(ctx, contactKey("c1", 2), "line", "3", "row", `["+14155550100"]`, "attempts", "1", "ended_at", "later")
	_, err = s.reportContacts(ctx, "c1", 1, 3)
	if err == nil || !strings.Contains(err.Error(), "contact 2 of campaign c1: field ended_at") {
		t.Errorf("report with ended_at later: %v; want an error naming contact 2 and field ended_at", err)
	}
	rdb.HDel(ctx, contactKey("c1", 2), "ended_at")
	if got, err := s.reportContacts(ctx, "c1", 1, 3); err != nil || got[1].Attempts != 1 {
		t.Errorf("report once repaired = %+v, %v", got, err)
	}
}
