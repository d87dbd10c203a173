package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/dialerhq/dialer/internal/redistest"
)

// TestUploadIntoFullRedis uploads a contact file into a real redis-server that reaches its
// maxmemory under noeviction halfway: the upload fails, says Redis is full and what to do,
// and leaves no key of the campaign and no task behind.
func TestUploadIntoFullRedis(t *testing.T) {
	t.Parallel() // on a redis-server of its own
	rdb, url := redistest.StartServer(t)
	ctx := t.Context()

	var contacts strings.Builder
	contacts.WriteString("name;phone;slot\n")
	const rows = 5000
	for i := range rows {
		fmt.Fprintf(&contacts, "Person %d;+1415555%04d;a note long enough to take some room in Redis\n", i, i)
	}
	dir := t.TempDir()
	campaignPath := writeFile(t, dir, "c.yaml", fastCampaign)
	contactsPath := writeFile(t, dir, "c.csv", contacts.String())

	// About 1 KB a contact: room for some hundreds of rows, not for 5,000.
	redistest.LimitMemory(t, rdb, 1<<20)
	e, _, _ := testEnv(t, map[string]string{"REDIS_URL": url})
	err := dispatch(ctx, e, []string{"upload", "--campaign", campaignPath, "--contacts", contactsPath})
	if err == nil || !strings.Contains(err.Error(), "Redis is full") || !strings.Contains(err.Error(), "nothing of this upload is kept") {
		t.Fatalf("upload into a full Redis = %v, want an error saying Redis is full and nothing is kept", err)
	}

	keys, err := rdb.Keys(ctx, "*").Result() // a test's own small server: KEYS is fine here
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if strings.HasPrefix(k, "dialer:") || strings.HasPrefix(k, "asynq:{dialer}:t:") || k == "asynq:{dialer}:pending" {
			t.Errorf("key %s left behind by the failed upload", k)
		}
	}
}
