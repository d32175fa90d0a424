package main

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// Grafana replaces variables in a query before Prometheus sees it, so the
// rules parse a query with each variable outside a string replaced by a
// stand-in value. The durations are ones nobody writes by hand: a range of
// exactly rateIntervalStandIn was $__rate_interval.
const (
	rateIntervalStandIn = 433017 * time.Millisecond
	autoStandIn         = 61027 * time.Millisecond
)

var globalStandIns = map[string]string{
	"__rate_interval": fmt.Sprintf("%dms", rateIntervalStandIn.Milliseconds()),
	"__auto":          fmt.Sprintf("%dms", autoStandIn.Milliseconds()),
	"__interval":      "60013ms",
	"__interval_ms":   "60013",
	"__range":         "21600000ms",
	"__range_ms":      "21600000",
	"__range_s":       "21600",
	"__from":          "1700000000000",
	"__to":            "1700021600000",
}

// grafanaVariableRE matches $name, ${name} and ${name:format}, and the
// deprecated [[name]] and [[name:format]].
var grafanaVariableRE = regexp.MustCompile(`\$(\w+)|\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)(?::[^\]]*)?\]\]`)

// expandVariables replaces the variables outside string literals: inside
// one (a label matcher's value) a variable is text to Prometheus, and the
// job rule reads it as such.
func expandVariables(expr string, d *lintDashboard) string {
	var b strings.Builder
	outside := func(s string) {
		b.WriteString(grafanaVariableRE.ReplaceAllStringFunc(s, func(ref string) string {
			m := grafanaVariableRE.FindStringSubmatch(ref)
			return standIn(m[1]+m[2]+m[3], d)
		}))
	}
	start := 0
	for i := 0; i < len(expr); i++ {
		quote := expr[i]
		if quote != '"' && quote != '\'' && quote != '`' {
			continue
		}
		outside(expr[start:i])
		end := i + 1
		for end < len(expr) && expr[end] != quote {
			if expr[end] == '\\' && quote != '`' {
				end++
			}
			end++
		}
		end = min(end+1, len(expr))
		b.WriteString(expr[i:end])
		start, i = end, end-1
	}
	outside(expr[start:])
	return b.String()
}

// standIn is what a variable becomes: a global's stand-in, a dashboard
// variable's single current value, else its name, which reads as a metric
// or label name.
func standIn(name string, d *lintDashboard) string {
	if v, ok := globalStandIns[name]; ok {
		return v
	}
	if v := d.variable(name); v != nil {
		if value, ok := v.currentValue(); ok {
			return value
		}
	}
	return name
}

var promqlParser = parser.NewParser(parser.Options{})

// parsePromQL parses a query as Prometheus would after Grafana's variable
// replacement.
func parsePromQL(expr string, d *lintDashboard) (parser.Expr, error) {
	return promqlParser.ParseExpr(expandVariables(expr, d))
}

// metricName is the metric a selector selects by name, if any.
func metricName(vs *parser.VectorSelector) string {
	if vs.Name != "" {
		return vs.Name
	}
	for _, m := range vs.LabelMatchers {
		if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
			return m.Value
		}
	}
	return ""
}

// splitLastArgument cuts a function's arguments at the last comma outside
// strings and brackets: label_values(up{a="x,y"}, job) gives up{a="x,y"}
// and job. With brackets left open, at the last comma outside strings, so
// that the parser reports the selector's error.
func splitLastArgument(args string) (rest, last string, ok bool) {
	depth, cut, anyCut := 0, -1, -1
	for i := 0; i < len(args); i++ {
		switch c := args[i]; c {
		case '"', '\'', '`':
			for i++; i < len(args) && args[i] != c; i++ {
				if args[i] == '\\' && c != '`' {
					i++
				}
			}
		case '(', '{', '[':
			depth++
		case ')', '}', ']':
			depth--
		case ',':
			anyCut = i
			if depth == 0 {
				cut = i
			}
		}
	}
	if depth != 0 {
		cut = anyCut
	}
	if cut < 0 {
		return "", strings.TrimSpace(args), false
	}
	return strings.TrimSpace(args[:cut]), strings.TrimSpace(args[cut+1:]), true
}
