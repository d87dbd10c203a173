package notify_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/dialerhq/dialer/internal/notify"
)

// verify is what a receiver runs on each POST: the HMAC-SHA256 of the raw body under the
// shared secret, compared in constant time with the X-Dialer-Signature header.
func verify(secret string, body []byte, header string) bool {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	return hmac.Equal([]byte(want), []byte(header))
}

// Example_verify checks a notification's signature the way a receiver would, with nothing
// but the standard library.
func Example_verify() {
	body := []byte(`{"event":"campaign.finished","id":"c1:campaign","campaignId":"c1","campaignName":"flu","total":2,"outcomes":{"completed":2},"finishedAt":"2026-03-02T15:02:00Z"}`)
	header := notify.Sign("s3cret", body) // what the dialer sends as X-Dialer-Signature

	fmt.Println(header)
	fmt.Println("genuine:", verify("s3cret", body, header))
	fmt.Println("wrong secret:", verify("guess", body, header))
	tampered := append([]byte(nil), body...)
	tampered[len(tampered)-7] = '3' // 15:02 becomes 15:03
	fmt.Println("tampered body:", verify("s3cret", tampered, header))
	// Output:
	// sha256=631cadcd7085ea9a04f7fa5aabaa668e678ab44db04da6160cb6e2ca3a77880e
	// genuine: true
	// wrong secret: false
	// tampered body: false
}
