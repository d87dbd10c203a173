package worker

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/interactly"
	"github.com/dialerhq/dialer/internal/phone"
	"github.com/dialerhq/dialer/internal/queue"
	"github.com/dialerhq/dialer/internal/ratelimit"
	"github.com/dialerhq/dialer/internal/redistest"
	"github.com/dialerhq/dialer/internal/testutil"
	"github.com/google/go-cmp/cmp"
)

// This file runs a whole campaign on a virtual clock: a time-ordered queue stands in for
// asynq (which schedules in real time), and the handler and the fake API read the same
// clock, so two days of calling take well under a second.

// virtualTask is a dial task due at a virtual time; seq keeps equal due times in FIFO order.
type virtualTask struct {
	due  time.Time
	seq  int
	task campaign.AttemptRef
}

type taskHeap []virtualTask

func (h taskHeap) Len() int { return len(h) }
func (h taskHeap) Less(i, j int) bool {
	if !h[i].due.Equal(h[j].due) {
		return h[i].due.Before(h[j].due)
	}
	return h[i].seq < h[j].seq
}
func (h taskHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *taskHeap) Push(x any)   { *h = append(*h, x.(virtualTask)) }
func (h *taskHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// virtualQueue is a campaign.Enqueuer that holds tasks by virtual due time. Like asynq with
// a TaskID, it keeps one pending task per TaskID.
type virtualQueue struct {
	mu      sync.Mutex
	clock   *testutil.Clock
	tasks   taskHeap
	pending map[string]bool
	seq     int
}

var _ campaign.Enqueuer = (*virtualQueue)(nil)

func newVirtualQueue(clock *testutil.Clock) *virtualQueue {
	return &virtualQueue{clock: clock, pending: map[string]bool{}}
}

func (q *virtualQueue) EnqueueDial(_ context.Context, ref campaign.AttemptRef, at time.Time) error {
	if at.IsZero() {
		at = q.clock.Now()
	}
	q.push(ref, at)
	return nil
}

func (q *virtualQueue) push(t campaign.AttemptRef, due time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.pending[t.String()] {
		return
	}
	q.pending[t.String()] = true
	q.seq++
	heap.Push(&q.tasks, virtualTask{due: due, seq: q.seq, task: t})
}

// pop removes and returns the earliest task; ok is false when none is left.
func (q *virtualQueue) pop() (t virtualTask, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.tasks) == 0 {
		return t, false
	}
	t = heap.Pop(&q.tasks).(virtualTask)
	delete(q.pending, t.task.String())
	return t, true
}

// dial is one Connect Call as the fake API saw it: the number and the virtual time.
type dial struct {
	Number string
	At     time.Time
}

// scriptedAPI ends each call at once, one virtual minute after it began, with the
// phoneCallStatus its script gives for that number's nth dial. It logs every dial.
type scriptedAPI struct {
	callBook
	clock  *testutil.Clock
	script map[string][]interactly.PhoneCallStatus // E.164 number -> status of each dial
	log    []dial
}

var _ CallAPI = (*scriptedAPI)(nil)

func (f *scriptedAPI) ConnectCall(ctx context.Context, req *interactly.ConnectCallRequest) (*interactly.Call, error) {
	if req.Pace != nil {
		if err := req.Pace(ctx); err != nil {
			return nil, err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.clock.Now()
	number := req.Customer.Number
	n := 0
	for _, d := range f.log {
		if d.Number == number {
			n++
		}
	}
	f.log = append(f.log, dial{Number: number, At: now})
	script := f.script[number]
	if n >= len(script) {
		return nil, &interactly.APIError{Op: "connect call", Status: 422, Message: fmt.Sprintf("dial %d of %s is not scripted", n+1, number)}
	}
	status := script[n]
	call := endedCall(len(f.log), status, now, "customer")
	if status == interactly.PhoneCompleted {
		call.Analysis = &interactly.Analysis{Summary: "Confirmed.", SuccessEvaluation: "Good"}
	}
	f.calls[call.ID] = call
	f.byKey[req.IdempotencyKey] = call
	return call, nil
}

// complianceContact is one row of the campaign: its number as written, its tz cell, the
// zones its local time is judged in (written out here, not asked of package window), and
// the status of each of its dials.
type complianceContact struct {
	raw    string
	tz     string
	zones  []string
	script []interactly.PhoneCallStatus
}

var (
	completed  = []interactly.PhoneCallStatus{interactly.PhoneCompleted}
	busyOnce   = []interactly.PhoneCallStatus{interactly.PhoneBusy, interactly.PhoneCompleted}
	noAnswerx5 = slices.Repeat([]interactly.PhoneCallStatus{interactly.PhoneNoAnswer}, 5)
	mixed      = []interactly.PhoneCallStatus{interactly.PhoneBusy, interactly.PhoneNoAnswer, interactly.PhoneBusy, interactly.PhoneCompleted}
)

// complianceContacts covers every US zone libphonenumber knows, Hawaii, the UK, India, and
// tz column overrides. +1 907 is both Alaska zones: America/Adak runs an hour behind
// America/Anchorage, so the contact may be called only while both read 09:00-20:00.
var complianceContacts = []complianceContact{
	{raw: "212 555 0101", zones: []string{"America/New_York"}, script: completed},
	{raw: "212 555 0102", zones: []string{"America/New_York"}, script: noAnswerx5},
	{raw: "312 555 0101", zones: []string{"America/Chicago"}, script: busyOnce},
	{raw: "312 555 0102", zones: []string{"America/Chicago"}, script: noAnswerx5},
	{raw: "303 555 0101", zones: []string{"America/Denver"}, script: mixed},
	{raw: "303 555 0102", zones: []string{"America/Denver"}, script: noAnswerx5},
	{raw: "602 555 0101", zones: []string{"America/Phoenix"}, script: busyOnce},
	{raw: "602 555 0102", zones: []string{"America/Phoenix"}, script: noAnswerx5},
	{raw: "415 555 0101", zones: []string{"America/Los_Angeles"}, script: completed},
	{raw: "415 555 0102", zones: []string{"America/Los_Angeles"}, script: noAnswerx5},
	{raw: "907 555 0101", zones: []string{"America/Adak", "America/Anchorage"}, script: mixed},
	{raw: "907 555 0102", zones: []string{"America/Adak", "America/Anchorage"}, script: noAnswerx5},
	{raw: "808 555 0101", zones: []string{"Pacific/Honolulu"}, script: busyOnce},
	{raw: "808 555 0102", zones: []string{"Pacific/Honolulu"}, script: noAnswerx5},
	{raw: "+44 20 7946 0101", zones: []string{"Europe/London"}, script: completed},
	{raw: "+44 20 7946 0102", zones: []string{"Europe/London"}, script: noAnswerx5},
	{raw: "+91 81234 56789", zones: []string{"Asia/Kolkata"}, script: busyOnce},
	{raw: "+91 98765 43210", zones: []string{"Asia/Kolkata"}, script: noAnswerx5},
	// The column overrides the number: a New York number of someone in Los Angeles.
	{raw: "212 555 0103", tz: "America/Los_Angeles", zones: []string{"America/Los_Angeles"}, script: noAnswerx5},
	{raw: "212 555 0104", tz: "Asia/Kathmandu", zones: []string{"Asia/Kathmandu"}, script: mixed},
}

// complianceCampaign is the campaign file; %s is the window's days. maxAttempts is 5 so
// that retries 3h apart run past the window's end and into the next day.
const complianceCampaign = `
name: compliance
assistantId: asst-1
phoneNumberId: num-1
contacts: {numberColumn: phone}
defaultTimezone: America/New_York
callingWindow:
  days: [%s]
  start: "09:00"
  end: "20:00"
  timezone: contact
  timezoneColumn: tz
retry: {maxAttempts: 5, retryOn: [busy, no-answer], delay: 3h}
rateLimit: {callsPerSecond: 1000, maxConcurrentCalls: 100}
poll: {interval: 100ms, analysisWait: 0s}
`

func TestCallingWindowCompliance(t *testing.T) {
	redistest.Parallel(t) // the subtests have a Redis each
	tests := []struct {
		name  string
		start time.Time
		days  []time.Weekday
	}{
		// US clocks fall back on Sunday Nov 1 2026 at 02:00; the UK did a week before.
		{"FallBack", time.Date(2026, 10, 31, 12, 0, 0, 0, time.UTC),
			[]time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday}},
		// US clocks spring forward on Sunday Mar 8 2026 at 02:00. Saturday is shut, so every
		// contact waits from Saturday noon UTC to its Sunday 09:00, across the change.
		{"SpringForward", time.Date(2026, 3, 7, 12, 0, 0, 0, time.UTC),
			[]time.Weekday{time.Sunday, time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := runCompliance(t, tt.start, tt.days)

			if end := tt.start.Add(72 * time.Hour); run.end.After(end) {
				t.Errorf("the run ended at %s, after %s", run.end, end)
			}
			if run.processed > 2*len(run.api.log) {
				t.Errorf("%d ProcessTask calls for %d dials; want at most 2 per dial (one deferral to the window)", run.processed, len(run.api.log))
			}
			for id, n := range run.deferred {
				if n > 1 {
					t.Errorf("task %s deferred %d times; want once at most, to its window's opening", id, n)
				}
			}

			byNumber := map[string][]time.Time{}
			for _, d := range run.api.log {
				byNumber[d.Number] = append(byNumber[d.Number], d.At)
			}
			for i, cc := range complianceContacts {
				number := run.numbers[i]
				locs := mustLocations(t, cc.zones)
				dials := byNumber[number]

				// No dial outside the window, on the contact's own clock in each of its zones.
				for _, at := range dials {
					for _, loc := range locs {
						local := at.In(loc)
						if m := local.Hour()*60 + local.Minute(); !slices.Contains(tt.days, local.Weekday()) || m < 9*60 || m >= 20*60 {
							t.Errorf("%s dialed at %s, %s in %s: outside %v 09:00-20:00",
								number, at.UTC().Format(time.RFC3339), local.Format("Mon 15:04 MST"), loc, tt.days)
						}
					}
				}
				if len(dials) != len(cc.script) {
					t.Errorf("%s dialed %d times, want %d (its script)", number, len(dials), len(cc.script))
					continue
				}
				// Each dial at the first minute its window is open, from the start and then from
				// 3h after the previous call ended (one minute after it began).
				want := make([]time.Time, len(cc.script))
				from := tt.start
				for k := range want {
					want[k] = firstOpenMinute(t, from, locs, tt.days)
					from = want[k].Add(time.Minute + 3*time.Hour)
				}
				if diff := cmp.Diff(want, dials); diff != "" {
					t.Errorf("dials of %s (%v) (-want +got):\n%s", number, cc.zones, diff)
				}
				// A contact shut at the start is first dialed as its window opens: 09:00 local
				// in the zone that opens last.
				if len(locs) == 1 && !dials[0].Equal(tt.start) {
					if local := dials[0].In(locs[0]); local.Hour() != 9 || local.Minute() != 0 {
						t.Errorf("%s first dialed at %s, want 09:00 local", number, local.Format("Mon 15:04 MST"))
					}
				}

				ct, err := run.store.Contact(t.Context(), run.campaignID, i+1)
				if err != nil {
					t.Fatal(err)
				}
				wantOutcome := map[interactly.PhoneCallStatus]campaign.Outcome{
					interactly.PhoneCompleted: campaign.OutcomeCompleted,
					interactly.PhoneBusy:      campaign.OutcomeBusy,
					interactly.PhoneNoAnswer:  campaign.OutcomeNoAnswer,
				}[cc.script[len(cc.script)-1]]
				if ct.Outcome != wantOutcome || ct.Attempts != len(cc.script) {
					t.Errorf("%s: outcome %q after %d attempts, want %q after %d", number, ct.Outcome, ct.Attempts, wantOutcome, len(cc.script))
				}
			}

			st, err := run.store.Status(t.Context(), run.campaignID)
			if err != nil {
				t.Fatal(err)
			}
			if !st.Done || st.WaitingForWindow != 0 || st.LiveCalls != 0 || st.Attempts != len(run.api.log) {
				t.Errorf("status: done %t, %d waiting, %d live, %d attempts; want done, 0, 0, %d",
					st.Done, st.WaitingForWindow, st.LiveCalls, st.Attempts, len(run.api.log))
			}
		})
	}
}

// complianceRun is what runCompliance saw.
type complianceRun struct {
	store      *campaign.Store
	campaignID string
	api        *scriptedAPI
	numbers    []string       // E.164, in complianceContacts order
	end        time.Time      // the virtual time of the last task
	processed  int            // ProcessTask calls
	deferred   map[string]int // TaskID -> RetryLaterErrors
}

// runCompliance uploads complianceContacts with a window open on days, and runs every task
// on a virtual clock that starts at start, until the queue is empty.
func runCompliance(t *testing.T, start time.Time, days []time.Weekday) *complianceRun {
	t.Helper()
	rdb := testRedis(t)
	clock := testutil.NewClock(start)
	q := newVirtualQueue(clock)
	run := &complianceRun{deferred: map[string]int{}}

	var csv strings.Builder
	csv.WriteString("phone,tz\n")
	script := map[string][]interactly.PhoneCallStatus{}
	for _, cc := range complianceContacts {
		fmt.Fprintf(&csv, "%s,%s\n", cc.raw, cc.tz)
		number, err := phone.Normalize(cc.raw, "US")
		if err != nil {
			t.Fatal(err)
		}
		run.numbers = append(run.numbers, number)
		script[number] = cc.script
	}

	names := make([]string, len(days))
	for i, d := range days {
		names[i] = strings.ToLower(d.String()[:3])
	}
	f := mustFile(t, fmt.Sprintf(complianceCampaign, strings.Join(names, ", ")))
	run.store = campaign.NewStore(rdb)
	open := func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(csv.String())), nil }
	c, err := run.store.Upload(t.Context(), f, "contacts.csv", open, q, campaign.UploadOptions{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	run.campaignID = c.ID

	run.api = &scriptedAPI{callBook: newCallBook(), clock: clock, script: script}
	h, err := New(Config{
		Store: run.store, Enqueuer: q, API: run.api,
		Limiter:    ratelimit.NewLimiter(rdb),
		Slots:      ratelimit.NewSemaphore(rdb, ratelimit.SemaphoreConfig{}),
		UploadWait: time.Second,
		Logger:     slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	h.now = clock.Now

	// Bounded, so that a task deferred in a loop fails the test rather than hanging it.
	for limit := 20 * len(complianceContacts); ; limit-- {
		if limit == 0 {
			t.Fatalf("still tasks queued after %d ProcessTask calls, at %s", run.processed, clock.Now())
		}
		vt, ok := q.pop()
		if !ok {
			break
		}
		clock.AdvanceTo(vt.due)
		run.end = clock.Now()
		run.processed++
		err := h.ProcessTask(t.Context(), queue.NewDialTask(vt.task))
		var later *queue.RetryLaterError
		switch {
		case errors.As(err, &later):
			run.deferred[vt.task.String()]++
			q.push(vt.task, clock.Now().Add(later.In))
		case err != nil:
			t.Fatalf("task %s at %s: %v", vt.task.String(), clock.Now().UTC().Format(time.RFC3339), err)
		}
	}
	return run
}

// firstOpenMinute returns the first whole minute at or after t at which the wall clock of
// every zone in locs reads 09:00-19:59 on one of days. It steps minute by minute, sharing no
// code with package window.
func firstOpenMinute(t *testing.T, from time.Time, locs []*time.Location, days []time.Weekday) time.Time {
	t.Helper()
	m := from.Truncate(time.Minute)
	if m.Before(from) {
		m = m.Add(time.Minute)
	}
	for end := m.Add(8 * 24 * time.Hour); m.Before(end); m = m.Add(time.Minute) {
		open := true
		for _, loc := range locs {
			local := m.In(loc)
			if mins := local.Hour()*60 + local.Minute(); !slices.Contains(days, local.Weekday()) || mins < 9*60 || mins >= 20*60 {
				open = false
				break
			}
		}
		if open {
			return m
		}
	}
	t.Fatalf("no open minute in the week after %s", from)
	return time.Time{}
}

func mustLocations(t *testing.T, names []string) []*time.Location {
	t.Helper()
	locs := make([]*time.Location, len(names))
	for i, name := range names {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		locs[i] = loc
	}
	return locs
}
