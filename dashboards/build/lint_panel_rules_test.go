package main

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/prometheus/model/labels"
	promql "github.com/prometheus/prometheus/promql/parser"
)

// noQueryPanels are the panel types that show no query's data.
var noQueryPanels = map[string]bool{"row": true, "text": true, "news": true, "dashlist": true, "alertlist": true, "annolist": true, "welcome": true}

// forEachQueryPanel applies a panel check to every panel that runs
// queries, naming the panel in each message.
func forEachQueryPanel(check func(d *lintDashboard, p *lintPanel) []string) func(*lintDashboard) []string {
	return func(d *lintDashboard) []string {
		var out []string
		for _, p := range d.panels() {
			if noQueryPanels[p.Type] {
				continue
			}
			for _, m := range check(d, p) {
				out = append(out, fmt.Sprintf("panel %q: %s", p.Title, m))
			}
		}
		return out
	}
}

// forEachTarget applies a query check to every query of the plugin,
// naming the panel and the query in each message.
func forEachTarget(plugin string, check func(d *lintDashboard, t *lintTarget) []string) func(*lintDashboard) []string {
	return func(d *lintDashboard) []string {
		var out []string
		for _, p := range d.panels() {
			for i := range p.Targets {
				t := &p.Targets[i]
				if d.plugin(p, t) != plugin {
					continue
				}
				for _, m := range check(d, t) {
					out = append(out, fmt.Sprintf("panel %q query %s: %s", p.Title, t.RefID, m))
				}
			}
		}
		return out
	}
}

// forEachPromQL applies a check to every Prometheus query that parses;
// one that does not is target-promql-rule's to report.
func forEachPromQL(check func(q promql.Expr) []string) func(*lintDashboard) []string {
	return forEachTarget("prometheus", func(d *lintDashboard, t *lintTarget) []string {
		q, err := parsePromQL(t.Expr, d)
		if t.Expr == "" || err != nil {
			return nil
		}
		return check(q)
	})
}

// checkPanelDatasource: a panel and its queries take their datasource
// from the datasource variable, so that the dashboard works on whatever
// datasource a user picks.
func checkPanelDatasource(d *lintDashboard, p *lintPanel) []string {
	var out []string
	if d.datasourceVariable(p.Datasource) == nil {
		out = append(out, fmt.Sprintf("datasource %q is not a datasource variable", p.Datasource.UID))
	}
	for _, t := range p.Targets {
		if t.Datasource != (lintDatasource{}) && d.datasourceVariable(t.Datasource) == nil {
			out = append(out, fmt.Sprintf("query %s: datasource %q is not a datasource variable", t.RefID, t.Datasource.UID))
		}
	}
	return out
}

func checkPanelTitleDescription(_ *lintDashboard, p *lintPanel) []string {
	var out []string
	if strings.TrimSpace(p.Title) == "" {
		out = append(out, "has no title")
	}
	if strings.TrimSpace(p.Description) == "" {
		out = append(out, "has no description")
	}
	return out
}

func checkPanelHasTargets(_ *lintDashboard, p *lintPanel) []string {
	if len(p.Targets) == 0 {
		return []string{"has no queries"}
	}
	return nil
}

// checkPanelUnits: every unit set is one Grafana knows, and a panel shows
// its values with a unit unless value mappings name them or a stat panel
// shows a text field.
func checkPanelUnits(_ *lintDashboard, p *lintPanel) []string {
	known, err := grafanaUnits()
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	unit, mapped := p.FieldConfig.Defaults.Unit, len(p.FieldConfig.Defaults.Mappings) > 0
	if unit != "" && !known[unit] {
		out = append(out, fmt.Sprintf("unit %q is not a Grafana unit", unit))
	}
	for _, o := range p.FieldConfig.Overrides {
		for _, prop := range o.Properties {
			switch prop.ID {
			case "unit":
				var u string
				if json.Unmarshal(prop.Value, &u) != nil || !known[u] {
					out = append(out, fmt.Sprintf("override unit %s is not a Grafana unit", prop.Value))
				}
			case "mappings":
				var m []json.RawMessage
				mapped = mapped || json.Unmarshal(prop.Value, &m) == nil && len(m) > 0
			}
		}
	}
	textField := p.Type == "stat" && p.Options.ReduceOptions.Fields != ""
	if unit == "" && !mapped && !textField {
		out = append(out, "has no unit")
	}
	return out
}

// grafanaUnits are the unit ids Grafana formats values with, as the
// foundation SDK's units package lists them.
var grafanaUnits = sync.OnceValues(func() (map[string]bool, error) {
	const pkg = "github.com/grafana/grafana-foundation-sdk/go/units"
	dir, err := exec.Command("go", "list", "-f", "{{.Dir}}", pkg).Output()
	if err != nil {
		return nil, fmt.Errorf("go list %s: %w", pkg, err)
	}
	sources, err := filepath.Glob(filepath.Join(strings.TrimSpace(string(dir)), "*.go"))
	if err != nil {
		return nil, err
	}
	known := map[string]bool{}
	for _, src := range sources {
		f, err := parser.ParseFile(token.NewFileSet(), src, nil, 0)
		if err != nil {
			return nil, err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if u, err := strconv.Unquote(lit.Value); err == nil {
					known[u] = true
				}
			}
			return true
		})
	}
	if len(known) < 100 {
		return nil, fmt.Errorf("%s lists %d units, want Grafana's (well over 100)", pkg, len(known))
	}
	return known, nil
})

func checkPromQL(d *lintDashboard, t *lintTarget) []string {
	if t.Expr == "" {
		if t.PanelID == 0 {
			return []string{"has an empty query"}
		}
		for _, p := range d.panels() {
			if p.ID == t.PanelID {
				return nil
			}
		}
		return []string{fmt.Sprintf("reuses the queries of panel %d, which does not exist", t.PanelID)}
	}
	if _, err := parsePromQL(t.Expr, d); err != nil {
		return []string{fmt.Sprintf("invalid PromQL %q: %v", t.Expr, err)}
	}
	return nil
}

// checkRateInterval: rate and irate take $__rate_interval, which Grafana
// keeps at least four scrape intervals wide; a fixed range gives gaps or
// blurs as the time range changes.
func checkRateInterval(q promql.Expr) []string {
	var out []string
	promql.Inspect(q, func(n promql.Node, path []promql.Node) error {
		m, ok := n.(*promql.MatrixSelector)
		if !ok || m.Range == rateIntervalStandIn || len(path) == 0 {
			return nil
		}
		if call, ok := path[len(path)-1].(*promql.Call); ok && (call.Func.Name == "rate" || call.Func.Name == "irate") {
			out = append(out, fmt.Sprintf("%s(%s) should use $__rate_interval", call.Func.Name, m))
		}
		return nil
	})
	return out
}

// checkMatcher: every selector filters on the dashboard's variable of
// that label, label=~"$label".
func checkMatcher(q promql.Expr, label string) []string {
	var out []string
	want := fmt.Sprintf("%s=~%q", label, "$"+label)
	promql.Inspect(q, func(n promql.Node, _ []promql.Node) error {
		vs, ok := n.(*promql.VectorSelector)
		if !ok {
			return nil
		}
		for _, m := range vs.LabelMatchers {
			if m.Name == label && m.Type == labels.MatchRegexp && m.Value == "$"+label {
				return nil
			}
		}
		out = append(out, fmt.Sprintf("selector %s does not filter on %s", vs, want))
		return nil
	})
	return out
}

// checkCounterAggregation: a counter (_total) is read through rate, irate
// or increase: its raw value depends on when the process started.
func checkCounterAggregation(q promql.Expr) []string {
	var out []string
	promql.Inspect(q, func(n promql.Node, path []promql.Node) error {
		vs, ok := n.(*promql.VectorSelector)
		if !ok || !strings.HasSuffix(metricName(vs), "_total") {
			return nil
		}
		if len(path) >= 2 {
			_, ranged := path[len(path)-1].(*promql.MatrixSelector)
			call, inCall := path[len(path)-2].(*promql.Call)
			if ranged && inCall && (call.Func.Name == "rate" || call.Func.Name == "irate" || call.Func.Name == "increase") {
				return nil
			}
		}
		out = append(out, fmt.Sprintf("counter %s is not read through rate, irate or increase", vs))
		return nil
	})
	return out
}

func checkLogQL(_ *lintDashboard, t *lintTarget) []string {
	return []string{fmt.Sprintf("LogQL query %q cannot be checked: no LogQL parser is linked here", t.Expr)}
}

var logRangeRE = regexp.MustCompile(`\[([^\]]*)\]`)

// checkLogQLAuto: a LogQL range is $__auto, which Grafana sizes to the
// time range and the panel's width.
func checkLogQLAuto(_ *lintDashboard, t *lintTarget) []string {
	var out []string
	for _, m := range logRangeRE.FindAllStringSubmatch(t.Expr, -1) {
		if r := strings.TrimSpace(m[1]); r != "$__auto" && r != "${__auto}" {
			out = append(out, fmt.Sprintf("range [%s] should be [$__auto]", r))
		}
	}
	return out
}
