package main

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

// TestEveryCommandHelpsAndRefusesAlike runs every command of the table with -h and with a
// flag it does not have: -h prints the command's usage to stdout and exits 0; the unknown
// flag prints the usage to stderr, says what was wrong once, and exits 2 (a usage error),
// with nothing on stdout.
func TestEveryCommandHelpsAndRefusesAlike(t *testing.T) {
	for _, name := range slices.Sorted(maps.Keys(commands)) {
		t.Run(name, func(t *testing.T) {
			e, stdout, stderr := testEnv(t, nil)
			err := dispatch(t.Context(), e, []string{name, "-h"})
			if code := exitCode(err); code != 0 || !strings.HasPrefix(stdout.String(), "usage: dialer "+name) || stderr.Len() > 0 {
				t.Errorf("%s -h: exit %d (%v), stdout %q, stderr %q; want 0 and its usage on stdout alone", name, code, err, firstLine(stdout.String()), stderr)
			}
			e, stdout, stderr = testEnv(t, nil)
			err = dispatch(t.Context(), e, []string{name, "--no-such-flag"})
			usage := strings.Count(stderr.String(), "usage: dialer "+name)
			if code := exitCode(err); code != 2 || usage != 1 || stdout.Len() > 0 || strings.Count(stderr.String()+err.Error(), "-no-such-flag") > 1 {
				t.Errorf("%s --no-such-flag: exit %d (%v), its usage %d times on stderr %q, stdout %q; want 2, the usage once, the flag named at most once", name, code, err, usage, stderr, stdout)
			}
		})
	}
}

// firstLine returns s up to its first newline.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
