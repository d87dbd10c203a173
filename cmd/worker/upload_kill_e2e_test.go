package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dialerhq/dialer/internal/campaign"
	"github.com/dialerhq/dialer/internal/redistest"
	"github.com/dialerhq/dialer/internal/testutil"
)

// TestKilledUpload kills `dialer upload` with SIGKILL while it waits for the rest of its
// contact file (a FIFO that stalls after 515 of 520 rows, the first 512 stored), three
// times. Each dead upload's lease is left to run out (shortened in Redis, as 30 s passing
// would); the campaign then shows as failed in `dialer list` and `dialer status`, and is
// cleared, its record kept, by whoever notices first: `dialer cancel`, the next `dialer
// upload`, or a worker's feeder. `dialer delete`, with or without --force, removes it.
func TestKilledUpload(t *testing.T) {
	dialer, workerBin, rdb := startE2E(t)
	ctx := t.Context()
	env := commandEnv(redistest.URL(rdb), "http://127.0.0.1:1", "killed-upload-key")
	dir := t.TempDir()
	campaignPath := filepath.Join(dir, "c.yaml")
	must(t, os.WriteFile(campaignPath, []byte(e2eCampaign), 0o600))
	lines := []string{"name,phone,note\n"}
	for i := range 520 {
		lines = append(lines, fmt.Sprintf("P%d,+1 415 555 %04d,%s\n", i, 100+i, strings.Repeat("n", 120)))
	}

	// killedUpload starts an upload of the 520 rows through a FIFO, lets its second read
	// (the load) stall after 515 rows, kills it once 512 contacts are parked, and returns
	// its campaign's ID.
	killedUpload := func(name string) string {
		t.Helper()
		fifo := filepath.Join(dir, name+".csv")
		must(t, syscall.Mkfifo(fifo, 0o600))
		cmd := exec.Command(dialer, "upload", "--campaign", campaignPath, "--contacts", fifo)
		cmd.Env = env
		var logs bytes.Buffer
		cmd.Stdout, cmd.Stderr = &logs, &logs
		must(t, cmd.Start())
		// The check reads the whole file; the load, which opens it again once the campaign
		// is created (the check's reader closed by then), stalls after 515 rows.
		created, stalled := make(chan struct{}), make(chan *os.File, 1)
		go func() {
			for i, n := range []int{len(lines), 516} {
				if i == 1 {
					<-created
				}
				w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
				if err != nil {
					return
				}
				_, _ = w.WriteString(strings.Join(lines[:n], ""))
				if i == 0 {
					w.Close()
				} else {
					stalled <- w
				}
			}
		}()
		var id string
		fail := func(what string) {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("upload %s: no %s within 60s:\n%s", name, what, logs.String())
		}
		if !testutil.Eventually(60*time.Second, func() bool {
			for _, c := range rdb.ZRange(ctx, "dialer:campaigns", 0, -1).Val() {
				if rdb.HGet(ctx, "dialer:{"+c+"}:campaign", "state").Val() == "uploading" {
					id = c
					return true
				}
			}
			return false
		}) {
			fail("campaign uploading")
		}
		close(created)
		if !testutil.Eventually(60*time.Second, func() bool { return rdb.ZCard(ctx, "dialer:{"+id+"}:hopper").Val() == 512 }) {
			fail("512 contacts parked")
		}
		must(t, cmd.Process.Signal(syscall.SIGKILL))
		_ = cmd.Wait()
		(<-stalled).Close()
		// The lease the upload took, now renewed by nobody: run it out, as 30 s would.
		lease := "dialer:{" + id + "}:upload"
		if ttl := rdb.PTTL(ctx, lease).Val(); ttl <= 0 || ttl > campaign.DefaultUploadLease {
			t.Fatalf("upload %s's lease %s has TTL %s; want one of up to %s\n%s", name, lease, ttl, campaign.DefaultUploadLease, logs.String())
		}
		if out, _ := runCommand(t, env, dialer, "list"); !listed(out, id, "uploading") {
			t.Errorf("list while the dead upload's lease runs, want %s uploading:\n%s", id, out)
		}
		must(t, rdb.PExpire(ctx, lease, time.Millisecond).Err())
		testutil.WaitFor(t, 5*time.Second, "the lease to run out", func() bool { return rdb.Exists(ctx, lease).Val() == 0 })
		return id
	}
	// keysOf lists campaign id's keys.
	keysOf := func(id string) []string {
		keys := rdb.Keys(ctx, "dialer:{"+id+"}:*").Val()
		slices.Sort(keys)
		return keys
	}
	record := func(id string) []string { return []string{"dialer:{" + id + "}:campaign"} }

	// 1: list and status say failed at once; cancel clears it; delete --force removes it
	// without waiting for a "done" that never comes.
	first := killedUpload("first")
	if len(keysOf(first)) < 512 {
		t.Fatalf("the killed upload left %d keys; want its 512 contacts and more", len(keysOf(first)))
	}
	out, _ := runCommand(t, env, dialer, "list")
	if !listed(out, first, "failed") || !strings.Contains(out, "upload failed") {
		t.Errorf("list after the lease ran out, want %s failed with a reason:\n%s", first, out)
	}
	if out, _ = runCommand(t, env, dialer, "status", first); !strings.Contains(out, ": failed") || !strings.Contains(out, campaign.UploadLostReason) {
		t.Errorf("status of %s:\n%s\nwant failed, and why", first, out)
	}
	if out, _ = runCommand(t, env, dialer, "cancel", first); !strings.Contains(out, "failed") {
		t.Errorf("cancel of %s printed %q; want that it failed", first, out)
	}
	if keys := keysOf(first); !slices.Equal(keys, record(first)) {
		t.Errorf("keys of %s after cancel: %d (%q…); want its record alone", first, len(keys), keys[:min(3, len(keys))])
	}
	start := time.Now()
	runCommand(t, env, dialer, "delete", first, "--force")
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("delete --force of a failed upload took %s", took)
	}
	if keys := keysOf(first); len(keys) > 0 {
		t.Errorf("keys of %s after delete: %q", first, keys)
	}

	// 2: the next upload clears it; delete (without --force) removes it.
	second := killedUpload("second")
	small := filepath.Join(dir, "small.csv")
	must(t, os.WriteFile(small, []byte("name,phone\nAnn,+1 415 555 0999\n"), 0o600))
	runCommand(t, env, dialer, "upload", "--campaign", campaignPath, "--contacts", small)
	if keys := keysOf(second); !slices.Equal(keys, record(second)) {
		t.Errorf("keys of %s after the next upload: %d; want its record alone", second, len(keys))
	}
	if out, _ = runCommand(t, env, dialer, "list"); !listed(out, second, "failed") {
		t.Errorf("list after the next upload, want %s failed:\n%s", second, out)
	}
	runCommand(t, env, dialer, "delete", second)
	if keys := keysOf(second); len(keys) > 0 {
		t.Errorf("keys of %s after delete: %q", second, keys)
	}

	// 3: a worker's feeder clears it.
	third := killedUpload("third")
	startWorker(t, workerBin, env, "w1")
	testutil.WaitFor(t, 30*time.Second, "the worker to clear "+third, func() bool { return slices.Equal(keysOf(third), record(third)) })
	if st := rdb.HGet(ctx, "dialer:{"+third+"}:campaign", "state").Val(); st != "failed" {
		t.Errorf("state of %s after the worker cleared it: %q; want failed", third, st)
	}
}

// listed reports whether `dialer list` output out has campaign id in state.
func listed(out, id, state string) bool {
	for line := range strings.Lines(out) {
		if f := strings.Fields(line); len(f) > 2 && f[0] == id && f[2] == state {
			return true
		}
	}
	return false
}
