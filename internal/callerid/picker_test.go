package callerid

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/ratelimit"
	"github.com/dialerhq/dialer/internal/redistest"
)

// testDB is this package's database (see package redistest).
const testDB = 14

// setup returns a client of a clean database.
func setup(tb testing.TB) *redis.Client {
	tb.Helper()
	rdb, _ := redistest.Setup(tb, testDB)
	return rdb
}

// newPicker returns a Picker on its own client of rdb's database, with a Semaphore of cfg.
func newPicker(tb testing.TB, rdb *redis.Client, cfg ratelimit.SemaphoreConfig) *Picker {
	tb.Helper()
	c := redistest.NewClient(tb, rdb)
	return New(c, ratelimit.NewSemaphore(c, cfg))
}

// mustCampaign returns campaign id with the campaign file made of the common keys and keys,
// parsed, defaulted, validated and normalised as an upload does (campaign.ParseChecked).
func mustCampaign(tb testing.TB, id, keys string) *campaign.Campaign {
	tb.Helper()
	f, err := campaign.ParseChecked(id+".yaml", []byte("name: "+id+"\nassistantId: a1\ncontacts: {numberColumn: phone}\n"+keys))
	if err != nil {
		tb.Fatal(err)
	}
	return &campaign.Campaign{ID: id, File: *f}
}

func mustPick(tb testing.TB, p *Picker, c *campaign.Campaign, contact, holder string) campaign.CallerID {
	tb.Helper()
	cid, err := p.Pick(tb.Context(), c, contact, holder)
	if err != nil {
		tb.Fatalf("Pick(%s, %s): %v", contact, holder, err)
	}
	return cid
}

// countingHook counts the commands a client sends, pipelines included, leaving out those
// that set up a new connection.
type countingHook struct{ n atomic.Int64 }

func (h *countingHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *countingHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.count(cmd)
		return next(ctx, cmd)
	}
}

func (h *countingHook) count(cmd redis.Cmder) {
	switch cmd.Name() {
	case "hello", "auth", "select", "client":
	default:
		h.n.Add(1)
	}
}

func (h *countingHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			h.count(cmd)
		}
		return next(ctx, cmds)
	}
}

func TestKeys(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{SlotsKey("5f7b1b"), "dialer:callerid:{5f7b1b}:slots"},
		{nextKey("c123"), "dialer:{c123}:callerid:next"},
		{localKey("c123"), "dialer:{c123}:callerid:local"},
	} {
		if tt.got != tt.want {
			t.Errorf("key %q, want %q", tt.got, tt.want)
		}
	}
}

// TestRotate checks that rotate takes the pool in turn, one turn for the whole campaign
// however many Pickers (worker processes) pick, and that campaigns turn independently.
func TestRotate(t *testing.T) {
	rdb := setup(t)
	c := mustCampaign(t, "c1", "phoneNumberIds: [p1, p2, p3]\n")
	other := mustCampaign(t, "c2", "phoneNumberIds: [q1, q2]\n")
	pickers := []*Picker{newPicker(t, rdb, ratelimit.SemaphoreConfig{}), newPicker(t, rdb, ratelimit.SemaphoreConfig{})}

	t.Run("InTurn", func(t *testing.T) {
		var got, gotOther []string
		for i := range 7 {
			got = append(got, mustPick(t, pickers[i%2], c, "+14155550100", fmt.Sprint("h", i)).ID)
			gotOther = append(gotOther, mustPick(t, pickers[(i+1)%2], other, "+14155550100", fmt.Sprint("h", i)).ID)
		}
		if diff := cmp.Diff([]string{"p1", "p2", "p3", "p1", "p2", "p3", "p1"}, got); diff != "" {
			t.Errorf("picks of c1 (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"q1", "q2", "q1", "q2", "q1", "q2", "q1"}, gotOther); diff != "" {
			t.Errorf("picks of c2 (-want +got):\n%s", diff)
		}
	})

	t.Run("EvenUnderConcurrency", func(t *testing.T) {
		if err := rdb.Del(t.Context(), nextKey(c.ID)).Err(); err != nil {
			t.Fatal(err)
		}
		const goroutines, each = 10, 30 // per Picker
		var mu sync.Mutex
		count := map[string]int{}
		var wg sync.WaitGroup
		for pi, p := range pickers {
			for g := range goroutines {
				wg.Go(func() {
					for i := range each {
						cid, err := p.Pick(t.Context(), c, "+14155550100", fmt.Sprintf("p%d-g%d-%d", pi, g, i))
						if err != nil {
							t.Error(err)
							return
						}
						mu.Lock()
						count[cid.ID]++
						mu.Unlock()
					}
				})
			}
		}
		wg.Wait()
		n := len(pickers) * goroutines * each / 3
		if diff := cmp.Diff(map[string]int{"p1": n, "p2": n, "p3": n}, count); diff != "" {
			t.Errorf("picks per caller ID (-want +got):\n%s", diff)
		}
	})
}

// localPool is a callerIdStrategy local pool: two San Francisco numbers, one New York, one
// Toronto (same calling code as the US, another country) and one London.
const localPool = `callerIdStrategy: local
phoneNumberIds:
  - {id: sf1, number: "+1 415 555 0100"}
  - {id: sf2, number: "(415) 555-0101"}
  - {id: ny, number: "+12125550100"}
  - {id: to, number: "+14165550100"}
  - {id: ldn, number: "+44 20 7946 0123"}
`

func TestLocal(t *testing.T) {
	tests := []struct {
		name    string
		contact string
		want    []string // successive picks, each released before the next
	}{
		{name: "same area code, in turn", contact: "+14155550199", want: []string{"sf1", "sf2", "sf1", "sf2"}},
		{name: "the one number of the area", contact: "+12125550199", want: []string{"ny", "ny", "ny"}},
		{name: "same country", contact: "+13125550100", want: []string{"sf1", "sf2", "ny", "sf1", "sf2", "ny"}},
		{name: "Canada: same area code", contact: "+14165550123", want: []string{"to", "to"}},
		{name: "Canada, another area: same country", contact: "+16045550123", want: []string{"to", "to"}},
		{name: "UK mobile: same calling code", contact: "+447700900123", want: []string{"ldn", "ldn"}},
		{name: "elsewhere: the whole pool in turn", contact: "+33142685300", want: []string{"sf1", "sf2", "ny", "to", "ldn", "sf1"}},
		{name: "not a number: the whole pool in turn", contact: "not a number", want: []string{"sf1", "sf2", "ny", "to", "ldn", "sf1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rdb := setup(t)
			p := newPicker(t, rdb, ratelimit.SemaphoreConfig{})
			c := mustCampaign(t, "c1", localPool)
			var got []string
			for i := range tt.want {
				got = append(got, mustPick(t, p, c, tt.contact, fmt.Sprint("h", i)).ID)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("picks (-want +got):\n%s", diff)
			}
		})
	}

	// Contacts of one area turn through their numbers whatever other contacts come between:
	// the turn is counted per kind of contact.
	t.Run("turn per area", func(t *testing.T) {
		rdb := setup(t)
		p := newPicker(t, rdb, ratelimit.SemaphoreConfig{})
		c := mustCampaign(t, "c1", localPool)
		var got []string
		for i := range 4 {
			got = append(got, mustPick(t, p, c, "+14155550199", fmt.Sprint("sf", i)).ID)
			mustPick(t, p, c, "+13125550100", fmt.Sprint("chi", i))
		}
		if diff := cmp.Diff([]string{"sf1", "sf2", "sf1", "sf2"}, got); diff != "" {
			t.Errorf("picks for San Francisco (-want +got):\n%s", diff)
		}
	})
}

// TestFallback fills a capped local pool number by number: each pick takes the nearest number
// with a free slot, until all are busy; a release frees one again.
func TestFallback(t *testing.T) {
	rdb := setup(t)
	p := newPicker(t, rdb, ratelimit.SemaphoreConfig{})
	c := mustCampaign(t, "c1", localPool+"callerIdMaxConcurrentCalls: 1\n")
	ctx := t.Context()
	const sf = "+14155550199"

	var got []string
	for i := range 5 {
		cid := mustPick(t, p, c, sf, fmt.Sprint("h", i))
		if cid.MaxConcurrentCalls != 1 {
			t.Errorf("pick %d: %+v, want MaxConcurrentCalls 1", i, cid)
		}
		got = append(got, cid.ID)
	}
	if diff := cmp.Diff([]string{"sf1", "sf2", "ny", "to", "ldn"}, got); diff != "" {
		t.Errorf("picks (-want +got):\n%s", diff)
	}

	_, err := p.Pick(ctx, c, sf, "h5")
	if !errors.Is(err, ErrAllBusy) {
		t.Fatalf("Pick with every number busy = %v, want ErrAllBusy", err)
	}
	if want := "pick caller ID for campaign c1 (5 numbers): every caller ID of the pool is at its maxConcurrentCalls"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}

	if err := p.Release(ctx, c, "to", "h3"); err != nil {
		t.Fatal(err)
	}
	if cid := mustPick(t, p, c, sf, "h5"); cid.ID != "to" {
		t.Errorf("after releasing to: picked %s, want to", cid.ID)
	}
	// A holder picking again keeps the slot it holds rather than taking a second one.
	if cid := mustPick(t, p, c, sf, "h5"); cid.ID != "to" {
		t.Errorf("h5 again: picked %s, want to", cid.ID)
	}
}

// TestCapsUnderConcurrency has many goroutines of two Pickers pick and release at once and
// checks that no number ever has more live calls than its cap.
func TestCapsUnderConcurrency(t *testing.T) {
	rdb := setup(t)
	c := mustCampaign(t, "c1", `callerIdMaxConcurrentCalls: 2
phoneNumberIds:
  - p1
  - {id: p2, maxConcurrentCalls: 1}
  - {id: p3, maxConcurrentCalls: 3}
`)
	caps := map[string]int64{"p1": 2, "p2": 1, "p3": 3}
	pickers := []*Picker{newPicker(t, rdb, ratelimit.SemaphoreConfig{}), newPicker(t, rdb, ratelimit.SemaphoreConfig{})}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()

	var live, peak [3]atomic.Int64
	var picked, busy atomic.Int64
	const goroutines, each = 15, 20 // per Picker
	var wg sync.WaitGroup
	for pi, p := range pickers {
		for g := range goroutines {
			wg.Go(func() {
				for i := range each {
					holder := fmt.Sprintf("p%d-g%d-%d", pi, g, i)
					cid, err := p.Pick(ctx, c, "+14155550100", holder)
					if errors.Is(err, ErrAllBusy) {
						busy.Add(1)
						runtime.Gosched()
						continue
					}
					if err != nil {
						t.Error(err)
						return
					}
					picked.Add(1)
					k := int(cid.ID[1] - '1')
					n := live[k].Add(1)
					for old := peak[k].Load(); n > old && !peak[k].CompareAndSwap(old, n); old = peak[k].Load() {
					}
					if n > caps[cid.ID] {
						t.Errorf("%s has %d live calls, cap %d", cid.ID, n, caps[cid.ID])
					}
					runtime.Gosched() // the call
					live[k].Add(-1)
					if err := p.Release(ctx, c, cid.ID, holder); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	t.Logf("%d picked, %d busy; peaks p1 %d, p2 %d, p3 %d", picked.Load(), busy.Load(), peak[0].Load(), peak[1].Load(), peak[2].Load())
	if picked.Load() == 0 || busy.Load() == 0 {
		t.Errorf("%d picked and %d busy; want some of each, or the test proves nothing", picked.Load(), busy.Load())
	}
	sem := ratelimit.NewSemaphore(rdb, ratelimit.SemaphoreConfig{})
	for id := range caps {
		if n, err := sem.Count(ctx, SlotsKey(id)); err != nil || n != 0 {
			t.Errorf("%s: %d slots still held (%v), want 0", id, n, err)
		}
	}
}

// TestSharedAcrossCampaigns checks that a number's cap counts the calls of every campaign
// dialing from it.
func TestSharedAcrossCampaigns(t *testing.T) {
	rdb := setup(t)
	p := newPicker(t, rdb, ratelimit.SemaphoreConfig{})
	a := mustCampaign(t, "ca", "phoneNumberId: trunk\ncallerIdMaxConcurrentCalls: 1\n")
	b := mustCampaign(t, "cb", "phoneNumberIds: [{id: trunk, maxConcurrentCalls: 1}]\n")
	if cid := mustPick(t, p, a, "+14155550100", "ca:1:1"); cid != (campaign.CallerID{ID: "trunk", MaxConcurrentCalls: 1}) {
		t.Errorf("Pick = %+v", cid)
	}
	if _, err := p.Pick(t.Context(), b, "+14155550100", "cb:1:1"); !errors.Is(err, ErrAllBusy) {
		t.Fatalf("other campaign's Pick = %v, want ErrAllBusy", err)
	}
	if err := p.Release(t.Context(), a, "trunk", "ca:1:1"); err != nil {
		t.Fatal(err)
	}
	mustPick(t, p, b, "+14155550100", "cb:1:1")
}

// TestNoCapNoRedis checks that a campaign with one uncapped caller ID costs no Redis command
// to pick, release, hold or keep alive, while a pool costs one per pick.
func TestNoCapNoRedis(t *testing.T) {
	rdb := setup(t)
	hook := &countingHook{}
	c := redistest.NewClient(t, rdb)
	c.AddHook(hook)
	p := New(c, ratelimit.NewSemaphore(c, ratelimit.SemaphoreConfig{}))
	ctx := t.Context()

	one := mustCampaign(t, "c1", "phoneNumberId: p1\n")
	if cid := mustPick(t, p, one, "+14155550100", "h"); cid != (campaign.CallerID{ID: "p1"}) {
		t.Errorf("Pick = %+v, want p1 without a cap", cid)
	}
	if err := p.Hold(ctx, one, "p1", "h"); err != nil {
		t.Fatal(err)
	}
	p.KeepAlive(ctx, one, "p1", "h")()
	if err := p.Release(ctx, one, "p1", "h"); err != nil {
		t.Fatal(err)
	}
	if n := hook.n.Load(); n != 0 {
		t.Errorf("%d Redis commands for one caller ID without a cap, want 0", n)
	}

	pool := mustCampaign(t, "c2", "phoneNumberIds: [p1, p2]\n")
	mustPick(t, p, pool, "+14155550100", "h")
	if n := hook.n.Load(); n != 1 {
		t.Errorf("%d Redis commands for a pick from an uncapped pool, want 1", n)
	}
}

// TestHoldAndKeepAlive checks Hold counts a resumed call past the cap and KeepAlive renews a
// capped number's lease.
func TestHoldAndKeepAlive(t *testing.T) {
	rdb := setup(t)
	p := newPicker(t, rdb, ratelimit.SemaphoreConfig{Lease: 300 * time.Millisecond})
	c := mustCampaign(t, "c1", "phoneNumberIds: [{id: p1, maxConcurrentCalls: 1}]\n")
	ctx := t.Context()
	count := func() int {
		t.Helper()
		n, err := ratelimit.NewSemaphore(rdb, ratelimit.SemaphoreConfig{}).Count(ctx, SlotsKey("p1"))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	mustPick(t, p, c, "+14155550100", "h1")
	if err := p.Hold(ctx, c, "p1", "h2"); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 2 {
		t.Errorf("after a pick and a Hold: %d live, want 2 (Hold ignores the cap)", n)
	}
	if _, err := p.Pick(ctx, c, "+14155550100", "h3"); !errors.Is(err, ErrAllBusy) {
		t.Errorf("Pick over the cap = %v, want ErrAllBusy", err)
	}
	// An id not in the campaign's pool has no cap there: nothing to hold or release.
	if err := p.Hold(ctx, c, "elsewhere", "h4"); err != nil {
		t.Fatal(err)
	}
	if n, _ := rdb.Exists(ctx, SlotsKey("elsewhere")).Result(); n != 0 {
		t.Errorf("Hold of an id outside the pool wrote %s", SlotsKey("elsewhere"))
	}

	score := func() float64 {
		t.Helper()
		s, err := rdb.ZScore(ctx, SlotsKey("p1"), "h1").Result()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	first := score()
	stop := p.KeepAlive(ctx, c, "p1", "h1")
	for deadline := time.Now().Add(5 * time.Second); score() <= first; {
		if time.Now().After(deadline) {
			t.Fatal("KeepAlive did not renew h1's lease within 5s (it should every 100ms)")
		}
		runtime.Gosched()
	}
	stop()
	stop() // a second stop is harmless

	for _, h := range []string{"h1", "h2"} {
		if err := p.Release(ctx, c, "p1", h); err != nil {
			t.Fatal(err)
		}
	}
	if n := count(); n != 0 {
		t.Errorf("after releasing both: %d live, want 0", n)
	}
	mustPick(t, p, c, "+14155550100", "h3")
}

func TestPickErrors(t *testing.T) {
	rdb := setup(t)
	p := newPicker(t, rdb, ratelimit.SemaphoreConfig{})

	none := &campaign.Campaign{ID: "c0"}
	_, err := p.Pick(t.Context(), none, "+14155550100", "h")
	if want := "pick caller ID for campaign c0: its file has no phoneNumberId nor phoneNumberIds"; err == nil || err.Error() != want {
		t.Errorf("Pick without caller IDs = %v, want %q", err, want)
	}

	// Redis unreachable: the error says so and is not ErrAllBusy.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	down := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second, DialerRetries: 1})
	defer down.Close()
	pd := New(down, ratelimit.NewSemaphore(down, ratelimit.SemaphoreConfig{}))
	for _, keys := range []string{"phoneNumberIds: [p1, p2]\n", "phoneNumberId: p1\ncallerIdMaxConcurrentCalls: 3\n"} {
		_, err = pd.Pick(t.Context(), mustCampaign(t, "c1", keys), "+14155550100", "h")
		if err == nil || errors.Is(err, ErrAllBusy) {
			t.Errorf("Pick with Redis down (%q) = %v, want a Redis error", keys, err)
		}
	}
}
