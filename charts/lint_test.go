package charts

import (
	"strings"
	"testing"
)

// TestLint runs `helm lint --strict` with every value set: with --strict a
// warning (say, a value the schema refuses or a deprecated API) fails too.
func TestLint(t *testing.T) {
	for _, vs := range valueSets {
		t.Run(vs.name, func(t *testing.T) {
			out, err := helm(t, "lint", "--strict", chartDir, "--namespace", namespace, "-f", writeValues(t, vs.values))
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if !strings.Contains(out, "1 chart(s) linted, 0 chart(s) failed") {
				t.Errorf("helm lint:\n%s", out)
			}
			for _, line := range strings.Split(out, "\n") {
				if strings.Contains(line, "[WARNING]") || strings.Contains(line, "[ERROR]") {
					t.Errorf("helm lint: %s", line)
				}
			}
		})
	}
}
