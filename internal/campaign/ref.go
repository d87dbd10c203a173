package campaign

import (
	"encoding/json"
	"strconv"
	"strings"
)

// AttemptRef names one attempt: attempt Attempt (1-based) of contact ContactID (1-based input
// row) of campaign CampaignID. It is what a dial task carries (package queue), what Store
// methods about one attempt take, and what the feeder, the reconciler and the sweeps list.
type AttemptRef struct {
	CampaignID string
	ContactID  int
	Attempt    int
}

// String returns "campaign:contact:attempt", such as "c1:12:3": the attempt's dial task ID in
// asynq, its holder name in the concurrency semaphores, the message announcing its end on
// EndedChannel, and how logs name it. ParseAttemptRef reads it back.
func (r AttemptRef) String() string {
	return r.CampaignID + ":" + strconv.Itoa(r.ContactID) + ":" + strconv.Itoa(r.Attempt)
}

// ParseAttemptRef reads an AttemptRef written by String. It reports false when s is not
// "campaign:contact:attempt" with a non-empty campaign and positive numbers.
func ParseAttemptRef(s string) (AttemptRef, bool) {
	rest, a, ok1 := cutNumber(s)
	id, n, ok2 := cutNumber(rest)
	if !ok1 || !ok2 || id == "" {
		return AttemptRef{}, false
	}
	return AttemptRef{CampaignID: id, ContactID: n, Attempt: a}, true
}

// cutNumber splits s at its last ":" into what comes before and the positive number after.
func cutNumber(s string) (string, int, bool) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return "", 0, false
	}
	v, err := strconv.Atoi(s[i+1:])
	if err != nil || v < 1 {
		return "", 0, false
	}
	return s[:i], v, true
}

// The call metadata keys that name the attempt a call was placed for: the campaign ID as
// text, the contact and attempt numbers as numbers.
const (
	metaCampaign = "campaignId"
	metaContact  = "contactId"
	metaAttempt  = "attempt"
)

// PutMetadata writes r into m, the metadata of the call placed for r (campaignId, contactId,
// attempt), where AttemptFromMetadata reads it back from the call's webhook events.
func (r AttemptRef) PutMetadata(m map[string]any) {
	m[metaCampaign], m[metaContact], m[metaAttempt] = r.CampaignID, r.ContactID, r.Attempt
}

// AttemptFromMetadata reads the attempt that PutMetadata wrote into a call's metadata, as
// Interactly echoes it: a non-empty campaignId, and contactId and attempt whole numbers of at
// least 1, each a JSON number (float64 or json.Number), an int or a string of digits. It
// reports false when one is missing or not so (a call the dialer did not place).
func AttemptFromMetadata(m map[string]any) (AttemptRef, bool) {
	id, _ := m[metaCampaign].(string)
	contact, ok1 := metadataInt(m[metaContact])
	attempt, ok2 := metadataInt(m[metaAttempt])
	if id == "" || !ok1 || !ok2 || contact < 1 || attempt < 1 {
		return AttemptRef{}, false
	}
	return AttemptRef{CampaignID: id, ContactID: contact, Attempt: attempt}, true
}

// metadataInt reads a whole number from a metadata value decoded from JSON.
func metadataInt(v any) (int, bool) {
	switch v := v.(type) {
	case float64:
		if v != float64(int(v)) {
			return 0, false
		}
		return int(v), true
	case int:
		return v, true
	case string:
		n, err := strconv.Atoi(v)
		return n, err == nil
	case json.Number:
		n, err := strconv.Atoi(string(v))
		return n, err == nil
	}
	return 0, false
}
