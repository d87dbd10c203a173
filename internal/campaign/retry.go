package campaign

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// RetryableOutcomes are the final outcomes an operator may retry (Store.Retry, Redial):
// those of a contact that was, or could have been, dialed. Invalid and duplicate rows have
// no number of their own, and a suppressed number must never be dialed.
var RetryableOutcomes = []Outcome{
	OutcomeCompleted, OutcomeBusy, OutcomeNoAnswer, OutcomeFailed, OutcomeForwarded,
	OutcomeError, OutcomeCanceled, OutcomeExpired,
}

// ParseRetryOutcomes reads a comma-separated list of outcomes to retry ("no-answer,failed"),
// refusing an empty list and any outcome not in RetryableOutcomes with a message that says
// which ones are.
func ParseRetryOutcomes(s string) ([]Outcome, error) {
	var out []Outcome
	for _, part := range strings.Split(s, ",") {
		o := Outcome(strings.TrimSpace(part))
		if o == "" {
			continue
		}
		if !slices.Contains(RetryableOutcomes, o) {
			names := make([]string, len(RetryableOutcomes))
			for i, r := range RetryableOutcomes {
				names[i] = string(r)
			}
			if slices.Contains(Outcomes, o) {
				return nil, fmt.Errorf("outcome %q cannot be retried: those rows are never dialed; retry any of %s", o, strings.Join(names, ", "))
			}
			return nil, fmt.Errorf("unknown outcome %q; retry any of %s", o, strings.Join(names, ", "))
		}
		if !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no outcome given; name the outcomes to retry, such as no-answer,failed")
	}
	return out, nil
}

// retryScript gives a contact with one of the listed final outcomes a new attempt, once.
//
//	KEYS[1] -> dialer:{C}:contact:N
//	KEYS[2] -> dialer:{C}:outcomes
//	KEYS[3] -> dialer:{C}:hopper
//	KEYS[4] -> dialer:{C}:campaign
//	ARGV[1] -> due, Unix ms
//	ARGV[2] -> contact N
//	ARGV[3…] -> the outcomes to retry
//
// Returns the outcome the contact had when it was given attempt A ("outcome:A"), or "" when
// it was not: no such row, no number, no outcome, or another outcome.
var retryScript = redis.NewScript(reopenLua + `
local c = redis.call("HMGET", KEYS[1], "line", "e164", "outcome", "attempts")
if not c[1] or not c[2] or c[2] == "" or not c[3] then
  return ""
end
for i = 3, #ARGV do
  if ARGV[i] == c[3] then
    return c[3] .. ":" .. reopen(c[3], c[4])
  end
end
return ""
`)

// reopenLua defines reopen(outcome, attempts), which takes a contact's final outcome back and
// parks its next unused attempt, due now; it returns that attempt's number. It counts the
// reopen in the campaign's "reopens" field (see Store.Reopens). It uses the keys
// and arguments retryScript and redialScript share:
//
//	KEYS[1] -> dialer:{C}:contact:N
//	KEYS[2] -> dialer:{C}:outcomes
//	KEYS[3] -> dialer:{C}:hopper
//	KEYS[4] -> dialer:{C}:campaign
//	ARGV[1] -> due, Unix ms
//	ARGV[2] -> contact N
const reopenLua = `
local function reopen(outcome, attempts)
  local a = tonumber(attempts or "0") + 1
  redis.call("HDEL", KEYS[1], "outcome", "finished_at", "next_at")
  redis.call("HSET", KEYS[1], "next_attempt", a)
  if redis.call("HINCRBY", KEYS[2], outcome, -1) <= 0 then
    redis.call("HDEL", KEYS[2], outcome)
  end
  redis.call("HDEL", KEYS[4], "done_at")
  redis.call("HINCRBY", KEYS[4], "reopens", 1)
  redis.call("ZADD", KEYS[3], ARGV[1], ARGV[2] .. ":" .. a)
  return a
end
`

// waitingLua defines waiting(next, n, a, attemptKey), the check of redialScript and
// skipScript that contact n's attempt a, read by the caller as its next attempt, still
// waits: it returns the attempt's member "N:A" of the hopper and the held set, or nil and
// why not: "stale" (the contact's next_attempt, next, is no longer a) or "busy" (the
// attempt's hash attemptKey has a state: it is under way).
const waitingLua = `
local function waiting(next, n, a, attemptKey)
  if (next or "1") ~= a then
    return nil, "stale"
  end
  if redis.call("HEXISTS", attemptKey, "state") == 1 then
    return nil, "busy"
  end
  return n .. ":" .. a
end
`

// RetryResult is what Retry or Redial did.
type RetryResult struct {
	// Contacts counts the contacts given a new attempt; ByOutcome splits them by the final
	// outcome they had.
	Contacts  int             `json:"contacts"`
	ByOutcome map[Outcome]int `json:"byOutcome"`
}

// Retry gives every contact of campaign id whose final outcome is one of outcomes a new
// attempt, due now: its outcome is cleared and it is dialed again under every rule of the
// campaign (calling window, suppression, frequency cap, endAt, limits). The attempt is the
// contact's next unused number, so no attempt is ever dialed twice. It is granted beyond
// retry.maxAttempts, and is the last: when it ends with an outcome the file retries, it is
// not retried again unless an operator does so. A done campaign runs again; a paused one
// holds the attempts until it resumes. Each contact is changed in one atomic step, so a
// contact retried twice at once gets one attempt.
//
// It returns ErrCampaignNotFound, a *StateError for a campaign uploading, canceling or
// canceled (see CheckAction), and an error naming an outcome that is not in
// RetryableOutcomes.
func (s *Store) Retry(ctx context.Context, id string, outcomes []Outcome) (RetryResult, error) {
	res := RetryResult{ByOutcome: map[Outcome]int{}}
	for _, o := range outcomes {
		if !slices.Contains(RetryableOutcomes, o) {
			return res, fmt.Errorf("outcome %q cannot be retried", o)
		}
	}
	c, err := s.checkRetry(ctx, id)
	if err != nil {
		return res, err
	}
	if err := s.rdb.SAdd(ctx, activeKey(), id).Err(); err != nil {
		return res, fmt.Errorf("retry campaign %s: %w", id, err)
	}
	for from := 1; from <= c.Rows; from += reportBatch {
		to := min(from+reportBatch-1, c.Rows)
		if err := s.retryRange(ctx, id, from, to, outcomes, &res); err != nil {
			return res, err
		}
	}
	return res, nil
}

// checkRetry reads campaign id and checks that its contacts may be retried.
func (s *Store) checkRetry(ctx context.Context, id string) (*Campaign, error) {
	st, facts, err := s.status(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := CheckAction(id, facts, ActionRetry, s.now()); err != nil {
		return nil, err
	}
	c, err := s.Campaign(ctx, id)
	if err != nil {
		return nil, err
	}
	if end := c.File.EndAt; end != nil && !end.After(s.now()) {
		return nil, &StateError{CampaignID: id, Action: ActionRetry, State: st.State, Reason: retryAfterEnd(*end)}
	}
	return c, nil
}

// retryRange runs retryScript on contacts from..to in one round trip.
func (s *Store) retryRange(ctx context.Context, id string, from, to int, outcomes []Outcome, res *RetryResult) error {
	args := make([]any, 0, 2+len(outcomes))
	args = append(args, dueScore(s.now()), 0)
	for _, o := range outcomes {
		args = append(args, string(o))
	}
	// Scripts run in a pipeline by their hash only: load it first.
	if err := retryScript.Load(ctx, s.rdb).Err(); err != nil {
		return fmt.Errorf("retry contacts %s/%d-%d: %w", id, from, to, err)
	}
	cmds := make([]*redis.Cmd, 0, to-from+1)
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for n := from; n <= to; n++ {
			args[1] = n
			keys := []string{contactKey(id, n), outcomesKey(id), hopperKey(id), campaignKey(id)}
			cmds = append(cmds, retryScript.EvalSha(ctx, p, keys, slices.Clone(args)...))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("retry contacts %s/%d-%d: %w", id, from, to, err)
	}
	for _, cmd := range cmds {
		if v, _ := cmd.Text(); v != "" {
			o, _, _ := strings.Cut(v, ":")
			res.Contacts++
			res.ByOutcome[Outcome(o)]++
		}
	}
	return nil
}

// ErrContactNotFound is returned for a contact number that is not a row of the campaign.
var ErrContactNotFound = errors.New("contact not found")

// ContactStateError is a redial or skip refused because of where the contact is: it has a
// call under way, it has its outcome (skip), or it is never dialed (redial).
type ContactStateError struct {
	CampaignID string
	Contact    int
	// Action is "redial" or "skip".
	Action string
	// Reason says where the contact is and what to do, in a few words.
	Reason string
}

func (e *ContactStateError) Error() string {
	return fmt.Sprintf("contact %d of campaign %s: %s", e.Contact, e.CampaignID, e.Reason)
}

// redialScript makes contact N's next attempt due now: a contact with a final outcome gets a
// new attempt (as retryScript does), and one still in progress has its parked attempt moved
// to now. Nothing changes for a contact whose attempt is under way.
//
//	KEYS[1] -> dialer:{C}:contact:N
//	KEYS[2] -> dialer:{C}:outcomes
//	KEYS[3] -> dialer:{C}:hopper
//	KEYS[4] -> dialer:{C}:campaign
//	KEYS[5] -> dialer:{C}:attempt:N:A, A the contact's next attempt
//	KEYS[6] -> dialer:{C}:held
//	ARGV[1] -> due, Unix ms
//	ARGV[2] -> contact N
//	ARGV[3] -> the contact's next attempt A, as read
//	ARGV[4…] -> the outcomes that may be retried
//
// Returns "retried:O:A" (it had outcome O), "moved:A", or why not: "missing", "invalid"
// (no number), "outcome:O" (an outcome never retried), "busy" (its attempt is under way),
// "stale" (its next attempt changed since it was read).
var redialScript = redis.NewScript(reopenLua + waitingLua + `
local c = redis.call("HMGET", KEYS[1], "line", "e164", "outcome", "attempts", "next_attempt")
if not c[1] then
  return "missing"
end
if not c[2] or c[2] == "" then
  return "invalid"
end
if c[3] then
  for i = 4, #ARGV do
    if ARGV[i] == c[3] then
      return "retried:" .. c[3] .. ":" .. reopen(c[3], c[4])
    end
  end
  return "outcome:" .. c[3]
end
local m, why = waiting(c[5], ARGV[2], ARGV[3], KEYS[5])
if not m then
  return why
end
if redis.call("ZSCORE", KEYS[6], m) then
  return "moved:" .. ARGV[3]
end
redis.call("HDEL", KEYS[1], "next_at")
if redis.call("ZSCORE", KEYS[3], m) then
  redis.call("ZADD", KEYS[3], ARGV[1], m)
end
return "moved:" .. ARGV[3]
`)

// RedialResult is what Redial did.
type RedialResult struct {
	// Attempt is the attempt now due.
	Attempt int `json:"attempt"`
	// Retried is the final outcome the contact had, "" when it had none: its next attempt,
	// waiting for a retry delay, was moved to now.
	Retried Outcome `json:"retried,omitempty"`
}

// Redial makes contact n of campaign id due for a dial now. A contact with a final outcome
// in RetryableOutcomes gets a new attempt, as Retry gives; one still in progress has its
// waiting attempt (a retry delay, a calling window) moved to now. Its rules still apply: a
// closed calling window parks it again until it opens. It returns ErrContactNotFound, a
// *StateError as Retry does, and a *ContactStateError for a contact never dialed (invalid,
// duplicate, suppressed) or whose attempt is under way.
func (s *Store) Redial(ctx context.Context, id string, n int) (RedialResult, error) {
	if _, err := s.checkRetry(ctx, id); err != nil {
		return RedialResult{}, err
	}
	if err := s.rdb.SAdd(ctx, activeKey(), id).Err(); err != nil {
		return RedialResult{}, fmt.Errorf("redial %s/%d: %w", id, n, err)
	}
	for range 3 {
		a, err := s.nextAttempt(ctx, id, n)
		if err != nil {
			return RedialResult{}, fmt.Errorf("redial: %w", err)
		}
		keys := []string{contactKey(id, n), outcomesKey(id), hopperKey(id), campaignKey(id), attemptKey(id, n, a), heldKey(id)}
		args := []any{dueScore(s.now()), n, strconv.Itoa(a)}
		for _, o := range RetryableOutcomes {
			args = append(args, string(o))
		}
		v, err := redialScript.Run(ctx, s.rdb, keys, args...).Text()
		if err != nil {
			return RedialResult{}, fmt.Errorf("redial %s/%d: %w", id, n, err)
		}
		kind, rest, _ := strings.Cut(v, ":")
		refuse := func(reason string) (RedialResult, error) {
			return RedialResult{}, &ContactStateError{CampaignID: id, Contact: n, Action: "redial", Reason: reason}
		}
		switch kind {
		case "retried":
			o, at, _ := strings.Cut(rest, ":")
			a, _ := strconv.Atoi(at)
			return RedialResult{Attempt: a, Retried: Outcome(o)}, nil
		case "moved":
			a, _ := strconv.Atoi(rest)
			return RedialResult{Attempt: a}, nil
		case "missing":
			return RedialResult{}, fmt.Errorf("contact %d of campaign %s: %w", n, id, ErrContactNotFound)
		case "invalid":
			return refuse("its row has no number to dial (invalid or duplicate); fix the row and upload it again")
		case "outcome":
			return refuse(fmt.Sprintf("its outcome %s is never dialed again", rest))
		case "busy":
			return refuse(fmt.Sprintf("attempt %d is under way; wait for its outcome, or end its call", a))
		}
		// "stale": its attempt moved on meanwhile; read it again.
	}
	return RedialResult{}, &ContactStateError{CampaignID: id, Contact: n, Action: "redial", Reason: "its attempts kept changing; try again"}
}

// Reopens counts the final outcomes of campaign id that Retry and Redial took back: 0 for a
// campaign no operator retried (or an unknown one). It only grows, so a contact's (or the
// campaign's) final outcome reached after a reopen is told apart from the one before it:
// package notify puts it in the ids of the notifications it sends.
func (s *Store) Reopens(ctx context.Context, id string) (int64, error) {
	n, err := s.rdb.HGet(ctx, campaignKey(id), "reopens").Int64()
	if err != nil && !errors.Is(err, redis.Nil) {
		return 0, fmt.Errorf("read campaign %s: %w", id, err)
	}
	return n, nil
}

// nextAttempt reads the number of contact n's next attempt: 1 before any.
func (s *Store) nextAttempt(ctx context.Context, id string, n int) (int, error) {
	next, err := s.rdb.HGet(ctx, contactKey(id, n), "next_attempt").Result()
	if errors.Is(err, redis.Nil) {
		return 1, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read contact %s/%d: %w", id, n, err)
	}
	a, _ := strconv.Atoi(next)
	return max(a, 1), nil
}

// SkippedReason is the error cell of a contact skipped by an operator.
const SkippedReason = "skipped by an operator"

// skipScript gives contact N the outcome canceled without a dial, unless it has an outcome
// or an attempt under way, and takes its attempt out of the hopper and the held set; the
// outcome is set by finalizeScript's own text, in the same atomic step as the checks, so a
// worker's claim (which refuses a finished contact) comes either before the skip, which is
// then refused, or after it.
//
//	KEYS[1…4] -> as finalizeScript: contact:N, outcomes, waiting, campaign
//	KEYS[5] -> dialer:{C}:attempt:N:A, A the contact's next attempt
//	KEYS[6] -> dialer:{C}:hopper
//	KEYS[7] -> dialer:{C}:held
//	ARGV[1…4] -> as finalizeScript: outcome canceled, SkippedReason, now, N
//	ARGV[5] -> the contact's next attempt A, as read
//
// Returns what finalizeScript returns (1, or 2 when that was the campaign's last row), or
// why not: "missing", "outcome:O", "busy", "stale".
var skipScript = redis.NewScript(waitingLua + `
local c = redis.call("HMGET", KEYS[1], "line", "outcome", "next_attempt")
if not c[1] then
  return "missing"
end
if c[2] then
  return "outcome:" .. c[2]
end
local m, why = waiting(c[3], ARGV[4], ARGV[5], KEYS[5])
if not m then
  return why
end
redis.call("ZREM", KEYS[6], m)
redis.call("ZREM", KEYS[7], m)
` + finalizeLua)

// Skip gives contact n of campaign id the final outcome canceled, with SkippedReason in its
// error cell, without dialing it: its waiting attempt leaves the hopper. It returns
// ErrCampaignNotFound, ErrContactNotFound, and a *ContactStateError for a contact that has
// its outcome or whose attempt is under way (end its call instead). It reports whether the
// skip finished the campaign (FinalizedCampaign) or not (FinalizedNow).
func (s *Store) Skip(ctx context.Context, id string, n int) (Finalized, error) {
	if _, err := s.Campaign(ctx, id); err != nil {
		return FinalizedBefore, err
	}
	for range 3 {
		a, err := s.nextAttempt(ctx, id, n)
		if err != nil {
			return FinalizedBefore, fmt.Errorf("skip: %w", err)
		}
		keys := []string{contactKey(id, n), outcomesKey(id), waitingKey(id), campaignKey(id), attemptKey(id, n, a), hopperKey(id), heldKey(id)}
		v, err := skipScript.Run(ctx, s.rdb, keys, string(OutcomeCanceled), SkippedReason, formatTime(s.now()), n, strconv.Itoa(a)).Result()
		if err != nil {
			return FinalizedBefore, fmt.Errorf("skip %s/%d: %w", id, n, err)
		}
		if f, ok := v.(int64); ok {
			return Finalized(f), nil
		}
		kind, rest, _ := strings.Cut(fmt.Sprint(v), ":")
		refuse := func(reason string) (Finalized, error) {
			return FinalizedBefore, &ContactStateError{CampaignID: id, Contact: n, Action: "skip", Reason: reason}
		}
		switch kind {
		case "missing":
			return FinalizedBefore, fmt.Errorf("contact %d of campaign %s: %w", n, id, ErrContactNotFound)
		case "outcome":
			return refuse("it has its outcome " + rest + " already; nothing to skip")
		case "busy":
			return refuse(fmt.Sprintf("attempt %d is under way; end its call to stop it", a))
		}
	}
	return FinalizedBefore, &ContactStateError{CampaignID: id, Contact: n, Action: "skip", Reason: "its attempts kept changing; try again"}
}

// retryAfterEnd is the reason a retry of a campaign past its endAt is refused.
func retryAfterEnd(end time.Time) string {
	return "its endAt " + end.UTC().Format(time.RFC3339) + " has passed, so a new attempt would expire at once; set a later endAt first (PATCH the campaign, or dialer edit ID endAt=...)"
}
