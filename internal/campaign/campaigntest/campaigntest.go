// Package campaigntest gives tests of the packages around campaign a minimal campaign file
// (File) and plays a worker's part against a campaign.Store: claim an attempt, record its
// result, give the contact its outcome. Each helper fails the test at once, with the
// attempt in its message, when the store refuses a step, so a test states the calls it
// needs in one line each.
//
// Tests of package campaign itself cannot import it (campaigntest imports campaign).
package campaigntest

import (
	"testing"

	"github.com/dialerhq/dialer/internal/campaign"
)

// FileKeys is the YAML of File's minimal campaign file: a name, an assistant, a caller ID
// and the contact file's number column, phone.
const FileKeys = "name: t\nassistantId: a1\nphoneNumberId: p1\ncontacts: {numberColumn: phone}\n"

// File parses FileKeys followed by extra (more YAML lines, such as "retry: {maxAttempts:
// 2}\n"; "" for none) as dialer upload does (campaign.ParseChecked: with its defaults,
// validated and normalised). It fails tb when the file does not parse or validate.
func File(tb testing.TB, extra string) *campaign.File {
	tb.Helper()
	f, err := campaign.ParseChecked("test.yaml", []byte(FileKeys+extra))
	if err != nil {
		tb.Fatalf("campaigntest: campaign file with %q: %v", extra, err)
	}
	return f
}

// Claim claims attempt ref for worker, with no audit fields, as a worker does before it
// dials (Store.ClaimAttempt). It fails tb when the store returns an error (the campaign is
// paused or canceled, the contact has its outcome, Redis failed) or when the attempt was
// claimed before, so that this call did not make the claim.
func Claim(tb testing.TB, s *campaign.Store, ref campaign.AttemptRef, worker string) {
	tb.Helper()
	ok, err := s.ClaimAttempt(tb.Context(), ref, worker, campaign.Audit{})
	if err != nil {
		tb.Fatalf("campaigntest: claim attempt %s for worker %q: %v", ref, worker, err)
	}
	if !ok {
		tb.Fatalf("campaigntest: claim attempt %s for worker %q: claimed before", ref, worker)
	}
}

// Finish records r as the result of attempt ref, which should be claimed already
// (Store.FinishAttempt), and returns the result that stands: r, or the one recorded
// before it. It fails tb when the store returns an error. It does not give the contact
// its outcome; EndAttempt does that too.
func Finish(tb testing.TB, s *campaign.Store, ref campaign.AttemptRef, r campaign.Result) campaign.Result {
	tb.Helper()
	got, err := s.FinishAttempt(tb.Context(), ref, r)
	if err != nil {
		tb.Fatalf("campaigntest: finish attempt %s with outcome %q: %v", ref, r.Outcome, err)
	}
	return got
}

// EndAttempt runs attempt ref from start to end as one worker would: it claims it as
// worker "w" (Claim), records r as its result (Finish) and gives contact ref.ContactID
// the final outcome r.Outcome, with no error text (Store.Finalize). It returns what
// Finalize did: FinalizedNow, or FinalizedCampaign when that was the campaign's last
// contact. It fails tb when a step fails as Claim and Finish say (a contact that has its
// outcome already fails the claim), or when Finalize returns an error.
func EndAttempt(tb testing.TB, s *campaign.Store, ref campaign.AttemptRef, r campaign.Result) campaign.Finalized {
	tb.Helper()
	Claim(tb, s, ref, "w")
	Finish(tb, s, ref, r)
	f, err := s.Finalize(tb.Context(), ref.CampaignID, ref.ContactID, r.Outcome, "")
	if err != nil {
		tb.Fatalf("campaigntest: finalize contact %s/%d with outcome %q: %v", ref.CampaignID, ref.ContactID, r.Outcome, err)
	}
	return f
}
