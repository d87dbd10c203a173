package callerid

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"

	"github.com/nyaruka/phonenumbers"
	"github.com/redis/go-redis/v9"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/ratelimit"
)

// ErrAllBusy is wrapped by the error of Pick when every caller ID of the pool has a cap and
// is at it. Nothing is wrong: the caller should wait (a call ending frees a number) and pick
// again.
var ErrAllBusy = errors.New("every caller ID of the pool is at its maxConcurrentCalls")

// Picker picks the caller ID of each dial and holds the capped ones' slots. Its rotation
// lives in Redis, so Pickers in any number of processes share it. A Picker is safe for
// concurrent use; one per process is enough.
type Picker struct {
	rdb   redis.UniversalClient
	slots *ratelimit.Semaphore

	mu     sync.Mutex
	places map[string]place // pool numbers already parsed, by number as the File has it
}

// New returns a Picker that counts turns in rdb and holds the slots of capped numbers with
// slots. slots may be the Semaphore that holds the campaigns' own slots: the keys differ.
func New(rdb redis.UniversalClient, slots *ratelimit.Semaphore) *Picker {
	return &Picker{rdb: rdb, slots: slots, places: make(map[string]place)}
}

// Pick returns the caller ID to dial contactNumber (E.164) from, for campaign c, as an entry
// of c.File.CallerIDs(): its MaxConcurrentCalls is the cap in effect, 0 for none.
//
// Candidates come in the order of c's callerIdStrategy. rotate: the pool in turn, starting
// one further for every pick of the campaign. local: first the numbers sharing the
// contact's country calling code and area code (national destination code), then those in
// its country, then those sharing its calling code only (Canada for a US contact), then the
// rest; each group in turn, the turn counted per kind of contact. A contact number that does
// not parse is treated as having no place: only the last group.
//
// The first candidate without a cap wins; one with a cap wins if holder takes one of its
// slots (ratelimit.Semaphore.TryAcquire on SlotsKey(id)). holder names the dial and must be
// unique across every campaign, because the slots are (e.g. "campaign:contact:attempt");
// the caller gives the slot back with Release, and keeps it with KeepAlive while the call
// lives. A holder that already holds a number's slot keeps it, with a fresh lease, if that
// number's turn comes.
//
// Cost: no Redis command for a pool of one number without a cap; otherwise one for the
// turn, plus one per capped candidate tried.
//
// When every candidate has a cap and none has a free slot, the error wraps ErrAllBusy.
// Other errors: a File without caller IDs, and Redis failures, as they come.
func (p *Picker) Pick(ctx context.Context, c *campaign.Campaign, contactNumber, holder string) (campaign.CallerID, error) {
	pool := c.File.CallerIDs()
	if len(pool) == 0 {
		return campaign.CallerID{}, fmt.Errorf("pick caller ID for campaign %s: its file has no phoneNumberId nor phoneNumberIds", c.ID)
	}
	if len(pool) > 1 {
		var err error
		if c.File.CallerIDStrategy == campaign.CallerIDLocal {
			pool, err = p.local(ctx, c.ID, pool, contactNumber)
		} else {
			pool, err = p.rotate(ctx, c.ID, pool)
		}
		if err != nil {
			return campaign.CallerID{}, fmt.Errorf("pick caller ID for campaign %s: %w", c.ID, err)
		}
	}
	for _, cid := range pool {
		if cid.MaxConcurrentCalls <= 0 {
			return cid, nil
		}
		ok, err := p.slots.TryAcquire(ctx, SlotsKey(cid.ID), holder, cid.MaxConcurrentCalls)
		if err != nil {
			return campaign.CallerID{}, fmt.Errorf("pick caller ID for campaign %s: %w", c.ID, err)
		}
		if ok {
			return cid, nil
		}
	}
	return campaign.CallerID{}, fmt.Errorf("pick caller ID for campaign %s (%d numbers): %w", c.ID, len(pool), ErrAllBusy)
}

// rotate returns pool in the campaign's next turn.
func (p *Picker) rotate(ctx context.Context, campaignID string, pool []campaign.CallerID) ([]campaign.CallerID, error) {
	n, err := p.rdb.Incr(ctx, nextKey(campaignID)).Result()
	if err != nil {
		return nil, fmt.Errorf("count turn: %w", err)
	}
	return turn(pool, n), nil
}

// local returns pool grouped by how near each number is to contactNumber, nearest first,
// each group in its turn.
func (p *Picker) local(ctx context.Context, campaignID string, pool []campaign.CallerID, contactNumber string) ([]campaign.CallerID, error) {
	to, _ := placeOf(contactNumber)
	var groups [4][]campaign.CallerID
	for _, cid := range pool {
		g := to.nearness(p.place(cid.Number))
		groups[g] = append(groups[g], cid)
	}
	n, err := p.rdb.HIncrBy(ctx, localKey(campaignID), to.String(), 1).Result()
	if err != nil {
		return nil, fmt.Errorf("count turn: %w", err)
	}
	out := make([]campaign.CallerID, 0, len(pool))
	for _, g := range groups {
		out = append(out, turn(g, n)...)
	}
	return out, nil
}

// turn returns s rotated left by n-1: the nth turn (1-based) of s.
func turn(s []campaign.CallerID, n int64) []campaign.CallerID {
	if len(s) < 2 {
		return s
	}
	i := int((n - 1) % int64(len(s)))
	if i < 0 {
		i += len(s)
	}
	return slices.Concat(s[i:], s[:i])
}

// Release gives back holder's slot of caller ID id, as picked for campaign c. It does
// nothing when id has no cap in c (nothing was taken), and when holder holds no slot of id.
// It returns an error only if Redis fails.
func (p *Picker) Release(ctx context.Context, c *campaign.Campaign, id, holder string) error {
	if capOf(c, id) <= 0 {
		return nil
	}
	return p.slots.Release(ctx, SlotsKey(id), holder)
}

// Hold counts holder's live call from caller ID id of campaign c, whether or not its cap
// allows: for a task that resumes a call already placed, whose slot may have run out or
// been taken meanwhile (see ratelimit.Semaphore.Hold). It does nothing when id has no cap
// in c. It returns an error only if Redis fails.
func (p *Picker) Hold(ctx context.Context, c *campaign.Campaign, id, holder string) error {
	if capOf(c, id) <= 0 {
		return nil
	}
	return p.slots.Hold(ctx, SlotsKey(id), holder)
}

// KeepAlive renews holder's slot of caller ID id of campaign c until stop is called or ctx
// ends (see ratelimit.Semaphore.KeepAlive), for calls that outlive the Semaphore's lease.
// When id has no cap in c it starts nothing, and stop does nothing. stop returns once no
// renewal is in flight, so call it before Release; it may be called more than once.
func (p *Picker) KeepAlive(ctx context.Context, c *campaign.Campaign, id, holder string) (stop func()) {
	if capOf(c, id) <= 0 {
		return func() {}
	}
	return p.slots.KeepAlive(ctx, SlotsKey(id), holder)
}

// capOf returns the cap in effect for caller ID id in campaign c: 0 when it has none, or is
// not in c's pool.
func capOf(c *campaign.Campaign, id string) int {
	for _, cid := range c.File.CallerIDs() {
		if cid.ID == id {
			return cid.MaxConcurrentCalls
		}
	}
	return 0
}

// place is where a number belongs, as far as picking a local caller ID goes. The zero
// place is a number that did not parse.
type place struct {
	code   int32  // country calling code, 1 for every NANP country; 0 when unknown
	region string // ISO 3166 region ("US", "CA"); "" when unknown
	area   string // national destination code: the area code in NANP; "" when none
}

// placeOf parses number, written in E.164.
func placeOf(number string) (place, bool) {
	num, err := phonenumbers.Parse(number, "ZZ")
	if err != nil {
		return place{}, false
	}
	pl := place{code: num.GetCountryCode(), region: phonenumbers.GetRegionCodeForNumber(num)}
	if pl.region == "ZZ" {
		pl.region = ""
	}
	nsn := phonenumbers.GetNationalSignificantNumber(num)
	if n := phonenumbers.GetLengthOfNationalDestinationCode(num); n > 0 && n <= len(nsn) {
		pl.area = nsn[:n]
	}
	return pl, true
}

// place returns where pool number belongs, parsing each number once per Picker.
func (p *Picker) place(number string) place {
	p.mu.Lock()
	defer p.mu.Unlock()
	pl, ok := p.places[number]
	if !ok {
		pl, _ = placeOf(number)
		p.places[number] = pl
	}
	return pl
}

// nearness ranks caller number at for a contact at to: 0 same area, 1 same country, 2 same
// calling code, 3 none of these.
func (to place) nearness(at place) int {
	switch {
	case to.code == 0 || to.code != at.code:
		return 3
	case to.area != "" && to.area == at.area:
		return 0
	case to.region != "" && to.region == at.region:
		return 1
	}
	return 2
}

// String names the place as a field of localKey: "1/US/415", "" parts left empty, "?" for
// a number that did not parse.
func (to place) String() string {
	if to.code == 0 {
		return "?"
	}
	return strconv.Itoa(int(to.code)) + "/" + to.region + "/" + to.area
}
