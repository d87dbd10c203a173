package testutil

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// TestNoFixedDateBesideWallClock fails when a package's tests both name a fixed calendar date
// (time.Date with a literal year) and read the wall clock (time.Now). Such a package held a
// test that passed only while the fixed date lay close enough to today (TestEndAt, which
// failed from 2026-11-23). Tests in those packages read now from Now, which CI also moves
// years ahead, and wait with WaitFor.
func TestNoFixedDateBesideWallClock(t *testing.T) {
	root := filepath.Join("..", "..")
	type use struct{ dates, nows []string }
	pkgs := map[string]*use{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		dir := filepath.Dir(path)
		if filepath.Base(dir) == "testutil" {
			return nil // this package is the clock
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		u := pkgs[dir]
		if u == nil {
			u = &use{}
			pkgs[dir] = u
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); !ok || x.Name != "time" {
				return true
			}
			at := fset.Position(call.Pos()).String()
			switch sel.Sel.Name {
			case "Now":
				u.nows = append(u.nows, at)
			case "Date":
				if len(call.Args) > 0 {
					if lit, ok := call.Args[0].(*ast.BasicLit); ok && lit.Kind == token.INT {
						if y, _ := strconv.Atoi(lit.Value); y >= 1970 {
							u.dates = append(u.dates, at)
						}
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	dirs := make([]string, 0, len(pkgs))
	for dir := range pkgs {
		dirs = append(dirs, dir)
	}
	sort.Strings(dirs)
	checked := 0
	for _, dir := range dirs {
		u := pkgs[dir]
		checked++
		if len(u.dates) > 0 && len(u.nows) > 0 {
			t.Errorf("%s: tests name a fixed date (%s) and read the wall clock (%s): read now from testutil.Now and wait with testutil.WaitFor",
				dir, u.dates[0], strings.Join(u.nows, ", "))
		}
	}
	if checked < 10 {
		t.Fatalf("checked the tests of %d packages; the walk from %s missed the tree", checked, root)
	}
}
