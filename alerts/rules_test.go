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
	"MetaStudioCallbackNotHttps":            "critical",
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
	"MetaStudioCallbackReceiverSaturated":   "warning",
	"MetaStudioRoomRunsForever":             "warning",
	"MetaStudioRoomCallbackUnsafe":          "warning",
	"MetaStudioLiveJobNearMaxDuration":      "info",
	"MetaStudioLiveJobStreamStalled":        "critical",
	"MetaStudioLiveJobFailed":               "warning",
	"MetaStudioInventoryStale":              "warning",
}

// exporterAlerts have no tenant label: they are about the exporter itself.
var exporterAlerts = []string{"MetaStudioExporterConfigReloadFailed", "MetaStudioDiscoveryFailing", "MetaStudioCallbackStreamsEvicted", "MetaStudioCallbackStateFileFailing",
	"MetaStudioCallbackReceiverSaturated"}

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

// wantGroups are the rule groups, in order: users' Prometheus and the
// chart's PrometheusRule carry them by name.
var wantGroups = []string{"metastudio", "metastudio-live", "metastudio-rooms-and-jobs"}

func (rf ruleFile) rules() []rule {
	var out []rule
	for _, g := range rf.Groups {
		out = append(out, g.Rules...)
	}
	return out
}

func TestRulesMatchAlertTable(t *testing.T) {
	rf := loadRules(t)
	var groups []string
	for _, g := range rf.Groups {
		groups = append(groups, g.Name)
	}
	if !slices.Equal(groups, wantGroups) {
		t.Errorf("groups %q, want %q", groups, wantGroups)
	}

	seen := map[string]bool{}
	for _, r := range rf.rules() {
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
		d := r.Annotations["description"]
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
	}
	for name := range wantAlerts {
		if !seen[name] {
			t.Errorf("%s: missing from %s", name, rulesFile)
		}
	}
}

// TestRecordsPrecedeTheirReaders: Prometheus evaluates a group's rules in
// order and the groups independently, so a rule that reads a recorded
// series sees the record of the same evaluation only in the record's
// group, after it.
func TestRecordsPrecedeTheirReaders(t *testing.T) {
	recordedIn := map[string]string{}
	for _, g := range loadRules(t).Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				recordedIn[r.Record] = g.Name
			}
		}
	}
	for _, g := range loadRules(t).Groups {
		recorded := map[string]bool{}
		for _, r := range g.Rules {
			for record, group := range recordedIn {
				if strings.Contains(r.Expr, record) && (group != g.Name || !recorded[record]) {
					t.Errorf("%s%s in group %s reads %s, recorded in group %s: move it after the record, in the record's group", r.Alert, r.Record, g.Name, record, group)
				}
			}
			if r.Record != "" {
				recorded[r.Record] = true
			}
		}
	}
	if len(recordedIn) == 0 {
		t.Fatal("no recording rules found")
	}
}

// TestEveryAlertHasUnitTests guards against an alert that promtool never
// sees firing: each one must appear as an alertname in alerts/tests with at
// least one expected firing alert and one expected silence.
func TestEveryAlertHasUnitTests(t *testing.T) {
	fires, silent := map[string]bool{}, map[string]bool{}
	for f, tf := range loadPromtoolTests(t) {
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

// promtoolTest is one file of alerts/tests, as far as these tests read it.
type promtoolTest struct {
	RuleFiles []string `yaml:"rule_files"`
	Tests     []struct {
		AlertRuleTest []struct {
			AlertName string           `yaml:"alertname"`
			ExpAlerts []map[string]any `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

// loadPromtoolTests reads alerts/tests/*.yml, by file name.
func loadPromtoolTests(t *testing.T) map[string]promtoolTest {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("tests", "*.yml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no promtool tests in alerts/tests: %v", err)
	}
	out := map[string]promtoolTest{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var tf promtoolTest
		if err := yaml.Unmarshal(b, &tf); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[f] = tf
	}
	return out
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
