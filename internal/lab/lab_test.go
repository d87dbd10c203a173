package lab

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/google/go-cmp/cmp"
)

func TestExitCode(t *testing.T) {
	tests := []struct {
		name        string
		err         error
		interrupted bool
		want        int
		wantStderr  string
	}{
		{name: "ok", want: 0},
		{name: "help", err: fmt.Errorf("parse: %w", flag.ErrHelp), want: 2},
		{name: "interrupted", err: context.Canceled, interrupted: true, want: 130, wantStderr: "bench: interrupted; cleaned up\n"},
		{name: "failed", err: errors.New("redis-server is not on PATH"), want: 1, wantStderr: "bench: redis-server is not on PATH\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			got := exitCode("bench", tt.err, tt.interrupted, &stderr)
			if got != tt.want || stderr.String() != tt.wantStderr {
				t.Errorf("exitCode = %d, stderr %q; want %d, %q", got, stderr.String(), tt.want, tt.wantStderr)
			}
		})
	}
}

// TestOpen builds the dialer and worker into a Lab's directory, as both commands do first.
// Building takes seconds of CPU, so only the first Lab builds; the second, which differs in
// Keep, gets a copy of what the first built. The first runs the real build into its
// directory, which it finds seeded with the commands as last built for this tree
// (seededBuild): go build then links again only when the sources changed.
func TestOpen(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cmd/dialer and cmd/worker")
	}
	t.Parallel()
	parent := t
	var built []string // the commands the first Lab built, in a directory kept until the test ends
	for _, keep := range []bool{true, false} {
		t.Run(fmt.Sprintf("keep=%t", keep), func(t *testing.T) {
			defer func(b func(context.Context, string, string) (string, string, error)) { buildCommands = b }(buildCommands)
			buildCommands = seededBuild
			if built != nil {
				defer func(b func(context.Context, string, string) (string, string, error)) { buildCommands = b }(buildCommands)
				buildCommands = func(_ context.Context, _, dir string) (dialer, worker string, err error) {
					if dialer, err = copyExecutable(built[0], dir); err != nil {
						return "", "", err
					}
					worker, err = copyExecutable(built[1], dir)
					return dialer, worker, err
				}
			}
			var log bytes.Buffer
			l, err := Open(t.Context(), Options{Command: "bench", Log: &log, Keep: keep})
			if err != nil {
				t.Fatal(err)
			}
			if keep {
				built = []string{l.Dialer, l.Worker}
				parent.Cleanup(func() { os.RemoveAll(l.Dir) })
			}
			if !strings.HasPrefix(filepath.Base(l.Dir), "dialer-bench-") {
				t.Errorf("Dir = %s, want dialer-bench-* in the temporary directory", l.Dir)
			}
			for _, bin := range []string{l.Dialer, l.Worker} {
				if fi, err := os.Stat(bin); err != nil || fi.Mode()&0o111 == 0 || filepath.Dir(bin) != l.Dir {
					t.Errorf("built command %s: %v; want an executable in %s", bin, err, l.Dir)
				}
			}
			l.Progress("measuring %d", 3)
			l.Close()
			l.Close() // a second Close does nothing
			want := "bench: building dialer and worker\nbench: measuring 3\n"
			if keep {
				want += "bench: kept " + l.Dir + "\n"
			}
			if diff := cmp.Diff(want, log.String()); diff != "" {
				t.Errorf("progress lines (-want +got):\n%s", diff)
			}
			if _, err := os.Stat(l.Dir); keep != (err == nil) {
				t.Errorf("after Close with Keep %t: stat %s: %v", keep, l.Dir, err)
			}
		})
	}
}

// seededBuild is build into dir, which it first seeds with the commands it built last for
// this tree, kept in a directory of the user's cache named after the tree
// (dialer-test-bin/lab-<hash of the root's path>, under an exclusive lock on its lock file).
// go build finds a seeded command up to date when its sources have not changed since, and
// then does not link it again: a second instead of the 4–10 s of linking both. Without a
// cache directory it is build alone.
func seededBuild(ctx context.Context, root, dir string) (dialer, worker string, err error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return build(ctx, root, dir)
	}
	sum := sha256.Sum256([]byte(root))
	cache = filepath.Join(cache, "dialer-test-bin", "lab-"+hex.EncodeToString(sum[:8]))
	if err := os.MkdirAll(cache, 0o700); err != nil {
		return build(ctx, root, dir)
	}
	lock, err := os.OpenFile(filepath.Join(cache, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return "", "", err
	}
	defer lock.Close() // and so unlocked
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", "", fmt.Errorf("lock %s: %w", lock.Name(), err)
	}
	for _, name := range []string{"dialer", "worker"} {
		// None yet at the first run: build links them.
		_, _ = copyExecutable(filepath.Join(cache, name), dir)
	}
	if dialer, worker, err = build(ctx, root, dir); err != nil {
		return "", "", err
	}
	for _, bin := range []string{dialer, worker} {
		if _, err := copyExecutable(bin, cache); err != nil {
			return "", "", err
		}
	}
	return dialer, worker, nil
}

// copyExecutable copies the executable src into dir, under its own name, and returns the
// copy's path.
func copyExecutable(src, dir string) (string, error) {
	data, err := os.ReadFile(src)
	if err != nil {
		return "", err
	}
	dst := filepath.Join(dir, filepath.Base(src))
	return dst, os.WriteFile(dst, data, 0o755)
}

func TestOpenOutsideTheRepository(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv("GOFLAGS", "")
	t.Setenv("GOWORK", "off")
	_, err := Open(t.Context(), Options{Command: "chaos", Log: &bytes.Buffer{}})
	if err == nil || !strings.Contains(err.Error(), "go run ./cmd/chaos") {
		t.Errorf("Open outside a module: %v; want the hint go run ./cmd/chaos", err)
	}
	if _, err := Open(t.Context(), Options{Command: "chaos"}); err == nil {
		t.Error("Open without Options.Log: no error")
	}
}

func TestProgressWithoutOpen(t *testing.T) {
	(&Lab{}).Progress("nowhere %d", 1) // must not panic
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 100000: "100,000", 1234567: "1,234,567", -25000: "-25,000", -999: "-999"} {
		if got := Thousands(n); got != want {
			t.Errorf("Thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestVerdict(t *testing.T) {
	if got := Verdict(true, "MISSED"); got != Met {
		t.Errorf("Verdict(true) = %q, want %q", got, Met)
	}
	if got := Verdict(false, "BROKEN"); got != "BROKEN" {
		t.Errorf("Verdict(false, BROKEN) = %q", got)
	}
}

// TestPrintFigures checks the table's layout: aligned columns, "—" for no target, and a
// line on how each figure is measured for the figures that have a note.
func TestPrintFigures(t *testing.T) {
	figs := []Figure{
		{Measure: "upload: rate", Value: "31,250 rows/s", Target: "≥ 25,000 rows/s", Met: Verdict(true, "MISSED"), Note: "rows ÷ wall time"},
		{Measure: "faults injected", Value: "12"},
		{Measure: "double dials", Value: "1", Target: "0", Met: Verdict(false, "BROKEN"), Note: "dials beyond the first"},
	}
	var out bytes.Buffer
	if err := PrintFigures(&out, "dialer lab: a header", figs); err != nil {
		t.Fatal(err)
	}
	want := `dialer lab: a header

measure          figure         target           met?
upload: rate     31,250 rows/s  ≥ 25,000 rows/s  met
faults injected  12             —                
double dials     1              0                BROKEN

how each figure is measured:
  upload: rate: rows ÷ wall time
  double dials: dials beyond the first
`
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("PrintFigures (-want +got):\n%s", diff)
	}
}

// TestCampaignYAML parses the campaign files a Campaign writes, as `dialer upload` does.
func TestCampaignYAML(t *testing.T) {
	type parsed struct {
		Name, NameColumn, NumberColumn string
		CPS                            float64
		MaxLive, MaxAttempts           int
		RetryOn                        []string
		RetryDelay, Poll, AnalysisWait time.Duration
		Metadata                       map[string]any
	}
	tests := []struct {
		name string
		c    Campaign
		want parsed
	}{
		{
			name: "retried",
			c: Campaign{Name: "chaos", CPS: 20, MaxLive: 40, MaxAttempts: 3, RetryOn: []string{"busy", "no-answer"}, RetryDelay: 2 * time.Second,
				Poll: 250 * time.Millisecond, AnalysisWait: 3 * time.Second},
			want: parsed{Name: "chaos", NameColumn: "name", NumberColumn: "phone", CPS: 20, MaxLive: 40, MaxAttempts: 3,
				RetryOn: []string{"busy", "no-answer"}, RetryDelay: 2 * time.Second, Poll: 250 * time.Millisecond, AnalysisWait: 3 * time.Second},
		},
		{
			name: "defaults",
			c:    Campaign{Name: "kill", CPS: 0.5, MaxLive: 1, Poll: time.Second, AnalysisWait: 5 * time.Second},
			want: parsed{Name: "kill", NameColumn: "name", NumberColumn: "phone", CPS: 0.5, MaxLive: 1, MaxAttempts: 1,
				Poll: time.Second, AnalysisWait: 5 * time.Second},
		},
		{
			name: "name column and extra",
			c: Campaign{Name: "bench-live", CPS: 50, MaxLive: 1000, Poll: 5 * time.Second, AnalysisWait: 30 * time.Second,
				NameColumn: "First Name", Extra: "metadata: {source: lab}\n"},
			want: parsed{Name: "bench-live", NameColumn: "First Name", NumberColumn: "phone", CPS: 50, MaxLive: 1000, MaxAttempts: 1,
				Poll: 5 * time.Second, AnalysisWait: 30 * time.Second, Metadata: map[string]any{"source": "lab"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tt.c.Name+".yaml")
			if err := tt.c.Write(path); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			f, err := campaign.Parse(path, data)
			if err != nil {
				t.Fatalf("%v\n%s", err, data)
			}
			got := parsed{Name: f.Name, NameColumn: f.Contacts.NameColumn, NumberColumn: f.Contacts.NumberColumn,
				CPS: f.RateLimit.CallsPerSecond, MaxLive: f.RateLimit.MaxConcurrentCalls, MaxAttempts: f.Retry.MaxAttempts,
				RetryDelay: f.Retry.Delay.D(), Poll: f.Poll.Interval.D(), AnalysisWait: f.Poll.AnalysisWait.D(), Metadata: f.Metadata}
			for _, o := range f.Retry.RetryOn {
				got.RetryOn = append(got.RetryOn, string(o))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parsed (-want +got):\n%s\n%s", diff, data)
			}
		})
	}
}

func TestWriteFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "contacts.csv")
	if err := WriteFile(path, func(w io.Writer) error {
		_, err := fmt.Fprint(w, "name,phone\nPatient 1,+12015550000\n")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(path); err != nil || string(data) != "name,phone\nPatient 1,+12015550000\n" {
		t.Errorf("file = %q, %v", data, err)
	}

	errFull := errors.New("disk full")
	err := WriteFile(path, func(io.Writer) error { return errFull })
	if !errors.Is(err, errFull) || !strings.Contains(err.Error(), path) {
		t.Errorf("WriteFile with a failing write = %v; want it wrapped with the path", err)
	}
	if err := WriteFile(filepath.Join(path, "below-a-file"), func(io.Writer) error { return nil }); err == nil {
		t.Error("WriteFile below a file: no error")
	}
}
