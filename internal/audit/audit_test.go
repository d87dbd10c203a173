package audit_test

import (
	"errors"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/audit"
	"github.com/dialerhq/dialer/internal/redistest"
)

// The API's tests (package api) cover the middleware; these pin the log's own paging.
func TestLogPages(t *testing.T) {
	rdb, _ := redistest.Setup(t, 22)
	l := audit.New(rdb)
	at := time.Unix(1_800_000_000, 0).UTC()
	l.Now = func() time.Time { return at }
	for i := range 5 {
		if err := l.Append(t.Context(), audit.Entry{Actor: "ops", Scope: "admin", Action: "token create", Target: string(rune('a' + i)), Source: "cli", Result: "ok"}); err != nil {
			t.Fatal(err)
		}
	}
	var targets []string
	cursor := ""
	for range 5 {
		page, next, err := l.List(t.Context(), audit.ListOptions{Before: cursor, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page {
			if !e.Time.Equal(at) || e.Actor != "ops" {
				t.Errorf("entry %+v", e)
			}
			targets = append(targets, e.Target)
		}
		if cursor = next; cursor == "" {
			break
		}
	}
	if got := len(targets); got != 5 || targets[0] != "e" || targets[4] != "a" {
		t.Errorf("targets over pages of 2, newest first: %v", targets)
	}
	if _, _, err := l.List(t.Context(), audit.ListOptions{Before: "yesterday"}); !errors.Is(err, audit.ErrBadCursor) {
		t.Errorf("a bad cursor: %v", err)
	}
}
