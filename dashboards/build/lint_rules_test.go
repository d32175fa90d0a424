package main

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/prometheus/prometheus/promql/parser"
)

// The rules of Grafana's dashboard linter (github.com/grafana/dashboard-linter,
// v0.2.0), each under the linter's own name. The linter cannot be used as a
// library here: the Go module proxy refuses a module it requires
// (github.com/grafana/grafana/apps/dashboard). Each rule below checks what
// the linter's rule of that name checks, read from its documentation and
// source; where the linter's code is looser than its rule's stated aim, the
// check follows the aim and says so:
//   - rules the linter applies to some panel types apply to every panel
//     that runs queries (bar gauges and state timelines included);
//   - panel-units-rule skips panels whose value mappings name the values,
//     but not panels with an empty mappings list;
//   - target-counter-agg-rule finds a _total counter by its metric name,
//     with or without label matchers;
//   - template-label-promql-rule parses label_values' selector as a series
//     selector and checks its label name, rather than parsing the arguments
//     together leniently;
//   - target-logql-rule needs Loki's LogQL parser, which is not linked here:
//     it refuses every LogQL query, so a Loki panel cannot pass unchecked.

// lintRule is one rule: its name and what it finds in a dashboard, one
// message per problem.
type lintRule struct {
	name  string
	check func(d *lintDashboard) []string
	// off, when set, is why the rule does not hold for these dashboards.
	// Such a rule still runs, and must still find something: once it
	// passes, the reason is gone and it is switched on again.
	off string
}

var lintRules = []lintRule{
	{name: "template-datasource-rule", check: checkTemplateDatasource},
	{name: "template-job-rule", check: func(d *lintDashboard) []string { return checkLabelVariable(d, "job") }},
	{name: "template-instance-rule", check: func(d *lintDashboard) []string { return checkLabelVariable(d, "instance") },
		off: instanceOff},
	{name: "template-label-promql-rule", check: checkVariableQueries},
	{name: "template-on-time-change-reload-rule", check: checkVariableRefresh},
	{name: "panel-datasource-rule", check: forEachQueryPanel(checkPanelDatasource)},
	{name: "panel-title-description-rule", check: forEachQueryPanel(checkPanelTitleDescription)},
	{name: "panel-units-rule", check: forEachQueryPanel(checkPanelUnits)},
	{name: "panel-no-targets-rule", check: forEachQueryPanel(checkPanelHasTargets)},
	{name: "target-logql-rule", check: forEachTarget("loki", checkLogQL)},
	{name: "target-logql-auto-rule", check: forEachTarget("loki", checkLogQLAuto)},
	{name: "target-promql-rule", check: forEachTarget("prometheus", checkPromQL)},
	{name: "target-rate-interval-rule", check: forEachPromQL(checkRateInterval)},
	{name: "target-job-rule", check: forEachPromQL(func(q parser.Expr) []string { return checkMatcher(q, "job") })},
	{name: "target-instance-rule", check: forEachPromQL(func(q parser.Expr) []string { return checkMatcher(q, "instance") }),
		off: instanceOff},
	{name: "target-counter-agg-rule", check: forEachPromQL(checkCounterAggregation)},
	{name: "uneditable-dashboard", check: checkUneditable},
}

// instanceOff is why neither an instance variable nor instance matchers
// fit these dashboards.
const instanceOff = "the tenant label, not instance, says whose series a panel shows: " +
	"instance is an exporter replica, and every replica serves every tenant " +
	"and reports the live streams whose events reached it, so the panels take " +
	"the newest state over all replicas; an instance filter would split one " +
	"stream's state between replicas and hide the replicas not selected"

// lint runs every rule over a dashboard.
func lint(d *lintDashboard) map[string][]string {
	found := map[string][]string{}
	for _, r := range lintRules {
		found[r.name] = r.check(d)
	}
	return found
}

func ruleNamed(name string) lintRule {
	i := slices.IndexFunc(lintRules, func(r lintRule) bool { return r.name == name })
	if i < 0 {
		panic("no lint rule " + name)
	}
	return lintRules[i]
}

func titleCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, " or ")
}

// checkTemplateDatasource: a datasource variable lets users pick their
// datasource, named for its plugin (prometheus_datasource, "Prometheus data
// source") or, when it is the only one, datasource and "Data source".
func checkTemplateDatasource(d *lintDashboard) []string {
	vars := d.variablesOfType("datasource")
	if len(vars) == 0 {
		return []string{"has no datasource variable"}
	}
	var out []string
	for _, v := range vars {
		names := []string{string(v.Query) + "_datasource"}
		labels := []string{titleCase(string(v.Query)) + " data source"}
		if len(vars) == 1 {
			names = append(names, "datasource")
			labels = append(labels, "Data source")
		}
		if !slices.Contains(names, v.Name) {
			out = append(out, fmt.Sprintf("datasource variable %q: name it %s", v.Name, quoteAll(names)))
		}
		if !slices.Contains(labels, v.Label) {
			out = append(out, fmt.Sprintf("datasource variable %q: label %q, want %s", v.Name, v.Label, quoteAll(labels)))
		}
	}
	return out
}

// checkLabelVariable: on a Prometheus dashboard, a variable for the label
// name (job, instance): a query on the datasource variable, labelled
// "Job", several values at once, and All as .+ (every series that has the
// label, which .* is not).
func checkLabelVariable(d *lintDashboard, name string) []string {
	if !d.queriesPrometheus() {
		return nil
	}
	v := d.variable(name)
	if v == nil {
		return []string{fmt.Sprintf("has no %s variable", name)}
	}
	var out []string
	problem := func(format string, args ...any) {
		out = append(out, fmt.Sprintf("%s variable: ", name)+fmt.Sprintf(format, args...))
	}
	if d.datasourceVariable(v.Datasource) == nil {
		problem("datasource %q is not a datasource variable", v.Datasource.UID)
	}
	if v.Type != "query" {
		problem("type %q, want query", v.Type)
	}
	if want := titleCase(name); v.Label != want {
		problem("label %q, want %q", v.Label, want)
	}
	if !v.Multi {
		problem("not multi-value")
	}
	if v.AllValue != ".+" {
		problem("allValue %q, want \".+\"", v.AllValue)
	}
	return out
}

var (
	variableQueryRE = regexp.MustCompile(`(?s)^\s*(\w+)\((.*)\)\s*$`)
	labelNameRE     = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

// checkVariableQueries: every query variable is one of the Prometheus
// datasource's variable queries, with valid PromQL in it.
func checkVariableQueries(d *lintDashboard) []string {
	if !d.queriesPrometheus() {
		return nil
	}
	var out []string
	for _, v := range d.variablesOfType("query") {
		if err := checkVariableQuery(string(v.Query), d); err != nil {
			out = append(out, fmt.Sprintf("variable %q: query %q: %v", v.Name, v.Query, err))
		}
	}
	return out
}

func checkVariableQuery(query string, d *lintDashboard) error {
	m := variableQueryRE.FindStringSubmatch(query)
	if m == nil {
		return fmt.Errorf("not a function call such as label_values(...)")
	}
	args := strings.TrimSpace(m[2])
	switch m[1] {
	case "label_names":
		if args == "" {
			return nil
		}
		_, err := promqlParser.ParseMetricSelector(expandVariables(args, d))
		return err
	case "label_values":
		selector, label, hasSelector := splitLastArgument(args)
		if !labelNameRE.MatchString(label) {
			return fmt.Errorf("%q is not a label name", label)
		}
		if !hasSelector {
			return nil
		}
		_, err := promqlParser.ParseMetricSelector(expandVariables(selector, d))
		return err
	case "metrics":
		_, err := regexp.Compile(args)
		return err
	case "query_result":
		_, err := parsePromQL(args, d)
		return err
	default:
		return fmt.Errorf("unknown function %s, want label_names, label_values, metrics or query_result", m[1])
	}
}

// checkVariableRefresh: query variables reload when the time range
// changes, so that they offer the values of the range shown.
func checkVariableRefresh(d *lintDashboard) []string {
	var out []string
	for _, v := range d.variablesOfType("query") {
		if v.Refresh != 2 {
			out = append(out, fmt.Sprintf("variable %q: refresh %d, want 2 (on time range change)", v.Name, v.Refresh))
		}
	}
	return out
}

// checkUneditable: a dashboard shipped as code is changed in its code; a
// user who edits it in Grafana loses the edit at the next import.
func checkUneditable(d *lintDashboard) []string {
	if d.Editable {
		return []string{"is editable; set editable: false"}
	}
	return nil
}
