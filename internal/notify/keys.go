package notify

import "github.com/dialerhq/dialer/internal/campaign"

// Every Redis key this package owns is built here. They sit under the campaign's hash tag
// (see package campaign's keys.go), so deleting a campaign deletes them too:
//
//	dialer:{C}:notify        HASH  delivered, failed, errors (counts); last_error, last_error_at
//	dialer:{C}:notify:done   SET   delivery ids ("C:17", "C:campaign", "C:17:r2") that were delivered or given up
//
// asynq keeps its tasks under its own keys (asynq:{notify}:…).

func statsKey(campaignID string) string { return campaign.KeyTag(campaignID) + "notify" }

func doneKey(campaignID string) string { return campaign.KeyTag(campaignID) + "notify:done" }
