// Package alerts holds the bundled Prometheus rules; its tests check them with
// promtool and hold them to the contract of the alert table.
package alerts

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

const (
	rulesFile     = "metastudio.rules.yml"
	runbookFile   = "README.md"
	runbookPrefix = "https://github.com/metastudio-exporter/metastudio_exporter/blob/main/alerts/README.md#"
)

// wantAlerts is the product's alert table: names and severities are what
// users route and silence on, so a rename or a severity change must be
// deliberate.
var wantAlerts = map[string]string{
	"MetaStudioTenantDown":                  "warning",
	"MetaStudioCredentialsRejected":         "critical",
	"MetaStudioExporterConfigReloadFailed":  "warning",
	"MetaStudioDiscoveryFailing":            "warning",
	"MetaStudioLiveDurationUnlimited":       "warning",
	"MetaStudioLiveDurationAbovePolicy":     "warning",
	"MetaStudioExceptionWaitingUnlimited":   "critical",
	"MetaStudioExceptionWaitingAbovePolicy": "warning",
	"MetaStudioCallbackNotHTTPS":            "critical",
	"MetaStudioCallbackUnsigned":            "warning",
	"MetaStudioCallbackKeyMissing":          "critical",
	"MetaStudioStreamStateEventsDisabled":   "warning",
	"MetaStudioEventCallbackMissing":        "info",
	"MetaStudioInterruptionNotifyDisabled":  "warning",
	"MetaStudioLiveConfigChanged":           "info",
	"MetaStudioLiveStreamDisconnected":      "critical",
	"MetaStudioLiveStreamFlapping":          "warning",
	"MetaStudioLiveStreamStuckConnecting":   "warning",
	"MetaStudioCallbackRejected":            "warning",
	"MetaStudioCallbackNotRoutedHere":       "warning",
	"MetaStudioCallbackForwardFailing":      "warning",
	"MetaStudioCallbackStreamsEvicted":      "warning",
	"MetaStudioCallbackStateFileFailing":    "warning",
	"MetaStudioRoomRunsForever":             "warning",
	"MetaStudioRoomCallbackUnsafe":          "warning",
	"MetaStudioLiveJobNearMaxDuration":      "info",
	"MetaStudioLiveJobStreamStalled":        "critical",
	"MetaStudioLiveJobFailed":               "warning",
	"MetaStudioInventoryStale":              "warning",
}

// exporterAlerts have no tenant label: they are about the exporter itself.
var exporterAlerts = []string{"MetaStudioExporterConfigReloadFailed", "MetaStudioDiscoveryFailing", "MetaStudioCallbackStreamsEvicted", "MetaStudioCallbackStateFileFailing"}

// streamAlerts are about one live stream and carry its identity, read from
// every replica (no instance label).
var streamAlerts = []string{"MetaStudioLiveStreamDisconnected", "MetaStudioLiveStreamFlapping", "MetaStudioLiveStreamStuckConnecting"}

// wantFor is the documented `for` of each alert: long enough to ride out a
// transient API error or a setting being edited in the console, short enough
// to page before a stream has billed for hours.
func wantFor(alert string) string {
	switch alert {
	case "MetaStudioTenantDown":
		return "15m"
	case "MetaStudioCredentialsRejected", "MetaStudioExporterConfigReloadFailed":
		return "5m"
	case "MetaStudioLiveConfigChanged", "MetaStudioCallbackStreamsEvicted", "MetaStudioCallbackStateFileFailing":
		return "" // fires at once: it reports an event, not a state
	case "MetaStudioLiveStreamDisconnected", "MetaStudioLiveJobStreamStalled":
		return "1m" // a dropped push must page within a minute or two
	case "MetaStudioLiveJobNearMaxDuration", "MetaStudioLiveJobFailed":
		return "" // the 30 minutes left, the 15 minutes since, are in the expression
	case "MetaStudioInventoryStale":
		return "" // the 3 refresh intervals are in the expression
	case "MetaStudioLiveStreamFlapping":
		return "" // the 15-minute count of reconnections is the duration
	case "MetaStudioDiscoveryFailing":
		return "" // the 30 minutes without a listing are in the expression
	case "MetaStudioLiveStreamStuckConnecting":
		return "5m"
	default:
		return "10m"
	}
}

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []rule `yaml:"rules"`
	} `yaml:"groups"`
}

type rule struct {
	Alert       string            `yaml:"alert"`
	Record      string            `yaml:"record"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

func loadRules(t *testing.T) ruleFile {
	t.Helper()
	b, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	var rf ruleFile
	if err := yaml.Unmarshal(b, &rf); err != nil {
		t.Fatalf("%s: %v", rulesFile, err)
	}
	return rf
}

func TestRulesMatchAlertTable(t *testing.T) {
	rf := loadRules(t)
	if len(rf.Groups) != 1 || rf.Groups[0].Name != "metastudio" {
		t.Fatalf("want exactly one group named metastudio, got %d groups", len(rf.Groups))
	}
	readme, err := os.ReadFile(runbookFile)
	if err != nil {
		t.Fatal(err)
	}
	anchors := markdownAnchors(string(readme))

	seen := map[string]bool{}
	for _, r := range rf.Groups[0].Rules {
		if r.Alert == "" {
			continue
		}
		if seen[r.Alert] {
			t.Errorf("%s: defined twice", r.Alert)
		}
		seen[r.Alert] = true
		want, ok := wantAlerts[r.Alert]
		if !ok {
			t.Errorf("%s: not in the alert table", r.Alert)
			continue
		}
		if got := r.Labels["severity"]; got != want {
			t.Errorf("%s: severity %q, want %q", r.Alert, got, want)
		}
		if got, want := r.For, wantFor(r.Alert); got != want {
			t.Errorf("%s: for %q, want %q as documented in README.md", r.Alert, got, want)
		}
		if s := r.Annotations["summary"]; s == "" || strings.Contains(s, "{{") {
			t.Errorf("%s: summary must be a fixed sentence, got %q", r.Alert, s)
		}
		d := r.Annotations["description"]
		if !strings.Contains(d, "{{") {
			t.Errorf("%s: description is not templated: %q", r.Alert, d)
		}
		// Exporter alerts have no tenant label: they name the exporter instead.
		if !slices.Contains(exporterAlerts, r.Alert) && !strings.Contains(d, "$labels.tenant") {
			t.Errorf("%s: description does not name the tenant", r.Alert)
		}
		if slices.Contains(streamAlerts, r.Alert) {
			for _, l := range []string{"$labels.room_id", "$labels.job_id", "$labels.output_host"} {
				if !strings.Contains(d, l) {
					t.Errorf("%s: description does not name the stream's %s", r.Alert, l)
				}
			}
			// Each replica sees part of the events: a stream alert that
			// keeps the instance label would page once per replica, and
			// from the wrong state.
			if !strings.Contains(r.Expr, "stream:metastudio_live_stream_state_timestamp_seconds:max") {
				t.Errorf("%s: does not read the fleet's view of the stream", r.Alert)
			}
		}
		if strings.Contains(r.Expr, "job=") || strings.Contains(r.Expr, "job!") {
			t.Errorf("%s: expression selects on job, which users name freely: %s", r.Alert, r.Expr)
		}
		u := r.Annotations["runbook_url"]
		anchor, ok := strings.CutPrefix(u, runbookPrefix)
		if !ok {
			t.Errorf("%s: runbook_url %q does not point into alerts/README.md", r.Alert, u)
			continue
		}
		if anchor != strings.ToLower(r.Alert) {
			t.Errorf("%s: runbook anchor %q, want %q", r.Alert, anchor, strings.ToLower(r.Alert))
		}
		if !anchors[anchor] {
			t.Errorf("%s: README.md has no heading with anchor #%s", r.Alert, anchor)
		}
	}
	for name := range wantAlerts {
		if !seen[name] {
			t.Errorf("%s: missing from %s", name, rulesFile)
		}
	}
}

// TestEveryAlertHasUnitTests guards against an alert that promtool never
// sees firing: each one must appear as an alertname in alerts/tests with at
// least one expected firing alert and one expected silence.
func TestEveryAlertHasUnitTests(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("tests", "*.yml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no promtool tests in alerts/tests: %v", err)
	}
	type testFile struct {
		RuleFiles []string `yaml:"rule_files"`
		Tests     []struct {
			AlertRuleTest []struct {
				AlertName string           `yaml:"alertname"`
				ExpAlerts []map[string]any `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	fires, silent := map[string]bool{}, map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var tf testFile
		if err := yaml.Unmarshal(b, &tf); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, rfn := range tf.RuleFiles {
			if filepath.Clean(filepath.Join("tests", rfn)) != rulesFile {
				t.Errorf("%s: tests %s, not the bundled %s", f, rfn, rulesFile)
			}
		}
		for _, tc := range tf.Tests {
			for _, a := range tc.AlertRuleTest {
				if len(a.ExpAlerts) > 0 {
					fires[a.AlertName] = true
					for _, e := range a.ExpAlerts {
						if e["exp_annotations"] == nil {
							t.Errorf("%s: %s: expected alert without exp_annotations", f, a.AlertName)
						}
					}
				} else {
					silent[a.AlertName] = true
				}
			}
		}
	}
	for name := range wantAlerts {
		if !fires[name] {
			t.Errorf("%s: no promtool test expects it to fire", name)
		}
		if !silent[name] {
			t.Errorf("%s: no promtool test expects it to stay silent", name)
		}
	}
}

func TestPromtool(t *testing.T) {
	promtool := lookPromtool(t)
	run := func(args ...string) {
		t.Helper()
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("check", "rules", rulesFile)
	tests, err := filepath.Glob(filepath.Join("tests", "*.yml"))
	if err != nil || len(tests) == 0 {
		t.Fatalf("no promtool tests in alerts/tests: %v", err)
	}
	run(append([]string{"test", "rules"}, tests...)...)
}

// lookPromtool finds promtool. CI installs it, so there its absence is a
// broken pipeline, not a reason to skip.
func lookPromtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("promtool not on PATH and CI is set: %v", err)
		}
		t.Skip("promtool not on PATH; install the prometheus package to run the rule unit tests")
	}
	return p
}

var headingRE = regexp.MustCompile(`(?m)^#{1,6}\s+(.+?)\s*$`)

// markdownAnchors returns the anchors GitHub generates for the headings of a
// Markdown document: lower case, spaces to dashes, punctuation dropped.
func markdownAnchors(doc string) map[string]bool {
	out := map[string]bool{}
	for _, m := range headingRE.FindAllStringSubmatch(doc, -1) {
		var b strings.Builder
		for _, r := range strings.ToLower(m[1]) {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9'):
				b.WriteRune(r)
			}
		}
		out[b.String()] = true
	}
	return out
}
