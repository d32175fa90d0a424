package charts

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestChartCopiesMatchTheOriginals keeps one source of truth: Helm cannot
// read files outside the chart, so the chart carries copies of the alert
// rules and dashboards, and they must equal the repository's own.
func TestChartCopiesMatchTheOriginals(t *testing.T) {
	for _, tc := range []struct{ original, copy string }{
		{"../alerts/*.rules.yml", chartDir + "/files/alerts/*.rules.yml"},
		{"../dashboards/*.json", chartDir + "/files/dashboards/*.json"},
	} {
		originals := baseNames(t, tc.original)
		copies := baseNames(t, tc.copy)
		if len(originals) == 0 {
			t.Fatalf("no %s", tc.original)
		}
		for _, name := range originals {
			orig := filepath.Join(filepath.Dir(tc.original), name)
			cp := filepath.Join(filepath.Dir(tc.copy), name)
			if !slices.Contains(copies, name) {
				t.Errorf("%s has no copy %s in the chart; run charts/sync.sh", orig, cp)
				continue
			}
			a, err := os.ReadFile(orig)
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(cp)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a, b) {
				t.Errorf("%s differs from %s; edit the original and run charts/sync.sh", cp, orig)
			}
		}
		for _, name := range copies {
			if !slices.Contains(originals, name) {
				t.Errorf("%s exists only in the chart, not in %s; run charts/sync.sh", filepath.Join(filepath.Dir(tc.copy), name), filepath.Dir(tc.original))
			}
		}
	}
}

func baseNames(t *testing.T, pattern string) []string {
	t.Helper()
	paths, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(paths))
	for i, p := range paths {
		names[i] = filepath.Base(p)
	}
	return names
}
