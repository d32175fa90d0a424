package dashboards

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestExporterLinksNoGrafanaModule builds the exporter and reads the
// modules linked into it: the dashboards are generated with Grafana's SDK
// in the separate module dashboards/build, and the exporter must carry only
// their JSON, never the SDK.
func TestExporterLinksNoGrafanaModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the exporter")
	}
	bin := filepath.Join(t.TempDir(), "metastudio_exporter")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command("go", "version", "-m", bin).CombinedOutput()
	if err != nil {
		t.Fatalf("go version -m: %v\n%s", err, out)
	}
	var deps []string
	for line := range strings.SplitSeq(string(out), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "dep" {
			deps = append(deps, f[1])
		}
	}
	// The list is read right only if it holds what the exporter does link.
	if !slices.Contains(deps, "github.com/prometheus/client_golang") {
		t.Fatalf("go version -m lists no client_golang, so its output was not understood:\n%s", out)
	}
	for _, d := range deps {
		if strings.HasPrefix(d, "github.com/grafana/") {
			t.Errorf("the exporter links %s", d)
		}
	}
}
