package collector

import (
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// TestTenantGaugeMatchesConstMetric pins tenantGauge to what
// prometheus.MustNewConstMetric writes for the same Desc and values: same
// label pairs in the same (sorted) order, same gauge value.
func TestTenantGaugeMatchesConstMetric(t *testing.T) {
	const name = "shop-a"
	// Every Desc several times through one emitter, more series than its
	// first chunks hold, so that later chunks must leave earlier samples
	// intact.
	type sent struct {
		desc   *prometheus.Desc
		value  float64
		values []string
	}
	var want []sent
	ch := make(chan prometheus.Metric, 200)
	e := newTenantEmitter(ch, name)
	for round := range 4 {
		for d, extra := range extraLabelNames {
			values := make([]string, len(extra))
			for i := range values {
				values[i] = fmt.Sprintf("v%d-%d-%s", round, i, extra[i])
			}
			v := float64(len(want)) + 0.5
			e.gauge(d, v, values...)
			want = append(want, sent{d, v, values})
		}
	}
	close(ch)
	if len(ch) != len(want) {
		t.Fatalf("emitter sent %d samples, want %d", len(ch), len(want))
	}
	i := 0
	for m := range ch {
		w := want[i]
		i++
		d := w.desc
		if m.Desc() != d {
			t.Fatalf("sample %d has Desc %s, want %s", i, m.Desc(), d)
		}
		var got, want dto.Metric
		if err := m.Write(&got); err != nil {
			t.Fatal(err)
		}
		if err := prometheus.MustNewConstMetric(d, prometheus.GaugeValue, w.value, append([]string{name}, w.values...)...).Write(&want); err != nil {
			t.Fatal(err)
		}
		if got.GetGauge().GetValue() != want.GetGauge().GetValue() {
			t.Errorf("%s: value %v, want %v", d, got.GetGauge().GetValue(), want.GetGauge().GetValue())
		}
		if len(got.Label) != len(want.Label) {
			t.Fatalf("%s: %d labels, want %d", d, len(got.Label), len(want.Label))
		}
		for i := range want.Label {
			if got.Label[i].GetName() != want.Label[i].GetName() || got.Label[i].GetValue() != want.Label[i].GetValue() {
				t.Errorf("%s: label %d is %s=%q, want %s=%q", d, i,
					got.Label[i].GetName(), got.Label[i].GetValue(), want.Label[i].GetName(), want.Label[i].GetValue())
			}
		}
	}
	if len(extraLabelNames) != 18 {
		t.Errorf("%d tenant Descs registered, want 18", len(extraLabelNames))
	}
}

// TestTenantGaugeWrongLabelCount fails loudly, as MustNewConstMetric does,
// rather than emitting a series with a missing label.
func TestTenantGaugeWrongLabelCount(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for a missing label value")
		}
	}()
	e := newTenantEmitter(make(chan prometheus.Metric, 1), "shop-a")
	e.gauge(tenantInfoDesc, 1, "only-project")
}
