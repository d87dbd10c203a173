package operator

import (
	"strings"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/account"
	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/campaign/campaigntest"
	"github.com/dialerhq/dialer/internal/interactly"
	"github.com/dialerhq/dialer/internal/redistest"
	"github.com/dialerhq/dialer/internal/simulator"
	"github.com/dialerhq/dialer/internal/simulator/simtest"
	"github.com/dialerhq/dialer/internal/testutil"
)

// TestCancelHangUpWithAccountKey: cancel with hang-up ends the live calls of a campaign on
// another account with that account's key (the default key does not find them).
func TestCancelHangUpWithAccountKey(t *testing.T) {
	const defaultKey, westKey = "sk-op-default-1a2b3c", "sk-op-west-4d5e6f"
	clock := testutil.NewClock(testutil.Now())
	sim, srv := simtest.Serve(t, simulator.Config{APIKey: defaultKey, Accounts: map[string]string{"west": westKey}, Now: clock.Now, RingMin: time.Second, TalkMin: time.Hour})
	def, err := interactly.New(interactly.Config{BaseURL: srv.URL, APIKey: defaultKey})
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"WEST_KEY": westKey}
	apiFor := APIFromEnv(func(k string) string { return env[k] }, srv.URL, interactly.Config{})
	rdb, _ := redistest.Setup(t, testDB)
	op := New(rdb, Config{API: def, APIFor: apiFor})
	t.Cleanup(func() { op.Close() })
	ctx := t.Context()
	if err := account.NewStore(rdb).Set(ctx, account.Account{Name: "west", APIKeyEnv: "WEST_KEY"}); err != nil {
		t.Fatal(err)
	}
	f := mustExample(t)
	f.Account = "west"
	c, err := op.Upload(ctx, f, "example.csv", openExample, UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	west, err := apiFor("WEST_KEY")
	if err != nil {
		t.Fatal(err)
	}
	ref := campaign.AttemptRef{CampaignID: c.ID, ContactID: 1, Attempt: 1}
	campaigntest.Claim(t, op.Store(), ref, "w1")
	call, err := west.ConnectCall(ctx, &interactly.ConnectCallRequest{
		PhoneNumberID: f.PhoneNumberID, AssistantID: f.AssistantID, Customer: interactly.Customer{Number: "+14155550101"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := op.Store().RecordCall(ctx, ref, call.ID, call.Monitor.ControlURL, clock.Now()); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Second)

	res, err := op.Cancel(ctx, c.ID, true)
	if err != nil || res.Ended != 1 || len(res.Failed) != 0 {
		t.Fatalf("cancel with hang-up: %+v, %v; want the one call ended", res, err)
	}
	if n := sim.Stats().Controls["end"]; n != 1 {
		t.Errorf("the simulator ended %d calls, want 1", n)
	}

	// Without the account's key here, the cancel says so before changing anything.
	delete(env, "WEST_KEY")
	op2 := New(rdb, Config{API: def, APIFor: APIFromEnv(func(k string) string { return env[k] }, srv.URL, interactly.Config{})})
	t.Cleanup(func() { op2.Close() })
	f2 := mustExample(t)
	f2.Account = "west"
	c2, err := op2.Upload(ctx, f2, "example.csv", openExample, UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := op2.Cancel(ctx, c2.ID, true); err == nil || !strings.Contains(err.Error(), "WEST_KEY is not set") {
		t.Errorf("cancel with hang-up without the account's key: %v", err)
	}
	if st, err := op2.Store().Status(ctx, c2.ID); err != nil || st.Done {
		t.Errorf("the refused cancel changed the campaign: %+v, %v", st, err)
	}
}
