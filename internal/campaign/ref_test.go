package campaign

import (
	"encoding/json"
	"testing"
)

// TestParseAttemptRef reads attempts from their dial task IDs (which are also semaphore
// holder names and EndedChannel messages), and refuses what is not one.
func TestParseAttemptRef(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want AttemptRef
		ok   bool
	}{
		{"c1:12:3", AttemptRef{CampaignID: "c1", ContactID: 12, Attempt: 3}, true},
		{"c1:12", AttemptRef{}, false},
		{":1:1", AttemptRef{}, false},
		{"c1:x:1", AttemptRef{}, false},
		{"c1:1:0", AttemptRef{}, false},
	} {
		got, ok := ParseAttemptRef(tc.s)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseAttemptRef(%q) = %v, %v; want %v, %v", tc.s, got, ok, tc.want, tc.ok)
		}
		if ok {
			if s := got.String(); s != tc.s {
				t.Errorf("ParseAttemptRef(%q).String() = %q", tc.s, s)
			}
		}
	}
}

// TestAttemptFromMetadata reads back what PutMetadata writes, in every form a JSON echo of it
// takes, and refuses metadata that names no attempt.
func TestAttemptFromMetadata(t *testing.T) {
	ref := AttemptRef{CampaignID: "c1", ContactID: 12, Attempt: 3}
	put := map[string]any{"team": "x"}
	ref.PutMetadata(put)
	for _, tc := range []struct {
		name string
		m    map[string]any
		ok   bool
	}{
		{"as put", put, true},
		{"JSON numbers", map[string]any{"campaignId": "c1", "contactId": 12.0, "attempt": 3.0}, true},
		{"json.Number", map[string]any{"campaignId": "c1", "contactId": json.Number("12"), "attempt": json.Number("3")}, true},
		{"strings", map[string]any{"campaignId": "c1", "contactId": "12", "attempt": "3"}, true},
		{"no campaign", map[string]any{"contactId": 12, "attempt": 3}, false},
		{"campaign not text", map[string]any{"campaignId": 1, "contactId": 12, "attempt": 3}, false},
		{"fraction", map[string]any{"campaignId": "c1", "contactId": 12.5, "attempt": 3}, false},
		{"contact 0", map[string]any{"campaignId": "c1", "contactId": 0, "attempt": 3}, false},
		{"attempt not a number", map[string]any{"campaignId": "c1", "contactId": 12, "attempt": "three"}, false},
		{"attempt missing", map[string]any{"campaignId": "c1", "contactId": 12}, false},
		{"nil", nil, false},
	} {
		got, ok := AttemptFromMetadata(tc.m)
		want := AttemptRef{}
		if tc.ok {
			want = ref
		}
		if got != want || ok != tc.ok {
			t.Errorf("%s: AttemptFromMetadata(%v) = %v, %v; want %v, %v", tc.name, tc.m, got, ok, want, tc.ok)
		}
	}
}
