package main

import "testing"

// lintCase breaks the good dashboard with edits and lists what rule must
// find in it, message for message; an empty want is a case the rule must
// let through.
type lintCase struct {
	rule, name string
	edits      []edit
	want       []string
}

var (
	datasourceVar = variableAt(0)
	jobVar        = variableAt(1)
	instanceVar   = variableAt(2)
	ratePanel     = panelAt(1)
	statPanel     = panelAt(2)
	rateQuery     = targetOf(1)
	statQuery     = targetOf(2)
)

// withoutVariable drops the variable at index i.
func withoutVariable(i int) edit {
	return func(d map[string]any) {
		tl := d["templating"].(map[string]any)
		list := tl["list"].([]any)
		tl["list"] = append(list[:i:i], list[i+1:]...)
	}
}

func lokiQuery(expr string) []edit {
	return []edit{set(rateQuery, "datasource", map[string]any{"type": "loki", "uid": "logs"}), set(rateQuery, "expr", expr)}
}

var lintCases = []lintCase{
	{rule: "template-datasource-rule", name: "none", edits: []edit{withoutVariable(0)},
		want: []string{"has no datasource variable"}},
	{rule: "template-datasource-rule", name: "misnamed", edits: []edit{set(datasourceVar, "name", "ds"), set(datasourceVar, "label", "Prometheus")},
		want: []string{
			`datasource variable "ds": name it "prometheus_datasource" or "datasource"`,
			`datasource variable "ds": label "Prometheus", want "Prometheus data source" or "Data source"`,
		}},

	{rule: "template-job-rule", name: "missing", edits: []edit{withoutVariable(1)},
		want: []string{"has no job variable"}},
	{rule: "template-job-rule", name: "every field wrong", edits: []edit{
		set(jobVar, "datasource", map[string]any{"type": "prometheus", "uid": "prom1"}), set(jobVar, "type", "custom"),
		set(jobVar, "label", "job"), set(jobVar, "multi", false), set(jobVar, "allValue", ".*")},
		want: []string{
			`job variable: datasource "prom1" is not a datasource variable`,
			`job variable: type "custom", want query`,
			`job variable: label "job", want "Job"`,
			`job variable: not multi-value`,
			`job variable: allValue ".*", want ".+"`,
		}},
	{rule: "template-job-rule", name: "not on Prometheus", edits: []edit{withoutVariable(1), set(datasourceVar, "query", "loki")}},

	{rule: "template-instance-rule", name: "missing", edits: []edit{withoutVariable(2)},
		want: []string{"has no instance variable"}},
	{rule: "template-instance-rule", name: "All as .*", edits: []edit{set(instanceVar, "allValue", ".*")},
		want: []string{`instance variable: allValue ".*", want ".+"`}},

	{rule: "template-label-promql-rule", name: "not a call", edits: []edit{set(instanceVar, "query", "up")},
		want: []string{`variable "instance": query "up": not a function call such as label_values(...)`}},
	{rule: "template-label-promql-rule", name: "unknown function", edits: []edit{set(instanceVar, "query", "values(up, instance)")},
		want: []string{`variable "instance": query "values(up, instance)": unknown function values, want label_names, label_values, metrics or query_result`}},
	{rule: "template-label-promql-rule", name: "broken selector", edits: []edit{set(instanceVar, "query", `label_values(up{job=~"$job", instance)`)},
		want: []string{`variable "instance": query "label_values(up{job=~\"$job\", instance)": 1:15: parse error: unexpected end of input inside braces`}},
	{rule: "template-label-promql-rule", name: "bad label name", edits: []edit{set(instanceVar, "query", `label_values(up, 1instance)`)},
		want: []string{`variable "instance": query "label_values(up, 1instance)": "1instance" is not a label name`}},
	{rule: "template-label-promql-rule", name: "broken query_result", edits: []edit{set(instanceVar, "query", `query_result(topk(5, up)`)},
		want: []string{`variable "instance": query "query_result(topk(5, up)": 1:11: parse error: unclosed left parenthesis`}},
	{rule: "template-label-promql-rule", name: "a comma inside the selector", edits: []edit{
		set(instanceVar, "query", `label_values(up{job=~"a,b"}, instance)`)}},

	{rule: "template-on-time-change-reload-rule", name: "on load", edits: []edit{set(jobVar, "refresh", 1)},
		want: []string{`variable "job": refresh 1, want 2 (on time range change)`}},

	{rule: "panel-datasource-rule", name: "fixed datasource", edits: []edit{
		set(ratePanel, "datasource", map[string]any{"type": "prometheus", "uid": "P1809F7CD0C75ACF3"})},
		want: []string{`panel "Requests per second": datasource "P1809F7CD0C75ACF3" is not a datasource variable`}},
	{rule: "panel-datasource-rule", name: "a query's own datasource", edits: []edit{set(rateQuery, "datasource", "Prometheus")},
		want: []string{`panel "Requests per second": query A: datasource "Prometheus" is not a datasource variable`}},

	{rule: "panel-title-description-rule", name: "no description", edits: []edit{drop(statPanel, "description")},
		want: []string{`panel "Up": has no description`}},
	{rule: "panel-title-description-rule", name: "blank title", edits: []edit{set(statPanel, "title", " ")},
		want: []string{`panel " ": has no title`}},

	{rule: "panel-units-rule", name: "unknown unit", edits: []edit{set(ratePanel, "fieldConfig", map[string]any{"defaults": map[string]any{"unit": "requests"}})},
		want: []string{`panel "Requests per second": unit "requests" is not a Grafana unit`}},
	{rule: "panel-units-rule", name: "no unit", edits: []edit{set(ratePanel, "fieldConfig", map[string]any{"defaults": map[string]any{}})},
		want: []string{`panel "Requests per second": has no unit`}},
	{rule: "panel-units-rule", name: "empty mappings name nothing", edits: []edit{
		set(ratePanel, "fieldConfig", map[string]any{"defaults": map[string]any{"mappings": []any{}}})},
		want: []string{`panel "Requests per second": has no unit`}},
	{rule: "panel-units-rule", name: "unknown override unit", edits: []edit{set(ratePanel, "fieldConfig", map[string]any{
		"defaults":  map[string]any{"unit": "reqps"},
		"overrides": []any{map[string]any{"properties": []any{map[string]any{"id": "unit", "value": "perSecond"}}}}})},
		want: []string{`panel "Requests per second": override unit "perSecond" is not a Grafana unit`}},
	{rule: "panel-units-rule", name: "mappings name the values", edits: []edit{
		set(statPanel, "fieldConfig", map[string]any{"defaults": map[string]any{"mappings": []any{map[string]any{"type": "value"}}}})}},
	{rule: "panel-units-rule", name: "a stat of a text field", edits: []edit{set(statPanel, "fieldConfig", map[string]any{}),
		set(statPanel, "options", map[string]any{"reduceOptions": map[string]any{"fields": "/^version$/"}})}},

	{rule: "panel-no-targets-rule", name: "no queries", edits: []edit{drop(statPanel, "targets")},
		want: []string{`panel "Up": has no queries`}},

	{rule: "target-logql-rule", name: "a Loki query", edits: lokiQuery(`sum(rate({job="x"}[$__auto]))`),
		want: []string{`panel "Requests per second" query A: LogQL query "sum(rate({job=\"x\"}[$__auto]))" cannot be checked: no LogQL parser is linked here`}},

	{rule: "target-logql-auto-rule", name: "fixed range", edits: lokiQuery(`sum(rate({job="x"}[5m]))`),
		want: []string{`panel "Requests per second" query A: range [5m] should be [$__auto]`}},
	{rule: "target-logql-auto-rule", name: "auto range", edits: lokiQuery(`sum(rate({job="x"}[${__auto}]))`)},

	{rule: "target-promql-rule", name: "invalid", edits: []edit{set(statQuery, "expr", `sum(up{job=~"$job"}`)},
		want: []string{`panel "Up" query A: invalid PromQL "sum(up{job=~\"$job\"}": 1:20: parse error: unclosed left parenthesis`}},
	{rule: "target-promql-rule", name: "empty", edits: []edit{set(statQuery, "expr", "")},
		want: []string{`panel "Up" query A: has an empty query`}},
	{rule: "target-promql-rule", name: "reuses a missing panel", edits: []edit{set(statQuery, "expr", ""), set(statQuery, "panelId", 9)},
		want: []string{`panel "Up" query A: reuses the queries of panel 9, which does not exist`}},
	{rule: "target-promql-rule", name: "reuses a panel", edits: []edit{set(statQuery, "expr", ""), set(statQuery, "panelId", 2)}},

	{rule: "target-rate-interval-rule", name: "fixed range", edits: []edit{
		set(rateQuery, "expr", `sum by (code) (rate(http_requests_total{job=~"$job",instance=~"$instance"}[5m]))`)},
		want: []string{`panel "Requests per second" query A: rate(http_requests_total{instance=~"$instance",job=~"$job"}[5m]) should use $__rate_interval`}},
	{rule: "target-rate-interval-rule", name: "irate over $__interval", edits: []edit{
		set(rateQuery, "expr", `irate(http_requests_total{job=~"$job",instance=~"$instance"}[$__interval])`)},
		want: []string{`panel "Requests per second" query A: irate(http_requests_total{instance=~"$instance",job=~"$job"}[1m13ms]) should use $__rate_interval`}},
	{rule: "target-rate-interval-rule", name: "not a rate", edits: []edit{
		set(statQuery, "expr", `max_over_time(up{job=~"$job",instance=~"$instance"}[1h])`)}},

	{rule: "target-job-rule", name: "no job matcher", edits: []edit{set(statQuery, "expr", `up{instance=~"$instance"}`)},
		want: []string{`panel "Up" query A: selector up{instance=~"$instance"} does not filter on job=~"$job"`}},
	{rule: "target-job-rule", name: "a fixed job", edits: []edit{
		set(statQuery, "expr", `up{job="node",instance=~"$instance"} and on (instance) up{job=~"$job",instance=~"$instance"}`)},
		want: []string{`panel "Up" query A: selector up{instance=~"$instance",job="node"} does not filter on job=~"$job"`}},

	{rule: "target-job-rule", name: "on the default datasource", edits: []edit{drop(statPanel, "datasource"), set(statQuery, "expr", `up`)},
		want: []string{`panel "Up" query A: selector up does not filter on job=~"$job"`}},

	{rule: "target-instance-rule", name: "no instance matcher", edits: []edit{set(statQuery, "expr", `up{job=~"$job"}`)},
		want: []string{`panel "Up" query A: selector up{job=~"$job"} does not filter on instance=~"$instance"`}},

	{rule: "target-counter-agg-rule", name: "summed raw", edits: []edit{
		set(statQuery, "expr", `sum(http_requests_total{job=~"$job",instance=~"$instance"})`)},
		want: []string{`panel "Up" query A: counter http_requests_total{instance=~"$instance",job=~"$job"} is not read through rate, irate or increase`}},
	{rule: "target-counter-agg-rule", name: "over time, not a rate", edits: []edit{
		set(statQuery, "expr", `max_over_time({__name__="http_requests_total",job=~"$job",instance=~"$instance"}[1h])`)},
		want: []string{`panel "Up" query A: counter {__name__="http_requests_total",instance=~"$instance",job=~"$job"} is not read through rate, irate or increase`}},
	{rule: "target-counter-agg-rule", name: "increase", edits: []edit{
		set(statQuery, "expr", `increase(http_requests_total{job=~"$job",instance=~"$instance"}[1h])`)}},

	{rule: "uneditable-dashboard", name: "editable", edits: []edit{set(root, "editable", true)},
		want: []string{"is editable; set editable: false"}},
}

func TestExpandVariables(t *testing.T) {
	d := brokenDashboard(t, set(jobVar, "current", map[string]any{"value": []any{"api"}}))
	for expr, want := range map[string]string{
		`rate(x{job=~"$job"}[$__rate_interval])`:        `rate(x{job=~"$job"}[433017ms])`,
		`rate(x[${__rate_interval}]) * $job`:            `rate(x[433017ms]) * api`,
		`x{a='$job',b="\"$job"} + [[job]] / ${job:raw}`: `x{a='$job',b="\"$job"} + api / api`,
		"x{a=`$instance`} offset $__range":              "x{a=`$instance`} offset 21600000ms",
		`$instance + $unknown`:                          `instance + unknown`,
		`x{a="unclosed $job`:                            `x{a="unclosed $job`,
	} {
		if got := expandVariables(expr, d); got != want {
			t.Errorf("expandVariables(%s) = %s, want %s", expr, got, want)
		}
	}
}

func TestSplitLastArgument(t *testing.T) {
	for args, want := range map[string][3]string{
		`up{a="x,y"}, job`:             {`up{a="x,y"}`, "job", "true"},
		`sum(rate(x[5m])) by (a, b)`:   {"", `sum(rate(x[5m])) by (a, b)`, "false"},
		`job`:                          {"", "job", "false"},
		`up{a='\',', b="}"}, instance`: {`up{a='\',', b="}"}`, "instance", "true"},
	} {
		rest, last, ok := splitLastArgument(args)
		if got := [3]string{rest, last, map[bool]string{true: "true", false: "false"}[ok]}; got != want {
			t.Errorf("splitLastArgument(%s) = %q, want %q", args, got, want)
		}
	}
}
