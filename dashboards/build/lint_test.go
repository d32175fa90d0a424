package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// TestDashboardsPassTheLinter runs every rule of Grafana's dashboard linter
// over the committed dashboards. A rule switched off must still find
// something, so that its reason cannot outlive the dashboards it was
// written for.
func TestDashboardsPassTheLinter(t *testing.T) {
	for _, s := range all {
		t.Run(s.file, func(t *testing.T) {
			d, err := decodeLintDashboard(readCommitted(t, s.file))
			if err != nil {
				t.Fatal(err)
			}
			found := lint(d)
			for _, r := range lintRules {
				switch {
				case r.off == "" && len(found[r.name]) > 0:
					t.Errorf("[%s]\n  %s", r.name, strings.Join(found[r.name], "\n  "))
				case r.off != "" && len(found[r.name]) == 0:
					t.Errorf("[%s] is switched off (%s), but finds nothing now: switch it on", r.name, r.off)
				}
			}
		})
	}
}

// goodDashboard passes every rule; each case of TestLintRulesFind breaks
// one thing in a copy of it.
const goodDashboard = `{
  "title": "Good",
  "editable": false,
  "templating": {"list": [
    {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus"},
    {"name": "job", "label": "Job", "type": "query", "datasource": {"type": "prometheus", "uid": "${datasource}"},
     "query": {"query": "label_values(up{job=~\".+\"}, job)", "refId": "A"}, "multi": true, "allValue": ".+", "refresh": 2},
    {"name": "instance", "label": "Instance", "type": "query", "datasource": {"type": "prometheus", "uid": "$datasource"},
     "query": "label_values(up{job=~\"$job\"}, instance)", "multi": true, "allValue": ".+", "refresh": 2}
  ]},
  "panels": [
    {"id": 1, "type": "row", "title": "Requests", "panels": []},
    {"id": 2, "type": "timeseries", "title": "Requests per second", "description": "HTTP requests, by code.",
     "datasource": {"type": "prometheus", "uid": "${datasource}"},
     "fieldConfig": {"defaults": {"unit": "reqps"}, "overrides": []},
     "targets": [{"refId": "A", "datasource": {"type": "prometheus", "uid": "${datasource}"},
       "expr": "sum by (code) (rate(http_requests_total{job=~\"$job\",instance=~\"$instance\"}[$__rate_interval]))"}]},
    {"id": 3, "type": "stat", "title": "Up", "description": "Targets up now.",
     "datasource": {"type": "prometheus", "uid": "${datasource}"},
     "fieldConfig": {"defaults": {"unit": "none", "mappings": [{"type": "value", "options": {"1": {"text": "up"}}}]}},
     "targets": [{"refId": "A", "expr": "up{job=~\"$job\",instance=~\"$instance\"}"}]}
  ]
}`

// edit changes the good dashboard, decoded as generic JSON.
type edit func(d map[string]any)

func variableAt(i int) func(d map[string]any) map[string]any {
	return func(d map[string]any) map[string]any {
		return d["templating"].(map[string]any)["list"].([]any)[i].(map[string]any)
	}
}

func panelAt(i int) func(d map[string]any) map[string]any {
	return func(d map[string]any) map[string]any { return d["panels"].([]any)[i].(map[string]any) }
}

func targetOf(panel int) func(d map[string]any) map[string]any {
	return func(d map[string]any) map[string]any {
		return panelAt(panel)(d)["targets"].([]any)[0].(map[string]any)
	}
}

// set sets key of the object at to value.
func set(at func(map[string]any) map[string]any, key string, value any) edit {
	return func(d map[string]any) { at(d)[key] = value }
}

// drop removes key from the object at.
func drop(at func(map[string]any) map[string]any, key string) edit {
	return func(d map[string]any) { delete(at(d), key) }
}

func root(d map[string]any) map[string]any { return d }

func brokenDashboard(t *testing.T, edits ...edit) *lintDashboard {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(goodDashboard), &m); err != nil {
		t.Fatal(err)
	}
	for _, e := range edits {
		e(m)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	d, err := decodeLintDashboard(b)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestGoodDashboardPassesEveryRule(t *testing.T) {
	d := brokenDashboard(t)
	for name, problems := range lint(d) {
		if len(problems) > 0 {
			t.Errorf("[%s] on the good dashboard: %q", name, problems)
		}
	}
}

// TestEveryRuleIsTested: each rule is shown to find a dashboard that
// breaks it.
func TestEveryRuleIsTested(t *testing.T) {
	tested := map[string]bool{}
	for _, c := range lintCases {
		tested[c.rule] = true
	}
	for _, r := range lintRules {
		if !tested[r.name] {
			t.Errorf("[%s] has no case in lintCases", r.name)
		}
	}
	if len(lintRules) != 17 {
		t.Errorf("%d rules, the linter has 17", len(lintRules))
	}
}

func TestLintRulesFind(t *testing.T) {
	for _, c := range lintCases {
		t.Run(c.rule+"/"+c.name, func(t *testing.T) {
			got := ruleNamed(c.rule).check(brokenDashboard(t, c.edits...))
			if !slices.Equal(got, c.want) {
				t.Errorf("found\n  %q\nwant\n  %q", got, c.want)
			}
		})
	}
}
