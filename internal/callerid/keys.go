package callerid

import "github.com/dialerhq/dialer/internal/campaign"

// Every Redis key of package callerid is built here. A number's slots are not per campaign:
// every campaign dialing from a phone number id counts in the same key, because a trunk is
// shared, and the id is the key's Redis Cluster hash tag. The rotation counters are per
// campaign, under the campaign's hash tag (as in package campaign), so they go with the
// campaign's other keys.
//
//	dialer:callerid:{P}:slots         ZSET  live calls from phone number id P: holder -> lease expiry (Unix ms, Redis time; package ratelimit)
//	dialer:{C}:callerid:next          STR   picks so far in campaign C, callerIdStrategy rotate
//	dialer:{C}:callerid:local         HASH  contact place ("1/US/415") -> picks so far for such contacts in campaign C, callerIdStrategy local
const keyPrefix = "dialer:"

// SlotsKey is the key of the live-call leases of the caller ID with Interactly phone number
// id phoneNumberID, shared by every campaign, as a ratelimit.Semaphore holds them.
func SlotsKey(phoneNumberID string) string {
	return keyPrefix + "callerid:{" + phoneNumberID + "}:slots"
}

// nextKey is the rotate strategy's pick counter of campaign id.
func nextKey(campaignID string) string { return campaign.KeyTag(campaignID) + "callerid:next" }

// localKey holds the local strategy's pick counters of campaign id, one per contact place.
func localKey(campaignID string) string {
	return campaign.KeyTag(campaignID) + "callerid:local"
}
