package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

const examples = "../examples/provisioning"

// TestProvisioningExamples checks the example configs with the tools of the
// packages users run them with, so that a copied example starts.
func TestProvisioningExamples(t *testing.T) {
	promtool := requireBinary(t, "prometheus", "promtool")
	amtool := requireBinary(t, "prometheus-alertmanager", "amtool")

	proms, err := filepath.Glob(filepath.Join(examples, "prometheus", "*.yml"))
	if err != nil || len(proms) == 0 {
		t.Fatalf("no Prometheus examples: %v", err)
	}
	for _, p := range proms {
		// rule_files is rules/*.rules.yml beside the file, as on a server;
		// here rules/ links to the bundled rules, so the full check runs
		// on the file as committed, rules included.
		out, err := exec.Command(promtool, "check", "config", p).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "SUCCESS: 1 rule files found") {
			t.Errorf("promtool check config %s: %v\n%s", p, err, out)
		}
	}
	// The local example loads the bundled rules from the repository: a full
	// check reads them through its rule_files.
	out, err := exec.Command(promtool, "check", "config", localPrometheus).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "SUCCESS: 1 rule files found") {
		t.Errorf("promtool check config %s: %v\n%s", localPrometheus, err, out)
	}
	if out, err := exec.Command(amtool, "check-config", localAlertmanager).CombinedOutput(); err != nil {
		t.Errorf("amtool check-config %s: %v\n%s", localAlertmanager, err, out)
	}
}

// TestAlertmanagerExampleRoutes asks amtool where examples/alertmanager.yml
// sends an alert: critical ones to the on-call and on to the tenant's team,
// info ones to the low-noise receiver, the rest to the team the tenant's
// labels name, and alerts with no team (the exporter's own) to the
// catch-all.
func TestAlertmanagerExampleRoutes(t *testing.T) {
	amtool := requireBinary(t, "prometheus-alertmanager", "amtool")
	for _, tc := range []struct {
		labels []string
		want   string
	}{
		{[]string{"alertname=MetaStudioLiveStreamDisconnected", "severity=critical", "tenant=demo-safe", "team=studio"}, "metastudio-oncall,team-studio"},
		{[]string{"alertname=MetaStudioCredentialsRejected", "severity=critical", "tenant=demo-rejected", "team=shop"}, "metastudio-oncall,team-shop"},
		{[]string{"alertname=MetaStudioLiveStreamFlapping", "severity=warning", "tenant=demo-safe", "team=studio"}, "team-studio"},
		{[]string{"alertname=MetaStudioCallbackUnsigned", "severity=warning", "tenant=cn-north-4_shop", "team=shop"}, "team-shop"},
		{[]string{"alertname=MetaStudioLiveConfigChanged", "severity=info", "tenant=demo-safe", "team=studio"}, "metastudio-info"},
		{[]string{"alertname=MetaStudioCallbackUnsigned", "severity=warning", "tenant=unowned"}, "metastudio-team"},
		{[]string{"alertname=MetaStudioDiscoveryFailing", "severity=warning"}, "metastudio-team"},
	} {
		out, err := exec.Command(amtool, append([]string{"config", "routes", "test", "--config.file=" + localAlertmanager}, tc.labels...)...).Output()
		if got := strings.TrimSpace(string(out)); err != nil || got != tc.want {
			t.Errorf("%v: routed to %q (%v), want %q", tc.labels, got, err, tc.want)
		}
	}
}

// TestGrafanaProvisioning checks the Grafana provisioning files against the
// shape Grafana reads, and that the dashboard provider points at a folder.
func TestGrafanaProvisioning(t *testing.T) {
	var ds struct {
		APIVersion  int `yaml:"apiVersion"`
		Datasources []struct {
			Name, Type, URL, Access string
		} `yaml:"datasources"`
	}
	readYAML(t, filepath.Join(examples, "grafana", "datasources", "prometheus.yml"), &ds)
	if ds.APIVersion != 1 || len(ds.Datasources) != 1 || ds.Datasources[0].Type != "prometheus" || ds.Datasources[0].URL == "" {
		t.Errorf("datasource provisioning: %+v", ds)
	}

	var dp struct {
		APIVersion int `yaml:"apiVersion"`
		Providers  []struct {
			Name    string            `yaml:"name"`
			Type    string            `yaml:"type"`
			Options map[string]string `yaml:"options"`
		} `yaml:"providers"`
	}
	readYAML(t, filepath.Join(examples, "grafana", "dashboards", "metastudio.yml"), &dp)
	if dp.APIVersion != 1 || len(dp.Providers) != 1 || dp.Providers[0].Type != "file" || !filepath.IsAbs(dp.Providers[0].Options["path"]) {
		t.Errorf("dashboard provider: %+v", dp)
	}

	// The README tells users which dashboard files to copy; they must exist.
	readme, err := os.ReadFile(filepath.Join(examples, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"../../dashboards/*.json", "../../alerts/metastudio.rules.yml"} {
		if !strings.Contains(string(readme), f) {
			t.Errorf("examples README does not mention %s", f)
		}
		matches, _ := filepath.Glob(filepath.Join(examples, f))
		if len(matches) == 0 {
			t.Errorf("%s matches no file", f)
		}
	}
}

func readYAML(t *testing.T, path string, into any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
