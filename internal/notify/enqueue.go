package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/hibiken/asynq"

	"github.com/dialerhq/dialer/internal/campaign"
)

// Queue is the asynq queue of notification tasks. Only Run's server takes tasks from it.
const Queue = "notify"

// Task types, one per event.
const (
	TypeContact  = "notify:contact"  // campaign.NotifyContactFinished of one contact
	TypeCampaign = "notify:campaign" // campaign.NotifyCampaignFinished
)

// MaxRetry is the asynq retry budget of a notification task. It is large enough that the
// Handler's Deadline, not this count, ends the retries. Backoff is capped at 5 minutes, so an
// hour takes about 25 tries. The Handler still gives up and records the failure on the last
// retry.
const MaxRetry = 1000

// TaskTimeout bounds one run of a notification task: one POST, bounded itself by the HTTP
// client's timeout (10 s by default), plus a few Redis calls.
const TaskTimeout = 2 * time.Minute

// Retention is how long asynq keeps a finished notification task. While it is kept,
// enqueueing the same event again is a task ID conflict, so nothing is sent twice. After that
// the Handler's done set in Redis still stops a second send.
const Retention = 24 * time.Hour

// payload is a notification task's payload: which event of which campaign, and when it was
// first enqueued (the Handler's Deadline counts from it).
type payload struct {
	CampaignID string    `json:"c"`
	ContactID  int       `json:"n,omitempty"` // 0 for campaign.finished
	Event      string    `json:"e"`
	At         time.Time `json:"at"`
	// Round is the campaign's campaign.Store.Reopens when the event was enqueued: 0 until an
	// operator's retry or redial took a final outcome back.
	Round int64 `json:"r,omitempty"`
}

// deliveryID is the event's id: "C:N" for a contact, "C:campaign" for the campaign, and
// after an operator's retry or redial ":rK", K the campaign's reopens so far, so that a
// contact's new final outcome (and the campaign's new finish) is a new event, sent and
// deduplicated apart from the first.
func (p payload) deliveryID() string {
	id := p.CampaignID + ":" + strconv.Itoa(p.ContactID)
	if p.Event == campaign.NotifyCampaignFinished {
		id = p.CampaignID + ":campaign"
	}
	if p.Round > 0 {
		id += ":r" + strconv.FormatInt(p.Round, 10)
	}
	return id
}

// taskID is the asynq task ID: "notify:" and the delivery id.
func (p payload) taskID() string { return "notify:" + p.deliveryID() }

// TaskIDPrefix is how the IDs of campaign id's notification tasks begin, for deleting them
// (queue.DeleteTasks).
func TaskIDPrefix(id string) string { return "notify:" + id + ":" }

func (p payload) taskType() string {
	if p.Event == campaign.NotifyCampaignFinished {
		return TypeCampaign
	}
	return TypeContact
}

// newTask returns p's task with every option the queue relies on.
func newTask(p payload) *asynq.Task {
	body, _ := json.Marshal(p)
	return asynq.NewTask(p.taskType(), body,
		asynq.Queue(Queue), asynq.TaskID(p.taskID()), asynq.Retention(Retention),
		asynq.MaxRetry(MaxRetry), asynq.Timeout(TaskTimeout))
}

// parsePayload decodes and checks a task's payload.
func parsePayload(t *asynq.Task) (payload, error) {
	var p payload
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return p, fmt.Errorf("decode %s payload: %w", t.Type(), err)
	}
	ok := p.CampaignID != "" && !p.At.IsZero()
	switch t.Type() {
	case TypeContact:
		ok = ok && p.Event == campaign.NotifyContactFinished && p.ContactID >= 1
	case TypeCampaign:
		ok = ok && p.Event == campaign.NotifyCampaignFinished
	default:
		ok = false
	}
	if !ok {
		return p, fmt.Errorf("decode %s payload %s: not a notification this dialer sends", t.Type(), t.Payload())
	}
	return p, nil
}

// Enqueuer puts notification tasks on Queue. The dial worker calls it right after it records
// a final outcome. It is safe for concurrent use.
type Enqueuer struct {
	client *asynq.Client
	store  *campaign.Store
	now    func() time.Time
}

// NewEnqueuer returns an Enqueuer that enqueues with client and reads from store how often
// operators reopened a campaign (campaign.Store.Reopens), which tells a final outcome after a
// retry or redial from the one before. Closing client is the caller's job.
func NewEnqueuer(client *asynq.Client, store *campaign.Store) *Enqueuer {
	return &Enqueuer{client: client, store: store, now: time.Now}
}

// ContactFinished enqueues the contact.finished notification of contact contactID (1-based
// input row) of c. It does nothing, touching no Redis, when c's file has no notify section
// or its events leave contact.finished out. Call it after the outcome is recorded. Calling it
// again for the same outcome is harmless: the event is already queued or sent, and it
// returns nil. A new final outcome after an operator's retry or redial is a new event.
// Errors are Redis errors; the caller should retry, because the outcome stands and only its
// notification is missing.
func (e *Enqueuer) ContactFinished(ctx context.Context, c *campaign.Campaign, contactID int) error {
	return e.enqueue(ctx, c, campaign.NotifyContactFinished, contactID)
}

// CampaignFinished enqueues the campaign.finished notification of c, once c is done
// (campaign.Status.Done). It does nothing when the file has no notify section or its events
// leave campaign.finished out. Calling it again is harmless, and a finish after an operator's
// retry or redial is a new event; errors are as for ContactFinished.
func (e *Enqueuer) CampaignFinished(ctx context.Context, c *campaign.Campaign) error {
	return e.enqueue(ctx, c, campaign.NotifyCampaignFinished, 0)
}

func (e *Enqueuer) enqueue(ctx context.Context, c *campaign.Campaign, event string, contactID int) error {
	if !Wants(c.File.Notify, event) {
		return nil
	}
	round, err := e.store.Reopens(ctx, c.ID)
	if err != nil {
		return fmt.Errorf("enqueue %s notification of campaign %s: %w", event, c.ID, err)
	}
	p := payload{CampaignID: c.ID, ContactID: contactID, Event: event, At: e.now().UTC(), Round: round}
	_, err = e.client.EnqueueContext(ctx, newTask(p))
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil // already queued, being sent, or sent
	}
	if err != nil {
		return fmt.Errorf("enqueue %s notification %s: %w", event, p.deliveryID(), err)
	}
	return nil
}

// Wants reports whether cfg asks for event. It returns false for a nil cfg. Empty Events
// means both events, the default campaign.NotifyConfig documents.
func Wants(cfg *campaign.NotifyConfig, event string) bool {
	if cfg == nil {
		return false
	}
	if len(cfg.Events) == 0 {
		return event == campaign.NotifyContactFinished || event == campaign.NotifyCampaignFinished
	}
	return slices.Contains(cfg.Events, event)
}
