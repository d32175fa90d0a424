package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/internal/loopback"
)

// The files a user runs as they are, and the addresses they name: the
// simulator's, the exporter's, Alertmanager's and the webhook's. The tests
// run copies with only these addresses moved to free ports (copyExample).
const (
	simulatedConfig   = "../examples/simulated.yml"
	localPrometheus   = "../examples/prometheus.yml"
	localAlertmanager = "../examples/alertmanager.yml"

	exampleSimulator    = "127.0.0.1:10038"
	exampleExporter     = "127.0.0.1:10036"
	exampleAlertmanager = "127.0.0.1:9093"
	exampleWebhook      = "127.0.0.1:5001"
)

func absPath(t *testing.T, rel string) string {
	t.Helper()
	p, err := filepath.Abs(rel)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// startSimulation runs `simulate` on a free port, sending live events to
// the exporter's receiver, and the exporter on a copy of
// examples/simulated.yml that points at that port, as the file's own
// comment says to run them, at exporterListen. It returns once the
// exporter is ready, that is once discovery has listed the simulator's
// projects, with the simulator's process and when it was started.
func startSimulation(ctx context.Context, t *testing.T, dir, bin, exporterListen string) (*process, time.Time) {
	t.Helper()
	simulatorAddr, receiverAddr := loopback.FreeAddress(t), loopback.FreeAddress(t)
	cfg := copyExample(t, dir, simulatedConfig, map[string]string{exampleSimulator: simulatorAddr})
	began := time.Now()
	sim := start(t, dir, "simulate", bin, "simulate", "--listen-address="+simulatorAddr, "--events.to=http://"+receiverAddr)
	if err := waitListening(ctx, sim, simulatorAddr); err != nil {
		t.Fatal(err)
	}
	exporter := start(t, dir, "exporter", bin, "--config.file="+cfg,
		"--web.listen-address="+exporterListen,
		"--callback.listen-address="+receiverAddr, "--callback.external-url=https://mon.example.com:10037")
	if err := waitReady(ctx, exporter, "http://"+exporterListen+"/-/ready"); err != nil {
		t.Fatal(err)
	}
	return sim, began
}

// waitListening waits until addr accepts connections.
func waitListening(ctx context.Context, p *process, addr string) error {
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			return c.Close()
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before listening on %s: %v", p.name, addr, p.err)
		case <-ctx.Done():
			return fmt.Errorf("%s not listening on %s: %v", p.name, addr, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// TestSimulatedExample runs examples/simulated.yml against `simulate`:
// every sample tenant up or down as it should be, the discovered tenants,
// and live events arriving at the receiver, each with the team label the
// example gives it.
func TestSimulatedExample(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	bin := buildExporter(ctx, t, dir)
	addr := loopback.FreeAddress(t)
	sim, _ := startSimulation(ctx, t, dir, bin, addr)

	want := []string{
		`metastudio_up{team="studio",tenant="demo-safe"} 1`,
		`metastudio_up{team="studio",tenant="demo-risky"} 1`,
		`metastudio_up{team="shop",tenant="demo-rejected"} 0`,
		`metastudio_scrape_error_info{error_code="APIGW.0301",reason="auth",team="shop",tenant="demo-rejected"} 1`,
		// Discovered: the region's default project and the shop; not the
		// disabled project, the other region's or the samples again.
		`metastudio_up{team="shop",tenant="cn-north-4"} 1`,
		`metastudio_up{team="shop",tenant="cn-north-4_shop"} 1`,
		`metastudio_tenant_info{project_id="7a6b5c4d3e2f40a9b8c7d6e5f4a3b2c1",region="cn-north-4",team="shop",tenant="cn-north-4_shop"} 1`,
		`metastudio_exporter_discovery_tenants{source="0"} 2`,
		`metastudio_live_event_callback_routed_here{team="studio",tenant="demo-safe"} 1`,
		`metastudio_live_event_callback_routed_here{team="shop",tenant="cn-north-4_shop"} 1`,
	}
	events := regexp.MustCompile(`(?m)^metastudio_live_events_total\{event_type="RTMP_STREAM_STATE_CHANGE",team="studio",tenant="demo-safe"\} (\d+)$`)
	var body string
	waitUntil(ctx, t, "every tenant and live events on /metrics", func() (bool, string) {
		body = get(t, "http://"+addr+"/metrics")
		var missing []string
		for _, w := range want {
			if !strings.Contains(body, w+"\n") {
				missing = append(missing, w)
			}
		}
		if m := events.FindStringSubmatch(body); m == nil || m[1] == "0" {
			missing = append(missing, "metastudio_live_events_total of demo-safe's stream states above 0")
		}
		for _, stream := range []string{`metastudio_live_stream_state{job_id="job-steady",output_host="live-push.example.com",room_id="room-morning-show",state="`,
			`metastudio_exporter_callback_requests_total{result="settings_unavailable",team="shop",tenant="demo-rejected"} `} {
			if !strings.Contains(body, stream) {
				missing = append(missing, stream)
			}
		}
		return len(missing) == 0, fmt.Sprintf("missing %q", missing)
	})
	for _, never := range []string{`tenant="cn-north-4_shop-closed"`, `tenant="cn-east-3_shop"`, `tenant="cn-north-4_demo-safe"`, `tenant="cn-north-4_demo-rejected"`} {
		if strings.Contains(body, never) {
			t.Errorf("/metrics has %s, which discovery must not serve", never)
		}
	}

	// SIGTERM stops the simulator cleanly: exit 0, saying so. One still
	// running after stop's grace period is killed, and exits non-zero.
	stopped := time.Now()
	sim.stop()
	t.Logf("simulate stopped %s after SIGTERM", time.Since(stopped).Round(time.Millisecond))
	logs, _ := os.ReadFile(sim.log)
	if sim.err != nil || !strings.Contains(string(logs), `level=info msg="Shutting down"`) {
		t.Errorf("simulate on SIGTERM: %v:\n%s", sim.err, logs)
	}
}

// TestLocalAlertingExample starts Prometheus and Alertmanager with
// examples/prometheus.yml and examples/alertmanager.yml as committed (in
// copies whose only change is the addresses: free ports for the exporter,
// Alertmanager and the webhook; the storage paths and listen addresses are
// flags), next to the exporter on `simulate` with examples/simulated.yml,
// with the bundled rules as they are, found through the example's own
// relative rule_files path. It waits until the alerts of two tenants of two
// teams (the team labels examples/simulated.yml gives them) have reached
// their teams' webhooks: demo-safe's stream alerts the studio's, and
// demo-rejected's rejected credentials the shop's and the on-call's; no
// alert may reach a receiver its severity and team do not route it to.
func TestLocalAlertingExample(t *testing.T) {
	promBin := requireBinary(t, "prometheus", "prometheus")
	amBin := requireBinary(t, "prometheus-alertmanager", "prometheus-alertmanager", "alertmanager")
	// The stream alerts fire within about 3 minutes of the simulator's
	// start, the rejected credentials within about 6 (docs/simulator.md);
	// the rest is margin for a loaded machine.
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()
	dir := t.TempDir()
	bin := buildExporter(ctx, t, dir)

	exporterAddr, alertmanagerAddr := loopback.FreeAddress(t), loopback.FreeAddress(t)
	hook := newWebhook(t)
	promCfg := copyExample(t, dir, localPrometheus, map[string]string{exampleExporter: exporterAddr, exampleAlertmanager: alertmanagerAddr})
	amCfg := copyExample(t, dir, localAlertmanager, map[string]string{exampleWebhook: hook.addr})
	linkRules(t, dir)
	_, began := startSimulation(ctx, t, dir, bin, exporterAddr)

	am := start(t, dir, "alertmanager", amBin, "--config.file="+amCfg,
		"--storage.path="+filepath.Join(dir, "am-data"), "--web.listen-address="+alertmanagerAddr,
		"--cluster.listen-address=")
	promAddr := loopback.FreeAddress(t)
	prom := start(t, dir, "prometheus", promBin, "--config.file="+promCfg,
		"--storage.tsdb.path="+filepath.Join(dir, "prom-data"), "--web.listen-address="+promAddr)
	for _, w := range []struct {
		p   *process
		url string
	}{{am, "http://" + alertmanagerAddr + "/-/ready"}, {prom, "http://" + promAddr + "/-/ready"}} {
		if err := waitReady(ctx, w.p, w.url); err != nil {
			t.Fatal(err)
		}
	}
	// Alertmanager 0.25 warns at start about a repeat_interval longer than
	// its data retention; the example must not make it.
	if b, _ := os.ReadFile(am.log); strings.Contains(string(b), "level=warn") {
		t.Errorf("Alertmanager warned at start:\n%s", b)
	}

	// Prometheus found the bundled rules through the example's relative path.
	api := &promAPI{base: "http://" + promAddr}
	var rules struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []any  `json:"rules"`
		} `json:"groups"`
	}
	if err := api.get(ctx, "/api/v1/rules", nil, &rules); err != nil {
		t.Fatal(err)
	}
	loaded := 0
	for _, g := range rules.Groups {
		if strings.HasPrefix(g.Name, "metastudio") {
			loaded += len(g.Rules)
		}
	}
	if len(rules.Groups) < 2 || rules.Groups[0].Name != "metastudio" || loaded < 20 {
		t.Fatalf("Prometheus did not load the bundled rules through examples/prometheus.yml: %+v", rules)
	}

	arrived := map[string]time.Duration{} // each team's first alert, after simulate started
	waitUntil(ctx, t, "alerts of two teams' tenants at their teams' webhooks of examples/alertmanager.yml", func() (bool, string) {
		for _, key := range hook.keys("firing") {
			for _, p := range hook.reachedPaths(key) {
				if _, seen := arrived[p]; !seen && strings.HasPrefix(p, "/team/") {
					arrived[p] = time.Since(began).Round(time.Second)
					t.Logf("first alert at %s %s after simulate started: %s", p, arrived[p], key)
				}
			}
		}
		studio := slices.ContainsFunc(hook.keys("firing"), func(key string) bool {
			return strings.HasSuffix(key, "/demo-safe") && slices.Contains(hook.reachedPaths(key), "/team/studio")
		})
		shop := slices.Equal(hook.reachedPaths("MetaStudioCredentialsRejected/demo-rejected"), []string{"/oncall", "/team/shop"})
		return studio && shop, fmt.Sprintf("demo-safe at /team/studio: %v; MetaStudioCredentialsRejected/demo-rejected at /oncall and /team/shop: %v (so far at %v)",
			studio, shop, hook.reachedPaths("MetaStudioCredentialsRejected/demo-rejected"))
	})

	// Every alert went where its team and severity route it, and no further.
	teamOf := map[string]string{"demo-safe": "studio", "demo-risky": "studio", "demo-rejected": "shop", "cn-north-4": "shop", "cn-north-4_shop": "shop"}
	for _, key := range hook.keys("firing") {
		a := hook.last(key)
		if !strings.HasPrefix(a.Labels["alertname"], "MetaStudio") || a.Annotations["summary"] == "" {
			t.Errorf("%s: %+v", key, a)
		}
		tenant, team := a.Labels["tenant"], a.Labels["team"]
		if tenant != "" && team != teamOf[tenant] {
			t.Errorf("%s carries team %q, want %q", key, team, teamOf[tenant])
		}
		teamPath := "/team"
		if team != "" {
			teamPath += "/" + team
		}
		want := map[string][]string{"critical": {"/oncall", teamPath}, "warning": {teamPath}, "info": {"/info"}}[a.Labels["severity"]]
		for _, p := range hook.reachedPaths(key) {
			if !slices.Contains(want, p) {
				t.Errorf("%s (severity %s, team %q) reached %s, which the example routes it away from (want %v)", key, a.Labels["severity"], team, p, want)
			}
		}
	}
}

// get returns the body of a 200 answer to url.
func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v\n%s", url, resp.StatusCode, err, b)
	}
	return string(b)
}
