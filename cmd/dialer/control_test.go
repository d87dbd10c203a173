package main

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/dialerhq/dialer/internal/campaign"
)

func TestListPauseResumeCancel(t *testing.T) {
	rdb, e, stdout, _ := redisEnv(t)
	_, campaignPath, contactsPath := fastFiles(t)
	run := mustRunner(t, e, stdout)
	ids := make([]string, 2)
	for i := range ids {
		out := strings.Fields(run("upload", "--campaign", campaignPath, "--contacts", contactsPath))
		ids[i] = out[len(out)-1]
	}

	out := run("list")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], ids[1]) || !strings.HasPrefix(lines[2], ids[0]) {
		t.Fatalf("list = %q; want a header and both campaigns, newest first", out)
	}
	if !strings.Contains(lines[1], "running") || !strings.Contains(lines[1], "2/4") {
		t.Errorf("list line %q; want running, 2 of 4 finished (invalid and duplicate)", lines[1])
	}

	if out := run("pause", ids[0]); !strings.Contains(out, "paused") {
		t.Errorf("pause printed %q", out)
	}
	var list []campaign.Status
	if err := json.Unmarshal([]byte(run("list", "--json")), &list); err != nil || len(list) != 2 {
		t.Fatalf("list --json: %v (%d)", err, len(list))
	}
	if list[1].CampaignID != ids[0] || list[1].Control != campaign.ControlPaused {
		t.Errorf("list --json [1] = %+v, want %s paused", list[1], ids[0])
	}
	// The pause holds back both dialable contacts, parked in the hopper: status counts
	// them, and resume lets the same two go on.
	if out := run("status", ids[0]); !strings.Contains(out, "paused     2 dials held") {
		t.Errorf("status of a paused campaign = %q; want 2 dials held", out)
	}
	if out := run("resume", ids[0]); !strings.Contains(out, "resumed; 2 held dials") {
		t.Errorf("resume printed %q", out)
	}

	out = run("cancel", ids[1])
	if !strings.Contains(out, "2 contacts canceled") {
		t.Errorf("cancel printed %q", out)
	}
	st, err := campaign.NewStore(rdb).Status(t.Context(), ids[1])
	if err != nil || !st.Done || st.Outcomes[campaign.OutcomeCanceled] != 2 {
		t.Errorf("after cancel: %+v, %v; want done with 2 canceled", st, err)
	}
	if out := run("list"); !strings.Contains(out, "canceled") {
		t.Errorf("list after cancel = %q", out)
	}
	if err := dispatch(t.Context(), e, []string{"pause", ids[1]}); !errors.Is(err, campaign.ErrCampaignCanceled) {
		t.Errorf("pause of a canceled campaign = %v, want ErrCampaignCanceled", err)
	}
	for _, cmd := range []string{"pause", "resume", "cancel"} {
		if err := dispatch(t.Context(), e, []string{cmd, "nosuchcampaign"}); !errors.Is(err, campaign.ErrCampaignNotFound) {
			t.Errorf("%s of an unknown campaign = %v, want ErrCampaignNotFound", cmd, err)
		}
	}
	if err := dispatch(t.Context(), e, []string{"pause"}); !errors.Is(err, errUsage) {
		t.Errorf("pause without an ID = %v, want a usage error", err)
	}
}
