package main

import (
	"fmt"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/metastudio-exporter/metastudio_exporter/internal/loopback"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio/simulator"
	"github.com/metastudio-exporter/metastudio_exporter/web"
)

const rulesFile = "alerts/metastudio.rules.yml"

// notFindings are the bundled alerts that are no condition of a tenant's
// settings, and where the status page shows them instead.
var notFindings = map[string]string{
	"MetaStudioTenantDown":                 "the tenant's state and reason",
	"MetaStudioCredentialsRejected":        "the tenant's state and reason",
	"MetaStudioLiveConfigChanged":          "a change over time, not a condition of the settings now",
	"MetaStudioExporterConfigReloadFailed": "the reload banner",
	"MetaStudioDiscoveryFailing":           "the discovery table",
	"MetaStudioLiveStreamDisconnected":     "the live streams table",
	"MetaStudioLiveStreamFlapping":         "the live streams table",
	"MetaStudioLiveStreamStuckConnecting":  "the live streams table",
	"MetaStudioCallbackRejected":           "the recent callbacks",
	"MetaStudioCallbackForwardFailing":     "the recent callbacks",
	"MetaStudioCallbackStreamsEvicted":     "the exporter's own metrics",
	"MetaStudioCallbackStateFileFailing":   "the exporter's own metrics",
	"MetaStudioCallbackReceiverSaturated":  "the exporter's own metrics",
	// A rate over 5 minutes: the page shows each running job's live and
	// stream durations side by side instead.
	"MetaStudioLiveJobStreamStalled": "the running jobs table",
	"MetaStudioInventoryStale":       "the rooms and live jobs table: each kind's last refresh",
}

// bundledAlerts reads the alert names and severities of the rules file.
func bundledAlerts(t *testing.T) map[string]string {
	t.Helper()
	var file struct {
		Groups []struct {
			Rules []struct {
				Alert  string            `yaml:"alert"`
				Labels map[string]string `yaml:"labels"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal([]byte(readDoc(t, rulesFile)), &file); err != nil {
		t.Fatal(err)
	}
	alerts := map[string]string{}
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			if r.Alert != "" {
				alerts[r.Alert] = r.Labels["severity"]
			}
		}
	}
	return alerts
}

// TestFindingsNameTheRules: every finding the page can show is a bundled
// alert of the same severity, and every bundled alert is either a finding
// or said above to be none.
func TestFindingsNameTheRules(t *testing.T) {
	alerts := bundledAlerts(t)
	findings := web.FindingAlerts()
	for alert, severity := range findings {
		if got, ok := alerts[alert]; !ok || got != severity {
			t.Errorf("finding %s (%s): the rules have severity %q (ok %v)", alert, severity, got, ok)
		}
	}
	for _, alert := range slices.Sorted(maps.Keys(alerts)) {
		_, finding := findings[alert]
		_, other := notFindings[alert]
		if finding == other {
			t.Errorf("%s: a finding %v, listed as none %v; it must be exactly one", alert, finding, other)
		}
	}
}

// TestFindingsMatchTheRules holds the status page's findings to the rules'
// expressions: the whole program's /metrics, held constant for two hours,
// goes through the bundled rules with promtool, and at 1h30m the alerts
// firing per tenant (counted per room and job) must be exactly the page's
// findings. Once with the demo's tenants, once with tenants made to meet
// the conditions the demo does not; each time once every tenant's rooms
// and jobs have been read, so that the page and /metrics show the same.
func TestFindingsMatchTheRules(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool is not installed; .ci/run installs the prometheus package")
		}
		t.Skip("promtool is not installed (apt-get install prometheus)")
	}
	seen := map[string]bool{}
	demo := startExporter(t, "--demo")
	got := findingsMatchRules(t, promtool, demo)
	t.Logf("the demo's findings: %v", got)
	want := map[string][]string{
		"demo-safe": {"MetaStudioLiveJobFailed", "MetaStudioLiveJobNearMaxDuration"},
		"demo-risky": {"MetaStudioExceptionWaitingUnlimited", "MetaStudioCallbackNotHttps", "MetaStudioLiveDurationUnlimited",
			"MetaStudioCallbackUnsigned", "MetaStudioStreamStateEventsDisabled", "MetaStudioInterruptionNotifyDisabled",
			"MetaStudioCallbackNotRoutedHere", "MetaStudioRoomRunsForever", "MetaStudioRoomCallbackUnsafe"},
		"demo-rejected": nil,
	}
	if !maps.EqualFunc(got, want, slices.Equal) {
		t.Errorf("the demo's findings:\n%v\nwant\n%v", got, want)
	}
	for _, alerts := range got {
		for _, a := range alerts {
			seen[a] = true
		}
	}

	edge := findingsMatchRules(t, promtool, edgeTenants(t))
	t.Logf("the edge tenants' findings: %v", edge)
	for _, alerts := range edge {
		for _, a := range alerts {
			seen[a] = true
		}
	}
	for alert := range web.FindingAlerts() {
		if !seen[alert] {
			t.Errorf("no tenant of the test meets %s: its finding is not held to the rule", alert)
		}
	}
}

// edgeTenants runs the program on tenants that meet the conditions the demo
// does not, and some that just miss them.
func edgeTenants(t *testing.T) *exporter {
	const ak, sk = "AKEDGE0000000000001", "edge-sk-SECRET"
	settings := func(hours, minutes int, callback string) []byte {
		return []byte(fmt.Sprintf(`{"live_exit_config":{"max_live_duration":%d,"max_exception_waiting_duration":%d},%s"live_notify_config":{"notify_events":["AUTO_EXIT"]}}`,
			hours, minutes, callback))
	}
	callback := func(tenant, auth, key string) string {
		return `"live_event_callback_config":{"live_event_type_callback_url":"https://mon.example.com/callback/` + tenant +
			`","auth_type":"` + auth + `","key":"` + key + `","callback_event_type":["RTMP_STREAM_STATE_CHANGE"]},`
	}
	var tenants []simulator.Tenant
	var entries strings.Builder
	for _, x := range []struct {
		name, extra string
		config      []byte
	}{
		{"above-policy", "", settings(25, 31, callback("above-policy", "MSS_A", "k"))},
		{"at-policy", "", settings(24, 30, callback("at-policy", "MSS_A", "k"))},
		{"no-policy", ", policy: {max_live_duration: 0s, max_exception_waiting: 0s}", settings(168, 60, callback("no-policy", "MSS_A", "k"))},
		{"keyless", "", settings(12, 5, callback("keyless", "MSS_A_HEAD", ""))},
		{"meituan", "", settings(12, 5, callback("meituan", "MEITUAN_DEFAULT", ""))},
		{"no-callback", "", settings(12, 5, "")},
		{"elsewhere", "", settings(12, 5, strings.Replace(callback("elsewhere", "MSS_A", "k"), "mon.example.com", "app.example.com", 1))},
		{"down", ", credentials: wrong", settings(0, 0, "")},
	} {
		tenants = append(tenants, simulator.Tenant{ProjectID: "p-" + x.name, AccessKey: ak, SecretKey: sk, Config: x.config})
		fmt.Fprintf(&entries, "  - {name: %[1]s, project_id: p-%[1]s, endpoint: ENDPOINT%[2]s}\n", x.name, x.extra)
	}
	sim, err := simulator.Start(simulator.Options{}, tenants...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	// One room each, so that its settings are read right after the
	// listing; the conditions the demo's rooms and jobs do not meet, and
	// some that just miss.
	now := time.Now()
	for _, err := range []error{
		// Repeats for ever with a limit of 0 of its own.
		sim.Server.AddRoom("p-above-policy", simulator.Room{ID: "r-own-zero", RepeatCount: new(-1), Exit: &simulator.LiveExit{MaxLiveDuration: new(0)}}),
		// Repeats for ever under its tenant's 24 h.
		sim.Server.AddRoom("p-at-policy", simulator.Room{ID: "r-inherits", RepeatCount: new(-1)}),
		// Unsigned https without credentials, and with them.
		sim.Server.AddRoom("p-no-policy", simulator.Room{ID: "r-open", Callback: &simulator.Callback{URL: "https://hooks.example.com/events", AuthType: "NONE"}}),
		sim.Server.AddRoom("p-keyless", simulator.Room{ID: "r-token", Callback: &simulator.Callback{URL: "https://hooks.example.com/events?token=t", AuthType: "NONE"}}),
		// Blocked 2 minutes ago.
		sim.Server.AddRoom("p-meituan", simulator.Room{ID: "r-blocked"}),
		sim.Server.AddLiveJob("p-meituan", simulator.LiveJob{ID: "j-blocked", RoomID: "r-blocked", State: simulator.JobBlocked,
			StartTime: now.Add(-time.Hour), EndTime: now.Add(-2 * time.Minute)}),
		// 20 minutes from its tenant's 12 h.
		sim.Server.AddRoom("p-no-callback", simulator.Room{ID: "r-plain"}),
		sim.Server.AddLiveJob("p-no-callback", simulator.LiveJob{ID: "j-near", RoomID: "r-plain", StartTime: now.Add(-11*time.Hour - 40*time.Minute)}),
		// An hour from its room's 3 h; failed 20 minutes ago.
		sim.Server.AddRoom("p-elsewhere", simulator.Room{ID: "r-three", Exit: &simulator.LiveExit{MaxLiveDuration: new(3)}}),
		sim.Server.AddLiveJob("p-elsewhere", simulator.LiveJob{ID: "j-far", RoomID: "r-three", StartTime: now.Add(-2 * time.Hour)}),
		sim.Server.AddLiveJob("p-elsewhere", simulator.LiveJob{ID: "j-old-failure", RoomID: "r-three", State: simulator.JobFailed,
			StartTime: now.Add(-time.Hour), EndTime: now.Add(-20 * time.Minute)}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	cfg := writeFile(t, t.TempDir(), "metastudio.yml", fmt.Sprintf(`defaults:
  credentials: sim
  policy: {max_live_duration: 24h, max_exception_waiting: 30m}
  rooms: {refresh_interval: 1m}
credentials:
  sim: {access_key: %[1]s, secret_key: %[2]s}
  wrong: {access_key: %[1]s, secret_key: not-the-sk}
tenants:
%[3]s`, ak, sk, strings.ReplaceAll(entries.String(), "ENDPOINT", strconv.Quote(sim.URL))))
	return startExporter(t, "--config.file="+cfg, "--callback.listen-address="+loopback.FreeAddress(t), "--callback.external-url=https://mon.example.com")
}

var (
	findingsRowRE = regexp.MustCompile(`(?s)<tr id="findings-([^"]+)"[^>]*>(.*?)</tr>`)
	dataAlertRE   = regexp.MustCompile(`data-alert="([^"]+)"`)
)

var (
	inventoryTableRE = regexp.MustCompile(`(?s)<h2 id="inventory">.*?</table>`)
	inventoryRowRE   = regexp.MustCompile(`<tr>\n<td class="name">([^<]*)</td>\n<td class="[^"]*">([^<]*)</td>\n<td class="[^"]*">([^<]*)</td>`)
	roomsReadRE      = regexp.MustCompile(`^(\d+) rooms?, (\d+) with their settings read`)
)

// awaitInventory scrapes e, which starts the refreshes of every tenant's
// rooms and jobs, and waits until its status page says that each tenant's
// rooms have all had their settings read and its jobs have been listed, or
// that they fail: from then on the page and /metrics show the same.
func awaitInventory(t *testing.T, e *exporter) {
	t.Helper()
	e.get(t, "/metrics")
	deadline := time.Now().Add(3 * time.Minute) // the demo reads a room's settings every 12 s
	for {
		_, page := e.get(t, "/")
		table := inventoryTableRE.FindString(page)
		rows := inventoryRowRE.FindAllStringSubmatch(table, -1)
		pending := ""
		for _, r := range rows {
			rooms, jobs := r[2], r[3]
			m := roomsReadRE.FindStringSubmatch(rooms)
			roomsDone := m != nil && m[1] == m[2] || strings.HasPrefix(rooms, "refreshing fails")
			jobsDone := jobs != "" && (jobs[0] >= '0' && jobs[0] <= '9' || strings.HasPrefix(jobs, "refreshing fails"))
			if !roomsDone || !jobsDone {
				pending = r[1] + ": " + rooms + " | " + jobs
				break
			}
		}
		if len(rows) > 0 && pending == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the rooms and jobs were never all read (%s):\n%s", pending, table)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// findingsMatchRules scrapes e, reads the findings off its status page and
// checks them against the rules with promtool; it returns them by tenant.
func findingsMatchRules(t *testing.T, promtool string, e *exporter) map[string][]string {
	t.Helper()
	awaitInventory(t, e)
	scraped := time.Now()
	code, exposition := e.get(t, "/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	_, page := e.get(t, "/")
	found := map[string][]string{}
	var samples strings.Builder
	for _, row := range findingsRowRE.FindAllStringSubmatch(page, -1) {
		tenant := row[1]
		found[tenant] = nil
		// One finding per room or job: the alerts fire once per room or
		// job too.
		counts := map[string]int{}
		for _, m := range dataAlertRE.FindAllStringSubmatch(row[2], -1) {
			if counts[m[1]] == 0 {
				found[tenant] = append(found[tenant], m[1])
			}
			counts[m[1]]++
		}
		for _, alert := range found[tenant] {
			fmt.Fprintf(&samples, "          - labels: '{alertname=%q, tenant=%q}'\n            value: %d\n", alert, tenant, counts[alert])
		}
	}
	if len(found) == 0 {
		t.Fatalf("no findings table on the page:\n%s", page)
	}
	rules, err := filepath.Abs(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	exp := "[]"
	if samples.Len() > 0 {
		exp = "\n" + strings.TrimSuffix(samples.String(), "\n")
	}
	test := fmt.Sprintf(`rule_files: [%q]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
%s
    promql_expr_test:
      - expr: count by (alertname, tenant) (ALERTS{alertstate="firing", alertname!~%q})
        eval_time: %s
        exp_samples: %s
`, rules, heldSeries(t, exposition, scraped), strings.Join(slices.Sorted(maps.Keys(notFindings)), "|"), model.Duration(evalAt), exp)
	path := filepath.Join(t.TempDir(), "findings_test.yml")
	if err := os.WriteFile(path, []byte(test), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "test", "rules", path).CombinedOutput(); err != nil {
		t.Errorf("the rules disagree with the status page's findings %v: %v\n%s", found, err, out)
	}
	return found
}

// evalAt is when the promtool test evaluates the rules: 90 minutes into
// its series, time() 5400.
const evalAt = 90 * time.Minute

// heldSeries turns an exposition into promtool input series: each gauge
// and counter sample, with the job and instance labels a scrape adds, held
// at its value for two hours. Timestamps are moved so that the evaluation
// time stands for the moment of the scrape, scraped: time() minus a
// timestamp is as long as it was then.
func heldSeries(t *testing.T, exposition string, scraped time.Time) string {
	t.Helper()
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(exposition))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, name := range slices.Sorted(maps.Keys(families)) {
		for _, m := range families[name].GetMetric() {
			var v float64
			switch {
			case m.Gauge != nil:
				v = m.GetGauge().GetValue()
			case m.Counter != nil:
				v = m.GetCounter().GetValue()
			case m.Untyped != nil:
				v = m.GetUntyped().GetValue()
			default:
				continue // histograms and summaries: no rule reads them
			}
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			if (strings.HasSuffix(name, "_timestamp_seconds") || name == "process_start_time_seconds") && v > 0 {
				v -= float64(scraped.Unix()) - evalAt.Seconds()
			}
			series := model.Metric{model.MetricNameLabel: model.LabelValue(name), "job": "metastudio", "instance": "exporter:10036"}
			for _, l := range m.GetLabel() {
				series[model.LabelName(l.GetName())] = model.LabelValue(l.GetValue())
			}
			fmt.Fprintf(&b, "      - series: %s\n        values: '%s+0x120'\n", strconv.Quote(series.String()), strconv.FormatFloat(v, 'g', -1, 64))
		}
	}
	return strings.TrimSuffix(b.String(), "\n")
}
