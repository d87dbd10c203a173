package campaign

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Control is what an operator made of a campaign: it runs, is paused, or is canceled.
type Control string

const (
	// ControlRunning: the campaign dials (the field is absent or empty in Redis).
	ControlRunning Control = ""
	// ControlPaused: no new dial starts; live calls finish and are recorded; Resume continues.
	ControlPaused Control = "paused"
	// ControlCanceled: no new dial starts, ever; the remaining contacts get OutcomeCanceled.
	ControlCanceled Control = "canceled"
)

// ErrCampaignPaused is returned by ClaimAttempt when the campaign is paused, and matched by
// the *StateError of a pause of a paused campaign.
var ErrCampaignPaused = errors.New("campaign is paused")

// ErrCampaignCanceled is returned by ClaimAttempt when the campaign is canceled, and matched
// by the *StateError of an action on a canceling or canceled campaign.
var ErrCampaignCanceled = errors.New("campaign is canceled")

func (c Control) err(id string) error {
	switch c {
	case ControlPaused:
		return fmt.Errorf("campaign %s: %w", id, ErrCampaignPaused)
	case ControlCanceled:
		return fmt.Errorf("campaign %s: %w", id, ErrCampaignCanceled)
	}
	return fmt.Errorf("campaign %s: unknown control %q", id, string(c))
}

// Control reads campaign id's control. A campaign that does not exist reads as running.
func (s *Store) Control(ctx context.Context, id string) (Control, error) {
	v, err := s.rdb.HGet(ctx, campaignKey(id), "control").Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return "", fmt.Errorf("read control of campaign %s: %w", id, err)
	}
	return Control(v), nil
}

// setControlScript changes a campaign's control. CheckAction decides beforehand whether the
// change means anything; the script refuses only what may have changed since: a cancel is
// final, and a campaign whose last row got its outcome meanwhile is done.
//
//	KEYS[1] -> dialer:{C}:campaign
//	KEYS[2] -> dialer:{C}:held
//	KEYS[3] -> dialer:{C}:outcomes
//	ARGV[1] -> the new control: "paused", "canceled" or "" (resume)
//
// Returns "missing" for an unknown campaign, "canceled" when it was canceled before, "done"
// when every row of the uploaded campaign has its outcome, and otherwise "ok" followed by the
// held attempts when resuming.
var setControlScript = redis.NewScript(`
local c = redis.call("HMGET", KEYS[1], "state", "control", "rows")
if not c[1] then
  return {"missing"}
end
if c[2] == "canceled" and ARGV[1] ~= "canceled" then
  return {"canceled"}
end
if c[1] == "ready" then
  local finished = 0
  for _, v in ipairs(redis.call("HVALS", KEYS[3])) do
    finished = finished + tonumber(v)
  end
  if finished >= tonumber(c[3] or "0") then
    if c[2] == "canceled" then
      return {"canceled"}
    end
    return {"done"}
  end
end
if ARGV[1] == "" then
  redis.call("HDEL", KEYS[1], "control")
  local held = redis.call("ZRANGE", KEYS[2], 0, -1)
  table.insert(held, 1, "ok")
  return held
end
redis.call("HSET", KEYS[1], "control", ARGV[1])
return {"ok"}
`)

// setControl checks that action means something for campaign id (CheckAction), then sets its
// control to what the action makes it.
func (s *Store) setControl(ctx context.Context, id string, action Action) ([]string, error) {
	_, facts, err := s.status(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := CheckAction(id, facts, action, s.now()); err != nil {
		return nil, err
	}
	to := map[Action]Control{ActionPause: ControlPaused, ActionResume: ControlRunning, ActionCancel: ControlCanceled}[action]
	keys := []string{campaignKey(id), heldKey(id), outcomesKey(id)}
	res, err := setControlScript.Run(ctx, s.rdb, keys, string(to)).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("campaign %s: %w", id, err)
	}
	switch res[0] {
	case "missing":
		return nil, fmt.Errorf("campaign %q: %w", id, ErrCampaignNotFound)
	case "canceled":
		state := StateCanceling
		if action == ActionCancel {
			state = StateCanceled
		}
		return nil, &StateError{CampaignID: id, Action: action, State: state}
	case "done":
		return nil, &StateError{CampaignID: id, Action: action, State: StateDone}
	}
	return res[1:], nil
}

// Pause stops campaign id from starting new dials: once it returns, no worker claims an
// attempt of the campaign (the claim and this check are one atomic step). Tasks that come up
// while it is paused are held (see HoldIfPaused); live calls go on and are recorded. It
// returns ErrCampaignNotFound, or a *StateError when the campaign is paused already,
// canceling, canceled or done (see CheckAction).
func (s *Store) Pause(ctx context.Context, id string) error {
	_, err := s.setControl(ctx, id, ActionPause)
	return err
}

// Resume lets paused campaign id dial again: it clears the pause, then enqueues, due now,
// every attempt a worker held while it was paused, so the campaign goes on where it
// stopped. It returns how many attempts the pause held back (those and the ones parked in
// the hopper, as Status.Held counts them), and ErrCampaignNotFound, or a *StateError when
// the campaign is not paused (see CheckAction). A campaign that is not paused but still
// holds attempts (an earlier Resume that failed half way) is resumed: its held attempts are
// enqueued.
func (s *Store) Resume(ctx context.Context, id string, q Enqueuer) (int, error) {
	held, err := s.setControl(ctx, id, ActionResume)
	if err != nil {
		return 0, err
	}
	// What waits in the hopper or in asynq was held back too; it goes on by itself.
	var queued, ready *redis.IntCmd
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		queued = p.ZCard(ctx, hopperKey(id))
		ready = p.ZCard(ctx, readyKey(id))
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("resume campaign %s: count what it held back: %w", id, err)
	}
	parked := queued.Val() + ready.Val()
	for i, m := range held {
		n, a, ok := parseLiveMember(m)
		if !ok {
			continue
		}
		if err := q.EnqueueDial(ctx, AttemptRef{CampaignID: id, ContactID: n, Attempt: a}, s.now()); err != nil {
			return i, fmt.Errorf("resume campaign %s: %w (run resume again to enqueue the rest)", id, err)
		}
		if err := s.rdb.ZRem(ctx, heldKey(id), m).Err(); err != nil {
			return i, fmt.Errorf("resume campaign %s: %w (run resume again to enqueue the rest)", id, err)
		}
	}
	return len(held) + int(parked), nil
}

// holdScript holds a dial task of a paused campaign.
//
//	KEYS[1] -> dialer:{C}:campaign
//	KEYS[2] -> dialer:{C}:held
//	ARGV[1] -> attempt "N:A"
//	ARGV[2] -> now, Unix ms
//
// Returns the campaign's control; the attempt is held only when it is "paused".
var holdScript = redis.NewScript(`
local control = redis.call("HGET", KEYS[1], "control") or ""
if control == "paused" then
  redis.call("ZADD", KEYS[2], ARGV[2], ARGV[1])
end
return control
`)

// HoldIfPaused returns campaign id's control, and when it is ControlPaused it has recorded
// attempt ref as held, in the same atomic step: Resume then enqueues it again, so
// the caller may drop its task. Because Resume clears the pause and collects the held
// attempts in one step too, an attempt is never held after the Resume that should free it.
func (s *Store) HoldIfPaused(ctx context.Context, ref AttemptRef) (Control, error) {
	id, n, a := ref.CampaignID, ref.ContactID, ref.Attempt
	v, err := holdScript.Run(ctx, s.rdb, []string{campaignKey(id), heldKey(id)}, liveMember(n, a), s.now().UnixMilli()).Text()
	if err != nil {
		return "", fmt.Errorf("check control of campaign %s: %w", id, err)
	}
	return Control(v), nil
}

// Held counts campaign id's attempts held while it is paused.
func (s *Store) Held(ctx context.Context, id string) (int, error) {
	n, err := s.rdb.ZCard(ctx, heldKey(id)).Result()
	if err != nil {
		return 0, fmt.Errorf("count held attempts of campaign %s: %w", id, err)
	}
	return int(n), nil
}

// LiveCall is a call of a campaign that has not been seen to end.
type LiveCall struct {
	ContactID, Attempt int
	CallID             string
	ControlURL         string // monitor.controlUrl, "" when Connect Call gave none
}

// LiveCalls lists campaign id's live calls.
func (s *Store) LiveCalls(ctx context.Context, id string) ([]LiveCall, error) {
	members, err := s.rdb.SMembers(ctx, liveKey(id)).Result()
	if err != nil {
		return nil, fmt.Errorf("list live calls of campaign %s: %w", id, err)
	}
	var out []LiveCall
	for _, m := range members {
		n, a, ok := parseLiveMember(m)
		if !ok {
			continue
		}
		rec, err := s.Attempt(ctx, AttemptRef{CampaignID: id, ContactID: n, Attempt: a})
		if err != nil {
			return nil, err
		}
		if rec.State == AttemptLive && rec.CallID != "" {
			out = append(out, LiveCall{ContactID: n, Attempt: a, CallID: rec.CallID, ControlURL: rec.ControlURL})
		}
	}
	return out, nil
}

func parseLiveMember(m string) (n, a int, ok bool) {
	ns, as, found := strings.Cut(m, ":")
	n, err1 := strconv.Atoi(ns)
	a, err2 := strconv.Atoi(as)
	return n, a, found && err1 == nil && err2 == nil
}

// Cancel cancels campaign id for good: once it returns no worker claims an attempt of it,
// and every contact that has no outcome and no attempt under way gets OutcomeCanceled. A
// contact whose attempt is under way (being dialed, live, or recorded and awaiting its
// follow-up) is left to its worker, which records the call's outcome and then, instead of
// another attempt, OutcomeCanceled. Attempts held by a pause are enqueued on q again, so
// that one whose dial was interrupted is looked up and settled by a worker. finished, when
// not nil, is called with each contact canceled here and whether that finished the campaign
// (to send notifications). Cancel returns how many contacts it canceled, ErrCampaignNotFound
// for an unknown campaign, and a *StateError for a done or canceled one (see CheckAction).
// Canceling a canceling campaign again cancels what was left.
func (s *Store) Cancel(ctx context.Context, id string, q Enqueuer, finished func(n int, campaignDone bool) error) (int, error) {
	if _, err := s.setControl(ctx, id, ActionCancel); err != nil {
		return 0, err
	}
	held, err := s.rdb.ZRange(ctx, heldKey(id), 0, -1).Result()
	if err != nil {
		return 0, fmt.Errorf("cancel campaign %s: %w", id, err)
	}
	for _, m := range held {
		if n, a, ok := parseLiveMember(m); ok {
			if err := q.EnqueueDial(ctx, AttemptRef{CampaignID: id, ContactID: n, Attempt: a}, s.now()); err != nil {
				return 0, fmt.Errorf("cancel campaign %s: %w (run cancel again)", id, err)
			}
		}
		if err := s.rdb.ZRem(ctx, heldKey(id), m).Err(); err != nil {
			return 0, fmt.Errorf("cancel campaign %s: %w (run cancel again)", id, err)
		}
	}
	c, err := s.Campaign(ctx, id)
	if err != nil {
		return 0, err
	}
	canceled := 0
	for from := 1; from <= c.Rows; from += reportBatch {
		to := min(from+reportBatch-1, c.Rows)
		idle, err := s.idleContacts(ctx, id, from, to)
		if err != nil {
			return canceled, err
		}
		for _, n := range idle {
			res, err := s.Finalize(ctx, id, n, OutcomeCanceled, "")
			if err != nil {
				return canceled, err
			}
			if res == FinalizedBefore {
				continue
			}
			canceled++
			if finished != nil {
				if err := finished(n, res == FinalizedCampaign); err != nil {
					return canceled, err
				}
			}
		}
	}
	return canceled, nil
}

// idleContacts returns the contacts from..to of campaign id that have no outcome and whose
// next attempt nobody has claimed.
func (s *Store) idleContacts(ctx context.Context, id string, from, to int) ([]int, error) {
	cmds := make([]*redis.SliceCmd, 0, to-from+1)
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for n := from; n <= to; n++ {
			cmds = append(cmds, p.HMGet(ctx, contactKey(id, n), "line", "outcome", "next_attempt"))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read contacts %s/%d-%d: %w", id, from, to, err)
	}
	var open []int
	var states []*redis.Cmd
	_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, cmd := range cmds {
			v := cmd.Val()
			if v[0] == nil || v[1] != nil {
				continue // no such row, or it has its outcome
			}
			a := 1
			if s, ok := v[2].(string); ok {
				a, _ = strconv.Atoi(s)
			}
			open = append(open, from+i)
			states = append(states, p.Do(ctx, "HGET", attemptKey(id, from+i, max(a, 1)), "state"))
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("read attempts %s/%d-%d: %w", id, from, to, err)
	}
	idle := open[:0]
	for i, n := range open {
		if st, _ := states[i].Text(); st == "" {
			idle = append(idle, n)
		}
	}
	return idle, nil
}
