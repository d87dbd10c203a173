package campaign

import "testing"

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
