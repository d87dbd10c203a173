package lab

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// fakeWorker writes a shell script that stands for the worker command: it prints its name
// (its second argument, after --name) and its other arguments, then sleeps until killed,
// or exits 3 at once when its name starts with "x".
func fakeWorker(t *testing.T) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("needs /bin/sh")
	}
	bin := filepath.Join(t.TempDir(), "worker")
	script := "#!/bin/sh\necho \"started $2 ${3:-}\"\ncase \"$2\" in x*) echo dying; exit 3;; esac\nexec sleep 60\n"
	if err := os.WriteFile(bin, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	return bin
}

// waitLogged waits up to 10 s for the file at path to hold text, and fails the test then.
func waitLogged(t *testing.T, path, text string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		data, _ := os.ReadFile(path)
		if strings.Contains(string(data), text) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %q after 10 s; want it to hold %q", path, data, text)
		}
	}
}

// TestPoolKillAndStop starts three workers logging to files, kills one, and stops the pool:
// Live, Killed and Workers say which is which, Stop reports each worker it stopped, and
// nothing counts as an unexpected exit.
func TestPoolKillAndStop(t *testing.T) {
	dir := t.TempDir()
	p := NewPool(PoolConfig{Bin: fakeWorker(t), Prefix: "w", Args: []string{"--flag"}, LogDir: dir})
	defer p.Stop(time.Second)
	if err := p.Start(3); err != nil {
		t.Fatal(err)
	}
	// Each worker must have run before it is killed or stopped: a SIGTERM that reaches the
	// shell before its first line (a loaded machine) leaves an empty log.
	for _, name := range []string{"w1", "w2", "w3"} {
		waitLogged(t, filepath.Join(dir, name+".log"), "started "+name)
	}
	if err := p.Kill("w2"); err != nil {
		t.Fatal(err)
	}
	if err := p.Kill("w2"); err == nil {
		t.Error("Kill of a killed worker: no error")
	}
	var live []string
	for _, w := range p.Live() {
		live = append(live, w.Name)
	}
	if got := strings.Join(live, ","); got != "w1,w3" {
		t.Errorf("Live = %s, want w1,w3", got)
	}
	if got := p.Killed(); len(got) != 1 || !got["w2"] {
		t.Errorf("Killed = %v, want w2", got)
	}
	ws := p.Workers()
	if len(ws) != 3 || ws[1].KilledAt.IsZero() || ws[0].Pid == 0 || ws[0].LogPath != filepath.Join(dir, "w1.log") {
		t.Errorf("Workers = %+v", ws)
	}
	// SIGTERM ends sh's sleep with a signal: each stopped worker is an error naming it.
	errs := p.Stop(5 * time.Second)
	if len(errs) != 2 || !strings.Contains(errs[0].Error(), "worker w1 after SIGTERM") {
		t.Errorf("Stop = %v, want 2 errors, the first about w1", errs)
	}
	if errs := p.Stop(time.Second); len(errs) != 0 {
		t.Errorf("second Stop = %v, want nothing", errs)
	}
	if u := p.UnexpectedExits(); len(u) != 0 {
		t.Errorf("UnexpectedExits = %v, want none", u)
	}
	select {
	case <-p.Exited():
		t.Error("Exited closed, but no worker exited by itself")
	default:
	}
	data, err := os.ReadFile(ws[0].LogPath)
	if err != nil || !strings.Contains(string(data), "started w1 --flag") {
		t.Errorf("w1.log = %q (%v)", data, err)
	}
}

// TestPoolUnexpectedExit checks a worker that exits by itself: in a pool that does not
// replace workers it closes Exited and is reported with its last lines; in one that does,
// it is replaced, and each replacement too.
func TestPoolUnexpectedExit(t *testing.T) {
	bin := fakeWorker(t)
	// In memory, not replaced: the exit closes Exited and is in LogLines.
	p := NewPool(PoolConfig{Bin: bin, Prefix: "x"})
	defer p.Stop(time.Second)
	if err := p.Start(1); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Exited():
	case <-time.After(10 * time.Second):
		t.Fatal("Exited not closed after the worker exited")
	}
	if u := p.UnexpectedExits(); len(u) != 1 || !strings.Contains(u[0], "x1 exited by itself") || !strings.Contains(u[0], "dying") {
		t.Errorf("UnexpectedExits = %q", u)
	}
	if got := strings.Join(p.LogLines(), "|"); got != "worker x1: started x1|worker x1: dying" {
		t.Errorf("LogLines = %q", got)
	}

	// Replaced: every worker dies at once, and each replacement too, until Stop.
	var logged LockedBuffer
	r := NewPool(PoolConfig{Bin: bin, Prefix: "x", Replace: true, Log: func(format string, args ...any) {
		logged.Write([]byte(format + "\n"))
	}})
	if err := r.Start(1); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(r.Workers()) < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	r.Stop(time.Second)
	if n := len(r.Workers()); n < 3 {
		t.Errorf("%d workers started, want replacements", n)
	}
	if !strings.Contains(logged.String(), "exited by itself") {
		t.Errorf("Log got %q", logged.String())
	}
}
