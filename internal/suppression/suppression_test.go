package suppression_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/dialerhq/dialer/internal/redistest"
	"github.com/dialerhq/dialer/internal/suppression"
)

func setup(tb testing.TB) (*suppression.List, *redis.Client) {
	tb.Helper()
	rdb, _ := redistest.Setup(tb, 8)
	return suppression.New(rdb), rdb
}

func mustAdd(tb testing.TB, l *suppression.List, numbers ...string) {
	tb.Helper()
	if _, err := l.Add(context.Background(), numbers...); err != nil {
		tb.Fatal(err)
	}
}

func TestList(t *testing.T) {
	const a, b, c = "+14155550101", "+14155550102", "+14155550103"

	t.Run("AddRemoveCount", func(t *testing.T) {
		l, _ := setup(t)
		ctx := t.Context()
		if n, err := l.Add(ctx, a, b, a); err != nil || n != 2 {
			t.Fatalf("Add(a, b, a) = %d, %v; want 2", n, err)
		}
		if n, err := l.Add(ctx, b, c); err != nil || n != 1 {
			t.Fatalf("Add(b, c) = %d, %v; want 1", n, err)
		}
		if n, err := l.Count(ctx); err != nil || n != 3 {
			t.Fatalf("Count = %d, %v; want 3", n, err)
		}
		if n, err := l.Remove(ctx, a, "+14155550199"); err != nil || n != 1 {
			t.Fatalf("Remove(a, absent) = %d, %v; want 1", n, err)
		}
		if got, err := l.Suppressed(ctx, "", a); err != nil || got {
			t.Errorf("Suppressed(a) after Remove = %v, %v; want false", got, err)
		}
		if got, err := l.Suppressed(ctx, "", b); err != nil || !got {
			t.Errorf("Suppressed(b) = %v, %v; want true", got, err)
		}
	})

	t.Run("RefusesNumbersNotE164", func(t *testing.T) {
		l, rdb := setup(t)
		ctx := t.Context()
		for _, call := range []func() (int, error){
			func() (int, error) { return l.Add(ctx, a, "4155550102") },
			func() (int, error) { return l.Remove(ctx, a, "4155550102") },
			func() (int, error) { return l.AddToCampaign(ctx, "c1", a, "+1 415 555 0102") },
			func() (int, error) { return l.AddToCampaign(ctx, "", a) },
		} {
			if n, err := call(); err == nil {
				t.Errorf("call succeeded with %d", n)
			}
		}
		if keys := rdb.Keys(ctx, "*").Val(); len(keys) != 0 {
			t.Errorf("refused calls left keys %q", keys)
		}
	})

	t.Run("CampaignListStaysInItsCampaign", func(t *testing.T) {
		l, rdb := setup(t)
		ctx := t.Context()
		mustAdd(t, l, a)
		if n, err := l.AddToCampaign(ctx, "c1", b, b); err != nil || n != 1 {
			t.Fatalf("AddToCampaign = %d, %v; want 1", n, err)
		}
		tests := []struct {
			name     string
			campaign string
			number   string
			want     bool
		}{
			{"global in c1", "c1", a, true},
			{"global in c2", "c2", a, true},
			{"global alone", "", a, true},
			{"c1's in c1", "c1", b, true},
			{"c1's in c2", "c2", b, false},
			{"c1's not global", "", b, false},
			{"on no list", "c1", c, false},
		}
		for _, tt := range tests {
			if got, err := l.Suppressed(ctx, tt.campaign, tt.number); err != nil || got != tt.want {
				t.Errorf("%s: Suppressed(%q, %s) = %v, %v; want %v", tt.name, tt.campaign, tt.number, got, err, tt.want)
			}
		}
		if n, _ := l.Count(ctx); n != 1 {
			t.Errorf("Count = %d; want 1 (the campaign's list is not the global one)", n)
		}
		// The campaign's list shares the campaign's hash tag, so deleting dialer:{C}:* removes it.
		if keys := rdb.Keys(ctx, "dialer:{c1}:*").Val(); !cmp.Equal(keys, []string{"dialer:{c1}:suppressed"}) {
			t.Errorf("keys of campaign c1 = %q", keys)
		}
	})

	t.Run("SuppressedMany", func(t *testing.T) {
		l, _ := setup(t)
		ctx := t.Context()
		mustAdd(t, l, a)
		if _, err := l.AddToCampaign(ctx, "c1", c); err != nil {
			t.Fatal(err)
		}
		got, err := l.SuppressedMany(ctx, "c1", []string{a, b, c, a})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]bool{true, false, true, true}, got); diff != "" {
			t.Errorf("SuppressedMany(c1) (-want +got):\n%s", diff)
		}
		got, err = l.SuppressedMany(ctx, "", []string{a, b, c})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]bool{true, false, false}, got); diff != "" {
			t.Errorf("SuppressedMany(global) (-want +got):\n%s", diff)
		}
		if got, err := l.SuppressedMany(ctx, "c1", nil); err != nil || len(got) != 0 {
			t.Errorf("SuppressedMany(nil) = %v, %v", got, err)
		}
	})
}

func TestImport(t *testing.T) {
	t.Run("MessyFile", func(t *testing.T) {
		l, _ := setup(t)
		ctx := t.Context()
		mustAdd(t, l, "+14155550104") // already on the list before the import
		f, err := os.Open("testdata/messy.csv")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		res, err := l.Import(ctx, f, "messy.csv", "US", "")
		if err != nil {
			t.Fatal(err)
		}
		want := &suppression.ImportResult{
			Rows: 9, Added: 3, AlreadyThere: 2,
			Rejected: []suppression.Rejected{
				{Line: 6, Number: "not a number", Reason: "contains letters; write the number with digits only"},
				{Line: 7, Number: "415 555", Reason: "not a valid US number (too short)"},
				{Line: 8, Number: "", Reason: "no number"},
				{Line: 11, Number: "415 555 0103 x12", Reason: "has extension 12; the dialer cannot dial extensions, so remove it"},
			},
		}
		if diff := cmp.Diff(want, res); diff != "" {
			t.Errorf("Import (-want +got):\n%s", diff)
		}
		got, err := l.SuppressedMany(ctx, "", []string{"+14155550101", "+14155550102", "+442079460123", "+14155550104", "+14155550103"})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]bool{true, true, true, true, false}, got); diff != "" {
			t.Errorf("suppressed after import (-want +got):\n%s", diff)
		}
		if n, _ := l.Count(ctx); n != 4 {
			t.Errorf("Count = %d; want 4", n)
		}
	})

	t.Run("IntoCampaign", func(t *testing.T) {
		l, _ := setup(t)
		ctx := t.Context()
		res, err := l.Import(ctx, strings.NewReader("number\n+442079460123\n02079460124\n"), "uk.csv", "GB", "c1")
		if err != nil || res.Added != 2 || len(res.Rejected) != 0 {
			t.Fatalf("Import = %+v, %v; want 2 added", res, err)
		}
		if got, _ := l.SuppressedMany(ctx, "c1", []string{"+442079460123", "+442079460124"}); !cmp.Equal(got, []bool{true, true}) {
			t.Errorf("in c1: %v; want both suppressed", got)
		}
		if got, _ := l.SuppressedMany(ctx, "c2", []string{"+442079460123"}); !cmp.Equal(got, []bool{false}) {
			t.Errorf("in c2: %v; want not suppressed", got)
		}
		if n, _ := l.Count(ctx); n != 0 {
			t.Errorf("global Count = %d; want 0", n)
		}
	})

	t.Run("Delimiters", func(t *testing.T) {
		for name, file := range map[string]string{
			"semicolon":  "reason;number\nasked;415 555 0101\n",
			"tab":        "number\treason\n415 555 0101\tasked, politely\n",
			"one column": "NUMBER\n415 555 0101\n",
		} {
			l, _ := setup(t)
			res, err := l.Import(t.Context(), strings.NewReader(file), name+".csv", "US", "")
			if err != nil || res.Rows != 1 || res.Added != 1 {
				t.Errorf("%s: Import = %+v, %v; want 1 row added", name, res, err)
			}
		}
	})

	t.Run("Refusals", func(t *testing.T) {
		tests := []struct {
			name string
			file string
			want []string
		}{
			{"other columns", "number,name,notes\n4155550101,Ann,x\n", []string{"bad.csv:1", `unknown columns "name", "notes"`, "number (required)", "reason (optional)"}},
			{"no number column", "\ufeffphone,reason\n4155550101,x\n", []string{"bad.csv:1", `unknown column "phone"`}},
			{"only reason", "reason\nx\n", []string{"bad.csv:1", `no column "number"`}},
			{"number twice", "number,Number\n4155550101,4155550102\n", []string{"bad.csv:1", "columns 1 and 2", `"number"`}},
			{"empty file", "", []string{"bad.csv", "empty"}},
			{"UTF-16", "\xff\xfen\x00u\x00", []string{"bad.csv", "UTF-16"}},
			{"unclosed quote", "number\n4155550101\n\"4155550102\n4155550103\n", []string{"bad.csv:", "line 3"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				l, rdb := setup(t)
				_, err := l.Import(t.Context(), strings.NewReader(tt.file), "bad.csv", "US", "")
				if err == nil {
					t.Fatal("Import succeeded")
				}
				for _, w := range tt.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not say %q", err, w)
					}
				}
				if tt.name != "unclosed quote" {
					if keys := rdb.Keys(t.Context(), "*").Val(); len(keys) != 0 {
						t.Errorf("a refused file left keys %q", keys)
					}
				}
			})
		}
	})

	t.Run("ManyRowsInBatches", func(t *testing.T) {
		l, _ := setup(t)
		var b strings.Builder
		b.WriteString("number\n")
		for i := range 1500 {
			fmt.Fprintf(&b, "+1415555%04d\n", i%1000) // 1000 numbers, then 500 again
		}
		res, err := l.Import(t.Context(), strings.NewReader(b.String()), "many.csv", "US", "")
		if err != nil {
			t.Fatal(err)
		}
		if res.Rows != 1500 || res.Added != 1000 || res.AlreadyThere != 500 || len(res.Rejected) != 0 {
			t.Errorf("Import = rows %d, added %d, already %d, rejected %d", res.Rows, res.Added, res.AlreadyThere, len(res.Rejected))
		}
		if n, _ := l.Count(t.Context()); n != 1000 {
			t.Errorf("Count = %d; want 1000", n)
		}
	})
}
