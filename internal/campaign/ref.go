package campaign

import (
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
