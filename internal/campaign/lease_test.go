package campaign

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/testutil"
	"github.com/redis/go-redis/v9"
)

// TestUploadLease: a running upload keeps its campaign uploading by renewing its lease, even
// while it waits for its file; a campaign whose lease ran out shows as failed at once, and
// ReapUpload marks it so and removes everything but its record; the upload that was
// reaped stops with ErrUploadLost and leaves nothing.
func TestUploadLease(t *testing.T) {
	store, rdb := newStore(t)
	ctx := t.Context()
	const lease = 300 * time.Millisecond

	// An upload whose file stalls after 70 rows of 1 KB (the reader looks at the first 64 KB
	// before it starts; the first read, which checks the file, gets all of it).
	rows := "First Name,phone,note\n"
	for i := range 80 {
		rows += fmt.Sprintf("P%d,+1415555%04d,%s\n", i, 100+i, strings.Repeat("x", 1000))
	}
	pr, pw := io.Pipe()
	opens := 0
	open := func() (io.ReadCloser, error) {
		if opens++; opens == 1 {
			return io.NopCloser(strings.NewReader(rows)), nil
		}
		return pr, nil
	}
	done := make(chan error, 1)
	go func() {
		_, err := store.Upload(ctx, mustFile(t), "c.csv", open, nil, UploadOptions{ID: "stalled", BatchSize: 2, Lease: lease})
		done <- err
	}()
	lines := strings.SplitAfter(rows, "\n")
	if _, err := io.WriteString(pw, strings.Join(lines[:71], "")); err != nil { // header and 70 rows
		t.Fatal(err)
	}
	testutil.WaitFor(t, 5*time.Second, "the first batch stored", func() bool {
		select {
		case err := <-done:
			t.Fatalf("upload ended: %v", err)
		default:
		}
		return rdb.ZCard(ctx, hopperKey("stalled")).Val() >= 2
	})
	// A campaign whose upload stopped renewing (as if killed) shows as failed once the
	// lease runs out, and ReapUpload clears it. It is made now, so that its lease runs out
	// while the stalled upload's renews.
	dead := &Campaign{ID: "dead", File: *mustFile(t), Header: []string{"First Name", "phone"}, Upload: UploadInProgress, CreatedAt: testutil.Now()}
	if err := store.createCampaign(ctx, dead, lease); err != nil {
		t.Fatal(err)
	}
	rdb.HSet(ctx, contactKey("dead", 1), "row", `["A","+14155550100"]`)
	rdb.ZAdd(ctx, hopperKey("dead"), redis.Z{Score: 1, Member: "1:1"})
	if st, err := store.Status(ctx, "dead"); err != nil || st.State != StateUploading || st.Done {
		t.Fatalf("an upload within its lease: %+v, %v; want uploading", st, err)
	}
	// Three leases later, the upload still holds its lease.
	time.Sleep(3 * lease)
	if st, err := store.Status(ctx, "stalled"); err != nil || st.State != StateUploading {
		t.Fatalf("a stalled upload that renews its lease: %+v, %v; want uploading", st, err)
	}
	if lost, err := store.ReapUpload(ctx, "stalled"); err != nil || lost {
		t.Fatalf("ReapUpload of a running upload = %v, %v; want false", lost, err)
	}

	testutil.WaitFor(t, 5*time.Second, "the lease to run out", func() bool { return rdb.Exists(ctx, uploadLeaseKey("dead")).Val() == 0 })
	st, err := store.Status(ctx, "dead")
	if err != nil || st.State != StateFailed || !st.Done || st.Failure != UploadLostReason {
		t.Fatalf("an upload past its lease: %+v, %v; want failed, done, with the reason", st, err)
	}
	lost, err := store.ReapUpload(ctx, "dead")
	if err != nil || !lost {
		t.Fatalf("ReapUpload of a lost upload = %v, %v; want true", lost, err)
	}
	keys := rdb.Keys(ctx, "dialer:{dead}:*").Val()
	if !slices.Equal(keys, []string{campaignKey("dead")}) {
		t.Errorf("keys left after ReapUpload: %q; want the record alone", keys)
	}
	c, err := store.Campaign(ctx, "dead")
	if err != nil || c.Upload != UploadFailed || c.Failure != UploadLostReason {
		t.Fatalf("record after ReapUpload: %+v, %v", c, err)
	}
	if active, _ := store.ActiveCampaigns(ctx); slices.Contains(active, "dead") {
		t.Error("a reaped campaign is still active")
	}
	if lost, err := store.ReapUpload(ctx, "dead"); err != nil || lost {
		t.Errorf("ReapUpload again = %v, %v; want false", lost, err)
	}
	if err := store.Pause(ctx, "dead"); err == nil || !strings.Contains(err.Error(), "failed to upload") {
		t.Errorf("pause of a failed campaign = %v; want a refusal that says it failed to upload", err)
	}

	// The stalled upload is reaped as if it had stood still past its lease: it stops with
	// ErrUploadLost once its file moves again, and leaves nothing behind.
	if err := rdb.Del(ctx, uploadLeaseKey("stalled")).Err(); err != nil {
		t.Fatal(err)
	}
	if lost, err := store.ReapUpload(ctx, "stalled"); err != nil || !lost {
		t.Fatalf("ReapUpload of the stalled upload = %v, %v; want true", lost, err)
	}
	go func() {
		_, _ = io.WriteString(pw, strings.Join(lines[71:], ""))
		pw.Close()
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrUploadLost) {
			t.Errorf("the reaped upload returned %v; want ErrUploadLost", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the reaped upload did not stop")
	}
	if keys := rdb.Keys(ctx, "dialer:{stalled}:*").Val(); len(keys) > 0 {
		t.Errorf("keys left by the reaped upload: %q", keys)
	}
}
