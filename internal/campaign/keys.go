package campaign

import (
	"strconv"

	"github.com/dialerhq/dialer/internal/account"
)

// Every Redis key the dialer owns is built here. A campaign's keys carry its ID in braces
// (a Redis Cluster hash tag), so one campaign lives in one slot and its scripts and
// pipelines may touch several of them at once.
//
//	dialer:campaigns                  ZSET  campaign ID -> creation time (Unix ms)
//	dialer:{C}:campaign               HASH  the campaign: file, header, state, counts
//	dialer:{C}:upload                 STR   the running upload's lease (lease.go), with a TTL
//	dialer:{C}:contact:N              HASH  contact N (1-based input row): line, number, last attempt's result, outcome;
//	                                        "texts" is the attempt A whose texts the row shows (see texts.go)
//	dialer:{C}:rows                   HASH  contact N -> its row as read, a JSON array of strings
//	dialer:{C}:phones                 HASH  E.164 number -> first contact N that holds it
//	dialer:{C}:attempt:N:A            HASH  attempt A of contact N: state, call id, result but its texts
//	dialer:{C}:texts                  HASH  "N:A" -> attempt A's analysis and recording path (texts.go), when it has any;
//	                                        "N:A:c" -> the texts contact N shows of attempt A, when they are no longer A's
//	dialer:{C}:early:N:A              HASH  call id -> end-of-call report that came before the call id was recorded (JSON, 1 h TTL)
//	dialer:{C}:outcomes               HASH  final outcome -> number of contacts
//	dialer:{C}:counters               HASH  attempts, first_dial_at, ...
//	dialer:{C}:live                   SET   attempt keys "N:A" whose call is live
//	dialer:{C}:waiting                ZSET  contact N -> when its calling window next opens (Unix ms)
//	dialer:{C}:followers              ZSET  live attempts "N:A" -> when their follower's lease runs out (Unix ms)
//	dialer:{C}:follower               HASH  live attempts "N:A" -> the token of the worker run following the call
//	dialer:{C}:held                   ZSET  attempts "N:A" held while the campaign is paused -> when (Unix ms)
//	dialer:{C}:slots                  ZSET  concurrency leases (package ratelimit)
//	dialer:{C}:hopper                 ZSET  attempts "N:A" waiting to be dialed -> when due (Unix ms)
//	dialer:{C}:ready                  ZSET  attempts "N:A" given to asynq, not yet started -> when (Unix ms)
//	dialer:{C}:dispatched             ZSET  attempts "N:A" given to asynq, task not yet ended -> when (Unix ms)
//	dialer:{C}:share                  HASH  the feeder's last view: slots, cps, waiting reason (package feeder)
//	dialer:active                     SET   campaign IDs the feeder looks at: not known to be done
//	dialer:{account:A}:slots          ZSET  account A's live-call leases (package account)
//	dialer:accounts                   HASH  account name -> JSON (package account)
//	dialer:sweeper:leader             STR   token of the worker that frees slots of finished attempts (package worker)
//	dialer:{C}:callerid:next, :local  STR, HASH  caller-ID rotation turns (package callerid)
//	dialer:callerid:{P}:slots         ZSET  live calls of caller ID P, across campaigns (package callerid)
//	dialer:{C}:notify, :notify:done   HASH, SET  notification counts and sent events (package notify)
//	dialer:{C}:suppressed             SET   the campaign's own suppression list (package suppression)
//	dialer:suppressed                 SET   the global suppression list (package suppression)
//	rate:dialer:{account:A}:cps       STR   account A's calls-per-second (GCRA) state (ratelimit adds "rate:")
//	rate:dialer:{account:A}:cps:C     STR   campaign C's, under its account's tag (RateKey)
//
// and one pub/sub channel:
//
//	dialer:ended                      an attempt's result was recorded from a webhook; the
//	                                  message is its dial task ID "C:N:A"
const keyPrefix = "dialer:"

// EndedChannel is the pub/sub channel on which the store announces, with the attempt's dial
// task ID "campaign:contact:attempt", that a webhook recorded the attempt's result or saw its
// call end, so that the worker following the call learns at once.
const EndedChannel = keyPrefix + "ended"

func campaignsKey() string { return keyPrefix + "campaigns" }

// KeyTag is the prefix of every key of campaign id, "dialer:{id}:". The braces make id the
// key's Redis Cluster hash tag, so all of a campaign's keys share a slot. Other packages that
// keep keys per campaign (notify, callerid, suppression) build them on KeyTag, so that deleting
// the campaign's keys (a SCAN of KeyTag(id)+"*") removes theirs too.
func KeyTag(id string) string { return keyPrefix + "{" + id + "}:" }

func campaignKey(id string) string { return KeyTag(id) + "campaign" }

func uploadLeaseKey(id string) string { return KeyTag(id) + "upload" }

func contactKey(id string, n int) string { return KeyTag(id) + "contact:" + strconv.Itoa(n) }

func phonesKey(id string) string { return KeyTag(id) + "phones" }

// rowsKey holds the rows of campaign id's contacts as read. Out of the contact hashes, whose
// values then all fit Redis's compact listpack (see texts.go). Campaigns uploaded before
// it existed keep each row in its contact's field "row".
func rowsKey(id string) string { return KeyTag(id) + "rows" }

// textsKey holds the long texts of campaign id's attempts (see texts.go).
func textsKey(id string) string { return KeyTag(id) + "texts" }

func attemptKey(id string, n, a int) string {
	return KeyTag(id) + "attempt:" + strconv.Itoa(n) + ":" + strconv.Itoa(a)
}

// earlyKey holds the reports of attempt a of contact n that came while the attempt was
// dialing and its call id unknown, by call id, until RecordCall names the call.
func earlyKey(id string, n, a int) string {
	return KeyTag(id) + "early:" + strconv.Itoa(n) + ":" + strconv.Itoa(a)
}

func outcomesKey(id string) string { return KeyTag(id) + "outcomes" }

func countersKey(id string) string { return KeyTag(id) + "counters" }

func liveKey(id string) string { return KeyTag(id) + "live" }

func waitingKey(id string) string { return KeyTag(id) + "waiting" }

func heldKey(id string) string { return KeyTag(id) + "held" }

func followersKey(id string) string { return KeyTag(id) + "followers" }

func followerKey(id string) string { return KeyTag(id) + "follower" }

func hopperKey(id string) string { return KeyTag(id) + "hopper" }

func readyKey(id string) string { return KeyTag(id) + "ready" }

func dispatchedKey(id string) string { return KeyTag(id) + "dispatched" }

func shareKey(id string) string { return KeyTag(id) + "share" }

func activeKey() string { return keyPrefix + "active" }

// SlotsKey is the key of campaign id's concurrency leases, held by ratelimit.Semaphore.
func SlotsKey(id string) string { return KeyTag(id) + "slots" }

// RateKey is the key of campaign c's calls-per-second state, kept by ratelimit.Limiter. It
// carries the hash tag of c's account, not c's own (account.CampaignRateKey): a dial takes
// its campaign's and its account's turns in one script.
func RateKey(c *Campaign) string { return account.CampaignRateKey(accountOf(c), c.ID) }

// campaignKeyPattern matches every key of campaign id, for deleting a failed upload.
func campaignKeyPattern(id string) string { return KeyTag(id) + "*" }
