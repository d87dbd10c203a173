package console

import (
	"net/http"
	"strings"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/operator"
)

// listLimit is how many campaigns the campaigns page shows, newest first.
const listLimit = 200

// campaigns serves the campaigns page, or its table alone for the live refresh.
func (c *Console) campaigns(w http.ResponseWriter, r *http.Request) {
	state := r.URL.Query().Get("state")
	search := strings.TrimSpace(r.URL.Query().Get("q"))
	list, err := c.op.List(r.Context(), operator.ListOptions{Limit: listLimit, State: campaign.State(state), Search: search})
	if err != nil {
		c.fail(w, r, err)
		return
	}
	p := c.page(r, "campaigns", "Campaigns")
	v := BuildCampaigns(p, state, search, list)
	block := ""
	if isHTMX(r) {
		block = "campaign-rows"
	}
	c.render(w, r, http.StatusOK, "campaigns", block, v)
}
