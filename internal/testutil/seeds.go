package testutil

import (
	"os"
	"path/filepath"
	"testing"
)

// AddFileSeeds adds to f's seed corpus the contents of each file matching the glob pattern
// (such as "testdata/*.csv"), then of each file of more. It fails f when pattern matches no
// file or a file cannot be read.
func AddFileSeeds(f *testing.F, pattern string, more ...string) {
	f.Helper()
	seeds, err := filepath.Glob(pattern)
	if err != nil || len(seeds) == 0 {
		f.Fatalf("no seeds in %s: %v", pattern, err)
	}
	for _, path := range append(seeds, more...) {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}
