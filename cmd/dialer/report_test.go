package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReportFile: a report file is readable by all (0644) and, with --bom, starts with a
// byte-order mark; a report to a directory that does not exist says so without naming a
// temporary file, and leaves nothing behind.
func TestReportFile(t *testing.T) {
	_, e, stdout, _ := redisEnv(t)
	dir, campaignPath, contactsPath := fastFiles(t)
	run := mustRunner(t, e, stdout)
	id := strings.TrimSpace(run("upload", "--campaign", campaignPath, "--contacts", contactsPath))

	out := filepath.Join(dir, "report.csv")
	run("report", id, "--out", out, "--bom")
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("report mode %v, want 0644", fi.Mode().Perm())
	}
	b, _ := os.ReadFile(out)
	if !bytes.HasPrefix(b, []byte("\xEF\xBB\xBFname;phone;slot")) && !bytes.HasPrefix(b, []byte("\xEF\xBB\xBFname,phone,slot")) {
		t.Errorf("report with --bom starts %q", b[:min(20, len(b))])
	}

	missing := filepath.Join(dir, "no", "such", "report.csv")
	err = dispatch(t.Context(), e, []string{"report", id, "--out", missing})
	want := "write report " + missing + ": there is no directory " + filepath.Dir(missing) + "; create it, or choose another --out"
	if err == nil || err.Error() != want {
		t.Errorf("report to a missing directory = %v, want %q", err, want)
	}
	entries, _ := os.ReadDir(dir)
	for _, de := range entries {
		if strings.HasPrefix(de.Name(), ".report-") {
			t.Errorf("a temporary file was left behind: %s", de.Name())
		}
	}
}
