package suppression

// The suppression lists' keys, beside the ones package campaign builds in its keys.go. A
// campaign's list carries the campaign ID as a Redis Cluster hash tag, like the campaign's
// other keys, so it lives in their slot and is removed with them (campaign.Store's SCAN of
// dialer:{C}:*). The package does not import campaign, so campaignKey spells the tag itself;
// keys_test.go checks it against campaign.KeyTag.
//
//	dialer:suppressed                 SET   E.164 numbers no campaign may dial
//	dialer:{C}:suppressed             SET   E.164 numbers campaign C may not dial
const keyPrefix = "dialer:"

func globalKey() string { return keyPrefix + "suppressed" }

func campaignKey(id string) string { return keyPrefix + "{" + id + "}:suppressed" }
