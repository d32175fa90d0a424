package collector

import (
	"flag"
	"os"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/metastudio-exporter/metastudio_exporter/internal/promtext"
)

var update = flag.Bool("update", false, "rewrite testdata/*.prom golden files")

func writeExposition(t *testing.T, g prometheus.Gatherer, path string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(promtext.Render(t, g)), 0o644); err != nil {
		t.Fatal(err)
	}
}
