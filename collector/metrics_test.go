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
	name := "shop-a"
	tenant := []*dto.LabelPair{{Name: &tenantLabel, Value: &name}}
	for d, extra := range extraLabelNames {
		values := make([]string, len(extra))
		for i := range values {
			values[i] = fmt.Sprintf("v%d-%s", i, extra[i])
		}
		var got, want dto.Metric
		if err := newTenantGauge(d, 42.5, tenant, values).Write(&got); err != nil {
			t.Fatal(err)
		}
		if err := prometheus.MustNewConstMetric(d, prometheus.GaugeValue, 42.5, append([]string{name}, values...)...).Write(&want); err != nil {
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
	if len(extraLabelNames) != 17 {
		t.Errorf("%d tenant Descs registered, want 17", len(extraLabelNames))
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
	name := "shop-a"
	newTenantGauge(tenantInfoDesc, 1, []*dto.LabelPair{{Name: &tenantLabel, Value: &name}}, []string{"only-project"})
}
