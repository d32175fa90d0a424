package collector

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
	"github.com/metastudio-exporter/metastudio_exporter/tenants"
)

// labelledSet is a tenant set whose tenants have different fixed labels:
// shop-a env and team (its own team over the defaults'), studio team
// alone, and plain none. down fails to fetch.
func labelledSet(t *testing.T) *tenants.Set {
	t.Helper()
	return staticSource(parseConfig(t, `defaults:
  credentials: main
  labels: {team: platform}
credentials:
  main: {access_key: AK, secret_key: SK-not-shown}
tenants:
  - {name: shop-a, project_id: p-shop-a, labels: {team: shop, env: prod}}
  - {name: studio, project_id: p-studio, labels: {team: studio}}
  - {name: down, project_id: p-down}
`))
}

var labelledBodies = map[string]string{
	"p-shop-a": `{"live_exit_config":{"max_live_duration":12,"auto_stop_mode":"SEGMENT_END"}}`,
	"p-studio": `{"live_event_callback_config":{"live_event_type_callback_url":"https://hooks.example.com/cb","auth_type":"MSS_A","key":"s3cr3t"}}`,
}

func labelledFetcher() *stubFetcher {
	return &stubFetcher{bodies: labelledBodies, errs: map[string]error{
		"p-down": &metastudio.Error{Reason: metastudio.ReasonServerError, StatusCode: 500, ErrorCode: "MSS.00000001", Op: "get user config"},
	}}
}

// TestLabelsGolden: every series of a tenant carries its fixed labels. On
// /metrics every family carries the union of the set's names, "" where a
// tenant lacks one; /probe of a tenant carries its own names only.
func TestLabelsGolden(t *testing.T) {
	set := labelledSet(t)
	snap := set.Snapshot()
	if got := snap.LabelNames(); strings.Join(got, ",") != "env,team" {
		t.Fatalf("the set's label names are %q, want env and team", got)
	}
	t.Run("metrics", func(t *testing.T) {
		compareGolden(t, scrapeGatherer(func() *Families {
			return NewScraper(labelledFetcher(), Options{MaxConcurrency: 1, Now: fixedClock()}).Scrape(context.Background(), snap.LabelNames(), snap.Tenants()...)
		}), "labels")
	})
	t.Run("probe", func(t *testing.T) {
		studio, _ := snap.Tenant("studio")
		compareGolden(t, scrapeGatherer(func() *Families {
			return NewScraper(labelledFetcher(), Options{MaxConcurrency: 1, Now: fixedClock()}).Scrape(context.Background(), studio.Labels.Names(), studio)
		}), "labels_probe")
	})
}

// TestLabelsNotServed: a tenant whose labels the names served leave out
// has no series (they would lose the label its owner routes by), and
// Encode says which tenant and why; the other tenants are served.
func TestLabelsNotServed(t *testing.T) {
	snap := labelledSet(t).Snapshot()
	fs := NewScraper(labelledFetcher(), Options{MaxConcurrency: 1, Now: fixedClock()}).Scrape(context.Background(), []string{"team"}, snap.Tenants()...)
	got, err := encoded(fs, nil)
	var errs prometheus.MultiError
	if !errors.As(err, &errs) {
		t.Fatalf("Encode returned %v, want shop-a's series refused", err)
	}
	want := `tenant "shop-a": its labels ["env" "team"] are not all among the label names served, ["team"]`
	for _, e := range errs {
		if e.Error() != want {
			t.Fatalf("error %q, want only %q", e, want)
		}
	}
	for _, mf := range got {
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "tenant" && lp.GetValue() == "shop-a" {
					t.Errorf("%s has a series of shop-a: %v", mf.GetName(), m)
				}
			}
		}
	}
	if n := countSeries(got, "metastudio_up"); n != 2 {
		t.Errorf("%d metastudio_up series, want studio's and down's", n)
	}
}

// TestRequestMetricsCarryLabels: the per-tenant API call counter carries
// each tenant's fixed labels under the set's union, as its other series
// do; the latency histogram has no tenant and no labels.
func TestRequestMetricsCarryLabels(t *testing.T) {
	set := labelledSet(t)
	m := NewRequestMetrics()
	FollowTenants(set, NewScraper(labelledFetcher(), Options{}), m)
	m.Observe("shop-a", "200", 0.1)
	m.Observe("shop-a", "200", 0.1)
	m.Observe("down", "500", 0.1)
	m.Observe("removed", "200", 0.1) // not in the set: timed, not counted
	if err := testutil.CollectAndCompare(m, strings.NewReader(`# HELP metastudio_exporter_api_requests_total MetaStudio API calls by tenant and HTTP status code, or timeout / network when no answer came.
# TYPE metastudio_exporter_api_requests_total counter
metastudio_exporter_api_requests_total{code="200",env="prod",team="shop",tenant="shop-a"} 2
metastudio_exporter_api_requests_total{code="500",env="",team="platform",tenant="down"} 1
`), "metastudio_exporter_api_requests_total"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(m, "metastudio_exporter_api_request_duration_seconds"); n != 1 {
		t.Errorf("%d latency series, want 1", n)
	}
}

// countSeries is the number of series of the family name in mfs.
func countSeries(mfs []*dto.MetricFamily, name string) int {
	for _, mf := range mfs {
		if mf.GetName() == name {
			return len(mf.GetMetric())
		}
	}
	return 0
}
