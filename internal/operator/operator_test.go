package operator

import (
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/redistest"
	"github.com/dialerhq/dialer/internal/testutil"
)

// testDB is this package's Redis database (see package redistest).
const testDB = 16

func mustExample(tb testing.TB) *campaign.File {
	tb.Helper()
	f, err := campaign.ParseFile("../../campaigns/example.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

func openExample() (io.ReadCloser, error) { return os.Open("../../campaigns/example.csv") }

func TestUploadListControl(t *testing.T) {
	rdb, _ := redistest.Setup(t, testDB)
	now := time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC)
	op := New(rdb, Config{Now: func() time.Time { return now }})
	t.Cleanup(func() { op.Close() })
	ctx := t.Context()

	if _, err := op.Suppression().Add(ctx, "+14155550124"); err != nil {
		t.Fatal(err)
	}
	r, _ := openExample()
	p, err := op.Preview(ctx, mustExample(t), "example.csv", r, campaign.PreviewOptions{})
	r.Close()
	if err != nil {
		t.Fatal(err)
	}
	a, err := op.Upload(ctx, mustExample(t), "example.csv", openExample, UploadOptions{ID: "ca"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int{p.Dialable, p.Invalid, p.Duplicate, p.Suppressed}, []int{a.Dialable, a.Invalid, a.Duplicate, a.Suppressed}); diff != "" {
		t.Errorf("upload counts differ from the preview's (-preview +upload):\n%s", diff)
	}
	if a.Suppressed != 1 {
		t.Errorf("suppressed %d, want 1 (the global list's number)", a.Suppressed)
	}
	other := mustExample(t)
	other.Name = "Dental recall"
	if _, err := op.Upload(ctx, other, "example.csv", openExample, UploadOptions{ID: "cb"}); err != nil {
		t.Fatal(err)
	}
	if err := op.Pause(ctx, "ca"); err != nil {
		t.Fatal(err)
	}

	ids := func(opt ListOptions) []string {
		t.Helper()
		list, err := op.List(ctx, opt)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, s := range list {
			out = append(out, s.CampaignID)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		opt  ListOptions
		want []string
	}{
		{"all, newest first", ListOptions{}, []string{"cb", "ca"}},
		{"limit", ListOptions{Limit: 1}, []string{"cb"}},
		{"paused", ListOptions{State: "paused"}, []string{"ca"}},
		{"search ignores case", ListOptions{Search: "DENTAL"}, []string{"cb"}},
		{"search and state", ListOptions{Search: "dental", State: "paused"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, ids(tc.opt)); diff != "" {
				t.Errorf("-want +got:\n%s", diff)
			}
		})
	}

	// List reads statuses in batches; each is the one Status reads alone.
	all, err := op.List(ctx, ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		one, err := op.Store().Status(ctx, s.CampaignID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(one, s.Status); diff != "" {
			t.Errorf("List's status of %s differs from Status (-Status +List):\n%s", s.CampaignID, diff)
		}
	}

	if _, err := op.Cancel(ctx, "ca", true); !errors.Is(err, ErrNoAPI) {
		t.Fatalf("cancel with hang-up and no API: %v, want ErrNoAPI", err)
	}
	res, err := op.Cancel(ctx, "ca", false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Canceled != a.Dialable {
		t.Errorf("canceled %d contacts, want the %d dialable ones", res.Canceled, a.Dialable)
	}
}

func TestUploadEndAtPassed(t *testing.T) {
	rdb, _ := redistest.Setup(t, testDB)
	op := New(rdb, Config{Now: testutil.Now})
	t.Cleanup(func() { op.Close() })
	f := mustExample(t)
	past := testutil.Now().Add(-time.Hour)
	f.EndAt = &past
	if _, err := op.Upload(t.Context(), f, "example.csv", openExample, UploadOptions{}); !errors.Is(err, ErrEndAtPassed) {
		t.Fatalf("err = %v, want ErrEndAtPassed", err)
	}
	if n := rdb.DBSize(t.Context()).Val(); n != 0 {
		t.Errorf("%d keys left in Redis", n)
	}
}
