package campaign

import (
	"errors"
	"fmt"
	"time"
)

// State is where a campaign is in its life, as every output shows it: `dialer status` and
// `status --json`, `dialer list`, the HTTP API and the console. It is derived from what is
// stored (see DeriveState), never stored itself, so no two outputs can disagree.
//
// The life cycle:
//
//	uploading → scheduled (while startAt lies ahead) → running → done
//	uploading → failed    (the upload stopped renewing its lease: see lease.go)
//	scheduled or running  ⇄ paused     (pause, resume)
//	any state but final   → canceling → canceled (cancel; canceling while calls finish)
//
// Done, canceled and failed are final. CheckAction says which operator actions each state allows.
type State string

const (
	// StateUploading: the contact file is being stored and its dials queued; workers hold the
	// campaign's tasks until the upload completes.
	StateUploading State = "uploading"
	// StateScheduled: uploaded, and its startAt lies ahead; nothing is dialed before it.
	StateScheduled State = "scheduled"
	// StateRunning: uploaded and dialing (or waiting for calling windows and retries) until
	// every row has a final outcome.
	StateRunning State = "running"
	// StatePaused: an operator paused it; no new dial starts, live calls finish.
	StatePaused State = "paused"
	// StateCanceling: an operator canceled it, and calls under way are still finishing.
	StateCanceling State = "canceling"
	// StateDone: every row has a final outcome. Nothing changes it any more.
	StateDone State = "done"
	// StateCanceled: an operator canceled it and every row has its outcome. Nothing changes
	// it any more.
	StateCanceled State = "canceled"
	// StateFailed: its upload stopped before the last row was stored (the process was
	// killed, or cut off from Redis, and its lease ran out). What it stored is removed, or
	// about to be; the record stays, with Status.Failure, until it is deleted.
	StateFailed State = "failed"
)

// States lists every State in life-cycle order.
var States = []State{StateUploading, StateScheduled, StateRunning, StatePaused, StateCanceling, StateDone, StateCanceled, StateFailed}

// Final reports whether s is done, canceled or failed: no operator action changes it.
func (s State) Final() bool { return s == StateDone || s == StateCanceled || s == StateFailed }

// UploadState is how far a campaign's upload got, as stored in Redis. It is one input of
// State, not shown on its own.
type UploadState string

const (
	// UploadInProgress: contacts are being stored and enqueued. Stored as "uploading".
	UploadInProgress UploadState = "uploading"
	// UploadComplete: every dialable contact is enqueued. Stored as "ready".
	UploadComplete UploadState = "ready"
	// UploadFailed: the upload stopped renewing its lease and was marked failed
	// (Store.ReapUpload). Stored as "failed".
	UploadFailed UploadState = "failed"
)

// Facts are what a campaign's State is derived from: its stored record and its counts.
type Facts struct {
	// Upload is the stored upload state.
	Upload UploadState
	// Control is what an operator made of the campaign: running, paused or canceled.
	Control Control
	// StartAt is the campaign file's startAt; zero when it has none.
	StartAt time.Time
	// Rows counts the contact file's rows; Finished counts those with a final outcome.
	Rows, Finished int
	// Held counts dials held back by a pause (see Store.Resume).
	Held int
	// LeaseLost is true when the upload is in progress and its lease has run out: the
	// upload is gone, though nobody has marked it failed yet.
	LeaseLost bool
}

// FactsOf returns the facts of c whose Finished rows have a final outcome and held dials
// wait for a resume.
func FactsOf(c *Campaign, finished, held int) Facts {
	f := Facts{Upload: c.Upload, Control: c.Control, Rows: c.Rows, Finished: finished, Held: held}
	if c.File.StartAt != nil {
		f.StartAt = *c.File.StartAt
	}
	return f
}

// Done reports whether every row of an uploaded campaign has a final outcome, or its upload
// failed: either way nothing is left to do.
func (f Facts) Done() bool {
	return f.Failed() || (f.Upload == UploadComplete && f.Finished >= f.Rows)
}

// Failed reports whether the upload failed: marked so, or its lease ran out.
func (f Facts) Failed() bool {
	return f.Upload == UploadFailed || (f.Upload == UploadInProgress && f.LeaseLost)
}

// DeriveState returns the State of a campaign with facts f at time now. It is the one place
// that decides a campaign's state.
func DeriveState(f Facts, now time.Time) State {
	switch {
	case f.Failed():
		return StateFailed
	case f.Upload != UploadComplete:
		return StateUploading
	case f.Done() && f.Control == ControlCanceled:
		return StateCanceled
	case f.Done():
		return StateDone
	case f.Control == ControlCanceled:
		return StateCanceling
	case f.Control == ControlPaused:
		return StatePaused
	case f.StartAt.After(now):
		return StateScheduled
	}
	return StateRunning
}

// Action is an operator's command that changes a campaign: pause, resume, cancel, edit
// (of its file) or retry (of finished contacts).
type Action string

const (
	// ActionPause stops new dials; see Store.Pause.
	ActionPause Action = "pause"
	// ActionResume lets a paused campaign dial again; see Store.Resume.
	ActionResume Action = "resume"
	// ActionCancel ends a campaign for good; see Store.Cancel.
	ActionCancel Action = "cancel"
	// ActionEdit changes an uploaded campaign's file; see File.Patch and Store.SetFile.
	ActionEdit Action = "edit"
	// ActionRetry gives finished contacts another attempt; see Store.Retry.
	ActionRetry Action = "retry"
)

// ErrCampaignDone is matched (errors.Is) by the *StateError of an action on a done campaign.
var ErrCampaignDone = errors.New("campaign is done")

// ErrCampaignNotPaused is matched by the *StateError of a resume of a campaign that is not
// paused.
var ErrCampaignNotPaused = errors.New("campaign is not paused")

// StateError is an operator action refused because it means nothing in the campaign's
// state: a cancel of a done campaign, a pause of a paused one, a resume of a running one.
// Its message says so in one line ("campaign c1 is done; nothing to cancel"). It matches
// ErrCampaignDone, ErrCampaignCanceled (canceling or canceled), ErrCampaignPaused (a pause of
// a paused campaign) or ErrCampaignNotPaused (a resume) with errors.Is.
type StateError struct {
	CampaignID string
	Action     Action
	State      State
	// Reason, when set, says why instead of the state: a retry of a campaign whose endAt
	// has passed is refused whatever its state.
	Reason string
}

func (e *StateError) Error() string {
	switch {
	case e.State == StateFailed:
		return fmt.Sprintf("campaign %s failed to upload; there is nothing to %s; `dialer delete %s` removes its record", e.CampaignID, e.Action, e.CampaignID)
	case e.Reason != "":
		return fmt.Sprintf("campaign %s is %s, and %s", e.CampaignID, e.State, e.Reason)
	case (e.State == StateCanceling || e.State == StateCanceled) && e.Action != ActionCancel:
		return fmt.Sprintf("campaign %s is %s; a cancel is final, there is nothing to %s", e.CampaignID, e.State, e.Action)
	case e.State == StateCanceled:
		return fmt.Sprintf("campaign %s is canceled already; nothing to cancel", e.CampaignID)
	case e.State == StatePaused && e.Action == ActionPause:
		return fmt.Sprintf("campaign %s is paused already; nothing to pause", e.CampaignID)
	case e.Action == ActionResume && !e.State.Final():
		return fmt.Sprintf("campaign %s is %s, not paused; nothing to resume", e.CampaignID, e.State)
	case e.Action == ActionEdit && e.State == StateUploading:
		return fmt.Sprintf("campaign %s is uploading; edit it once its upload is complete", e.CampaignID)
	case e.Action == ActionEdit:
		return fmt.Sprintf("campaign %s is %s; only a scheduled, running or paused campaign can be edited (retry its contacts to dial it again)", e.CampaignID, e.State)
	case e.Action == ActionRetry && e.State == StateUploading:
		return fmt.Sprintf("campaign %s is uploading; retry its contacts once its upload is complete", e.CampaignID)
	}
	return fmt.Sprintf("campaign %s is %s; nothing to %s", e.CampaignID, e.State, e.Action)
}

// Unwrap returns the sentinel the refusal matches.
func (e *StateError) Unwrap() error {
	switch {
	case e.State == StateDone:
		return ErrCampaignDone
	case e.State == StateCanceling || e.State == StateCanceled:
		return ErrCampaignCanceled
	case e.Action == ActionResume:
		return ErrCampaignNotPaused
	case e.State == StatePaused:
		return ErrCampaignPaused
	}
	return nil
}

// CheckAction returns a *StateError when action means nothing for campaign id with facts f
// at time now, and nil when it may go ahead:
//   - pause: not of a paused, canceling or final campaign;
//   - resume: only of a paused campaign (one paused while it uploads included), or of one
//     whose earlier resume left dials held;
//   - cancel: not of a final (done or canceled) campaign. Canceling a canceling campaign
//     again cancels what was left;
//   - edit: only of a scheduled, running or paused campaign;
//   - retry: not of an uploading, canceling or canceled campaign (a cancel is final); a
//     done campaign runs again.
func CheckAction(id string, f Facts, action Action, now time.Time) error {
	s := DeriveState(f, now)
	// A campaign paused while it uploads shows uploading, and is paused all the same.
	paused := f.Control == ControlPaused && !s.Final()
	refuse := false
	switch action {
	case ActionPause:
		if paused {
			return &StateError{CampaignID: id, Action: action, State: StatePaused}
		}
		refuse = s == StateCanceling || s.Final()
	case ActionResume:
		refuse = !paused && !(f.Held > 0 && !s.Final() && s != StateCanceling)
	case ActionCancel:
		refuse = s.Final()
	case ActionEdit:
		refuse = s.Final() || s == StateCanceling || s == StateUploading
	case ActionRetry:
		refuse = s == StateUploading || s == StateCanceling || s == StateCanceled
	default:
		return fmt.Errorf("campaign %s: unknown action %q", id, action)
	}
	if refuse {
		return &StateError{CampaignID: id, Action: action, State: s}
	}
	return nil
}
