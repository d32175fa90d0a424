package seriesorder

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// TestSortUniqueAsARegistry: the order and the error are a registry's, for
// the same series.
func TestSortUniqueAsARegistry(t *testing.T) {
	values := [][2]string{{"b", "1"}, {"a", "2"}, {"b", "1"}, {"a", "10"}}
	var ms []*dto.Metric
	reg := prometheus.NewRegistry()
	for i, v := range values {
		m := &dto.Metric{Label: []*dto.LabelPair{{Name: new("room_id"), Value: new(v[0])}, {Name: new("tenant"), Value: new(v[1])}},
			Gauge: &dto.Gauge{Value: new(float64(i))}}
		ms = append(ms, m)
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "x", ConstLabels: prometheus.Labels{"room_id": v[0], "tenant": v[1]}})
		if i != 2 {
			reg.MustRegister(g)
		}
	}
	var errs prometheus.MultiError
	got := SortUnique("x", ms, &errs)
	var order []string
	for _, m := range got {
		order = append(order, m.Label[0].GetValue()+"/"+m.Label[1].GetValue())
	}
	// A registry's order, from gathering the same series.
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, m := range mfs[0].Metric {
		want = append(want, m.Label[0].GetValue()+"/"+m.Label[1].GetValue())
	}
	if len(order) != len(want) {
		t.Fatalf("order %v, want %v", order, want)
	}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("order %v, want %v", order, want)
		}
	}
	wantErr := `collected metric x{room_id="b",tenant="1"} was collected before with the same name and label values`
	if len(errs) != 1 || errs[0].Error() != wantErr {
		t.Errorf("errors %v, want [%s]", errs, wantErr)
	}
}
