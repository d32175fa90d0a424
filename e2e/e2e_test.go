// Package e2e runs the exporter, the bundled rules and dashboards against a
// real Prometheus and Alertmanager (the Debian packages prometheus and
// prometheus-alertmanager), with the MetaStudio simulator as the cloud.
package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/metastudio-exporter/metastudio_exporter/dashboards"
	"github.com/metastudio-exporter/metastudio_exporter/demo"
	"github.com/metastudio-exporter/metastudio_exporter/internal/loopback"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio/simulator"
	"github.com/metastudio-exporter/metastudio_exporter/secret"
)

// The job name is deliberately unusual: the rules and dashboards must not
// depend on what users call the job.
const job = "msx-e2e-any-job-name"

const runbookPrefix = "https://github.com/metastudio-exporter/metastudio_exporter/blob/main/alerts/README.md#"

// Extra tenants beside the demo ones, each risky in exactly one way.
const (
	extraAK = "AKE2EEXTRA0000000001"
	extraSK = "e2e-extra-secret-key"

	// https, MSS_A signing, but no key.
	mssaNoKeyConfig = `{
  "live_exit_config": {"max_live_duration": 4, "max_exception_waiting_duration": 5},
  "live_event_callback_config": {
    "live_event_type_callback_url": "https://hooks.example.com/mssa",
    "auth_type": "MSS_A",
    "callback_event_type": ["RTMP_STREAM_STATE_CHANGE"]
  },
  "live_notify_config": {"notify_events": ["AUTO_EXIT"]}
}`
	// No callback at all.
	noCallbackConfig = `{
  "live_exit_config": {"max_live_duration": 4, "max_exception_waiting_duration": 5},
  "live_notify_config": {"notify_events": ["AUTO_EXIT"]}
}`
	// 48 h and 45 min: above its own 8 h policy and the default 30 min one.
	abovePolicyConfig = `{
  "live_exit_config": {"max_live_duration": 48, "max_exception_waiting_duration": 45},
  "live_event_callback_config": {
    "live_event_type_callback_url": "https://hooks.example.com/above",
    "auth_type": "MSS_A_HEAD",
    "key": "e2e-signing-key",
    "callback_event_type": ["RTMP_STREAM_STATE_CHANGE", "SHOOT_SCRIPT_SWITCH"]
  },
  "live_notify_config": {"notify_events": ["AUTO_EXIT"]}
}`
	// What the risky tenant is fixed to mid-test.
	safeConfig = `{
  "live_exit_config": {"max_live_duration": 8, "auto_stop_mode": "FORCE_EXIT", "max_exception_waiting_duration": 5},
  "live_event_callback_config": {
    "live_event_type_callback_url": "https://hooks.example.com/fixed",
    "auth_type": "MSS_A_HEAD",
    "key": "e2e-fixed-signing-key",
    "callback_event_type": ["RTMP_STREAM_STATE_CHANGE", "SHOOT_SCRIPT_SWITCH", "REPLY_COMMAND_FINISH"]
  },
  "live_notify_config": {"notify_events": ["AUTO_EXIT"]}
}`
)

// riskyAlerts are what the demo's risky tenant must raise, and what the PUT
// of safeConfig must resolve.
var riskyAlerts = []string{
	"MetaStudioLiveDurationUnlimited",
	"MetaStudioExceptionWaitingUnlimited",
	"MetaStudioCallbackNotHttps",
	"MetaStudioCallbackUnsigned",
	"MetaStudioStreamStateEventsDisabled",
	"MetaStudioInterruptionNotifyDisabled",
}

// wantFiring is every alert the fleet must raise before the fix, by tenant.
// The safe tenant is absent: it must raise nothing.
var wantFiring = map[string][]string{
	"demo-risky":    riskyAlerts,
	"demo-rejected": {"MetaStudioCredentialsRejected", "MetaStudioTenantDown"},
	"mssa-nokey":    {"MetaStudioCallbackKeyMissing"},
	"no-callback":   {"MetaStudioEventCallbackMissing"},
	"above-policy":  {"MetaStudioLiveDurationAbovePolicy", "MetaStudioExceptionWaitingAbovePolicy"},
}

// wantDescription holds, per alert and tenant, text the description must
// contain: the tenant's name and the value in human units.
var wantDescription = map[string][]string{
	"MetaStudioLiveDurationAbovePolicy/above-policy":     {"above-policy", "2d 0h 0m 0s", "8h 0m 0s"},
	"MetaStudioExceptionWaitingAbovePolicy/above-policy": {"above-policy", "45m 0s", "30m 0s"},
	"MetaStudioLiveDurationUnlimited/demo-risky":         {"demo-risky", "0 (unlimited)"},
	"MetaStudioExceptionWaitingUnlimited/demo-risky":     {"demo-risky", "0 (unlimited)"},
	"MetaStudioCredentialsRejected/demo-rejected":        {"demo-rejected", "reason auth", "APIGW.0301"},
	"MetaStudioTenantDown/demo-rejected":                 {"demo-rejected", "last error reason: auth"},
}

func TestEndToEnd(t *testing.T) {
	promBin := requireBinary(t, "prometheus", "prometheus")
	amBin := requireBinary(t, "prometheus-alertmanager", "prometheus-alertmanager", "alertmanager")

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()

	rules := loadBundledRules(t)
	exporterBin := buildExporter(ctx, t, dir)

	// The cloud: the demo tenants plus the extra ones.
	demoTenants := demo.Tenants()
	if len(demoTenants) != 3 || !strings.Contains(string(demoTenants[1].Config), `"NONE"`) {
		t.Fatalf("demo.Tenants() changed shape (want safe, risky, rejected): %d tenants", len(demoTenants))
	}
	safeT, riskyT, rejectedT := demoTenants[0], demoTenants[1], demoTenants[2]
	sim, err := simulator.Start(simulator.Options{}, append(demoTenants,
		simulator.Tenant{ProjectID: "p-mssa-nokey", AccessKey: extraAK, SecretKey: extraSK, Config: []byte(mssaNoKeyConfig)},
		simulator.Tenant{ProjectID: "p-no-callback", AccessKey: extraAK, SecretKey: extraSK, Config: []byte(noCallbackConfig)},
		simulator.Tenant{ProjectID: "p-above-policy", AccessKey: extraAK, SecretKey: extraSK, Config: []byte(abovePolicyConfig)},
	)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })

	// The exporter.
	exporterCfg := fmt.Sprintf(`defaults:
  timeout: 5s
  policy:
    max_live_duration: 24h
    max_exception_waiting: 30m
credentials:
  demo: {access_key: %[2]q, secret_key: %[3]q}
  wrong: {access_key: %[2]q, secret_key: "not-the-secret-key"}
  extra: {access_key: %[4]q, secret_key: %[5]q}
tenants:
  - {name: demo-safe, project_id: %[6]q, endpoint: %[1]q, credentials: demo}
  - {name: demo-risky, project_id: %[7]q, endpoint: %[1]q, credentials: demo}
  - {name: demo-rejected, project_id: %[8]q, endpoint: %[1]q, credentials: wrong}
  - {name: mssa-nokey, project_id: p-mssa-nokey, endpoint: %[1]q, credentials: extra}
  - {name: no-callback, project_id: p-no-callback, endpoint: %[1]q, credentials: extra}
  - name: above-policy
    project_id: p-above-policy
    endpoint: %[1]q
    credentials: extra
    policy: {max_live_duration: 8h}
`, sim.URL, safeT.AccessKey, safeT.SecretKey, extraAK, extraSK, safeT.ProjectID, riskyT.ProjectID, rejectedT.ProjectID)
	if safeT.AccessKey != riskyT.AccessKey || safeT.SecretKey != riskyT.SecretKey || safeT.AccessKey != rejectedT.AccessKey {
		t.Fatal("demo tenants no longer share one AK/SK; the config above assumes they do")
	}
	exporterCfgPath := writeFile(t, dir, "metastudio.yml", exporterCfg)
	exporterAddr := loopback.FreeAddress(t)
	exporter := start(t, dir, "exporter", exporterBin,
		"--config.file="+exporterCfgPath, "--web.listen-address="+exporterAddr, "--log.level=debug",
		// A 1 s scrape leaves the default 0.5 s offset only 0.5 s for the
		// tenants; on a loaded CI machine that turns into spurious timeouts.
		"--scrape.timeout-offset=0.1s")

	// Alertmanager, notifying the test's webhook, and Prometheus with the
	// bundled rules, `for` shortened: 2s, not less, so that one slow scrape
	// on a busy machine cannot raise TenantDown and turn the exact alert
	// set below into a flake.
	hook := newWebhook(t)
	promAddr := startAlerting(ctx, t, dir, amBin, promBin, hook.URL, alerting{
		groupBy: "[alertname, tenant]", groupWait: "1s", job: job,
		rules: shortenFor(t, rules.raw, "2s"), targets: []string{exporterAddr},
	})
	if err := waitReady(ctx, exporter, "http://"+exporterAddr+"/-/ready"); err != nil {
		t.Fatal(err)
	}
	api := &promAPI{base: "http://" + promAddr}

	// 1. Every risky setting reaches the webhook, with labels and annotations.
	var want []string
	for tenant, names := range wantFiring {
		for _, n := range names {
			want = append(want, n+"/"+tenant)
		}
	}
	sort.Strings(want)
	waitUntil(ctx, t, "every expected alert to reach the webhook as firing", func() (bool, string) {
		got := hook.keys("firing")
		return containsAll(got, want), fmt.Sprintf("firing so far: %v", got)
	})
	for _, key := range want {
		name, tenant, _ := strings.Cut(key, "/")
		a := hook.last(key)
		checkAlert(t, rules, a, name, tenant)
	}

	// 2. Nothing else fires, the safe tenant least of all. Several rounds
	// of scrapes and evaluations pass first, so that a late alert would have
	// had its chance: with every `for` at 2s, an alert pending now fires
	// within them.
	api.waitRounds(ctx, t, 4)
	firing, pending := api.alerts(ctx, t)
	if got := keysOf(firing); !slices.Equal(got, want) {
		t.Errorf("Prometheus firing alerts:\n got %v\nwant %v", got, want)
	}
	for _, a := range append(firing, pending...) {
		if a.Labels["tenant"] == "demo-safe" {
			t.Errorf("safe tenant raised %s (%s)", a.Labels["alertname"], a.State)
		}
	}
	for _, key := range hook.keys("") {
		if strings.HasSuffix(key, "/demo-safe") || !slices.Contains(want, key) {
			t.Errorf("webhook got an unexpected alert %s", key)
		}
	}

	// 3. Break the fetch of a tenant with a firing settings alert. Its series
	// vanish (Prometheus marks them stale at once), yet the alert must keep
	// firing while TenantDown reports the outage.
	sim.Server.SetFault("p-mssa-nokey", simulator.Fault{Status: 500})

	// 4. Fix the risky tenant through the API, signed like a real client.
	// The exporter itself only reads: the write is made here.
	put, err := http.NewRequestWithContext(ctx, http.MethodPut, sim.URL+"/v1/"+riskyT.ProjectID+"/smart-live-configs/user-config", strings.NewReader(safeConfig))
	if err != nil {
		t.Fatal(err)
	}
	put.Header.Set("X-Project-Id", riskyT.ProjectID)
	put.Header.Set("Content-Type", "application/json")
	if err := metastudio.SignRequest(put, []byte(safeConfig), riskyT.AccessKey, secret.String(riskyT.SecretKey), "", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(put)
	if err != nil {
		t.Fatalf("PUT of safe settings: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT of safe settings: HTTP %d", resp.StatusCode)
	}
	var wantResolved []string
	for _, n := range riskyAlerts {
		wantResolved = append(wantResolved, n+"/demo-risky")
	}
	waitUntil(ctx, t, "the risky tenant's alerts to be resolved at the webhook", func() (bool, string) {
		got := hook.keys("resolved")
		return containsAll(got, wantResolved), fmt.Sprintf("resolved so far: %v", got)
	})
	for _, key := range wantResolved {
		name, tenant, _ := strings.Cut(key, "/")
		a := hook.last(key)
		if a.Status != "resolved" || a.EndsAt.IsZero() {
			t.Errorf("%s: last notification %s, ends %v; want resolved", key, a.Status, a.EndsAt)
		}
		checkAlert(t, rules, a, name, tenant)
	}
	// The change itself is reported.
	waitUntil(ctx, t, "MetaStudioLiveConfigChanged for the fixed tenant", func() (bool, string) {
		return slices.Contains(hook.keys("firing"), "MetaStudioLiveConfigChanged/demo-risky"), fmt.Sprintf("firing: %v", hook.keys("firing"))
	})
	checkAlert(t, rules, hook.last("MetaStudioLiveConfigChanged/demo-risky"), "MetaStudioLiveConfigChanged", "demo-risky")
	// Alerts of the other tenants are untouched by the fix, and by the
	// outage of step 3.
	for _, key := range want {
		if strings.HasSuffix(key, "/demo-risky") {
			continue
		}
		if a := hook.last(key); a.Status != "firing" {
			t.Errorf("%s: %s; only demo-risky's alerts may resolve", key, a.Status)
		}
	}

	// Back to the broken tenant of step 3: by now its outage has lasted
	// through many evaluations.
	waitUntil(ctx, t, "MetaStudioTenantDown for the failing tenant", func() (bool, string) {
		return slices.Contains(hook.keys("firing"), "MetaStudioTenantDown/mssa-nokey"), fmt.Sprintf("firing: %v", hook.keys("firing"))
	})
	// The outage goes on through more evaluations, each a chance for the
	// missing data to resolve the settings alert.
	api.waitRounds(ctx, t, 3)
	if n, err := api.query(ctx, `metastudio_live_event_callback_key_configured{tenant="mssa-nokey"}`); err != nil || n != 0 {
		t.Errorf("settings series of the failing tenant: %d series, %v; want none, or the hold is not being tested", n, err)
	}
	if a := hook.last("MetaStudioCallbackKeyMissing/mssa-nokey"); a.Status != "firing" {
		t.Errorf("MetaStudioCallbackKeyMissing/mssa-nokey is %s during the fetch outage; missing data must not resolve it", a.Status)
	}
	firing, _ = api.alerts(ctx, t)
	if !slices.Contains(keysOf(firing), "MetaStudioCallbackKeyMissing/mssa-nokey") {
		t.Errorf("Prometheus no longer fires MetaStudioCallbackKeyMissing/mssa-nokey during the fetch outage: %v", keysOf(firing))
	}
	sim.Server.SetFault("p-mssa-nokey", simulator.Fault{})

	// 5. Every dashboard query is valid PromQL and returns data. The live
	// dashboard needs the receiver: TestLiveStreamAlert checks it.
	checkDashboards(ctx, t, api, func(f string) bool { return f != liveDashboard },
		[]string{"above-policy", "demo-rejected", "demo-risky", "demo-safe", "mssa-nokey", "no-callback"})
}

// checkAlert holds one webhook alert to the bundled rule: severity,
// identifying labels and every annotation.
func checkAlert(t *testing.T, rules *bundledRules, a webhookAlert, name, tenant string) {
	t.Helper()
	r, ok := rules.alerts[name]
	if !ok {
		t.Fatalf("%s is not in the bundled rules", name)
	}
	key := name + "/" + tenant
	for k, want := range map[string]string{"alertname": name, "tenant": tenant, "job": job, "severity": r.Labels["severity"]} {
		if a.Labels[k] != want {
			t.Errorf("%s: label %s=%q, want %q", key, k, a.Labels[k], want)
		}
	}
	if a.Labels["instance"] == "" {
		t.Errorf("%s: no instance label", key)
	}
	if got := a.Annotations["summary"]; got != r.Annotations["summary"] {
		t.Errorf("%s: summary %q, want %q", key, got, r.Annotations["summary"])
	}
	if got, want := a.Annotations["runbook_url"], runbookPrefix+strings.ToLower(name); got != want {
		t.Errorf("%s: runbook_url %q, want %q", key, got, want)
	}
	d := a.Annotations["description"]
	if !strings.Contains(d, tenant) || strings.Contains(d, "{{") || strings.Contains(d, "<no value>") {
		t.Errorf("%s: description does not name the tenant or is not fully expanded: %q", key, d)
	}
	for _, s := range wantDescription[key] {
		if !strings.Contains(d, s) {
			t.Errorf("%s: description %q does not contain %q", key, d, s)
		}
	}
}

// liveDashboard shows the live-event receiver's metrics.
const liveDashboard = "metastudio-live.json"

// checkDashboards runs every panel and annotation query of the bundled
// dashboards that include selects, variables substituted as Grafana would
// with "All" selected, and the variable queries themselves, which must offer
// at least tenants.
func checkDashboards(ctx context.Context, t *testing.T, api *promAPI, include func(file string) bool, tenants []string) {
	t.Helper()
	vals := map[string]string{
		"job": job, "tenant": ".*", "datasource": "prometheus",
		"__interval": "2m", "__rate_interval": "1m", "__range": "5m",
	}
	qs, err := dashboards.AllQueries()
	if err != nil {
		t.Fatal(err)
	}
	qs = slices.DeleteFunc(qs, func(q dashboards.Query) bool { return !include(q.Dashboard) })
	if len(qs) == 0 {
		t.Fatal("no dashboard queries")
	}
	for _, q := range qs {
		expr, err := dashboards.Expand(q.Expr, vals)
		if err != nil {
			t.Errorf("%s %s: %v", q.Dashboard, q.Where, err)
			continue
		}
		n, err := api.query(ctx, expr)
		if err != nil {
			t.Errorf("%s %s: Prometheus rejects %q: %v", q.Dashboard, q.Where, expr, err)
		} else if n == 0 {
			t.Errorf("%s %s: %q returns no data", q.Dashboard, q.Where, expr)
		}
	}
	files, err := dashboards.Files()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !include(f) {
			continue
		}
		d, err := dashboards.Load(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range d.Templating.List {
			if v.Type != "query" {
				continue
			}
			sel, label, ok := dashboards.LabelValues(v.QueryString())
			if !ok {
				t.Errorf("%s: variable %s: query %q is not label_values", f, v.Name, v.QueryString())
				continue
			}
			sel, err = dashboards.Expand(sel, vals)
			if err != nil {
				t.Errorf("%s: variable %s: %v", f, v.Name, err)
				continue
			}
			got, err := api.labelValues(ctx, label, sel)
			if err != nil {
				t.Errorf("%s: variable %s: %v", f, v.Name, err)
				continue
			}
			want := map[string][]string{"job": {job}, "tenant": tenants}[label]
			if !containsAll(got, want) {
				t.Errorf("%s: variable %s offers %v, want at least %v", f, v.Name, got, want)
			}
		}
	}
}

// bundledRules is alerts/metastudio.rules.yml, raw and by alert name.
type bundledRules struct {
	raw    []byte
	alerts map[string]ruleDef
}

type ruleDef struct {
	Alert       string            `yaml:"alert"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

func loadBundledRules(t *testing.T) *bundledRules {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "alerts", "metastudio.rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Groups []struct {
			Rules []ruleDef `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	br := &bundledRules{raw: raw, alerts: map[string]ruleDef{}}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				br.alerts[r.Alert] = r
			}
		}
	}
	return br
}

// shortenFor rewrites every rule's `for` to d. Only the test's copy is
// changed; expressions, labels and annotations stay as users get them.
func shortenFor(t *testing.T, raw []byte, d string) []byte {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	n := 0
	var walk func(*yaml.Node)
	walk = func(node *yaml.Node) {
		if node.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(node.Content); i += 2 {
				if node.Content[i].Value == "for" {
					node.Content[i+1].Value = d
					n++
				}
			}
		}
		for _, c := range node.Content {
			walk(c)
		}
	}
	walk(&doc)
	if n == 0 {
		t.Fatal("no `for` found in the bundled rules; the rewrite is broken")
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// waitUntil polls cond until it holds; on timeout it fails with cond's last
// explanation.
func waitUntil(ctx context.Context, t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	for {
		ok, why := cond()
		if ok {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s: %s", what, why)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}
