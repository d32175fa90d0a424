package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The committed examples name fixed addresses: the ports a user's machine
// has free, and the README's quick start takes (a demo holds 10036 and
// 10037, `simulate` 10038). The tests run each example from a copy in
// which only those addresses are moved to free ports, so that they pass
// beside a running demo or a system Alertmanager, and still test the
// example as committed: copyExample checks that nothing else changed.

// hostPortRE matches an address as the examples write it: host:port.
var hostPortRE = regexp.MustCompile(`\b[A-Za-z0-9.-]+:[0-9]{1,5}\b`)

// copyExample writes the example at path to dir/examples/ under its own
// name, with every address in moved replaced by its new one, and returns
// the copy's path. It fails the test if an address of moved is not in the
// example (the example changed and the test would use the old port) or
// if the copy differs in anything but addresses.
func copyExample(t *testing.T, dir, path string, moved map[string]string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	original := string(b)
	copied := original
	for from, to := range moved {
		if !strings.Contains(original, from) {
			t.Fatalf("%s does not name %s any more: move the address it names instead", path, from)
		}
		copied = strings.ReplaceAll(copied, from, to)
	}
	if err := onlyAddressesDiffer(original, copied); err != nil {
		t.Fatalf("the copy of %s changes more than addresses: %v", path, err)
	}
	out := filepath.Join(dir, "examples", filepath.Base(path))
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, []byte(copied), 0o600); err != nil {
		t.Fatal(err)
	}
	return out
}

// onlyAddressesDiffer returns an error naming the first line where copied
// differs from original in more than its host:port addresses.
func onlyAddressesDiffer(original, copied string) error {
	mask := func(s string) []string {
		return strings.Split(hostPortRE.ReplaceAllString(s, "HOST:PORT"), "\n")
	}
	was, is := mask(original), mask(copied)
	for i := range max(len(was), len(is)) {
		var w, c string
		if i < len(was) {
			w = was[i]
		}
		if i < len(is) {
			c = is[i]
		}
		if w != c {
			return fmt.Errorf("line %d is %q, was %q (addresses masked)", i+1, c, w)
		}
	}
	return nil
}

// linkRules makes dir/alerts the repository's alerts/, so that the
// example copies in dir/examples/ find the bundled rules through the
// relative rule_files path the committed example has.
func linkRules(t *testing.T, dir string) {
	t.Helper()
	if err := os.Symlink(absPath(t, "../alerts"), filepath.Join(dir, "alerts")); err != nil {
		t.Fatal(err)
	}
}

// TestExampleCopiesChangeOnlyAddresses: the copies the tests run differ
// from the committed examples in their addresses and nothing else, and the
// check that says so catches any other change.
func TestExampleCopiesChangeOnlyAddresses(t *testing.T) {
	dir := t.TempDir()
	for path, moved := range map[string]map[string]string{
		simulatedConfig:   {exampleSimulator: "127.0.0.1:40001"},
		localPrometheus:   {exampleExporter: "127.0.0.1:40002", exampleAlertmanager: "127.0.0.1:40003"},
		localAlertmanager: {exampleWebhook: "127.0.0.1:40004"},
	} {
		copied, err := os.ReadFile(copyExample(t, dir, path, moved))
		if err != nil {
			t.Fatal(err)
		}
		for from, to := range moved {
			if strings.Contains(string(copied), from) || !strings.Contains(string(copied), to) {
				t.Errorf("the copy of %s still names %s, or not %s", path, from, to)
			}
		}
	}

	const am = "route:\n  group_wait: 30s\nreceivers:\n  - url: http://127.0.0.1:5001/oncall\n"
	for _, tc := range []struct {
		copied string
		want   string // "" for no difference
	}{
		{"route:\n  group_wait: 30s\nreceivers:\n  - url: http://127.0.0.1:41234/oncall\n", ""},
		{"route:\n  group_wait: 30s\nreceivers:\n  - url: http://alertmanager-hook:5001/oncall\n", ""},
		{"route:\n  group_wait: 1s\nreceivers:\n  - url: http://127.0.0.1:41234/oncall\n",
			`line 2 is "  group_wait: 1s", was "  group_wait: 30s" (addresses masked)`},
		{"route:\n  group_wait: 30s\nreceivers:\n  - url: http://127.0.0.1:41234/team\n",
			`line 4 is "  - url: http://HOST:PORT/team", was "  - url: http://HOST:PORT/oncall" (addresses masked)`},
		{"route:\n  group_wait: 30s\nreceivers:\n  - url: http://localhost/oncall\n",
			`line 4 is "  - url: http://localhost/oncall", was "  - url: http://HOST:PORT/oncall" (addresses masked)`},
		{am + "  - url: http://127.0.0.1:41234/info\n",
			`line 5 is "  - url: http://HOST:PORT/info", was "" (addresses masked)`},
	} {
		err := onlyAddressesDiffer(am, tc.copied)
		if got := fmt.Sprint(err); (tc.want == "" && err != nil) || (tc.want != "" && got != tc.want) {
			t.Errorf("onlyAddressesDiffer(…, %q) = %v, want %q", tc.copied, err, tc.want)
		}
	}
}
