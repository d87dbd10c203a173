package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/account"
	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/frequency"
	"github.com/dialerhq/dialer/internal/interactly"
	"github.com/dialerhq/dialer/internal/lab"
	"github.com/dialerhq/dialer/internal/queue"
	"github.com/dialerhq/dialer/internal/ratelimit"
	"github.com/dialerhq/dialer/internal/simulator"
	"github.com/dialerhq/dialer/internal/simulator/simtest"
	"github.com/dialerhq/dialer/internal/testutil"
)

// switchAPI sends every request with the wrong key until fixed is set, then with the right
// one: an operator fixing the account's key.
type switchAPI struct {
	wrong, right CallAPI
	fixed        *atomic.Bool
}

func (s switchAPI) api() CallAPI {
	if s.fixed.Load() {
		return s.right
	}
	return s.wrong
}
func (s switchAPI) ConnectCall(ctx context.Context, req *interactly.ConnectCallRequest) (*interactly.Call, error) {
	return s.api().ConnectCall(ctx, req)
}
func (s switchAPI) GetCall(ctx context.Context, id string) (*interactly.Call, error) {
	return s.api().GetCall(ctx, id)
}
func (s switchAPI) FindCall(ctx context.Context, key string, since time.Time) (*interactly.Call, error) {
	return s.api().FindCall(ctx, key, since)
}

// A key Interactly refuses is held for the whole fleet: two workers, ten contacts due at
// once, 35 s on a virtual clock. The API sees the first refused dial and one probe per
// backoff step (1, 2, 4, 8, 16 s), not a dial per contact and retry; the log says it once,
// then once 30 s later; no attempt is counted; status says the account is held. Once the
// key is fixed, the next probe (32 s after the last) is accepted and every contact is dialed.
func TestRefusedKeyHeldForTheFleet(t *testing.T) {
	rdb := testRedis(t)
	ctx := t.Context()
	sim, srv := simtest.Serve(t, simulator.Config{APIKey: "right-key", RingMin: 5 * time.Millisecond, TalkMin: 5 * time.Millisecond, AnalysisDelay: -1})
	client := func(key string) CallAPI {
		c, err := interactly.New(interactly.Config{BaseURL: srv.URL, APIKey: key})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	var fixed atomic.Bool
	api := switchAPI{wrong: client("wrong-key"), right: client("right-key"), fixed: &fixed}

	f := mustFile(t, strings.Replace(testCampaign, "maxConcurrentCalls: 1", "maxConcurrentCalls: 10", 1))
	var rows strings.Builder
	rows.WriteString("First Name,phone,doctor\n")
	const contacts = 10
	for i := range contacts {
		fmt.Fprintf(&rows, "P%d,415 555 %04d,Dr. Lee\n", i, 1000+i)
	}
	store := campaign.NewStore(rdb)
	open := func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(rows.String())), nil }
	c, err := store.Upload(ctx, f, "contacts.csv", open, &fakeEnqueuer{}, campaign.UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}

	start := testutil.Now()
	clock := testutil.NewClock(start)
	logs := &lab.LockedBuffer{}
	workers := make([]*Handler, 2)
	for i := range workers {
		h, err := New(Config{
			Store: store, Enqueuer: &fakeEnqueuer{}, API: api,
			Accounts:  account.NewStore(rdb),
			Limiter:   ratelimit.NewLimiter(rdb),
			Slots:     ratelimit.NewSemaphore(rdb, ratelimit.SemaphoreConfig{}),
			Frequency: frequency.New(rdb),
			// A cap, so that each dial is counted against its number.
			DefaultFrequencyCap: &frequency.Cap{MaxCalls: 3, Per: 24 * time.Hour},
			Name:                fmt.Sprintf("w%d", i+1),
			Logger:              slog.New(slog.NewTextHandler(logs, nil)),
			Now:                 clock.Now,
		})
		if err != nil {
			t.Fatal(err)
		}
		workers[i] = h
	}

	// The hopper, by hand: every task runs when due, on the two workers in turn; a task
	// held comes back when its RetryLaterError says.
	due := map[int]time.Time{}
	for n := 1; n <= contacts; n++ {
		due[n] = start
	}
	turn := 0
	firstAccepted := time.Duration(-1)
	run := func(until time.Duration) {
		t.Helper()
		for at := clock.Now().Sub(start); at <= until && len(due) > 0; at += 100 * time.Millisecond {
			clock.Set(start.Add(at))
			for n := 1; n <= contacts; n++ {
				d, ok := due[n]
				if !ok || clock.Now().Before(d) {
					continue
				}
				h := workers[turn%2]
				turn++
				err := h.ProcessTask(ctx, queue.NewDialTask(campaign.AttemptRef{CampaignID: c.ID, ContactID: n, Attempt: 1}))
				var later *queue.RetryLaterError
				switch {
				case errors.As(err, &later):
					due[n] = clock.Now().Add(later.In)
				case err != nil:
					t.Fatalf("contact %d at %v: %v", n, at, err)
				default:
					delete(due, n)
					if firstAccepted < 0 {
						firstAccepted = at
					}
				}
			}
		}
	}

	run(35 * time.Second)
	refused := sim.Stats().Unauthorized
	t.Logf("35 s with a refused key: %d requests reached the API, all refused; %d log lines", refused, strings.Count(logs.String(), "Interactly refuses the API key"))
	// The first dial, then probes at 1, 3, 7, 15 and 31 s.
	if refused < 2 || refused > 7 {
		t.Errorf("%d requests reached the API in 35 s with a refused key, want the first and one probe per backoff step (6)", refused)
	}
	if n := strings.Count(logs.String(), "Interactly refuses the API key"); n < 1 || n > 2 {
		t.Errorf("the refusal was logged %d times in 35 s, want once and once more after 30 s", n)
	}
	st, err := store.Status(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.Attempts != 0 || st.Hold != campaign.KeyRefused {
		t.Errorf("status: %d attempts, hold %q; want 0 attempts (no dial was placed) and hold %q", st.Attempts, st.Hold, campaign.KeyRefused)
	}
	if firstAccepted >= 0 {
		t.Fatalf("a dial was accepted at %v with the wrong key", firstAccepted)
	}
	// A refused dial reached nobody: it does not count against the number's frequency cap.
	for i := range contacts {
		number := fmt.Sprintf("+1415555%04d", 1000+i)
		if n, err := frequency.New(rdb).Count(ctx, number, 24*time.Hour); err != nil || n != 0 {
			t.Errorf("%s: frequency count %d (%v) after dials refused with the API key, want 0", number, n, err)
		}
	}

	hold, err := account.NewStore(rdb).KeyHoldOf(ctx, account.Default)
	if err != nil || hold == nil {
		t.Fatalf("the account is not held after 35 s of refusals: %v", err)
	}
	next := hold.ProbeAt.Sub(start)
	fixed.Store(true)
	run(120 * time.Second)
	t.Logf("key fixed at 35 s: next probe due at %v, first dial accepted at %v", next, firstAccepted)
	if firstAccepted < next || firstAccepted > next+time.Second {
		t.Errorf("first dial accepted at %v, want at the next probe, due at %v", firstAccepted, next)
	}
	if len(due) > 0 {
		t.Errorf("%d contacts not dialed 57 s after the key was fixed", len(due))
	}
	if got := sim.Stats().Unauthorized; got != refused {
		t.Errorf("%d requests refused after the key was fixed", got-refused)
	}
	if st, err = store.Status(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if st.Attempts != contacts || st.Hold != "" {
		t.Errorf("status: %d attempts, hold %q; want %d and none", st.Attempts, st.Hold, contacts)
	}
	if n := strings.Count(logs.String(), "Interactly accepts the API key again"); n != 1 {
		t.Errorf("the end of the hold was logged %d times, want once", n)
	}
}
