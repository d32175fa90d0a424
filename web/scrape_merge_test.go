package web

import (
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// TestMergeFamilies: the rooms and jobs families join the other gathered
// ones in name order; a name in both, which the exporter never serves,
// becomes one family as prometheus.Gatherers makes it, its repeated series
// refused with an error.
func TestMergeFamilies(t *testing.T) {
	gauge := func(name string, tenants ...string) *dto.MetricFamily {
		mf := &dto.MetricFamily{Name: &name, Help: new("h"), Type: dto.MetricType_GAUGE.Enum()}
		for _, tenant := range tenants {
			mf.Metric = append(mf.Metric, &dto.Metric{Label: []*dto.LabelPair{{Name: new("tenant"), Value: &tenant}}, Gauge: &dto.Gauge{Value: new(1.0)}})
		}
		return mf
	}
	names := func(mfs []*dto.MetricFamily) []string {
		var out []string
		for _, mf := range mfs {
			for _, m := range mf.Metric {
				out = append(out, mf.GetName()+"/"+m.Label[0].GetValue())
			}
		}
		return out
	}

	var errs prometheus.MultiError
	got := mergeFamilies(
		[]*dto.MetricFamily{gauge("a", "x"), gauge("c", "x"), gauge("m", "x", "y"), gauge("z", "x")},
		[]*dto.MetricFamily{gauge("b", "x"), gauge("m", "y", "z"), gauge("n", "x")},
		&errs)
	want := []string{"a/x", "b/x", "c/x", "m/x", "m/y", "m/z", "n/x", "z/x"}
	if !slices.Equal(names(got), want) {
		t.Errorf("merged %v, want %v", names(got), want)
	}
	// Without spaces: protobuf's text form varies them from run to run.
	if want := `collectedmetric"m"{label:{name:"tenant"value:"y"}gauge:{value:1}}wascollectedbeforewiththesamenameandlabelvalues`; len(errs) != 1 || strings.Join(strings.Fields(errs[0].Error()), "") != want {
		t.Errorf("errors %q, want one for m{tenant=\"y\"}", errs)
	}

	errs = nil
	only := []*dto.MetricFamily{gauge("b", "x")}
	if got := mergeFamilies(nil, only, &errs); !slices.Equal(names(got), []string{"b/x"}) || errs != nil {
		t.Errorf("merged into nothing: %v, %v", names(got), errs)
	}
	if got := mergeFamilies(only, nil, &errs); !slices.Equal(names(got), []string{"b/x"}) || errs != nil {
		t.Errorf("merged nothing in: %v, %v", names(got), errs)
	}
}
