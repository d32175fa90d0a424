package fixedlabels

import (
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestAppend(t *testing.T) {
	for _, tc := range []struct {
		names, tenantNames, tenantValues []string
		want                             []string
		ok                               bool
	}{
		{nil, nil, nil, []string{"t"}, true},
		{[]string{"env", "team"}, []string{"env", "team"}, []string{"prod", "shop"}, []string{"t", "prod", "shop"}, true},
		// A name the tenant lacks is "", wherever it falls.
		{[]string{"env", "owner", "team"}, []string{"env", "team"}, []string{"prod", "shop"}, []string{"t", "prod", "", "shop"}, true},
		{[]string{"env", "team"}, []string{"team"}, []string{"shop"}, []string{"t", "", "shop"}, true},
		{[]string{"env", "team"}, nil, nil, []string{"t", "", ""}, true},
		// A tenant label the names lack, first, last or alone: refused,
		// with dst as it was.
		{[]string{"team"}, []string{"env", "team"}, []string{"prod", "shop"}, []string{"t"}, false},
		{[]string{"env"}, []string{"env", "team"}, []string{"prod", "shop"}, []string{"t"}, false},
		{nil, []string{"team"}, []string{"shop"}, []string{"t"}, false},
		{[]string{"env"}, []string{"team"}, []string{"shop"}, []string{"t"}, false},
	} {
		got, ok := Append([]string{"t"}, tc.names, tc.tenantNames, tc.tenantValues)
		if ok != tc.ok || !slices.Equal(got, tc.want) {
			t.Errorf("Append(%q, %q=%q) = %q, %v; want %q, %v", tc.names, tc.tenantNames, tc.tenantValues, got, ok, tc.want, tc.ok)
		}
	}
}

// TestAppendAllocatesNothing: with room in dst, merging a tenant's labels
// into the names served allocates nothing, labels or not.
func TestAppendAllocatesNothing(t *testing.T) {
	names, tenantNames, tenantValues := []string{"env", "owner", "team"}, []string{"env", "team"}, []string{"prod", "shop"}
	for _, tc := range []struct{ names, tenantNames, tenantValues []string }{
		{nil, nil, nil},
		{tenantNames, tenantNames, tenantValues},
		{names, tenantNames, tenantValues},
	} {
		if n := testing.AllocsPerRun(100, func() {
			var buf [8]string
			_, _ = Append(append(buf[:0], "t", "v"), tc.names, tc.tenantNames, tc.tenantValues)
		}); n != 0 {
			t.Errorf("Append(%q, %q) allocated %v times", tc.names, tc.tenantNames, n)
		}
	}
}

func TestUnion(t *testing.T) {
	team, envTeam := []string{"team"}, []string{"env", "team"}
	for _, tc := range []struct{ a, b, want []string }{
		{nil, nil, nil},
		{nil, team, team},
		{team, nil, team},
		{envTeam, team, envTeam},
		{team, envTeam, envTeam},
		{[]string{"a", "c", "e"}, []string{"b", "c", "d", "f"}, []string{"a", "b", "c", "d", "e", "f"}},
	} {
		if got := Union(tc.a, tc.b); !slices.Equal(got, tc.want) {
			t.Errorf("Union(%q, %q) = %q, want %q", tc.a, tc.b, got, tc.want)
		}
	}
	// Names the union has already add nothing: it stays the same slice.
	if got := Union(envTeam, team); &got[0] != &envTeam[0] {
		t.Error("the union of a set and a subset is a new slice")
	}
	if got := Union(nil, team); &got[0] != &team[0] {
		t.Error("the union with nothing is a new slice")
	}
}

var testFamilies = []Family{
	{Name: "test_up", Help: "Up.", Labels: []string{"tenant"}},
	{Name: "test_info", Help: "Info.", Labels: []string{"tenant", "state"}},
}

// TestDescs: each set of names gets Descs with the names after the
// family's own labels, built once and shared.
func TestDescs(t *testing.T) {
	d := NewDescs(testFamilies...)
	plain, labelled := d.For(nil), d.For([]string{"env", "team"})
	for i, want := range []string{
		`Desc{fqName: "test_up", help: "Up.", unit: "", constLabels: {}, variableLabels: {tenant}}`,
		`Desc{fqName: "test_info", help: "Info.", unit: "", constLabels: {}, variableLabels: {tenant,state}}`,
	} {
		if got := plain[i].String(); got != want {
			t.Errorf("plain %d: %s, want %s", i, got, want)
		}
	}
	for i, want := range []string{
		`Desc{fqName: "test_up", help: "Up.", unit: "", constLabels: {}, variableLabels: {tenant,env,team}}`,
		`Desc{fqName: "test_info", help: "Info.", unit: "", constLabels: {}, variableLabels: {tenant,state,env,team}}`,
	} {
		if got := labelled[i].String(); got != want {
			t.Errorf("labelled %d: %s, want %s", i, got, want)
		}
	}
	if again := d.For([]string{"env", "team"}); again[0] != labelled[0] {
		t.Error("the same names built new Descs")
	}
	if n := testing.AllocsPerRun(100, func() { d.For([]string{"env", "team"}) }); n != 0 {
		t.Errorf("Descs of names already built allocated %v times", n)
	}
	// The families' own label slices are not written through.
	if got := testFamilies[1].Labels; !slices.Equal(got, []string{"tenant", "state"}) {
		t.Errorf("a family's labels became %q", got)
	}
}

// TestDescsBounded: past maxNameSets sets of names the Descs kept are let
// go, and still right when built again.
func TestDescsBounded(t *testing.T) {
	d := NewDescs(testFamilies...)
	first := d.For([]string{"a0"})
	for i := 1; i <= maxNameSets; i++ {
		d.For([]string{"a" + strings.Repeat("x", i)})
	}
	if len(d.byKey) > maxNameSets {
		t.Fatalf("%d sets of names kept, want at most %d", len(d.byKey), maxNameSets)
	}
	again := d.For([]string{"a0"})
	if again[0] == first[0] || again[0].String() != first[0].String() {
		t.Errorf("built again: %s (same: %v), want a new %s", again[0], again[0] == first[0], first[0])
	}
}

// TestDescsClash: a fixed name that is one of a family's own labels makes
// its metrics fail with client_golang's error; config keeps such names out.
func TestDescsClash(t *testing.T) {
	desc := NewDescs(testFamilies...).For([]string{"state"})[1]
	if _, err := prometheus.NewConstMetric(desc, prometheus.GaugeValue, 1, "t", "ok", "x"); err == nil || !strings.Contains(err.Error(), `duplicate label names in constant and variable labels for metric "test_info"`) {
		t.Errorf("clashing name: %v", err)
	}
}

func TestCounters(t *testing.T) {
	c := NewCounters("test_requests_total", "Requests.", "code")
	c.Inc("shop-a", "200")
	c.Inc("shop-a", "200")
	c.Inc("studio", "500")
	c.Inc("gone", "200")
	c.Inc("", "404") // no tenant
	lookup := Lookup{
		Names: []string{"env", "team"},
		Of: func(tenant string) ([]string, []string) {
			switch tenant {
			case "shop-a":
				return []string{"env", "team"}, []string{"prod", "shop"}
			case "studio":
				return []string{"team"}, []string{"studio"}
			}
			return nil, nil
		},
	}
	collect := func(l Lookup) prometheus.Collector {
		return collectorFunc(func(ch chan<- prometheus.Metric) { c.Collect(ch, l) })
	}
	head := "# HELP test_requests_total Requests.\n# TYPE test_requests_total counter\n"
	if err := testutil.CollectAndCompare(collect(lookup), strings.NewReader(head+`test_requests_total{code="200",env="prod",team="shop",tenant="shop-a"} 2
test_requests_total{code="200",env="",team="",tenant="gone"} 1
test_requests_total{code="404",env="",team="",tenant=""} 1
test_requests_total{code="500",env="",team="studio",tenant="studio"} 1
`)); err != nil {
		t.Error(err)
	}
	// Without fixed labels, and after the set lost a tenant: the same
	// counts, each series as the CounterVec serves it.
	c.Retain(func(tenant string) bool { return tenant != "gone" })
	c.Inc("shop-a", "200")
	if err := testutil.CollectAndCompare(collect(Lookup{}), strings.NewReader(head+`test_requests_total{code="200",tenant="shop-a"} 3
test_requests_total{code="404",tenant=""} 1
test_requests_total{code="500",tenant="studio"} 1
`)); err != nil {
		t.Error(err)
	}
	// A lookup whose names leave out a tenant's label fails the gathering
	// and names the tenant; the other series are served.
	short := Lookup{Names: []string{"team"}, Of: lookup.Of}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collect(short))
	mfs, err := reg.Gather()
	want := `tenant "shop-a": its labels ["env" "team"] are not all among the label names served, ["team"]`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("gathering: %v, want an error with %s", err, want)
	}
	if len(mfs) != 1 || len(mfs[0].GetMetric()) != 2 {
		t.Errorf("gathered %v, want the other two series", mfs)
	}
}

type collectorFunc func(ch chan<- prometheus.Metric)

func (collectorFunc) Describe(chan<- *prometheus.Desc)      {}
func (f collectorFunc) Collect(ch chan<- prometheus.Metric) { f(ch) }
