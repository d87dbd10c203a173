package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/account"
	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/redistest"
	"github.com/dialerhq/dialer/internal/simulator"
	"github.com/dialerhq/dialer/internal/simulator/simtest"
)

// TestTwoAccounts runs two Interactly accounts in one deployment, as an agency does for
// two clinics: east (key in EAST_INTERACTLY_API_KEY, 2 live calls, 2 calls per second)
// with two campaigns, and west (key in WEST_INTERACTLY_API_KEY, 5 live calls, 5 calls per
// second) with one, dialed by two `worker` processes. The simulator knows each account by
// its key. From its dial log: every call of a campaign was placed with its own account's
// key; each account kept its own caps across both processes; west used more live calls
// than east's cap (the limits are the account's, not shared); every row was dialed once
// and ended. Calls ring 100–200 ms and talk 900–1100 ms (were 1.2–1.6 s): no call is shorter
// than 1 s, so no live-call slot dials twice within a second, and an account's dials in any
// second stay within its cap of live calls, equal to its calls per second, even when a late
// HTTP request bunches them at the simulator.
func TestTwoAccounts(t *testing.T) {
	dialer, workerBin, rdb := startE2E(t)
	const defaultKey, eastKey, westKey = "default-key-77a1", "east-key-0b3c", "west-key-9d4e"
	sim, srv := simtest.Serve(t, simulator.Config{
		APIKey: defaultKey, Accounts: map[string]string{"east": eastKey, "west": westKey},
		Seed: 17, Mix: map[string]float64{"completed": 1},
		RingMin: 100 * time.Millisecond, RingMax: 200 * time.Millisecond,
		TalkMin: 900 * time.Millisecond, TalkMax: 1100 * time.Millisecond, AnalysisDelay: 50 * time.Millisecond,
	})
	env := commandEnv(redistest.URL(rdb), srv.URL, defaultKey, "EAST_INTERACTLY_API_KEY="+eastKey, "WEST_INTERACTLY_API_KEY="+westKey)
	runCommand(t, env, dialer, "account", "set", "east", "--api-key-env", "EAST_INTERACTLY_API_KEY", "--cps", "2", "--max-calls", "2")
	runCommand(t, env, dialer, "account", "set", "west", "--api-key-env", "WEST_INTERACTLY_API_KEY", "--cps", "5", "--max-calls", "5")

	dir := t.TempDir()
	next := 0
	accountOf := map[string]string{} // campaign ID -> account
	upload := func(name, acct string, rows int) string {
		t.Helper()
		next += rows
		yaml := fmt.Sprintf(manyCampaign, name, 1, 0) + "account: " + acct + "\n"
		id := uploadNumbers(t, env, dialer, dir, name, yaml, numbers("415 559", next-rows, rows))
		accountOf[id] = acct
		return id
	}
	ids := []string{upload("east-a", "east", 8), upload("east-b", "east", 8), upload("west-a", "west", 30)}

	startWorker(t, workerBin, env, "a")
	startWorker(t, workerBin, env, "b")
	store := campaign.NewStore(rdb)
	waitAllDone(t, store, ids, 2*time.Minute)

	stats := sim.Stats()
	if stats.Unauthorized > 0 {
		t.Errorf("%d requests were refused for their key", stats.Unauthorized)
	}
	checkDialedOnce(t, stats)
	byAccount := map[string][]simulator.Dial{}
	for _, d := range sim.Dials() {
		id, _ := d.Metadata["campaignId"].(string)
		if want := accountOf[id]; d.Account != want {
			t.Errorf("call %s of campaign %s was placed with account %s's key; its campaign file names account %s", d.CallID, id, d.Account, want)
		}
		if d.Outcome != "completed" {
			t.Errorf("call %s ended %s; every call is scripted to complete", d.CallID, d.Outcome)
		}
		byAccount[d.Account] = append(byAccount[d.Account], d)
	}
	for _, c := range []struct {
		name       string
		rows, caps int
	}{{"east", 16, 2}, {"west", 30, 5}} {
		dials := byAccount[c.name]
		peak, perSecond := simulator.PeakLiveCalls(dials), simulator.MaxDialsIn(dials, time.Second)
		t.Logf("account %s: %d dials, peak live calls %d (cap %d), most dials in any 1 s %d (cap %d)", c.name, len(dials), peak, c.caps, perSecond, c.caps)
		if len(dials) != c.rows {
			t.Errorf("account %s: %d dials, want one per row: %d", c.name, len(dials), c.rows)
		}
		if peak > c.caps || perSecond > c.caps {
			t.Errorf("account %s: peak %d live calls and %d dials in one second; its caps are %d and %d", c.name, peak, perSecond, c.caps, c.caps)
		}
	}
	// West's calls are not held to east's cap: it ran more at once than east may.
	if peak := simulator.PeakLiveCalls(byAccount["west"]); peak <= 2 {
		t.Errorf("account west peaked at %d live calls, no more than east's cap of 2: the accounts' limits are not their own", peak)
	}
}

// TestWorkerStoresAccountLimits starts a worker with --account-cps and --account-max-calls:
// the default account then holds those limits for every worker, as after `dialer account
// set default`, and `dialer account list` shows them.
func TestWorkerStoresAccountLimits(t *testing.T) {
	dialer, workerBin, rdb := startE2E(t)
	env := commandEnv(redistest.URL(rdb), "http://127.0.0.1:1", "flags-key-5e1a")
	startWorker(t, workerBin, env, "flags", "--account-cps", "7", "--account-max-calls", "9")
	accounts := account.NewStore(rdb)
	waitUntil(t, 30*time.Second, "the default account's limits stored", func() bool {
		a, err := accounts.Get(t.Context(), account.Default)
		must(t, err)
		return a.CallsPerSecond == 7 && a.MaxConcurrentCalls == 9
	})
	if out, _ := runCommand(t, env, dialer, "account", "list"); !strings.Contains(out, "7 calls/s, 9 live calls") {
		t.Errorf("dialer account list does not show the worker's limits, 7 calls/s and 9 live calls:\n%s", out)
	}
}
