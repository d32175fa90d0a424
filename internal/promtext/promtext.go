// Package promtext renders metrics in the Prometheus text format, for
// tests that write a golden file or search an exposition for what must
// (or must never) be in it.
package promtext

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// Gather renders what cs collect, registered on a pedantic registry: a
// collector that describes one thing and collects another, or two that
// collect one series, fail the test.
func Gather(t testing.TB, cs ...prometheus.Collector) string {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			t.Fatalf("register %T: %v", c, err)
		}
	}
	return Render(t, reg)
}

// Render renders what g gathers, families sorted by name as a registry
// gathers them.
func Render(t testing.TB, g prometheus.Gatherer) string {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}
