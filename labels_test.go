package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/internal/loopback"
)

// labelledSimulation is simulate's sample projects with fixed labels at
// every level: under defaults (team studio), on a tenant (demo-safe adds
// env, demo-risky has its own team), and on the discovery entry (team shop
// for the projects it finds). demo-rejected has defaults' team alone.
const labelledSimulation = `defaults:
  credentials: simulator
  labels: {team: studio}
credentials:
  simulator: {access_key: DEMOACCESSKEY0000001, secret_key: demo-secret-key-not-a-real-one}
  wrong-secret: {access_key: DEMOACCESSKEY0000001, secret_key: demo-secret-key-that-is-wrong}
tenants:
  - {name: demo-safe, project_id: 5f2c1e9a7b3d4c6e8f0a1b2c3d4e5f60, endpoint: "%[1]s", labels: {env: prod}}
  - {name: demo-risky, project_id: a1b2c3d4e5f60718293a4b5c6d7e8f90, region: ap-southeast-1, endpoint: "%[1]s", labels: {team: risk}}
  - {name: demo-rejected, project_id: 0f1e2d3c4b5a69788796a5b4c3d2e1f0, endpoint: "%[1]s", credentials: wrong-secret}
discovery:
  - iam_endpoint: "%[1]s"
    endpoint: "%[1]s"
    regions: [cn-north-4]
    name_regex: cn-north-4|cn-north-4_shop.*
    labels: {team: shop}
`

// wantLabels are the fixed labels each tenant of labelledSimulation has.
var wantLabels = map[string]map[string]string{
	"demo-safe":       {"team": "studio", "env": "prod"},
	"demo-risky":      {"team": "risk"},
	"demo-rejected":   {"team": "studio"},
	"cn-north-4":      {"team": "shop"},
	"cn-north-4_shop": {"team": "shop"},
}

// TestEveryTenantSeriesCarriesItsLabels runs the whole program on
// simulate's sample projects, with the receiver taking the simulator's live
// events and rooms and live jobs watched. On /metrics and on /probe of each
// tenant, every series of a tenant carries its fixed labels: /metrics the
// union of the set's names, "" where a tenant lacks one, /probe the
// tenant's own. Every label name the exposition uses is one the exporter
// reserves (config.ReservedLabels, which a tenant's labels: may not use)
// or a tenant's own, and promtool check metrics has nothing to say.
func TestEveryTenantSeriesCarriesItsLabels(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	simAddr, receiverAddr := loopback.FreeAddress(t), loopback.FreeAddress(t)
	simDone := make(chan int, 1)
	go func() {
		simDone <- run(ctx, []string{"simulate", "--listen-address=" + simAddr, "--events.to=http://" + receiverAddr}, io.Discard, io.Discard)
	}()
	t.Cleanup(func() {
		cancel()
		<-simDone
	})
	pollUntil(t, 30*time.Second, "the simulator to listen", func() (bool, string) {
		c, err := net.Dial("tcp", simAddr)
		if err == nil {
			c.Close()
		}
		return err == nil, fmt.Sprint(err)
	})
	cfg := writeFile(t, t.TempDir(), "metastudio.yml", fmt.Sprintf(labelledSimulation, "http://"+simAddr))
	e := startExporter(t, "--config.file="+cfg, "--callback.listen-address="+receiverAddr,
		"--callback.external-url=https://mon.example.com:10037")

	// Every kind of per-tenant series: settings, rooms and jobs (watched
	// from the first scrape on), live streams and events, and the
	// exporter's per-tenant counters.
	kinds := []string{
		`metastudio_up{env="",team="shop",tenant="cn-north-4_shop"} 1`,
		`metastudio_room_info{`, `metastudio_live_job_info{`,
		`metastudio_live_stream_state{`, `metastudio_live_events_total{`,
		`metastudio_exporter_api_requests_total{`, `metastudio_exporter_callback_requests_total{`,
	}
	var body string
	pollUntil(t, 2*time.Minute, "every kind of per-tenant series on /metrics", func() (bool, string) {
		_, body = e.get(t, "/metrics")
		var missing []string
		for _, k := range kinds {
			if !strings.Contains(body, k) {
				missing = append(missing, k)
			}
		}
		return len(missing) == 0, fmt.Sprintf("missing %q", missing)
	})

	union := []string{"env", "team"}
	checkLabels(t, "/metrics", body, union)
	checkPromtool(t, "/metrics", body)
	for tenant, labels := range wantLabels {
		path := "/probe?tenant=" + tenant
		code, probe := e.get(t, path)
		if code != 200 || !strings.Contains(probe, "metastudio_up{") {
			t.Fatalf("%s: %d\n%s", path, code, probe)
		}
		own := slices.Sorted(func(yield func(string) bool) {
			for name := range labels {
				if !yield(name) {
					return
				}
			}
		})
		checkLabels(t, path, probe, own)
		checkPromtool(t, path, probe)
	}
}

// checkLabels holds every series of exposition to wantLabels, under the
// fixed label names served, and every label name to config.ReservedLabels
// or names.
func checkLabels(t *testing.T, where, exposition string, names []string) {
	t.Helper()
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(exposition))
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	notReserved := map[string]string{}
	tenantSeries := 0
	for name, mf := range families {
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, lp := range m.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
				if !slices.Contains(config.ReservedLabels, lp.GetName()) && !slices.Contains(names, lp.GetName()) {
					notReserved[lp.GetName()] = name
				}
			}
			tenant, ok := labels["tenant"]
			if !ok {
				continue
			}
			tenantSeries++
			if msg := fixedLabelsOf(m, wantLabels[tenant], names); msg != "" {
				t.Errorf("%s: %s%s: %s", where, name, seriesLabels(m), msg)
			}
		}
	}
	for label, family := range notReserved {
		t.Errorf("%s: %s has the label %s, which the exporter sets but config.ReservedLabels lacks: a tenant's labels: could take it", where, family, label)
	}
	if tenantSeries == 0 {
		t.Errorf("%s: no series with a tenant", where)
	}
}

// fixedLabelsOf says how m's fixed labels differ from want (the tenant's,
// none for a tenant unknown or ""), under the names served; "" if not.
func fixedLabelsOf(m *dto.Metric, want map[string]string, names []string) string {
	got := map[string]string{}
	for _, lp := range m.GetLabel() {
		if slices.Contains(names, lp.GetName()) {
			got[lp.GetName()] = lp.GetValue()
		}
	}
	for _, name := range names {
		v, ok := got[name]
		if !ok {
			return fmt.Sprintf("lacks %s, which every series here carries", name)
		}
		if v != want[name] {
			return fmt.Sprintf("%s=%q, want %q", name, v, want[name])
		}
	}
	return ""
}

func seriesLabels(m *dto.Metric) string {
	l := model.LabelSet{}
	for _, lp := range m.GetLabel() {
		l[model.LabelName(lp.GetName())] = model.LabelValue(lp.GetValue())
	}
	return l.String()
}

// checkPromtool runs exposition through promtool check metrics, which must
// print nothing.
func checkPromtool(t *testing.T, where, exposition string) {
	t.Helper()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool is not installed; .ci/run installs the prometheus package")
		}
		t.Log("promtool is not installed (apt-get install prometheus): not checking the exposition with it")
		return
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(exposition)
	if out, err := cmd.CombinedOutput(); err != nil || len(out) != 0 {
		t.Errorf("promtool check metrics on %s: %v\n%s", where, err, out)
	}
}

// pollUntil polls ok until it holds, failing the test with ok's last word
// once d has passed.
func pollUntil(t *testing.T, d time.Duration, what string, ok func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		done, msg := ok()
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s: %s", d, what, msg)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
