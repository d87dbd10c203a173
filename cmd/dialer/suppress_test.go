package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dialerhq/dialer/internal/suppression"
)

func TestSuppress(t *testing.T) {
	rdb, e, stdout, stderr := redisEnv(t)
	run := func(args ...string) error {
		t.Helper()
		stdout.Reset()
		stderr.Reset()
		return dispatch(t.Context(), e, append([]string{"suppress"}, args...))
	}

	if err := run("add", "(415) 555-0101", "+1 415 555 0102", "--region", "US"); err != nil {
		t.Fatal(err)
	}
	if want := "added 2 (0 already there); the suppression list holds 2 numbers\n"; stderr.String() != want {
		t.Errorf("add: stderr = %q, want %q", stderr, want)
	}

	if err := run("add", "020 7946 0123", "--region", "GB"); err != nil {
		t.Fatal(err)
	}
	if err := run("check", "415.555.0101", "4155550103", "+442079460123"); err != nil {
		t.Fatal(err)
	}
	want := "+14155550101 suppressed\n+14155550103 not suppressed\n+442079460123 suppressed\n"
	if stdout.String() != want {
		t.Errorf("check: stdout = %q, want %q", stdout, want)
	}

	if err := run("remove", "4155550101", "4155550109"); err != nil {
		t.Fatal(err)
	}
	if want := "removed 1 (1 was not on it); the suppression list holds 2 numbers\n"; stderr.String() != want {
		t.Errorf("remove: stderr = %q, want %q", stderr, want)
	}

	// One invalid number: an error naming it, and nothing changed for the valid ones.
	err := run("add", "4155550104", "415 555", "call-me")
	if err == nil || exitCode(err) != 1 {
		t.Fatalf("add with invalid numbers: err %v, exit %d; want an error, 1", err, exitCode(err))
	}
	for _, w := range []string{`"415 555"`, "too short", `"call-me"`, "nothing changed"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
	if got, _ := suppression.New(rdb).Suppressed(t.Context(), "", "+14155550104"); got {
		t.Error("a refused add added its valid number")
	}

	dir := t.TempDir()
	path := writeFile(t, dir, "dnc.csv", "\ufeffnumber,reason\r\n415 555 0101,asked\r\n415 555 0102,again\r\nnope,typo\r\n,\r\n\"415 555 0105\",\"quoted, fine\"\r\n")
	if err := run("import", path); err != nil {
		t.Fatalf("import: %v\n%s", err, stderr)
	}
	wantErr := path + ":4: nope: contains letters; write the number with digits only\n" +
		path + ": 4 rows: 2 added, 1 already there, 1 rejected; the suppression list holds 4 numbers\n"
	if stderr.String() != wantErr {
		t.Errorf("import: stderr =\n%s\nwant\n%s", stderr, wantErr)
	}
	if stdout.Len() != 0 {
		t.Errorf("import printed %q on stdout", stdout)
	}
	if err := run("check", "4155550105"); err != nil || stdout.String() != "+14155550105 suppressed\n" {
		t.Errorf("check after import = %q, %v", stdout, err)
	}
}

func TestSuppressRefusals(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		exit int
		want []string
	}{
		{"no action", nil, 2, []string{"add, remove, check, import or list"}},
		{"unknown action", []string{"purge"}, 2, []string{`"purge"`}},
		{"no numbers", []string{"check", "--region", "GB"}, 2, []string{"at least one number"}},
		{"two files", []string{"import", "a.csv", "b.csv"}, 2, []string{"one file"}},
		{"missing file", []string{"import", filepath.Join(dir, "missing.csv")}, 1, []string{"missing.csv", "no such file"}},
		{"wrong columns", []string{"import", writeFile(t, dir, "cols.csv", "phone,name\n4155550101,Ann\n")}, 1,
			[]string{"cols.csv:1", `"phone", "name"`, "number (required)"}},
		{"number without region", []string{"add", "4155550101", "--region", ""}, 1, []string{`"4155550101"`, "country code"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rdb, e, _, _ := redisEnv(t)
			err := dispatch(t.Context(), e, append([]string{"suppress"}, tt.args...))
			if err == nil || exitCode(err) != tt.exit {
				t.Fatalf("err %v, exit %d; want an error, exit %d", err, exitCode(err), tt.exit)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if keys := rdb.Keys(t.Context(), "*").Val(); len(keys) != 0 {
				t.Errorf("a refused command left keys %q", keys)
			}
		})
	}
}

// TestSuppressListAndCheck: suppress list exports the whole global list (plain or CSV that
// import reads back), and check of a malformed number says it is malformed.
func TestSuppressListAndCheck(t *testing.T) {
	rdb, e, stdout, stderr := redisEnv(t)
	run := mustRunner(t, e, stdout)
	numbers := make([]string, 2500) // more than one SSCAN page
	for i := range numbers {
		numbers[i] = fmt.Sprintf("+1415555%04d", i)
	}
	if _, err := suppression.New(rdb).Add(t.Context(), numbers...); err != nil {
		t.Fatal(err)
	}
	got := strings.Fields(run("suppress", "list"))
	slices.Sort(got)
	if !slices.Equal(got, numbers) {
		t.Errorf("suppress list printed %d numbers, want the %d on the list", len(got), len(numbers))
	}
	if want := "2500 numbers on the global suppression list\n"; !strings.HasSuffix(stderr.String(), want) {
		t.Errorf("stderr = %q, want it to end %q", stderr, want)
	}
	csvOut := run("suppress", "list", "--format", "csv")
	if !strings.HasPrefix(csvOut, "number\n+1415555") || strings.Count(csvOut, "\n") != 2501 {
		t.Errorf("suppress list --format csv starts %q with %d lines", csvOut[:min(30, len(csvOut))], strings.Count(csvOut, "\n"))
	}

	err := dispatch(t.Context(), e, []string{"suppress", "check", "415 555"})
	if err == nil || !strings.HasPrefix(err.Error(), `suppress check: cannot check a malformed number: "415 555": `) || strings.Contains(err.Error(), "nothing changed") {
		t.Errorf("check of a malformed number = %v", err)
	}
	if err := dispatch(t.Context(), e, []string{"suppress", "list", "--format", "xml"}); exitCode(err) != 2 {
		t.Errorf("suppress list --format xml = %v, want a usage error", err)
	}
}

// TestSuppressImportColumn: --column reads the numbers from any column and ignores the rest;
// a column the header lacks is named with the columns it has.
func TestSuppressImportColumn(t *testing.T) {
	rdb, e, _, stderr := redisEnv(t)
	dir := t.TempDir()
	path := writeFile(t, dir, "export.csv", "Patient,Mobile Phone,Opted out on\nAnn,(415) 555-0101,2026-01-02\nBob,415 555 0102,2026-01-03\n")
	if err := dispatch(t.Context(), e, []string{"suppress", "import", path, "--column", "mobile phone"}); err != nil {
		t.Fatalf("import --column: %v\n%s", err, stderr)
	}
	for _, n := range []string{"+14155550101", "+14155550102"} {
		if got, _ := suppression.New(rdb).Suppressed(t.Context(), "", n); !got {
			t.Errorf("%s was not imported", n)
		}
	}
	err := dispatch(t.Context(), e, []string{"suppress", "import", path, "--column", "phone"})
	want := path + `:1: no column "phone" (named by --column); the header has "Patient", "Mobile Phone", "Opted out on"`
	if err == nil || err.Error() != want {
		t.Errorf("import --column phone = %v, want %q", err, want)
	}
}

// TestSuppressSingular checks the summary's counts of one: "1 number", "1 was not on it".
func TestSuppressSingular(t *testing.T) {
	_, e, _, stderr := redisEnv(t)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"add", "4155550101"}, "added 1 (0 already there); the suppression list holds 1 number\n"},
		{[]string{"remove", "4155550101", "4155550102"}, "removed 1 (1 was not on it); the suppression list holds 0 numbers\n"},
	} {
		stderr.Reset()
		if err := dispatch(t.Context(), e, append([]string{"suppress"}, tt.args...)); err != nil {
			t.Fatal(err)
		}
		if stderr.String() != tt.want {
			t.Errorf("suppress %v: stderr = %q, want %q", tt.args, stderr, tt.want)
		}
	}
}
