package campaign

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// What the workers and the webhook receiver record on an attempt, in the order an attempt
// lives: claimed (ClaimAttempt), its call placed (RecordCall), its result recorded
// (RecordResult, FinishAttempt), the contact's next attempt or wait scheduled, and the
// contact's final outcome (Finalize).

// resultFields are a Result as hash fields, with the prefix-free names shared by the
// attempt and contact hashes: all but its long texts, which the campaign's texts hash keeps
// (encodeTexts).
func resultFields(r Result) []any {
	return []any{
		"attempt_outcome", string(r.Outcome), "call_id", r.CallID,
		"started_at", formatTime(r.StartedAt), "ended_at", formatTime(r.EndedAt),
		"phone_call_status", r.PhoneCallStatus, "ended_by", r.EndedBy,
		"error", r.Error, "cost", r.Cost,
	}
}

// attemptFields are the attempt hash's fields Attempt reads; success_evaluation, summary,
// structured_data and recording are the texts of an attempt recorded before they moved to
// the texts hash.
var attemptFields = []string{
	"state", "dialing_at", "call_id", "control_url", "attempt_outcome", "started_at", "ended_at",
	"phone_call_status", "ended_by", "success_evaluation", "summary", "structured_data", "error",
	"cost", "recording", "caller_id",
}

// Attempt reads attempt ref, its texts included, in one round trip. An attempt nobody
// claimed has State AttemptNew. A finished attempt has no ControlURL: its call is over.
func (s *Store) Attempt(ctx context.Context, ref AttemptRef) (*Attempt, error) {
	id, n, a := ref.CampaignID, ref.ContactID, ref.Attempt
	var hash *redis.SliceCmd
	var txt *redis.StringCmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		hash = p.HMGet(ctx, attemptKey(id, n, a), attemptFields...)
		txt = p.HGet(ctx, textsKey(id), liveMember(n, a))
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("read attempt %s/%d/%d: %w", id, n, a, err)
	}
	vals := hash.Val()
	str := func(i int) string {
		s, _ := vals[i].(string)
		return s
	}
	d := hashDecoder{what: fmt.Sprintf("attempt %s/%d/%d", id, n, a)}
	at := &Attempt{
		State: AttemptState(str(0)), DialingAt: d.time(attemptFields[1], str(1)),
		CallID: str(2), ControlURL: str(3), CallerID: str(15),
		Result: Result{
			Outcome: Outcome(str(4)), CallID: str(2),
			StartedAt: d.time(attemptFields[5], str(5)), EndedAt: d.time(attemptFields[6], str(6)),
			PhoneCallStatus: str(7), EndedBy: str(8), SuccessEvaluation: str(9),
			Summary: str(10), StructuredData: str(11), Error: str(12),
			Cost: str(13), Recording: str(14),
		},
	}
	if d.err != nil {
		return nil, d.err
	}
	if v, ok := txt.Val(), txt.Err() == nil; ok {
		t, err := decodeTexts(v)
		if err != nil {
			return nil, fmt.Errorf("read attempt %s/%d/%d: its texts in %s: %w", id, n, a, textsKey(id), err)
		}
		t.apply(&at.Result)
	}
	return at, nil
}

// AttemptState reads only attempt ref's state: what a worker polling a live call needs.
func (s *Store) AttemptState(ctx context.Context, ref AttemptRef) (AttemptState, error) {
	id, n, a := ref.CampaignID, ref.ContactID, ref.Attempt
	v, err := s.rdb.HGet(ctx, attemptKey(id, n, a), "state").Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return "", fmt.Errorf("read attempt %s/%d/%d: %w", id, n, a, err)
	}
	return AttemptState(v), nil
}

// AttemptStates reads the state of each attempt of refs in one round trip: out[i] is
// refs[i]'s, AttemptNew for an attempt nobody claimed (or of a campaign that is gone).
func (s *Store) AttemptStates(ctx context.Context, refs []AttemptRef) ([]AttemptState, error) {
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(refs))
	for i, r := range refs {
		cmds[i] = pipe.HGet(ctx, attemptKey(r.CampaignID, r.ContactID, r.Attempt), "state")
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("read the state of %d attempts: %w", len(refs), err)
	}
	out := make([]AttemptState, len(refs))
	for i, c := range cmds {
		out[i] = AttemptState(c.Val())
	}
	return out, nil
}

// Audit is why a dial was allowed, recorded with its attempt when it is claimed, so that a
// compliance review can check every call (see WriteAttemptReport).
type Audit struct {
	// Zones are the IANA zones the calling window was judged in, comma separated; "" when
	// the campaign has no window.
	Zones string
	// ZoneSource says where the zones came from: campaign, column, number or default.
	ZoneSource string
	// LocalTime is the contact's local time in each zone at the claim, RFC 3339, comma
	// separated.
	LocalTime string
	// Window is the calling window, e.g. "mon-fri 09:00-20:00", or "none".
	Window string
	// Suppression is the suppression check's result: "not suppressed" or "not checked".
	Suppression string
	// Frequency is the number's dial count under its frequency cap, this dial included, e.g.
	// "2 of 3 in 24h0m0s", or "no cap".
	Frequency string
	// CallerID is the phoneNumberId the call is placed from.
	CallerID string
}

func (au Audit) fields() []any {
	return []any{
		"audit_zones", au.Zones, "audit_zone_source", au.ZoneSource, "audit_local_time", au.LocalTime,
		"audit_window", au.Window, "audit_suppression", au.Suppression, "audit_frequency", au.Frequency,
		"caller_id", au.CallerID,
	}
}

// claimScript moves an attempt from new to dialing, once.
//
//	KEYS[1] -> dialer:{C}:attempt:N:A
//	KEYS[2] -> dialer:{C}:contact:N
//	KEYS[3] -> dialer:{C}:counters
//	KEYS[4] -> dialer:{C}:waiting
//	KEYS[5] -> dialer:{C}:campaign
//	ARGV[1] -> now, RFC 3339
//	ARGV[2] -> worker name
//	ARGV[3] -> contact N
//	ARGV[4…] -> audit field, value, field, value, …
//
// Returns 1 when this call claimed the attempt, 0 when someone already had, the campaign's
// control ("paused", "canceled") when an operator stopped it, and "finished" when the
// contact has its final outcome (an operator skipped it): no claim then.
var claimScript = redis.NewScript(`
local control = redis.call("HGET", KEYS[5], "control")
if control and control ~= "" then
  return control
end
if redis.call("HEXISTS", KEYS[2], "outcome") == 1 then
  return "finished"
end
if redis.call("HSETNX", KEYS[1], "state", "dialing") == 0 then
  return 0
end
redis.call("ZREM", KEYS[4], ARGV[3])
redis.call("HSET", KEYS[1], "dialing_at", ARGV[1], "worker", ARGV[2], unpack(ARGV, 4))
redis.call("HINCRBY", KEYS[2], "attempts", 1)
redis.call("HINCRBY", KEYS[3], "attempts", 1)
redis.call("HSETNX", KEYS[3], "first_dial_at", ARGV[1])
return 1
`)

// ClaimAttempt marks attempt ref as dialing, so that no other delivery of the
// same task dials it, and records worker and audit with it. It reports whether this call
// made the claim. It claims nothing and returns ErrCampaignPaused or ErrCampaignCanceled
// when an operator paused or canceled the campaign: checked in the same step as the claim,
// so that no dial begins after Pause or Cancel returns. It returns ErrContactFinished when
// the contact got its final outcome meanwhile (Skip).
func (s *Store) ClaimAttempt(ctx context.Context, ref AttemptRef, worker string, audit Audit) (bool, error) {
	id, n, a := ref.CampaignID, ref.ContactID, ref.Attempt
	keys := []string{attemptKey(id, n, a), contactKey(id, n), countersKey(id), waitingKey(id), campaignKey(id)}
	args := append([]any{formatTime(s.now()), worker, n}, audit.fields()...)
	res, err := claimScript.Run(ctx, s.rdb, keys, args...).Result()
	if err != nil {
		return false, fmt.Errorf("claim attempt %s/%d/%d: %w", id, n, a, err)
	}
	switch res {
	case int64(1):
		return true, nil
	case int64(0):
		return false, nil
	case "finished":
		return false, fmt.Errorf("contact %s/%d: %w", id, n, ErrContactFinished)
	}
	return false, Control(fmt.Sprint(res)).err(id)
}

// unclaimScript undoes a claim whose dial Interactly refused without placing a call (it
// refused the API key): the attempt is new again and no longer counted.
//
//	KEYS[1] -> dialer:{C}:attempt:N:A
//	KEYS[2] -> dialer:{C}:contact:N
//	KEYS[3] -> dialer:{C}:counters
//	ARGV[1] -> worker name that claimed it; "" for any
//
// Returns 1 when the claim was undone, 0 when the attempt was not dialing under that
// worker's claim, or has a call.
var unclaimScript = redis.NewScript(`
local a = redis.call("HMGET", KEYS[1], "state", "worker", "call_id")
if a[1] ~= "dialing" or (ARGV[1] ~= "" and a[2] ~= ARGV[1]) or (a[3] and a[3] ~= "") then
  return 0
end
redis.call("DEL", KEYS[1])
redis.call("HINCRBY", KEYS[2], "attempts", -1)
redis.call("HINCRBY", KEYS[3], "attempts", -1)
return 1
`)

// Unclaim undoes worker's claim of attempt ref (ClaimAttempt) when its dial was
// refused before any call was placed, as when Interactly refuses the API key: the attempt is
// new again, and neither the contact's nor the campaign's attempts count it. It reports
// whether it undid the claim; it does nothing to an attempt another worker claimed (unless
// worker is ""), or that is past dialing.
func (s *Store) Unclaim(ctx context.Context, ref AttemptRef, worker string) (bool, error) {
	id, n, a := ref.CampaignID, ref.ContactID, ref.Attempt
	keys := []string{attemptKey(id, n, a), contactKey(id, n), countersKey(id)}
	res, err := unclaimScript.Run(ctx, s.rdb, keys, worker).Int()
	if err != nil {
		return false, fmt.Errorf("undo the claim of attempt %s/%d/%d: %w", id, n, a, err)
	}
	return res == 1, nil
}

// recordCallScript moves an attempt from dialing to live, unless its result is recorded
// already: a call can end before Connect Call's answer is recorded, and its end-of-call
// report then waits in KEYS[4] under its call id, to be recorded here once the call id is
// known to be this attempt's.
//
//	KEYS[1] -> dialer:{C}:attempt:N:A
//	KEYS[2] -> dialer:{C}:contact:N
//	KEYS[3] -> dialer:{C}:live
//	KEYS[4] -> dialer:{C}:early:N:A
//	KEYS[5] -> dialer:{C}:texts
//	ARGV[1] -> call id
//	ARGV[2] -> control URL
//	ARGV[3] -> started at, RFC 3339
//	ARGV[4] -> live member "N:A", the attempt's field in KEYS[5]
//	ARGV[5] -> attempt A
//
// Returns 1 when the call is recorded live, 0 when the attempt is done: already, or now from
// the report that came early. A done attempt keeps no control URL: its call is over.
var recordCallScript = redis.NewScript(textsLua + `
if redis.call("HGET", KEYS[1], "state") == "done" then
  return 0
end
local early = redis.call("HGET", KEYS[4], ARGV[1])
local texts = redis.call("HGET", KEYS[4], ARGV[1] .. ":texts")
redis.call("DEL", KEYS[4])
if early then
  local fields = cjson.decode(early)
  redis.call("HSET", KEYS[1], "state", "done", unpack(fields))
  if texts then
    redis.call("HSET", KEYS[5], ARGV[4], texts)
  end
  redis.call("HSET", KEYS[2], unpack(fields))
  local old = false
  for i = 1, #fields, 2 do
    if fields[i] == "summary" then
      old = true
    end
  end
  if old then
    -- kept before the texts moved out of the hashes: the contact shows those it now holds
    redis.call("HDEL", KEYS[2], "texts")
  else
    show(KEYS[2], KEYS[5], ARGV[4], ARGV[5])
  end
  return 0
end
redis.call("HSET", KEYS[1], "state", "live", "call_id", ARGV[1], "control_url", ARGV[2], "started_at", ARGV[3])
redis.call("HSET", KEYS[2], "call_id", ARGV[1], "started_at", ARGV[3])
redis.call("SADD", KEYS[3], ARGV[4])
return 1
`)

// RecordCall records the call id that Connect Call returned for attempt ref and
// counts the call live. It is called before anything else is done with the call, so that a
// redelivered task resumes the call instead of dialing again. It reports false when the
// attempt's result is recorded: by a report of this call that came first, which is recorded
// now if it was waiting for the call id. The call is over then.
func (s *Store) RecordCall(ctx context.Context, ref AttemptRef, callID, controlURL string, startedAt time.Time) (live bool, err error) {
	id, n, a := ref.CampaignID, ref.ContactID, ref.Attempt
	keys := []string{attemptKey(id, n, a), contactKey(id, n), liveKey(id), earlyKey(id, n, a), textsKey(id)}
	res, err := recordCallScript.Run(ctx, s.rdb, keys, callID, controlURL, formatTime(startedAt), liveMember(n, a), a).Int()
	if err != nil {
		return false, fmt.Errorf("record call %s for %s/%d/%d: %w", callID, id, n, a, err)
	}
	return res == 1, nil
}

// CallEnded no longer counts attempt ref's call live: it has been seen to end, and only its
// analysis is awaited. FinishAttempt does the same; calling both is harmless.
func (s *Store) CallEnded(ctx context.Context, ref AttemptRef) error {
	id, n, a := ref.CampaignID, ref.ContactID, ref.Attempt
	if err := s.rdb.SRem(ctx, liveKey(id), liveMember(n, a)).Err(); err != nil {
		return fmt.Errorf("record end of call %s/%d/%d: %w", id, n, a, err)
	}
	return nil
}

func liveMember(n, a int) string { return strconv.Itoa(n) + ":" + strconv.Itoa(a) }

// recordResultScript records an attempt's result once. The first result stands: a later one
// (the same webhook replayed, a poll that saw the end too) changes nothing, except that it may
// bring the analysis the first one lacked, for the same call.
//
// A result from a webhook (a call id given) is recorded only for a claimed attempt whose
// recorded call id is the same. When the attempt is dialing and its call id is not recorded
// yet, the result waits in KEYS[4] under its call id (its texts under the call id and
// ":texts"), for RecordCall to record it once that call id turns out to be the attempt's.
// Anything else is "unknown" and writes nothing, so that a forged or stray report cannot
// finish an attempt, start one, or create keys.
//
// The result's texts (encodeTexts) go to KEYS[5] under the attempt's "N:A", and the contact
// records that its row shows attempt A's texts. An analysis filled in once the contact shows
// a later attempt's call id is not the contact's: it then keeps the texts it showed, copied
// to "N:A:c".
//
//	KEYS[1] -> dialer:{C}:attempt:N:A
//	KEYS[2] -> dialer:{C}:contact:N
//	KEYS[3] -> dialer:{C}:live
//	KEYS[4] -> dialer:{C}:early:N:A
//	KEYS[5] -> dialer:{C}:texts
//	ARGV[1] -> call id the result is of; "" for a result the worker that claimed the attempt read itself
//	ARGV[2] -> live member "N:A", the attempt's field in KEYS[5]
//	ARGV[3] -> message to publish on the ended channel, "" for none
//	ARGV[4] -> the ended channel
//	ARGV[5] -> attempt A
//	ARGV[6] -> the result's texts (encodeTexts), "" for none
//	ARGV[7…] -> result field, value, field, value, … (resultFields)
//
// Returns "unknown" when the attempt was never claimed or has another call (or none, once
// past dialing), "early" when the result waits for the call id, "recorded" when this result
// was recorded, "analysis" when it filled in the analysis of the result recorded before, and
// "done" when it changed nothing.
var recordResultScript = redis.NewScript(textsLua + `
local state = redis.call("HGET", KEYS[1], "state")
if not state then
  return "unknown"
end
local fields = {}
for i = 7, #ARGV do
  fields[#fields + 1] = ARGV[i]
end
local texts = ARGV[6]
local call = redis.call("HGET", KEYS[1], "call_id") or ""
if ARGV[1] ~= "" and call ~= ARGV[1] then
  if call == "" and state == "dialing" then
    redis.call("HSET", KEYS[4], ARGV[1], cjson.encode(fields))
    if texts ~= "" then
      redis.call("HSET", KEYS[4], ARGV[1] .. ":texts", texts)
    else
      redis.call("HDEL", KEYS[4], ARGV[1] .. ":texts")
    end
    redis.call("EXPIRE", KEYS[4], 3600)
    return "early"
  end
  return "unknown"
end
local status = "recorded"
local before = nil
if state == "done" then
  local old = stored(KEYS[1], KEYS[5], ARGV[2])
  if old[1] ~= "" or old[2] ~= "" then
    return "done"
  end
  local new = parts(texts)
  if new[1] == "" and new[2] == "" and new[3] == "" then
    return "done"
  end
  before = pack(old)
  for i = 1, 3 do
    if new[i] ~= "" then
      old[i] = new[i]
    end
  end
  redis.call("HSET", KEYS[5], ARGV[2], pack(old))
  status = "analysis"
else
  redis.call("HSET", KEYS[1], "state", "done", unpack(fields))
  redis.call("HDEL", KEYS[1], "control_url")
  if texts ~= "" then
    redis.call("HSET", KEYS[5], ARGV[2], texts)
  end
end
call = redis.call("HGET", KEYS[1], "call_id") or ""
local contactCall = redis.call("HGET", KEYS[2], "call_id") or ""
if status == "recorded" then
  redis.call("HSET", KEYS[2], unpack(fields))
  show(KEYS[2], KEYS[5], ARGV[2], ARGV[5])
elseif contactCall == call then
  show(KEYS[2], KEYS[5], ARGV[2], ARGV[5])
elseif redis.call("HGET", KEYS[2], "texts") == ARGV[5] then
  -- The contact shows this attempt's result beside a later attempt's call id: it keeps the
  -- texts it showed, in a copy of its own, until that attempt records its result.
  redis.call("HSET", KEYS[5], ARGV[2] .. ":c", before)
  redis.call("HSET", KEYS[2], "texts", ARGV[5] .. ":c")
end
redis.call("SREM", KEYS[3], ARGV[2])
if ARGV[3] ~= "" then
  redis.call("PUBLISH", ARGV[4], ARGV[3])
end
return status
`)

// RecordStatus says what RecordResult did.
type RecordStatus string

const (
	// RecordUnknown: no such attempt was claimed, or it has another call; nothing changed.
	RecordUnknown RecordStatus = "unknown"
	// RecordEarly: the attempt is dialing and its call id not yet recorded; the result waits
	// until RecordCall names this call, and is dropped if it names another.
	RecordEarly RecordStatus = "early"
	// Recorded: this result is now the attempt's.
	Recorded RecordStatus = "recorded"
	// RecordAnalysis: the attempt had a result without analysis; this one's analysis was added.
	RecordAnalysis RecordStatus = "analysis"
	// RecordDone: the attempt already had its result; nothing changed.
	RecordDone RecordStatus = "done"
)

// RecordResult records r as attempt ref's result, copies it onto the contact and no longer
// counts the call live, once: when the attempt already has a result, it stays (only its
// missing analysis may be filled in from r), so a replayed webhook or a webhook and a poll
// that both saw the end agree on one result. An attempt nobody claimed is never written
// (RecordUnknown). callID is the call a webhook's result is of: it must be the call id
// recorded for the attempt, or nothing changes (RecordUnknown); while the attempt is dialing
// with no call id yet, the result is kept until RecordCall names its call (RecordEarly).
// callID "" is for the worker that claimed the attempt and read the result itself. With
// announce set, a change is published on EndedChannel with the attempt's dial task ID, so
// that the worker following the call learns at once.
func (s *Store) RecordResult(ctx context.Context, ref AttemptRef, callID string, r Result, announce bool) (RecordStatus, error) {
	id, n, a := ref.CampaignID, ref.ContactID, ref.Attempt
	keys := []string{attemptKey(id, n, a), contactKey(id, n), liveKey(id), earlyKey(id, n, a), textsKey(id)}
	msg := ""
	if announce {
		msg = ref.String()
	}
	args := append([]any{callID, liveMember(n, a), msg, EndedChannel, a, encodeTexts(r)}, resultFields(r)...)
	res, err := recordResultScript.Run(ctx, s.rdb, keys, args...).Text()
	if err != nil {
		return "", fmt.Errorf("record attempt %s/%d/%d: %w", id, n, a, err)
	}
	return RecordStatus(res), nil
}

// FinishAttempt records r as attempt ref's result (see RecordResult) and returns the result
// that stands: r, or the one recorded before it, analysis filled in from r if it lacked one.
func (s *Store) FinishAttempt(ctx context.Context, ref AttemptRef, r Result) (Result, error) {
	status, err := s.RecordResult(ctx, ref, "", r, false)
	if err != nil {
		return Result{}, err
	}
	if status == Recorded {
		return r, nil
	}
	rec, err := s.Attempt(ctx, ref)
	if err != nil {
		return Result{}, err
	}
	return rec.Result, nil
}

// AnnounceEnd publishes on EndedChannel that attempt ref's call was seen to end (a
// status-update webhook), so that its worker looks at the call at once.
func (s *Store) AnnounceEnd(ctx context.Context, ref AttemptRef) error {
	msg := ref.String()
	if err := s.rdb.Publish(ctx, EndedChannel, msg).Err(); err != nil {
		return fmt.Errorf("announce end of %s: %w", msg, err)
	}
	return nil
}

// ScheduleNext records that contact n's next attempt is next, due at the given time.
func (s *Store) ScheduleNext(ctx context.Context, id string, n, next int, at time.Time) error {
	err := s.rdb.HSet(ctx, contactKey(id, n), "next_attempt", next, "next_at", formatTime(at)).Err()
	if err != nil {
		return fmt.Errorf("schedule attempt %d of %s/%d: %w", next, id, n, err)
	}
	return nil
}

// WaitForWindow records that contact n waits for its calling window to open at at.
func (s *Store) WaitForWindow(ctx context.Context, id string, n int, at time.Time) error {
	err := s.rdb.ZAdd(ctx, waitingKey(id), redis.Z{Score: float64(at.UnixMilli()), Member: n}).Err()
	if err != nil {
		return fmt.Errorf("record contact %s/%d waiting for its calling window: %w", id, n, err)
	}
	return nil
}

// finalizeScript sets a contact's final outcome once and counts it.
//
//	KEYS[1] -> dialer:{C}:contact:N
//	KEYS[2] -> dialer:{C}:outcomes
//	KEYS[3] -> dialer:{C}:waiting
//	KEYS[4] -> dialer:{C}:campaign
//	ARGV[1] -> outcome
//	ARGV[2] -> error text ("" keeps what the contact has)
//	ARGV[3] -> now, RFC 3339
//	ARGV[4] -> contact N
//
// Returns 0 when the contact already had an outcome, 1 when this call set it, and 2 when
// it set the campaign's last one: every row of a ready campaign now has its outcome.
var finalizeScript = redis.NewScript(finalizeLua)

// finalizeLua is finalizeScript's text; skipScript runs it after its own checks.
const finalizeLua = `
if redis.call("HSETNX", KEYS[1], "outcome", ARGV[1]) == 0 then
  return 0
end
redis.call("ZREM", KEYS[3], ARGV[4])
if ARGV[2] ~= "" then
  redis.call("HSET", KEYS[1], "error", ARGV[2])
end
redis.call("HSET", KEYS[1], "finished_at", ARGV[3])
redis.call("HINCRBY", KEYS[2], ARGV[1], 1)
local c = redis.call("HMGET", KEYS[4], "state", "rows")
if c[1] ~= "ready" then
  return 1
end
local finished = 0
for _, v in ipairs(redis.call("HVALS", KEYS[2])) do
  finished = finished + tonumber(v)
end
if finished == tonumber(c[2]) then
  return 2
end
return 1
`

// Finalized says what Finalize did.
type Finalized int

const (
	// FinalizedBefore: the contact already had its outcome; nothing changed.
	FinalizedBefore Finalized = iota
	// FinalizedNow: this call gave the contact its outcome.
	FinalizedNow
	// FinalizedCampaign: this call gave the campaign's last contact its outcome; the
	// campaign is done. It happens once per campaign.
	FinalizedCampaign
)

// Finalize gives contact n its final outcome, counting it once however often it is called.
// errText, when not empty, replaces the contact's error cell. It reports whether this call
// set the outcome, and whether that finished the campaign.
func (s *Store) Finalize(ctx context.Context, id string, n int, outcome Outcome, errText string) (Finalized, error) {
	keys := []string{contactKey(id, n), outcomesKey(id), waitingKey(id), campaignKey(id)}
	res, err := finalizeScript.Run(ctx, s.rdb, keys, string(outcome), errText, formatTime(s.now()), n).Int()
	if err != nil {
		return FinalizedBefore, fmt.Errorf("record outcome of %s/%d: %w", id, n, err)
	}
	return Finalized(res), nil
}
