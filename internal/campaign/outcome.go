package campaign

// Outcome is how a contact or one attempt ended. An attempt ends completed, busy, no-answer,
// failed, forwarded or error; a contact ends with its last attempt's outcome, or with invalid
// duplicate or suppressed when it is never dialed, or canceled or expired when its campaign
// was canceled or ran past its endAt first.
type Outcome string

const (
	// OutcomeCompleted: the call was answered and ran to its end.
	OutcomeCompleted Outcome = "completed"
	// OutcomeBusy: the line was busy.
	OutcomeBusy Outcome = "busy"
	// OutcomeNoAnswer: the phone rang and nobody answered.
	OutcomeNoAnswer Outcome = "no-answer"
	// OutcomeFailed: the carrier could not place the call.
	OutcomeFailed Outcome = "failed"
	// OutcomeForwarded: the assistant transferred the call to a human.
	OutcomeForwarded Outcome = "forwarded"
	// OutcomeInvalid: the row cannot be dialed (bad number, ragged row); it never is.
	OutcomeInvalid Outcome = "invalid"
	// OutcomeDuplicate: an earlier row holds the same number; the row is not dialed.
	OutcomeDuplicate Outcome = "duplicate"
	// OutcomeError: Interactly refused the call for good, or the dialer could not learn how
	// it went (API errors, timeouts).
	OutcomeError Outcome = "error"
	// OutcomeSuppressed: the number is on a suppression (do-not-call) list, at upload or
	// when its dial came up; it is never dialed.
	OutcomeSuppressed Outcome = "suppressed"
	// OutcomeCanceled: the campaign was canceled before the contact got another outcome.
	OutcomeCanceled Outcome = "canceled"
	// OutcomeExpired: the campaign's endAt passed before the contact got another outcome.
	OutcomeExpired Outcome = "expired"
)

// Outcomes lists every Outcome in the order status output shows them.
var Outcomes = []Outcome{
	OutcomeCompleted, OutcomeBusy, OutcomeNoAnswer, OutcomeFailed,
	OutcomeForwarded, OutcomeInvalid, OutcomeDuplicate, OutcomeSuppressed, OutcomeError,
	OutcomeCanceled, OutcomeExpired,
}

// retryOutcomes lists the outcomes a campaign file may name in retry.retryOn, in the order
// messages name them.
var retryOutcomes = []Outcome{OutcomeBusy, OutcomeNoAnswer, OutcomeFailed}
