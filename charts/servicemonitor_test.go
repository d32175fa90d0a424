package charts

import (
	"slices"
	"strings"
	"testing"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
)

// collectParts are the parts of /metrics that collect[] selects. Scraped
// on two endpoints, each part must come from exactly one: the endpoints'
// series carry the same job and instance labels, and a series scraped by
// both would clash.
var collectParts = []string{"tenants", "rooms", "exporter", "streams", "jobs"}

type wantEndpoint struct {
	interval, timeout string
	collect           []string
}

func TestServiceMonitor(t *testing.T) {
	settings := []string{"tenants", "rooms", "exporter"}
	live := []string{"streams", "jobs"}
	for _, tc := range []struct {
		name, values string
		labels       string
		want         []wantEndpoint
	}{
		{"defaults", "serviceMonitor: {enabled: true}", "",
			[]wantEndpoint{{"60s", "30s", settings}, {"15s", "15s", live}}},
		{"own timing", "serviceMonitor: {enabled: true, interval: 2m, scrapeTimeout: 50s, fastInterval: 10s, labels: {release: prom}}", "prom",
			[]wantEndpoint{{"2m", "50s", settings}, {"10s", "10s", live}}},
		{"one endpoint", "serviceMonitor: {enabled: true, fastInterval: ''}", "",
			[]wantEndpoint{{"60s", "30s", nil}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := render(t, tc.values)
			sm := o.ServiceMonitor
			if sm == nil {
				t.Fatal("no ServiceMonitor")
			}
			if len(sm.Spec.Endpoints) != len(tc.want) {
				t.Fatalf("%d endpoints, want %d: %+v", len(sm.Spec.Endpoints), len(tc.want), sm.Spec.Endpoints)
			}
			var parts []string
			for i, ep := range sm.Spec.Endpoints {
				w := tc.want[i]
				if ep.Port != "metrics" || ep.Path != "/metrics" {
					t.Errorf("endpoint %d: port %q path %q, want metrics /metrics", i, ep.Port, ep.Path)
				}
				if ep.Interval != monitoringv1.Duration(w.interval) || ep.ScrapeTimeout != monitoringv1.Duration(w.timeout) {
					t.Errorf("endpoint %d: interval %q scrapeTimeout %q, want %s %s", i, ep.Interval, ep.ScrapeTimeout, w.interval, w.timeout)
				}
				checkTimeoutWithinInterval(t, ep)
				if got := ep.Params["collect[]"]; !slices.Equal(got, w.collect) || len(ep.Params) > 1 {
					t.Errorf("endpoint %d: params %v, want collect[] %v", i, ep.Params, w.collect)
				}
				parts = append(parts, ep.Params["collect[]"]...)
			}
			// No collect[] is everything; with it, every part exactly once.
			if len(parts) > 0 {
				slices.Sort(parts)
				want := slices.Sorted(slices.Values(collectParts))
				if !slices.Equal(parts, want) {
					t.Errorf("the endpoints collect %v, want each of %v once", parts, want)
				}
			}
			if sm.Labels["release"] != tc.labels {
				t.Errorf("release label %q, want %q", sm.Labels["release"], tc.labels)
			}
			if !selects(sm.Spec.Selector.MatchLabels, o.Service.Labels) {
				t.Errorf("selector %v does not select the Service (%v)", sm.Spec.Selector.MatchLabels, o.Service.Labels)
			}
			if got := sm.Spec.NamespaceSelector.MatchNames; len(got) != 1 || got[0] != namespace {
				t.Errorf("namespaceSelector %v", got)
			}
		})
	}
}

// checkTimeoutWithinInterval: Prometheus refuses a scrape timeout above
// the scrape interval, and with it the whole configuration.
func checkTimeoutWithinInterval(t *testing.T, ep monitoringv1.Endpoint) {
	t.Helper()
	interval, err := time.ParseDuration(string(ep.Interval))
	if err != nil {
		t.Fatal(err)
	}
	timeout, err := time.ParseDuration(string(ep.ScrapeTimeout))
	if err != nil {
		t.Fatal(err)
	}
	if timeout > interval {
		t.Errorf("endpoint %+v: scrapeTimeout %s above interval %s", ep.Params, timeout, interval)
	}
}

func TestServiceMonitorRefusesABadFastInterval(t *testing.T) {
	_, err := helmTemplate(t, "serviceMonitor: {enabled: true, fastInterval: fast}")
	want := `at '/serviceMonitor/fastInterval': 'fast' does not match pattern`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("fastInterval: fast: %v, want %q", err, want)
	}
}
