package campaign

import (
	"errors"
	"strings"
	"testing"

	"github.com/dialerhq/dialer/internal/redistest"
)

// TestDamagedHashIsAnError: a field of a campaign or contact hash that does not parse is an
// error that names the record and the field, not a silent zero.
func TestDamagedHashIsAnError(t *testing.T) {
	rdb, _ := redistest.Setup(t, 1)
	ctx := t.Context()
	s := NewStore(rdb)
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
