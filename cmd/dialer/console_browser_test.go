package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/dialerhq/dialer/internal/account"
	"github.com/dialerhq/dialer/internal/auth"
	"github.com/dialerhq/dialer/internal/interactly"
	"github.com/dialerhq/dialer/internal/redistest"
	"github.com/dialerhq/dialer/internal/schedule"
	"github.com/dialerhq/dialer/internal/simulator"
	"github.com/dialerhq/dialer/internal/simulator/simtest"
	"github.com/dialerhq/dialer/internal/testutil"
	"github.com/dialerhq/dialer/internal/worker"
)

// screenshotDirEnv names the directory TestConsoleInBrowser saves its screenshots in.
const screenshotDirEnv = "DIALER_SCREENSHOTS"

// chromium returns the path of a Chromium the test can drive: Debian's chromium-headless-shell
// (the old headless mode, built for automation, as in chromedp's own headless-shell image),
// else a full chromium or Chrome; it skips the test when there is none (.ci/run installs the
// headless shell, so CI never skips). The headless shell renders with the same Blink and
// computes the same colours; on two cores it runs this test in about 10 s of CPU, where the
// full browser takes about 16.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium-headless-shell", "chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no chromium on PATH; apt-get install -y chromium-headless-shell (.ci/run does)")
	return ""
}

// browserProblems collects what must never happen on a console page: a JavaScript error,
// an uncaught exception, a request that fails or answers 4xx/5xx.
type browserProblems struct {
	mu   sync.Mutex
	list []string
}

func (b *browserProblems) add(format string, args ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.list = append(b.list, fmt.Sprintf(format, args...))
}

func (b *browserProblems) check(t *testing.T) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.list {
		t.Error("browser:", p)
	}
	b.list = nil
}

// TestConsoleInBrowser drives the console in chromium through an operator's day: sign in,
// upload campaigns/example.csv and see its 4 invalid and 2 duplicate rows in the preview,
// confirm, pause and resume, watch it finish against the simulator, and download the
// report, which must be byte-identical to `dialer report`. A read-only user sees no pause
// button and a pause it forges is refused. Any JavaScript error or failed request fails
// the test. An admin adds numbers to the suppression list and reads the audit log. Every
// piece of text on each page, at 1280 and 375 px wide, must pass WCAG AA contrast as the
// browser renders it (checkContrast); with $DIALER_SCREENSHOTS set, each page is also saved
// there as a screenshot at both widths.
func TestConsoleInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test; not in -short")
	}
	execPath := chromium(t)
	// Screenshots cost CPU time (a quarter of the test's); they are taken only when asked for.
	shots := os.Getenv(screenshotDirEnv)
	if shots != "" {
		if err := os.MkdirAll(shots, 0o755); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshots in %s", shots)
	}

	// The simulator, a worker pool and dialer serve's handlers, on one Redis.
	redistest.Parallel(t)
	rdb, _ := redistest.Setup(t, 6)
	const apiKey = "console-test-key"
	_, simSrv := simtest.Serve(t, simulator.Config{
		APIKey: apiKey, Seed: 3,
		RingMin: 150 * time.Millisecond, RingMax: 300 * time.Millisecond,
		TalkMin: 300 * time.Millisecond, TalkMax: 600 * time.Millisecond,
		AnalysisDelay: 50 * time.Millisecond,
	})
	api, err := interactly.New(interactly.Config{BaseURL: simSrv.URL, APIKey: apiKey})
	must(t, err)
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	poolDone := make(chan error, 1)
	go func() {
		poolDone <- worker.Run(ctx, worker.PoolConfig{Redis: rdb, API: api, Concurrency: 20, Logger: slog.New(slog.DiscardHandler)})
	}()
	defer func() { stop(); <-poolDone }()

	vars := map[string]string{"REDIS_URL": redistest.URL(rdb), "INTERACTLY_API_KEY": apiKey, "INTERACTLY_BASE_URL": simSrv.URL}
	e, _, _ := testEnv(t, vars)
	h, err := newServeHandlers(ctx, e, rdb, "whsec-test", slog.New(slog.DiscardHandler), consoleConfig{})
	must(t, err)
	defer h.Close()
	tokens := auth.NewStore(rdb)
	authn, err := auth.New(auth.Config{Tokens: tokens, Observe: h.audit.Middleware(nil)})
	must(t, err)
	srv := httptest.NewServer(h.handler(authn, true))
	defer srv.Close()
	operate := mustToken(t, tokens, "ops-anna", auth.ScopeOperate)
	admin := mustToken(t, tokens, "admin-cleo", auth.ScopeAdmin)
	reader := mustToken(t, tokens, "viewer-ben", auth.ScopeRead)

	// The campaign file: campaigns/example.yaml, dialing faster: its 44 calls take about 3 s
	// at 20 calls a second, 20 at once (the edit below raises the rate to 25).
	example, err := os.ReadFile("../../campaigns/example.yaml")
	must(t, err)
	yamlText := string(example)
	for old, repl := range map[string]string{"callsPerSecond: 2": "callsPerSecond: 20", "maxConcurrentCalls: 5\n": "maxConcurrentCalls: 20\n",
		"interval: 1s": "interval: 200ms", "analysisWait: 5s": "analysisWait: 1s"} {
		if !strings.Contains(yamlText, old) {
			t.Fatalf("campaigns/example.yaml has no %q any more; update the test", old)
		}
		yamlText = strings.Replace(yamlText, old, repl, 1)
	}
	dir := t.TempDir()
	campaignPath := writeFile(t, dir, "example.yaml", yamlText)
	contactsPath, err := filepath.Abs("../../campaigns/example.csv")
	must(t, err)

	// The browser.
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(execPath), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.NoFirstRun, chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("hide-scrollbars", true), chromedp.UserDataDir(profileDir(t)), chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	// Close the browser with Browser.close rather than only cancelling it: a killed
	// chromium-headless-shell leaves its renderer and GPU processes running, and using CPU,
	// after the test.
	defer func() {
		cctx, cancel := context.WithTimeout(bctx, 5*time.Second)
		defer cancel()
		if err := chromedp.Cancel(cctx); err != nil {
			t.Logf("closing the browser: %v", err)
		}
		cancelBrowser()
	}()
	// The first Run on bctx starts the browser, which lives as long as bctx; later runs take
	// a timeout of their own.
	must(t, chromedp.Run(bctx))
	problems := &browserProblems{}
	downloads := dir + "/downloads"
	must(t, os.MkdirAll(downloads, 0o755))
	downloaded := make(chan string, 4)
	chromedp.ListenTarget(bctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.APITypeError || ev.Type == runtime.APITypeAssert {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				problems.add("console.%s: %s", ev.Type, strings.Join(args, " "))
			}
		case *runtime.EventExceptionThrown:
			problems.add("exception: %s %s", ev.ExceptionDetails.Text, exceptionDescription(ev))
		case *network.EventLoadingFailed:
			if !ev.Canceled { // a poll cut short by a navigation is not a failure
				problems.add("request failed: %s (%s)", ev.ErrorText, ev.Type)
			}
		case *browser.EventDownloadProgress:
			if ev.State == browser.DownloadProgressStateCompleted {
				downloaded <- ev.GUID
			}
		case *network.EventResponseReceived:
			if ev.Response.Status >= 400 {
				problems.add("%d for %s", ev.Response.Status, ev.Response.URL)
			}
		}
	})
	// runAllowing runs actions and fails on every browser problem but those containing
	// allowed (when not "").
	runAllowing := func(what, allowed string, actions ...chromedp.Action) {
		t.Helper()
		tctx, cancel := context.WithTimeout(bctx, 30*time.Second)
		defer cancel()
		if err := chromedp.Run(tctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if allowed != "" {
			problems.mu.Lock()
			problems.list = slices.DeleteFunc(problems.list, func(p string) bool { return strings.Contains(p, allowed) })
			problems.mu.Unlock()
		}
		problems.check(t)
	}
	run := func(what string, actions ...chromedp.Action) {
		t.Helper()
		runAllowing(what, "", actions...)
	}
	shot := func(name string) chromedp.Action {
		return chromedp.ActionFunc(func(ctx context.Context) error {
			for _, width := range []int64{1280, 375} {
				if err := chromedp.EmulateViewport(width, 900).Do(ctx); err != nil {
					return err
				}
				if shots != "" {
					var png []byte
					if err := chromedp.FullScreenshot(&png, 100).Do(ctx); err != nil {
						return err
					}
					if err := os.WriteFile(filepath.Join(shots, fmt.Sprintf("%s-%d.png", name, width)), png, 0o644); err != nil {
						return err
					}
				}
				if err := checkContrast(fmt.Sprintf("%s at %d px", name, width)).Do(ctx); err != nil {
					return err
				}
			}
			return chromedp.EmulateViewport(1280, 900).Do(ctx)
		})
	}
	// viewport saves what a 1280×800 window shows, for the README.
	viewport := func(name string) chromedp.Action {
		return chromedp.ActionFunc(func(ctx context.Context) error {
			if shots == "" {
				return nil
			}
			var png []byte
			if err := chromedp.Run(ctx, chromedp.EmulateViewport(1280, 800), chromedp.CaptureScreenshot(&png)); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644)
		})
	}
	text := func(sel string) string {
		t.Helper()
		var s string
		run("read "+sel, chromedp.Text(sel, &s, chromedp.ByQuery))
		return s
	}
	signIn := func(token string) {
		t.Helper()
		run("sign in",
			chromedp.Navigate(srv.URL+"/campaigns"),
			chromedp.WaitVisible(`#token`, chromedp.ByQuery),
			shot("01-sign-in"),
			chromedp.SetValue(`#token`, token, chromedp.ByQuery), // typing a token's 40 characters takes 0.3 s
			chromedp.Click(`form[action="/signin"] button`, chromedp.ByQuery),
			chromedp.WaitVisible(`table.campaigns`, chromedp.ByQuery),
		)
	}

	run("set up", network.Enable(),
		browser.SetDownloadBehavior(browser.SetDownloadBehaviorBehaviorAllowAndName).WithDownloadPath(downloads).WithEventsEnabled(true))

	// Sign in as an operator; a wrong token first says so next to the field.
	runAllowing("wrong token", "401 for "+srv.URL+"/signin",
		chromedp.Navigate(srv.URL+"/signin"),
		chromedp.SendKeys(`#token`, "dlr_0000000000000000_wrong", chromedp.ByQuery),
		chromedp.Click(`form[action="/signin"] button`, chromedp.ByQuery),
		chromedp.WaitVisible(`#token-error`, chromedp.ByQuery))
	signIn(operate)
	run("campaigns, empty", shot("02-campaigns-empty"))

	// A Windows-1252 file dropped without its encoding: the preview says where and how to fix
	// it; picking the encoding there previews it; cancel leaves nothing.
	excelPath, err := filepath.Abs("../../internal/contactcsv/testdata/excel-windows-1252.csv")
	must(t, err)
	runAllowing("not UTF-8", "422 for "+srv.URL+"/drafts/",
		chromedp.Navigate(srv.URL+"/campaigns/new"),
		chromedp.WaitVisible(`#contacts`, chromedp.ByQuery),
		chromedp.SetUploadFiles(`#contacts`, []string{excelPath}, chromedp.ByQuery),
		chromedp.SetUploadFiles(`#campaign`, []string{campaignPath}, chromedp.ByQuery),
		chromedp.Click(`form[action="/campaigns/new"] button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#encoding-error`, chromedp.ByQuery),
		shot("03b-preview-not-utf8"),
	)
	if s := text(`div.error`); !strings.Contains(s, "line 2, column 4") || !strings.Contains(s, "CSV UTF-8") {
		t.Errorf("the encoding error says %q", s)
	}
	run("pick the encoding",
		chromedp.SetValue(`#map-encoding`, "windows-1252", chromedp.ByQuery),
		chromedp.Click(`form.mapping button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`table.sample`, chromedp.ByQuery),
	)
	if s := text(`table.sample tbody`); !strings.Contains(s, "José") {
		t.Errorf("the preview in windows-1252 shows %q", s)
	}
	run("cancel the draft",
		chromedp.Click(`form[action$="/cancel"] button`, chromedp.ByQuery),
		chromedp.WaitVisible(`table.campaigns`, chromedp.ByQuery),
	)

	// New campaign: the example contacts and campaign file; the preview shows the refusals.
	run("upload",
		chromedp.Click(`a.button.primary[href="/campaigns/new"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#contacts`, chromedp.ByQuery),
		shot("03-new-campaign"),
		chromedp.SetUploadFiles(`#contacts`, []string{contactsPath}, chromedp.ByQuery),
		chromedp.SetUploadFiles(`#campaign`, []string{campaignPath}, chromedp.ByQuery),
		chromedp.Click(`form[action="/campaigns/new"] button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#refused-title`, chromedp.ByQuery),
		shot("04-preview"),
	)
	// Only tokens, the audit log of the upload's POST and the running worker's feeder and
	// slot-sweeper leases are in Redis: no campaign yet.
	if keys, _ := rdb.Keys(t.Context(), "dialer:*").Result(); len(keysExcept(keys, "dialer:{auth}", "dialer:audit", "dialer:feeder:", "dialer:sweeper:")) > 0 {
		t.Errorf("the preview stored keys: %v", keysExcept(keys, "dialer:{auth}", "dialer:audit", "dialer:feeder:", "dialer:sweeper:"))
	}
	counts := text(`section[aria-labelledby="counts-title"] dl`)
	for _, want := range []string{"Rows\n50", "Will be called\n44", "Invalid\n4", "Duplicate\n2"} {
		if !strings.Contains(counts, want) {
			t.Errorf("preview counts %q lack %q", counts, want)
		}
	}
	refused := text(`table.refused tbody`)
	for _, line := range []string{"18", "20", "22", "24", "32", "43"} { // file lines: a quoted cell spans two
		if !strings.Contains(refused, line+"\t") {
			t.Errorf("refused rows lack line %s:\n%s", line, refused)
		}
	}
	for _, outcome := range []string{"invalid", "duplicate"} {
		if n := strings.Count(refused, outcome); n != map[string]int{"invalid": 4, "duplicate": 2}[outcome] {
			t.Errorf("refused rows: %d %s, want %d", n, outcome, map[string]int{"invalid": 4, "duplicate": 2}[outcome])
		}
	}

	// Confirm; pause at once, resume, and watch it finish.
	run("confirm",
		chromedp.Click(`form[action$="/confirm"] button`, chromedp.ByQuery),
		chromedp.WaitVisible(`#campaign-header`, chromedp.ByQuery),
		chromedp.Click(`form[action$="/pause"] button`, chromedp.ByQuery),
		chromedp.WaitVisible(`#campaign-header .state-paused`, chromedp.ByQuery),
		shot("05-campaign-paused"),
	)
	var loc string
	run("location", chromedp.Location(&loc))
	u, err := url.Parse(loc)
	must(t, err)
	id := strings.TrimPrefix(u.Path, "/campaigns/")
	st, err := h.op.Store().Status(t.Context(), id)
	must(t, err)
	if st.Control != "paused" {
		t.Errorf("after Pause the campaign's control is %q", st.Control)
	}
	// While paused: change its rate in the console (operator.Edit).
	run("edit",
		chromedp.Click(`a[href$="/edit"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#f-rateLimit-callsPerSecond`, chromedp.ByQuery),
		chromedp.SetValue(`#f-rateLimit-callsPerSecond`, "25", chromedp.ByQuery),
		shot("05b-edit"),
		chromedp.Click(`form[action$="/edit"] button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#campaign-header .state-paused`, chromedp.ByQuery),
	)
	if c, err := h.op.Store().Campaign(t.Context(), id); err != nil || c.File.RateLimit.CallsPerSecond != 25 {
		t.Errorf("after the edit in the console: %v, callsPerSecond %v; want 25", err, c.File.RateLimit.CallsPerSecond)
	}
	resumed := testutil.Now()
	run("resume",
		chromedp.Click(`form[action$="/resume"] button`, chromedp.ByQuery),
		chromedp.WaitVisible(`#campaign-header .state-running, #campaign-header .state-done`, chromedp.ByQuery),
		shot("06-campaign-running"),
	)
	// The campaign page in the README: once some contacts have finished.
	testutil.WaitFor(t, 30*time.Second, "10 contacts finished", func() bool {
		st, err := h.op.Store().Status(t.Context(), id)
		return err == nil && st.Outcomes["completed"] >= 10
	})
	run("campaign page for the README", chromedp.Reload(), chromedp.WaitVisible(`#campaign-header`, chromedp.ByQuery), viewport("campaign-page"))
	waitCtx, cancelWait := context.WithTimeout(bctx, 2*time.Minute)
	if err := chromedp.Run(waitCtx, chromedp.WaitVisible(`#campaign-header .state-done`, chromedp.ByQuery)); err != nil {
		st, _ := h.op.Store().Status(t.Context(), id)
		t.Fatalf("the page never showed the campaign done (status %+v): %v", st, err)
	}
	cancelWait()
	t.Logf("the page showed the campaign done %s after Resume", testutil.Now().Sub(resumed).Round(time.Millisecond))
	problems.check(t)
	run("campaign done", chromedp.Reload(), chromedp.WaitVisible(`table.rows`, chromedp.ByQuery), shot("07-campaign-done"))

	// Retry outcomes: picking none is refused next to the outcomes (nothing is redialed, so
	// the report below stays as it is).
	runAllowing("retry refused", "422 for "+srv.URL+"/campaigns/"+id+"/retry",
		chromedp.Click(`a[href$="/retry"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#o-completed`, chromedp.ByQuery),
		chromedp.Click(`form[action$="/retry"] button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#retry-error`, chromedp.ByQuery),
		shot("07c-retry-refused"),
		chromedp.Navigate(srv.URL+"/campaigns/"+id),
		chromedp.WaitVisible(`table.rows`, chromedp.ByQuery),
	)

	// Download the report; it is what `dialer report` writes, byte for byte.
	run("download", chromedp.Click(`a[href$="/report.csv"]`, chromedp.ByQuery))
	var guid string
	select {
	case guid = <-downloaded:
	case <-time.After(30 * time.Second):
		t.Fatal("the report download did not complete")
	}
	got, err := os.ReadFile(filepath.Join(downloads, guid))
	must(t, err)
	cliPath := filepath.Join(dir, "cli-report.csv")
	ce, _, cliErr := testEnv(t, vars)
	if err := dispatch(t.Context(), ce, []string{"report", id, "--out", cliPath}); err != nil {
		t.Fatalf("dialer report: %v %s", err, cliErr)
	}
	want, err := os.ReadFile(cliPath)
	must(t, err)
	if !bytes.Equal(got, want) {
		t.Errorf("downloaded report (%d bytes) differs from `dialer report` (%d bytes)", len(got), len(want))
	}

	// A row's attempts and summary.
	run("row", chromedp.Click(`a[href$="/contacts/1"]`, chromedp.ByQuery), chromedp.WaitVisible(`section.attempt`, chromedp.ByQuery), shot("08-row"))
	if s := text(`section.attempt`); !strings.Contains(s, "completed") || !strings.Contains(s, "Call ID") {
		t.Errorf("row 1's attempt shows %q", s)
	}

	// The read-only user: no pause button, and a forged pause is refused.
	run("sign out", chromedp.Click(`form[action="/signout"] button`, chromedp.ByQuery), chromedp.WaitVisible(`#token`, chromedp.ByQuery))
	signIn(reader)
	run("read-only campaigns", shot("09-campaigns-read-only"))
	var buttons []string
	run("read-only campaign",
		chromedp.Navigate(srv.URL+"/campaigns/"+id),
		chromedp.WaitVisible(`#campaign-header`, chromedp.ByQuery),
		chromedp.Evaluate(`[...document.querySelectorAll("button, a.button")].map(b => b.textContent.trim())`, &buttons),
		shot("10-campaign-read-only"),
	)
	for _, b := range buttons {
		if strings.Contains(b, "Pause") || strings.Contains(b, "Resume") || strings.Contains(b, "Cancel") || strings.Contains(b, "Report") {
			t.Errorf("the read-only user sees %q", b)
		}
	}
	post := func(token, origin string) int {
		req, err := http.NewRequest("POST", srv.URL+"/campaigns/"+id+"/pause", nil)
		must(t, err)
		req.AddCookie(&http.Cookie{Name: "dialer_session", Value: token})
		req.Header.Set("Origin", origin)
		resp, err := http.DefaultClient.Do(req)
		must(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(reader, srv.URL); code != http.StatusForbidden {
		t.Errorf("a read-only user's forged pause: %d, want 403", code)
	}
	if code := post(operate, "https://evil.example"); code != http.StatusForbidden {
		t.Errorf("a cross-site pause on the operator's session: %d, want 403", code)
	}
	problems.check(t)

	// An admin: the suppression list, tokens and the audit log.
	run("sign out", chromedp.Click(`form[action="/signout"] button`, chromedp.ByQuery), chromedp.WaitVisible(`#token`, chromedp.ByQuery))
	signIn(admin)
	run("suppression add",
		chromedp.Navigate(srv.URL+"/suppression"),
		chromedp.WaitVisible(`#numbers`, chromedp.ByQuery),
		chromedp.SendKeys(`#numbers`, "(415) 555-0199\n+44 20 7946 0958", chromedp.ByQuery),
		chromedp.Click(`button[formaction="/suppression/add"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`p.notice`, chromedp.ByQuery),
		shot("11-suppression"),
	)
	if got := text(`p.notice`); !strings.Contains(got, "Added 2") {
		t.Errorf("suppression add says %q", got)
	}
	if on, err := h.op.Suppression().Suppressed(t.Context(), "", "+14155550199"); err != nil || !on {
		t.Errorf("after Add in the console, +14155550199 suppressed = %v, %v", on, err)
	}
	// A schedule: a cron spec the form refuses next to its field, then a good one.
	examplePath, err := filepath.Abs("../../campaigns/example.yaml")
	must(t, err)
	runAllowing("schedule refused", "422 for "+srv.URL+"/schedules",
		chromedp.Navigate(srv.URL+"/schedules"),
		chromedp.WaitVisible(`#s-cron`, chromedp.ByQuery),
		chromedp.SendKeys(`#s-cron`, "every morning", chromedp.ByQuery),
		chromedp.SendKeys(`#s-timezone`, "America/New_York", chromedp.ByQuery),
		chromedp.SetValue(`#s-campaign`, examplePath, chromedp.ByQuery), // long paths: set, not typed
		chromedp.SetValue(`#s-contacts`, contactsPath, chromedp.ByQuery),
		chromedp.Click(`form[action="/schedules"] button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#s-cron-error`, chromedp.ByQuery),
		shot("12a-schedule-refused"),
	)
	run("schedule added",
		chromedp.SetValue(`#s-cron`, "0 9 * * MON-FRI", chromedp.ByQuery),
		chromedp.Click(`form[action="/schedules"] button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`p.notice`, chromedp.ByQuery),
		shot("12-schedules"),
	)
	if list, err := schedule.NewStore(rdb).List(t.Context()); err != nil || len(list) != 1 || list[0].Timezone != "America/New_York" {
		t.Errorf("after adding a schedule in the console: %v, %v", list, err)
	}
	// Accounts: the default account's limits, a refused value first.
	runAllowing("account refused", "422 for "+srv.URL+"/accounts",
		chromedp.Navigate(srv.URL+"/accounts"),
		chromedp.WaitVisible(`#acct-default`, chromedp.ByQuery),
		chromedp.Click(`details.edit summary`, chromedp.ByQuery),
		chromedp.SetValue(`#a-default-cps`, "fast", chromedp.ByQuery),
		chromedp.Click(`details.edit button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#a-default-cps-error`, chromedp.ByQuery),
		shot("15a-account-refused"),
	)
	run("account set",
		chromedp.SetValue(`#a-default-cps`, "8", chromedp.ByQuery),
		chromedp.SetValue(`#a-default-max`, "30", chromedp.ByQuery),
		chromedp.Click(`details.edit button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`p.notice`, chromedp.ByQuery),
		shot("15-accounts"),
	)
	if a, err := account.NewStore(rdb).Get(t.Context(), account.Default); err != nil || a.CallsPerSecond != 8 || a.MaxConcurrentCalls != 30 {
		t.Errorf("the default account after the console set it: %+v, %v", a, err)
	}
	run("tokens", chromedp.Navigate(srv.URL+"/tokens"), chromedp.WaitVisible(`#tname`, chromedp.ByQuery), shot("13-tokens"))
	run("audit", chromedp.Navigate(srv.URL+"/audit"), chromedp.WaitVisible(`table`, chromedp.ByQuery), shot("14-audit"))
	if got := text(`table tbody`); !strings.Contains(got, "/campaigns/{id}/pause") || !strings.Contains(got, "ops-anna") {
		t.Errorf("the audit log lacks ops-anna's pause:\n%s", got)
	}
}

// profileDir is a directory for chromium's profile, removed after the test. Chromium's
// helper processes may still write there for a moment after the browser has closed, which
// made t.TempDir's own removal fail the test; so removal is retried, then only logged.
func profileDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "dialer-chromium-")
	must(t, err)
	t.Cleanup(func() {
		for range 20 {
			if err = os.RemoveAll(dir); err == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("chromium's profile %s is left behind: %v", dir, err)
	})
	return dir
}

// keysExcept returns keys that start with none of prefixes.
func keysExcept(keys []string, prefixes ...string) []string {
	var out []string
	for _, k := range keys {
		if !slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(k, p) }) {
			out = append(out, k)
		}
	}
	return out
}

func exceptionDescription(ev *runtime.EventExceptionThrown) string {
	if ev.ExceptionDetails.Exception != nil {
		return ev.ExceptionDetails.Exception.Description
	}
	return ""
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
