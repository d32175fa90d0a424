package charts

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"sigs.k8s.io/yaml"
)

// sourceRuleGroups parses the repository's alerts/*.rules.yml strictly
// into the operator's types, concatenated in file name order, as the chart
// renders them.
func sourceRuleGroups(t *testing.T) []monitoringv1.RuleGroup {
	t.Helper()
	files, err := filepath.Glob("../alerts/*.rules.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no ../alerts/*.rules.yml (%v)", err)
	}
	var groups []monitoringv1.RuleGroup
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var rf struct {
			Groups []monitoringv1.RuleGroup `json:"groups"`
		}
		if err := yamlStrict(b, &rf); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		groups = append(groups, rf.Groups...)
	}
	return groups
}

func TestPrometheusRuleHoldsTheAlertGroups(t *testing.T) {
	pr := render(t, "prometheusRule: {enabled: true, labels: {role: alert-rules}}").PrometheusRule
	if pr == nil {
		t.Fatal("no PrometheusRule")
	}
	if pr.Labels["role"] != "alert-rules" {
		t.Errorf("labels %v lack role=alert-rules", pr.Labels)
	}
	want := sourceRuleGroups(t)
	if !reflect.DeepEqual(pr.Spec.Groups, want) {
		got, _ := yaml.Marshal(pr.Spec.Groups)
		w, _ := yaml.Marshal(want)
		t.Fatalf("PrometheusRule groups differ from alerts/*.rules.yml\n got:\n%s\nwant:\n%s", got, w)
	}

	// promtool checks what the operator would hand Prometheus.
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("promtool is not installed (Debian package prometheus)")
		}
		t.Skip("promtool not installed")
	}
	rules := 0
	for _, g := range pr.Spec.Groups {
		rules += len(g.Rules)
	}
	b, err := yaml.Marshal(struct {
		Groups []monitoringv1.RuleGroup `json:"groups"`
	}{pr.Spec.Groups})
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "prometheusrule.rules.yml")
	if err := os.WriteFile(f, b, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(promtool, "check", "rules", f).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s\nrules:\n%s", err, out, b)
	}
	if m := regexp.MustCompile(`SUCCESS: (\d+) rules found`).FindStringSubmatch(string(out)); m == nil || m[1] != itoa(rules) {
		t.Errorf("promtool: %s; want %d rules found", out, rules)
	}
}

// dashboardConfigMap is the name of the ConfigMap holding a dashboard
// file: metastudio-live.json of release mon in
// mon-metastudio-exporter-dashboard-live.
func dashboardConfigMap(fullname, file string) string {
	return fullname + "-dashboard-" + strings.TrimPrefix(strings.TrimSuffix(file, ".json"), "metastudio-")
}

func TestDashboardConfigMapsHoldTheJSONUnchanged(t *testing.T) {
	o := render(t, "dashboards: {enabled: true, labels: {team: live}, annotations: {grafana_folder: MetaStudio}}")
	files, err := filepath.Glob("../dashboards/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no ../dashboards/*.json (%v)", err)
	}
	seen := 0
	for _, f := range files {
		base := filepath.Base(f)
		name := dashboardConfigMap(fullname, base)
		cm := o.ConfigMaps[name]
		if cm == nil {
			t.Errorf("no ConfigMap %s for %s", name, f)
			continue
		}
		seen++
		want, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(cm.Data) != 1 || len(cm.BinaryData) != 0 {
			t.Errorf("%s: want only %s in data, got keys of %d data and %d binaryData", name, base, len(cm.Data), len(cm.BinaryData))
		}
		if got := cm.Data[base]; got != string(want) {
			t.Errorf("%s: %s differs from %s (%d bytes, want %d)", name, base, f, len(got), len(want))
		}
		if cm.Labels["grafana_dashboard"] != "1" || cm.Labels["team"] != "live" {
			t.Errorf("%s: labels %v, want grafana_dashboard=1 and team=live", name, cm.Labels)
		}
		if cm.Annotations["grafana_folder"] != "MetaStudio" {
			t.Errorf("%s: annotations %v", name, cm.Annotations)
		}
	}
	// The config's ConfigMap and one per dashboard, nothing else.
	if len(o.ConfigMaps) != seen+1 {
		t.Errorf("%d ConfigMaps for %d dashboards: %v", len(o.ConfigMaps), len(files), o.Kinds)
	}
}

// TestDashboardLiteralBlocksKeepEveryEnding renders the dashboard template
// over JSON endings the repository's files do not have today, so that a
// dashboard saved without a final newline, or with two, still arrives
// byte for byte.
func TestDashboardLiteralBlocksKeepEveryEnding(t *testing.T) {
	chart := copyChart(t)
	dir := replaceDir(t, chart, "files/dashboards")
	want := map[string]string{
		"none.json":  "{\n  \"title\": \"none, café\"\n}",
		"one.json":   "{\"title\": \"one\"}\n",
		"two.json":   "{\n\t\"title\": \"two  \"\n}\n\n",
		"space.json": "  {\"title\": \"space\"}\n",
		"crlf.json":  "{\r\n  \"title\": \"<crlf> & \\u00e9\"\r\n}\r\n",
	}
	for name, body := range want {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, err := helm(t, "template", release, chart, "--namespace", namespace, "-f", writeValues(t, "dashboards: {enabled: true}"))
	if err != nil {
		t.Fatal(err)
	}
	o, err := decodeAll(out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for name, body := range want {
		cm := o.ConfigMaps[dashboardConfigMap(fullname, name)]
		if cm == nil {
			t.Errorf("no ConfigMap for %s", name)
			continue
		}
		if got := cm.Data[name]; got != body {
			t.Errorf("%s: got %q, want %q", name, got, body)
		}
	}
}

// TestPrometheusRuleJoinsRuleFiles renders the rule template over rule
// files the repository does not have today: several files, and files it
// must refuse.
func TestPrometheusRuleJoinsRuleFiles(t *testing.T) {
	chart := copyChart(t)
	dir := replaceDir(t, chart, "files/alerts")
	write := func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	render := func() (*objects, error) {
		t.Helper()
		out, err := helm(t, "template", release, chart, "--namespace", namespace, "-f", writeValues(t, "prometheusRule: {enabled: true}"))
		if err != nil {
			return nil, err
		}
		return decodeAll(out)
	}

	if _, err := render(); err == nil || !strings.Contains(err.Error(), "prometheusRule.enabled: the chart holds no files/alerts/*.rules.yml; run charts/sync.sh") {
		t.Errorf("no rule files: %v", err)
	}

	write("b.rules.yml", "# second\ngroups:\n- name: b\n  rules:\n  - record: b:up\n    expr: up\n")
	// Deeper than spec.groups' column: goes in as YAML made from its groups.
	write("d.rules.yml", "groups:\n      - name: d\n        rules:\n          - record: d:up\n            expr: up\n")
	write("a.rules.yml", "groups:  # first\n  - name: a\n    interval: 2m\n    rules:\n      - alert: A\n        expr: up == 0\n        for: 5m\n\n  - name: a2\n    rules: []\n")
	o, err := render()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range o.PrometheusRule.Spec.Groups {
		names = append(names, g.Name)
	}
	if strings.Join(names, ",") != "a,a2,b,d" {
		t.Errorf("groups %v, want a, a2, b, d: every file's, in file name order", names)
	}
	if g := o.PrometheusRule.Spec.Groups[0]; g.Interval == nil || *g.Interval != "2m" || len(g.Rules) != 1 || g.Rules[0].For == nil || *g.Rules[0].For != "5m" {
		t.Errorf("group a: %+v", g)
	}

	write("c.rules.yml", "groups: []\nextra: true\n")
	if _, err := render(); err == nil || !strings.Contains(err.Error(), "files/alerts/c.rules.yml: want a rules file with the one top-level key groups") {
		t.Errorf("a second top-level key: %v", err)
	}
	write("c.rules.yml", "groups: [\n")
	if _, err := render(); err == nil || !strings.Contains(err.Error(), "files/alerts/c.rules.yml: error converting YAML to JSON") {
		t.Errorf("a file that is no YAML: %v", err)
	}
}

// copyChart copies the chart into a temporary directory, for tests that
// change its files.
func copyChart(t *testing.T) string {
	t.Helper()
	helmBinary(t)
	chart := filepath.Join(t.TempDir(), chartDir)
	if err := os.CopyFS(chart, os.DirFS(chartDir)); err != nil {
		t.Fatal(err)
	}
	return chart
}

// replaceDir empties dir inside chart and returns its path.
func replaceDir(t *testing.T, chart, dir string) string {
	t.Helper()
	path := filepath.Join(chart, dir)
	if err := os.RemoveAll(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func itoa(n int) string {
	b, _ := yaml.Marshal(n)
	return strings.TrimSpace(string(b))
}

// notes renders NOTES.txt, which `helm template` leaves out and `helm
// install --dry-run` renders only with a cluster to talk to: a copy of the
// chart carries it as a file that a ConfigMap template runs through tpl.
func notes(t *testing.T, values string) string {
	t.Helper()
	chart := copyChart(t)
	text, err := os.ReadFile(filepath.Join(chart, "templates", "NOTES.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(chart, "files", "NOTES.txt"), text, 0o644); err != nil {
		t.Fatal(err)
	}
	const preview = `apiVersion: v1
kind: ConfigMap
metadata:
  name: notes-preview
data:
  notes: {{ tpl (.Files.Get "files/NOTES.txt") . | toJson }}
`
	if err := os.WriteFile(filepath.Join(chart, "templates", "notes-preview.yaml"), []byte(preview), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := helm(t, "template", release, chart, "--namespace", namespace, "-f", writeValues(t, values))
	if err != nil {
		t.Fatal(err)
	}
	o, err := decodeAll(out)
	if err != nil {
		t.Fatal(err)
	}
	return o.ConfigMaps["notes-preview"].Data["notes"]
}

func TestNotes(t *testing.T) {
	metrics := []string{
		"http://mon-metastudio-exporter.observability.svc:10036/metrics",
		"kubectl -n observability port-forward svc/mon-metastudio-exporter 10036:10036",
		"curl -s http://127.0.0.1:10036/metrics",
	}
	for _, tc := range []struct {
		name, values string
		want, absent []string
	}{
		{"defaults", "", append(slices.Clone(metrics),
			"The live-event receiver is off; set callback.enabled=true",
			"WARNING: the config reads files from /etc/metastudio_exporter/secrets/ but\nexistingSecret is not set",
		), []string{"ServiceMonitor", "Service port \"callback\""}},
		{"receiver with URL", "existingSecret: s\nserviceMonitor: {enabled: true}\ncallback: {enabled: true, externalURL: 'https://mon.example.com/'}",
			append(slices.Clone(metrics),
				"A ServiceMonitor scrapes port \"metrics\" every 60s (timeout 30s), and the live\nstreams and jobs every 15s.",
				"The live-event receiver listens on Service port \"callback\" (10037).",
				"  https://mon.example.com/callback/<tenant>\n",
			), []string{"WARNING", "Set callback.externalURL"}},
		{"one scrape", "existingSecret: s\nserviceMonitor: {enabled: true, fastInterval: ''}",
			[]string{"A ServiceMonitor scrapes port \"metrics\" every 60s (timeout 30s).\n"}, []string{"live\nstreams"}},
		{"receiver without URL", "existingSecret: s\ncallback: {enabled: true}",
			[]string{"  https://<your public host>/callback/<tenant>\nSet callback.externalURL to that public base URL"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := notes(t, tc.values)
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("NOTES.txt lacks %q:\n%s", w, text)
				}
			}
			for _, a := range tc.absent {
				if strings.Contains(text, a) {
					t.Errorf("NOTES.txt has %q:\n%s", a, text)
				}
			}
		})
	}
}
