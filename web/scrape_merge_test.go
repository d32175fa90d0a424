package web

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/metastudio-exporter/metastudio_exporter/collector"
	"github.com/metastudio-exporter/metastudio_exporter/internal/seriesorder"
)

// TestMergeFamilies: the rooms and jobs families join the other gathered
// ones in name order; a name in both, which the exporter never serves,
// is built as one family as prometheus.Gatherers makes it, its repeated
// series refused with an error.
func TestMergeFamilies(t *testing.T) {
	gauge := func(name string, tenants ...string) *dto.MetricFamily {
		mf := &dto.MetricFamily{Name: &name, Help: new("h"), Type: dto.MetricType_GAUGE.Enum()}
		for _, tenant := range tenants {
			mf.Metric = append(mf.Metric, &dto.Metric{Label: []*dto.LabelPair{{Name: new("tenant"), Value: &tenant}}, Gauge: &dto.Gauge{Value: new(1.0)}})
		}
		return mf
	}
	// names builds the merged families, in turn, and lists their series
	// with the errors of building them.
	names := func(extra []collector.Extra) ([]string, prometheus.MultiError) {
		var out []string
		var errs prometheus.MultiError
		for _, x := range extra {
			mf, err := x.Build()
			errs = seriesorder.AppendErrors(errs, err)
			if mf == nil {
				continue
			}
			if mf.GetName() != x.Name {
				t.Errorf("%s built as %s", x.Name, mf.GetName())
			}
			for _, m := range mf.Metric {
				out = append(out, mf.GetName()+"/"+m.Label[0].GetValue())
			}
		}
		return out, errs
	}

	got, errs := names(mergeFamilies(
		collector.Gathered([]*dto.MetricFamily{gauge("a", "x"), gauge("c", "x"), gauge("m", "x", "y"), gauge("z", "x")}),
		collector.Gathered([]*dto.MetricFamily{gauge("b", "x"), gauge("m", "y", "z"), gauge("n", "x")})))
	want := []string{"a/x", "b/x", "c/x", "m/x", "m/y", "m/z", "n/x", "z/x"}
	if !slices.Equal(got, want) {
		t.Errorf("merged %v, want %v", got, want)
	}
	// Without spaces: protobuf's text form varies them from run to run.
	if want := `collectedmetric"m"{label:{name:"tenant"value:"y"}gauge:{value:1}}wascollectedbeforewiththesamenameandlabelvalues`; len(errs) != 1 || strings.Join(strings.Fields(errs[0].Error()), "") != want {
		t.Errorf("errors %q, want one for m{tenant=\"y\"}", errs)
	}

	// A name in both whose builds refuse series: their errors come with
	// the merged family.
	refusing := collector.Extra{Name: "m", Build: func() (*dto.MetricFamily, error) {
		return nil, prometheus.MultiError{errors.New("one"), errors.New("two")}
	}}
	got, errs = names(mergeFamilies(collector.Gathered([]*dto.MetricFamily{gauge("m", "x")}), []collector.Extra{refusing}))
	if !slices.Equal(got, []string{"m/x"}) || len(errs) != 2 || errs[0].Error() != "one" || errs[1].Error() != "two" {
		t.Errorf("merged with a refusing build: %v, %v", got, errs)
	}

	only := collector.Gathered([]*dto.MetricFamily{gauge("b", "x")})
	if got, errs := names(mergeFamilies(nil, only)); !slices.Equal(got, []string{"b/x"}) || errs != nil {
		t.Errorf("merged into nothing: %v, %v", got, errs)
	}
	if got, errs := names(mergeFamilies(only, nil)); !slices.Equal(got, []string{"b/x"}) || errs != nil {
		t.Errorf("merged nothing in: %v, %v", got, errs)
	}
}

// TestBuildFirstServed: for an answer with nothing else in it, the rooms
// and jobs families are built up to the first with series, no further, so
// that one with none at all is known before the answer starts; what was
// built is served as built, and the errors of building are kept once.
func TestBuildFirstServed(t *testing.T) {
	builds := map[string]int{}
	family := func(name string, mf *dto.MetricFamily, err error) collector.Extra {
		return collector.Extra{Name: name, Build: func() (*dto.MetricFamily, error) {
			builds[name]++
			return mf, err
		}}
	}
	served := &dto.MetricFamily{Name: new("b")}
	families := []collector.Extra{
		family("a", nil, prometheus.MultiError{errors.New("one"), errors.New("two")}),
		family("b", served, errors.New("three")),
		family("c", &dto.MetricFamily{Name: new("c")}, nil),
	}
	var errs prometheus.MultiError
	if !buildFirstServed(families, &errs) {
		t.Error("no family with series found")
	}
	if builds["a"] != 1 || builds["b"] != 1 || builds["c"] != 0 {
		t.Errorf("built %v, want a and b once each, c not yet", builds)
	}
	if len(errs) != 3 || errs[0].Error() != "one" || errs[1].Error() != "two" || errs[2].Error() != "three" {
		t.Errorf("errors %v, want one, two, three", errs)
	}
	for i, want := range []*dto.MetricFamily{nil, served} {
		if mf, err := families[i].Build(); mf != want || err != nil {
			t.Errorf("%s served as %v, %v; want as built, without its errors again", families[i].Name, mf, err)
		}
	}
	if builds["a"] != 1 || builds["b"] != 1 {
		t.Errorf("built %v again when served", builds)
	}

	errs = nil
	if buildFirstServed([]collector.Extra{family("d", nil, errors.New("four"))}, &errs) || len(errs) != 1 {
		t.Errorf("nothing to serve: found one, or errors %v", errs)
	}
}
