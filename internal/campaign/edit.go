package campaign

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// EditableKeys are the campaign file's top-level keys that Patch may change once a campaign
// is uploaded: its limits, calling window, retry policy, end and share of its account. The
// rest (assistant, caller IDs, contacts, notify, ...) describe what was uploaded and stay.
var EditableKeys = []string{"rateLimit", "callingWindow", "defaultTimezone", "retry", "endAt", "priority", "weight"}

// Patch returns a copy of f with patch applied as a JSON merge patch (RFC 7396): a key
// given a value replaces it (an object is merged key by key), a key given null is removed,
// so that it reads as left out (callingWindow: null calls at any time; retry.delay: null is
// the default 30m). Only EditableKeys may appear at the top level. The result is read the
// way Parse reads a campaign file, then given its defaults and validated, so a bad value is
// refused with the same *FileError (key and message) an upload would give; its Line and
// Column are left out, since the key places it. f itself is not changed.
func (f *File) Patch(patch map[string]any) (*File, error) {
	for _, k := range slices.Sorted(maps.Keys(patch)) {
		if slices.Contains(EditableKeys, k) {
			continue
		}
		msg := "cannot be changed once the campaign is uploaded; the keys that can are " + strings.Join(EditableKeys, ", ")
		if g := suggest(k, EditableKeys); g != "" && g != k {
			msg = fmt.Sprintf("unknown or fixed key (did you mean %s?); the keys that can change are %s", g, strings.Join(EditableKeys, ", "))
		}
		return nil, &FileError{Key: k, Msg: msg}
	}
	if len(patch) == 0 {
		return nil, &FileError{Msg: "the change is empty; give at least one of " + strings.Join(EditableKeys, ", ")}
	}
	doc, err := f.doc()
	if err != nil {
		return nil, err
	}
	merged, err := json.Marshal(mergePatch(doc, patch))
	if err != nil {
		return nil, &FileError{Msg: fmt.Sprintf("the change cannot be encoded as JSON: %v", err)}
	}
	// JSON is YAML: the merged document goes through the campaign file's own decoder, which
	// names every key it refuses and how to fix it.
	nf, err := parse("", merged, true)
	if err == nil {
		nf.WithDefaults()
		err = nf.Validate()
	}
	if err == nil {
		nf.Normalize()
	}
	if err != nil {
		var fe *FileError
		if errors.As(err, &fe) {
			fe.Path, fe.Line, fe.Column = "", 0, 0
		}
		return nil, err
	}
	nf.src = source{}
	return nf, nil
}

// doc returns f's stored (JSON) form as a map.
func (f *File) doc() (map[string]any, error) {
	data, err := json.Marshal(f)
	if err != nil {
		return nil, fmt.Errorf("encode campaign file: %w", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("decode campaign file: %w", err)
	}
	return doc, nil
}

// Settings returns f's settings of EditableKeys in their stored (JSON) form, keyed as in
// the file; a setting left out is absent.
func (f *File) Settings() (map[string]any, error) {
	doc, err := f.doc()
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	for _, k := range EditableKeys {
		if v, ok := doc[k]; ok {
			out[k] = v
		}
	}
	return out, nil
}

// Changes lists the settings of EditableKeys that differ between f and to, each as
// "key: old -> new" with a dotted key and JSON values ("rateLimit.callsPerSecond: 2 -> 0.5";
// a setting left out reads "(none)"), in key order: what an edit changed, for its answer and
// the audit log.
func (f *File) Changes(to *File) ([]string, error) {
	fa, err := f.flat()
	if err != nil {
		return nil, err
	}
	fb, err := to.flat()
	if err != nil {
		return nil, err
	}
	keys := slices.Collect(maps.Keys(fa))
	for k := range fb {
		if _, ok := fa[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var out []string
	for _, k := range keys {
		va, oka := fa[k]
		vb, okb := fb[k]
		if va == vb && oka == okb {
			continue
		}
		if !oka {
			va = "(none)"
		}
		if !okb {
			vb = "(none)"
		}
		out = append(out, k+": "+va+" -> "+vb)
	}
	return out, nil
}

// flat maps each setting of EditableKeys in f (its Settings), as a dotted key, to its value
// in JSON; a list is one value.
func (f *File) flat() (map[string]string, error) {
	settings, err := f.Settings()
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	var walk func(key string, v any)
	walk = func(key string, v any) {
		if m, ok := v.(map[string]any); ok {
			for k, sub := range m {
				walk(key+"."+k, sub)
			}
			return
		}
		j, _ := json.Marshal(v)
		out[key] = string(j)
	}
	for k, v := range settings {
		walk(k, v)
	}
	return out, nil
}

// mergePatch applies patch to doc as RFC 7396 says and returns the result; doc is changed.
func mergePatch(doc map[string]any, patch map[string]any) map[string]any {
	if doc == nil {
		doc = map[string]any{}
	}
	for k, v := range patch {
		switch pv := v.(type) {
		case nil:
			delete(doc, k)
		case map[string]any:
			cur, _ := doc[k].(map[string]any)
			doc[k] = mergePatch(cur, pv)
		default:
			doc[k] = v
		}
	}
	return doc
}

// ErrEditConflict is returned by SetFile when the campaign's file changed since the version
// the caller read: read it again and reapply the change.
var ErrEditConflict = errors.New("the campaign was changed meanwhile")

// setFileScript replaces a campaign's file if it is still at the version the caller read.
//
//	KEYS[1] -> dialer:{C}:campaign
//	ARGV[1] -> the version read (0 when the field is absent)
//	ARGV[2] -> the new file, JSON
//
// Returns the new version; -1 when the campaign is gone, -2 when its version moved on, -3
// when it was canceled meanwhile.
var setFileScript = redis.NewScript(`
local c = redis.call("HMGET", KEYS[1], "state", "version", "control")
if not c[1] then
  return -1
end
if tonumber(c[2] or "0") ~= tonumber(ARGV[1]) then
  return -2
end
if c[3] == "canceled" then
  return -3
end
redis.call("HSET", KEYS[1], "file", ARGV[2])
return redis.call("HINCRBY", KEYS[1], "version", 1)
`)

// SetFile stores f as campaign c's file, if the stored file is still the one at c.Version,
// and returns the new version. A changed callsPerSecond also resets the campaign's
// calls-per-second state, so that the new rate holds from now rather than from the next
// turn the old rate gave. Every worker and feeder sees the new file within
// about a second (they compare versions; see Versions). It returns ErrCampaignNotFound,
// ErrEditConflict when the file changed since c was read, and ErrCampaignCanceled when the
// campaign was canceled meanwhile.
func (s *Store) SetFile(ctx context.Context, c *Campaign, f *File) (int64, error) {
	data, err := json.Marshal(f)
	if err != nil {
		return 0, fmt.Errorf("encode campaign file: %w", err)
	}
	v, err := setFileScript.Run(ctx, s.rdb, []string{campaignKey(c.ID)}, c.Version, data).Int64()
	if err != nil {
		return 0, fmt.Errorf("change campaign %s: %w", c.ID, err)
	}
	switch v {
	case -1:
		return 0, fmt.Errorf("campaign %q: %w", c.ID, ErrCampaignNotFound)
	case -2:
		return 0, fmt.Errorf("campaign %s: %w", c.ID, ErrEditConflict)
	case -3:
		return 0, fmt.Errorf("campaign %s: %w", c.ID, ErrCampaignCanceled)
	}
	if f.RateLimit.CallsPerSecond != c.File.RateLimit.CallsPerSecond {
		// The GCRA state holds the next turn at the old rate (a minute ahead at one call a
		// minute); forgetting it lets the new rate count from now.
		if err := s.deleteRateState(ctx, c); err != nil {
			return v, err
		}
	}
	return v, nil
}

// Versions reads the file versions of campaigns ids in one round trip: out[i] is ids[i]'s,
// 0 for a campaign never edited, -1 for one that does not exist. Workers and the feeder
// cache campaigns and compare versions to learn of an edit.
func (s *Store) Versions(ctx context.Context, ids []string) ([]int64, error) {
	cmds := make([]*redis.SliceCmd, len(ids))
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HMGet(ctx, campaignKey(id), "state", "version")
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read versions of %d campaigns: %w", len(ids), err)
	}
	out := make([]int64, len(ids))
	for i, cmd := range cmds {
		v := cmd.Val()
		if v[0] == nil {
			out[i] = -1
			continue
		}
		if s, ok := v[1].(string); ok {
			out[i], _ = strconv.ParseInt(s, 10, 64)
		}
	}
	return out, nil
}

// rescheduleBatch is how many parked attempts Reschedule moves a round trip.
const rescheduleBatch = 1000

// WakeWaiting makes the attempts of campaign id's contacts that wait for their calling
// window due at now, so that each is judged again under a calling window that changed: one
// the new window lets through is dialed now, the others are parked until their new
// opening. It returns how many it woke.
func (s *Store) WakeWaiting(ctx context.Context, id string, now time.Time) (int, error) {
	woke := 0
	for start := int64(0); ; start += rescheduleBatch {
		ns, err := s.rdb.ZRange(ctx, waitingKey(id), start, start+rescheduleBatch-1).Result()
		if err != nil {
			return woke, fmt.Errorf("read contacts of campaign %s waiting for their window: %w", id, err)
		}
		if len(ns) == 0 {
			return woke, nil
		}
		next := make([]*redis.StringCmd, len(ns))
		_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, n := range ns {
				k, _ := strconv.Atoi(n)
				next[i] = p.HGet(ctx, contactKey(id, k), "next_attempt")
			}
			return nil
		})
		if err != nil && !errors.Is(err, redis.Nil) {
			return woke, fmt.Errorf("read contacts of campaign %s waiting for their window: %w", id, err)
		}
		var cmds []*redis.IntCmd
		_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, n := range ns {
				a := next[i].Val()
				if a == "" {
					a = "1"
				}
				// XX: only an attempt still parked; one a worker holds is judged by it.
				cmds = append(cmds, p.ZAddArgs(ctx, hopperKey(id), redis.ZAddArgs{XX: true, Ch: true, Members: []redis.Z{{Score: dueScore(now), Member: n + ":" + a}}}))
			}
			return nil
		})
		if err != nil {
			return woke, fmt.Errorf("wake contacts of campaign %s waiting for their window: %w", id, err)
		}
		for _, c := range cmds {
			woke += int(c.Val())
		}
		if len(ns) < rescheduleBatch {
			return woke, nil
		}
	}
}

// DueBy moves the attempts of campaign id parked in its hopper due after at to be due at
// at, so that a campaign whose endAt moved earlier settles them then (the worker gives them
// the outcome expired) rather than at their old due time. It returns how many it moved.
func (s *Store) DueBy(ctx context.Context, id string, at time.Time) (int, error) {
	moved := 0
	min := "(" + strconv.FormatFloat(dueScore(at), 'f', -1, 64)
	for {
		ms, err := s.rdb.ZRangeByScore(ctx, hopperKey(id), &redis.ZRangeBy{Min: min, Max: "+inf", Count: rescheduleBatch}).Result()
		if err != nil {
			return moved, fmt.Errorf("read attempts of campaign %s due after its endAt: %w", id, err)
		}
		if len(ms) == 0 {
			return moved, nil
		}
		zs := make([]redis.Z, len(ms))
		for i, m := range ms {
			zs[i] = redis.Z{Score: dueScore(at), Member: m}
		}
		if err := s.rdb.ZAddXX(ctx, hopperKey(id), zs...).Err(); err != nil {
			return moved, fmt.Errorf("move attempts of campaign %s to its endAt: %w", id, err)
		}
		moved += len(ms)
	}
}
