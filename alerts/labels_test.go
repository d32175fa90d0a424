package alerts

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// tenantLabel finds a series' tenant label in a promtool input series.
var tenantLabel = regexp.MustCompile(`tenant="([^"]*)"`)

// ownerOf is the team label the rewritten tests give a tenant's series.
func ownerOf(tenant string) string { return "owner-of-" + tenant }

// TestAlertsCarryTenantLabels runs every promtool test of alerts/tests
// again with a fixed label (team, as a tenant's labels: would set it) on
// every input series of a tenant, and expects every alert about a tenant to
// carry it: a rule that aggregated by the labels it keeps, instead of
// without the ones it drops, would page nobody's team.
func TestAlertsCarryTenantLabels(t *testing.T) {
	promtool := lookPromtool(t)
	rules, err := filepath.Abs(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join("tests", "*.yml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no promtool tests in alerts/tests: %v", err)
	}
	dir := t.TempDir()
	var rewritten []string
	labelled := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		labelled += withTeams(t, &doc, rules)
		out, err := yaml.Marshal(&doc)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, filepath.Base(f))
		if err := os.WriteFile(path, out, 0o600); err != nil {
			t.Fatal(err)
		}
		rewritten = append(rewritten, path)
	}
	if labelled == 0 {
		t.Fatal("no expected alert has a tenant: nothing was checked")
	}
	if out, err := exec.Command(promtool, append([]string{"test", "rules"}, rewritten...)...).CombinedOutput(); err != nil {
		t.Errorf("with a team label on every tenant's series, promtool test rules: %v\n%s", err, out)
	}
}

// withTeams rewrites one promtool test file in place: its rule file is the
// bundled one at rules, every input series with a tenant gains
// team=ownerOf(tenant), and so does every expected alert with a tenant,
// unless it has a team already. It returns how many expected alerts it gave
// a team.
func withTeams(t *testing.T, doc *yaml.Node, rules string) int {
	t.Helper()
	n := 0
	root := doc.Content[0]
	if files := mapValue(root, "rule_files"); files != nil {
		for _, f := range files.Content {
			f.Value = rules
		}
	}
	for _, tc := range seqOf(mapValue(root, "tests")) {
		for _, s := range seqOf(mapValue(tc, "input_series")) {
			series := mapValue(s, "series")
			if m := tenantLabel.FindStringSubmatch(series.Value); m != nil && m[1] != "" && !strings.Contains(series.Value, `team="`) {
				i := strings.LastIndex(series.Value, "}")
				series.Value = series.Value[:i] + `,team="` + ownerOf(m[1]) + `"` + series.Value[i:]
			}
		}
		for _, art := range seqOf(mapValue(tc, "alert_rule_test")) {
			for _, exp := range seqOf(mapValue(art, "exp_alerts")) {
				labels := mapValue(exp, "exp_labels")
				if tenant := mapValue(labels, "tenant"); tenant != nil && tenant.Value != "" && mapValue(labels, "team") == nil {
					labels.Content = append(labels.Content,
						&yaml.Node{Kind: yaml.ScalarNode, Value: "team"},
						&yaml.Node{Kind: yaml.ScalarNode, Value: ownerOf(tenant.Value)})
					n++
				}
			}
		}
	}
	return n
}

// mapValue is the value of key in mapping m; nil if m is none or lacks it.
func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// seqOf is the items of sequence s; none if s is not one.
func seqOf(s *yaml.Node) []*yaml.Node {
	if s == nil || s.Kind != yaml.SequenceNode {
		return nil
	}
	return s.Content
}
