package suppression

import (
	"testing"

	"github.com/dialerhq/dialer/internal/campaign"
)

// A List is what the campaign store asks before it dials (campaign.Suppressor). The package
// itself does not import campaign, so the check lives here.
var _ campaign.Suppressor = (*List)(nil)

// TestCampaignKeyUnderCampaignTag pins the campaign list's key under campaign.KeyTag, so that
// it shares the campaign's Redis Cluster slot and is deleted with the campaign's other keys.
func TestCampaignKeyUnderCampaignTag(t *testing.T) {
	if got, want := campaignKey("c1"), campaign.KeyTag("c1")+"suppressed"; got != want {
		t.Errorf("campaignKey(c1) = %q; want %q", got, want)
	}
}
