package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"time"

	"github.com/dialerhq/dialer/internal/auth"
	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/console"
	"github.com/dialerhq/dialer/internal/lab"
	"github.com/dialerhq/dialer/internal/operator"
)

// Targets of the console: the campaigns page with 1,000 campaigns in under 200 ms of server
// time, a page of a million-row campaign's rows table in under 100 ms.
const (
	consoleListTarget = 200 * time.Millisecond
	consoleRowsTarget = 100 * time.Millisecond
)

// consoleRuns is how many times each console page is rendered; the figure is the slowest
// but one (the 95th percentile of 20).
const consoleRuns = 20

// noEnqueue is an Enqueuer that queues nothing: the console measure reads campaigns and
// never dials them.
type noEnqueue struct{}

func (noEnqueue) EnqueueDial(context.Context, campaign.AttemptRef, time.Time) error { return nil }

// benchConsole renders the console's campaigns page with --console-campaigns campaigns in
// Redis, and pages of the rows table of a campaign of --console-rows rows, in process on
// the benchmark's Redis, timing the handler: the server time a browser waits for.
func (b *bench) benchConsole(ctx context.Context) ([]lab.Figure, error) {
	rdb, done, err := b.openScratch(ctx, dbConsole, "console")
	if err != nil {
		return nil, err
	}
	defer done()
	store := campaign.NewStore(rdb)

	n := b.cfg.consoleCampaigns
	b.Progress("console: storing %s campaigns of 5 rows", lab.Thousands(n))
	f, err := campaign.ParseChecked("console.yaml", []byte(campaignFile(lab.Campaign{Name: "console", CPS: 1, MaxLive: 10, Poll: 5 * time.Second, AnalysisWait: 30 * time.Second}).YAML()))
	if err != nil {
		return nil, err
	}
	var small strings.Builder
	if err := writeContacts(&small, 5); err != nil {
		return nil, err
	}
	open := func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(small.String())), nil }
	for i := range n {
		fi := *f
		fi.Name = fmt.Sprintf("clinic-%04d reminders", i)
		if _, err := store.Upload(ctx, &fi, "small.csv", open, noEnqueue{}, campaign.UploadOptions{}); err != nil {
			return nil, err
		}
	}

	b.Progress("console: uploading a campaign of %s rows with dialer upload", lab.Thousands(b.cfg.consoleRows))
	u, err := b.runUpload(ctx, lab.Campaign{Name: "bench-console", CPS: 1, MaxLive: 10, Poll: 5 * time.Second, AnalysisWait: 30 * time.Second}, b.cfg.consoleRows, dbConsole)
	if err != nil {
		return nil, err
	}

	op := operator.New(rdb, operator.Config{})
	defer op.Close()
	c, err := console.New(console.Config{Operator: op, DraftDir: b.Dir + "/drafts"})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	for _, rt := range c.Routes() {
		mux.Handle(rt.Pattern, rt.Handler)
	}
	admin := auth.Principal{Name: "bench", Scope: auth.ScopeAdmin, Method: auth.MethodLocal}
	// timePage renders target consoleRuns times and returns the 95th percentile.
	timePage := func(target, mustSee string) (time.Duration, error) {
		var took []time.Duration
		for range consoleRuns {
			r := httptest.NewRequestWithContext(auth.WithPrincipal(ctx, admin), "GET", target, nil)
			rec := httptest.NewRecorder()
			start := time.Now()
			mux.ServeHTTP(rec, r)
			took = append(took, time.Since(start))
			if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), mustSee) {
				return 0, fmt.Errorf("console GET %s: %d, without %q", target, rec.Code, mustSee)
			}
		}
		slices.Sort(took)
		return took[len(took)*95/100-1], nil
	}
	var figs []lab.Figure
	list := []struct{ name, target, see string }{
		{"all (200 newest shown)", "/campaigns", "clinic-"},
		{"filtered by state", "/campaigns?state=paused", "No campaign matches"},
		{"searched by name", "/campaigns?q=clinic-0999", "clinic-0999"},
	}
	for _, p := range list {
		b.Progress("console: campaigns page, %s", p.name)
		d, err := timePage(p.target, p.see)
		if err != nil {
			return nil, err
		}
		figs = append(figs, lab.Figure{
			Measure: "console: campaigns page, " + p.name, Value: millis(d), Target: "< " + millis(consoleListTarget),
			Met: verdict(d < consoleListTarget), Note: fmt.Sprintf("%s campaigns stored; p95 of %d renders, handler time", lab.Thousands(n+1), consoleRuns),
		})
	}
	rows := b.cfg.consoleRows
	pages := []struct{ name, query string }{
		{"first page", ""},
		{"middle page", fmt.Sprintf("?from=%d", rows/2)},
		{"last page", fmt.Sprintf("?from=%d", max(1, rows-49))},
		{"filter matching nothing", "?outcome=busy"},
	}
	for _, p := range pages {
		b.Progress("console: rows table, %s", p.name)
		d, err := timePage("/campaigns/"+u.id+p.query, `<table class="rows`)
		if err != nil {
			return nil, err
		}
		note := fmt.Sprintf("%s-row campaign; 50 rows a page; p95 of %d renders, header counts included", lab.Thousands(rows), consoleRuns)
		if strings.Contains(p.query, "outcome") {
			note = fmt.Sprintf("%s-row campaign; scans its budget of %s rows; p95 of %d renders", lab.Thousands(rows), lab.Thousands(console.ScanBudget), consoleRuns)
		}
		figs = append(figs, lab.Figure{
			Measure: "console: rows table, " + p.name, Value: millis(d), Target: "< " + millis(consoleRowsTarget),
			Met: verdict(d < consoleRowsTarget), Note: note,
		})
	}
	return figs, nil
}
