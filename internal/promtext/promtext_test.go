package promtext

import (
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestGather(t *testing.T) {
	calls := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "test_calls_total", Help: "Calls."}, []string{"tenant"})
	calls.WithLabelValues("b").Add(2)
	calls.WithLabelValues("a").Inc()
	up := prometheus.NewGauge(prometheus.GaugeOpts{Name: "test_up", Help: "Up."})
	up.Set(1)
	want := `# HELP test_calls_total Calls.
# TYPE test_calls_total counter
test_calls_total{tenant="a"} 1
test_calls_total{tenant="b"} 2
# HELP test_up Up.
# TYPE test_up gauge
test_up 1
`
	if got := Gather(t, up, calls); got != want {
		t.Errorf("Gather:\n%s\nwant:\n%s", got, want)
	}
	if got := Gather(t); got != "" {
		t.Errorf("Gather of nothing: %q, want empty", got)
	}
}

// undeclared collects a series it did not describe, which the pedantic
// registry refuses.
type undeclared struct{}

var (
	declaredDesc   = prometheus.NewDesc("test_declared", "Declared.", nil, nil)
	undeclaredDesc = prometheus.NewDesc("test_undeclared", "Not declared.", nil, nil)
)

func (undeclared) Describe(ch chan<- *prometheus.Desc) { ch <- declaredDesc }
func (undeclared) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(undeclaredDesc, prometheus.GaugeValue, 1)
}

func TestGatherFailsTheTest(t *testing.T) {
	up := prometheus.NewGauge(prometheus.GaugeOpts{Name: "test_up", Help: "Up."})
	for _, tc := range []struct {
		name string
		cs   []prometheus.Collector
		// The message: all of it in wantStart, or but for the metric
		// between the two, which protobuf prints with random spacing.
		wantStart, wantEnd string
	}{
		{"registered twice", []prometheus.Collector{up, up},
			"register *prometheus.gauge: duplicate metrics collector registration attempted", ""},
		{"collects what it did not describe", []prometheus.Collector{undeclared{}}, "collected metric test_undeclared ",
			` with unregistered descriptor Desc{fqName: "test_undeclared", help: "Not declared.", unit: "", constLabels: {}, variableLabels: {}}`},
	} {
		got := fatalOf(t, func(tb testing.TB) { Gather(tb, tc.cs...) })
		exact := tc.wantEnd == "" && got == tc.wantStart
		around := tc.wantEnd != "" && strings.HasPrefix(got, tc.wantStart) && strings.HasSuffix(got, tc.wantEnd) && len(got) > len(tc.wantStart)+len(tc.wantEnd)
		if !exact && !around {
			t.Errorf("%s: the test failed with %q, want %q...%q", tc.name, got, tc.wantStart, tc.wantEnd)
		}
	}
}

// fatalRecorder is a testing.TB whose Fatal stops the helper and keeps its
// message.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (*fatalRecorder) Helper() {}

func (r *fatalRecorder) Fatal(args ...any) { r.msg = fmt.Sprint(args...); panic(r) }

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	panic(r)
}

// fatalOf runs f and returns what it failed the test with, "" if nothing.
func fatalOf(t *testing.T, f func(testing.TB)) (msg string) {
	rec := &fatalRecorder{TB: t}
	defer func() {
		if p := recover(); p != nil {
			if p != rec {
				panic(p)
			}
			msg = rec.msg
		}
	}()
	f(rec)
	return ""
}
