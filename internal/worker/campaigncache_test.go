package worker

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/testutil"
)

// cachedCampaigns lists the campaign IDs in h's campaign cache.
func cachedCampaigns(h *Handler) map[string]*campaignRules {
	out := map[string]*campaignRules{}
	h.campaigns.Range(func(id, v any) bool {
		out[id.(string)] = v.(*campaignRules)
		return true
	})
	return out
}

// TestCampaignCacheDropsIdleCampaigns checks that the workers' campaign cache is bounded: a
// campaign no task asks for leaves it within about CampaignIdle, while one in use stays, and
// a task of the dropped campaign reads it again.
func TestCampaignCacheDropsIdleCampaigns(t *testing.T) {
	fx := setup(t, newFakeAPI())
	fx.h.cfg.CampaignIdle = 200 * time.Millisecond
	open := func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(testContacts)), nil }
	other, err := fx.store.Upload(t.Context(), mustFile(t, testCampaign), "contacts.csv", open, &fakeEnqueuer{}, campaign.UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	idle, busy := fx.c.ID, other.ID
	first, err := fx.h.campaign(t.Context(), idle)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fx.h.campaign(t.Context(), busy); err != nil {
		t.Fatal(err)
	}
	if got := cachedCampaigns(fx.h); len(got) != 2 || got[idle] != first {
		t.Fatalf("cache after two campaigns were asked for: %v, want both", got)
	}
	// Ask for busy every 20 ms (as its tasks would) until idle has left the cache.
	testutil.WaitFor(t, 10*time.Second, "the idle campaign to leave the cache", func() bool {
		if _, err := fx.h.campaign(t.Context(), busy); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		_, cached := cachedCampaigns(fx.h)[idle]
		return !cached
	})
	if _, cached := cachedCampaigns(fx.h)[busy]; !cached {
		t.Errorf("the campaign in use left the cache too")
	}
	again, err := fx.h.campaign(t.Context(), idle)
	if err != nil {
		t.Fatal(err)
	}
	if again == first || again.c.ID != idle {
		t.Errorf("the dropped campaign was not read again: same entry %v, ID %s", again == first, again.c.ID)
	}
}
