// Package notify sends a campaign's outbound notifications: a signed HTTP POST to the
// campaign file's notify.url for each contact that gets its final outcome, and one when the
// whole campaign is done (campaign.NotifyConfig).
//
// Interactly's own webhooks are sent once and never retried. These are retried with
// backoff for up to an hour, and dialing never waits for them. The dial worker calls an
// Enqueuer, which costs two Redis round trips. The Enqueuer puts a task on the asynq queue
// Queue. A Handler, run by Run inside `dialer serve`, sends each task's POST. The tasks live
// in Redis, so they outlive restarts. Each event has one asynq task ID, so enqueueing it
// again (after a crash, say) sends nothing twice. An operator's retry or redial takes final
// outcomes back; the new final outcome is a new event, whose id ends in ":rK" (K counts the
// campaign's reopened outcomes so far), and so is the campaign's new finish. Delivered and failed counts per campaign
// are kept in Redis (read them with Stats).
//
// # What a receiver gets
//
// Each event is a POST whose body is one JSON object. It carries these headers:
//
//	Content-Type:       application/json
//	X-Dialer-Event:     contact.finished | campaign.finished
//	X-Dialer-Delivery:  the event's id, e.g. "06gvueu73pn1572u:17", or "06gvueu73pn1572u:17:r1"
//	                    after a retry (also the body's "id")
//	X-Dialer-Signature: sha256=<hex of HMAC-SHA256 of the raw body under notify.secret>
//
// The signature header is left out when the campaign sets no secret. A contact.finished body
// holds the contact's report row: the contact file's columns as read, then
// campaign.ReportColumns. Its keys come in report order and every value is a string:
//
//	{"event":"contact.finished","id":"06gvueu73pn1572u:17","campaignId":"06gvueu73pn1572u",
//	 "campaignName":"flu-shot-reminders","contactId":17,
//	 "row":{"First Name":"Ann","phone":"(415) 555-0101","phone_e164":"+14155550101",
//	        "outcome":"completed","attempts":"1","call_id":"CC-…",…,"error":""}}
//
// A campaign.finished body counts the campaign's final outcomes (see campaign.Status).
// finishedAt is when the dialer first saw the campaign done, in RFC 3339 UTC:
//
//	{"event":"campaign.finished","id":"06gvueu73pn1572u:campaign","campaignId":"06gvueu73pn1572u",
//	 "campaignName":"flu-shot-reminders","total":50,
//	 "outcomes":{"completed":40,"failed":4,"invalid":4,"duplicate":2},
//	 "finishedAt":"2026-03-02T15:04:05Z"}
//
// A 2xx answer means the event was delivered. Redirects are not followed. Any other answer,
// a network error or no answer within 10 s is retried. The waits double from about 2 s up
// to 5 minutes, with jitter. Once an hour has passed since the event was first enqueued,
// the next failure is the last: the event is logged and counted as failed. Delivery is at
// least once, so a receiver must treat a repeated X-Dialer-Delivery as already handled.
//
// # Verifying the signature
//
// Compute HMAC-SHA256 over the raw body bytes as received, before any JSON decoding, using
// the shared secret. Compare the hex digest with the header in constant time:
//
//	func verify(secret string, body []byte, header string) bool {
//		mac := hmac.New(sha256.New, []byte(secret))
//		mac.Write(body)
//		want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
//		return hmac.Equal([]byte(want), []byte(header))
//	}
//
// (Example_verify runs this code.) The signature covers only the body. The body's "id" names
// the event, so a replayed request is a repeated delivery of that event.
package notify
