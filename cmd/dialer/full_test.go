package main

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/dialerhq/dialer/internal/lab"
)

// TestUploadIntoFullRedis uploads a contact file into a real redis-server that reaches its
// maxmemory under noeviction halfway: the upload fails, says Redis is full and what to do,
// and leaves no key of the campaign and no task behind.
func TestUploadIntoFullRedis(t *testing.T) {
	srv, err := lab.StartRedis(t.Context(), t.TempDir(), lab.Volatile)
	if errors.Is(err, lab.ErrNoRedisServer) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	rdb := srv.Client(0)
	defer rdb.Close()
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

	used, err := lab.InfoField(ctx, rdb, "memory", "used_memory")
	if err != nil {
		t.Fatal(err)
	}
	var usedBytes int64
	fmt.Sscan(used, &usedBytes)
	// About 1 KB a contact: room for some hundreds of rows, not for 5,000.
	if err := rdb.ConfigSet(ctx, "maxmemory", fmt.Sprint(usedBytes+1<<20)).Err(); err != nil {
		t.Fatal(err)
	}
	e, _, _ := testEnv(t, map[string]string{"REDIS_URL": srv.URL(0)})
	err = dispatch(ctx, e, []string{"upload", "--campaign", campaignPath, "--contacts", contactsPath})
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
