package api_test

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/dialerhq/dialer/internal/auth"
	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/operator"
)

// TestReportOfArchivedCampaign deletes an archived campaign from Redis and downloads its
// reports (the rejected rows included) through the API: they come from the archive, as they
// were.
func TestReportOfArchivedCampaign(t *testing.T) {
	h := setup(t)
	id := h.mustCreate(t)
	ctx := t.Context()
	for n := 1; n <= 4; n++ {
		if _, err := h.store.Finalize(ctx, id, n, campaign.OutcomeCompleted, ""); err != nil {
			t.Fatal(err)
		}
	}
	var want, wantRejected bytes.Buffer
	if _, err := h.store.WriteReport(ctx, id, &want, campaign.ReportOptions{}); err != nil {
		t.Fatal(err)
	}
	if n, err := h.store.WriteRejected(ctx, id, &wantRejected, campaign.ReportOptions{}); err != nil || n != 2 {
		t.Fatalf("rejected rows from Redis: %d, %v; want 2 (an invalid and a duplicate row)", n, err)
	}
	op := operator.New(h.rdb, operator.Config{})
	defer op.Close()
	if _, err := op.Archive(ctx, id, filepath.Join(t.TempDir(), "archive")); err != nil {
		t.Fatal(err)
	}
	if _, err := op.Delete(ctx, id, operator.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	rec := h.do(t, auth.ScopeExport, "GET", "/api/v1/campaigns/"+id+"/report.csv", "", nil)
	if rec.Code != 200 || rec.Body.String() != want.String() {
		t.Errorf("report.csv of an archived campaign: %d %q\nwant %q", rec.Code, rec.Body, want.String())
	}
	if rec := h.do(t, auth.ScopeExport, "GET", "/api/v1/campaigns/"+id+"/attempts.csv", "", nil); rec.Code != 200 {
		t.Errorf("attempts.csv of an archived campaign: %d %s", rec.Code, rec.Body)
	}
	rec = h.do(t, auth.ScopeExport, "GET", "/api/v1/campaigns/"+id+"/rejected.csv", "", nil)
	if rec.Code != 200 || rec.Body.String() != wantRejected.String() {
		t.Errorf("rejected.csv of an archived campaign: %d %q\nwant %q", rec.Code, rec.Body, wantRejected.String())
	}
	if rec := h.do(t, auth.ScopeExport, "GET", "/api/v1/campaigns/nosuchcampaign1/report.csv", "", nil); rec.Code != 404 {
		t.Errorf("report.csv of an unknown campaign: %d, want 404", rec.Code)
	}
}
