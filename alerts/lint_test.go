package alerts

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"text/template/parse"
)

// The alerting guidelines of the monitoring mixins
// (https://monitoring.mixins.dev/#guidelines-for-alert-names-labels-and-annotations)
// as mixtool's lint applies them, each under mixtool's name, plus this
// project's own: the MetaStudio prefix, a runbook section for every alert
// and a promtool test that fires it. mixtool is not a dependency (the Go
// module proxy does not serve it), so the checks are written here.

const (
	alertPrefix        = "MetaStudio"
	maxNameLength      = 40
	maxRulesPerGroup   = 20
	maxGroupNameLength = 40
)

var (
	// camelCaseRE is mixtool's: words of capitals then lower case or
	// digits, so an acronym may lead a word (APIDown) but not end a name.
	camelCaseRE = regexp.MustCompile(`^([A-Z]+[a-z0-9]+)+$`)
	// sentenceRE is mixtool's plain sentence: a capital first, a period last.
	sentenceRE = regexp.MustCompile(`^[A-Z].+\.$`)
	severities = map[string]bool{"info": true, "warning": true, "critical": true}
)

// alertLinter holds what the checks compare the rules with: the anchors of
// the runbook and the alerts a promtool test expects to fire.
type alertLinter struct {
	runbookAnchors map[string]bool
	firedInTests   map[string]bool
}

// lint returns every problem of the rule file, each as
// [check] group or alert: what is wrong.
func (l alertLinter) lint(rf ruleFile) []string {
	var out []string
	problem := func(check, subject, format string, args ...any) {
		out = append(out, fmt.Sprintf("[%s] %s: %s", check, subject, fmt.Sprintf(format, args...)))
	}
	for _, g := range rf.Groups {
		group := fmt.Sprintf("group %q", g.Name)
		if len(g.Rules) > maxRulesPerGroup {
			problem("alert-group-rule-count", group, "%d rules, at most %d", len(g.Rules), maxRulesPerGroup)
		}
		if len(g.Name) > maxGroupNameLength {
			problem("alert-group-name-length", group, "name longer than %d characters", maxGroupNameLength)
		}
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			alert := "alert " + r.Alert
			if !camelCaseRE.MatchString(r.Alert) {
				problem("alert-name-camelcase", alert, "name is not CamelCase")
			}
			if len(r.Alert) > maxNameLength {
				problem("alert-name-length", alert, "name longer than %d characters", maxNameLength)
			}
			if !strings.HasPrefix(r.Alert, alertPrefix) {
				problem("alert-name-prefix", alert, "name does not start with %s", alertPrefix)
			}
			if s := r.Labels["severity"]; !severities[s] {
				problem("alert-severity-rule", alert, "severity %q, want info, warning or critical", s)
			}
			if d, ok := r.Annotations["description"]; !ok {
				problem("alert-description-missing-rule", alert, "no description")
			} else if err := usesLabelsOrValue(d); err != nil {
				problem("alert-description-templating", alert, "description %v", err)
			}
			if s, ok := r.Annotations["summary"]; !ok {
				problem("alert-summary-missing-rule", alert, "no summary")
			} else {
				if strings.Contains(s, "{{") {
					problem("alert-summary-templating", alert, "summary %q is a template", s)
				}
				if !sentenceRE.MatchString(s) {
					problem("alert-summary-style", alert, "summary %q is not a sentence: a capital first, a period last", s)
				}
			}
			l.lintRunbook(r, func(format string, args ...any) { problem("alert-runbook-url", alert, format, args...) })
			if !l.firedInTests[r.Alert] {
				problem("alert-unit-tested", alert, "no promtool test in %s expects it to fire", filepath.Join("alerts", "tests"))
			}
		}
	}
	return out
}

// lintRunbook: runbook_url is the alert's own section of alerts/README.md.
func (l alertLinter) lintRunbook(r rule, problem func(format string, args ...any)) {
	u, ok := r.Annotations["runbook_url"]
	if !ok {
		problem("no runbook_url")
		return
	}
	anchor, ok := strings.CutPrefix(u, runbookPrefix)
	want := strings.ToLower(r.Alert)
	switch {
	case !ok:
		problem("%s is not in %s", u, runbookPrefix)
	case anchor != want:
		problem("%s points at #%s, want #%s", u, anchor, want)
	case !l.runbookAnchors[anchor]:
		problem("%s has no section #%s", runbookFile, anchor)
	}
}

// usesLabelsOrValue says whether a description is a template that reads
// the alert's labels or value, parsed as Prometheus parses it: with
// $labels and $value defined and any function allowed (promtool checks
// the functions). The definitions declare the variables without reading
// them, so only the description's own actions count.
func usesLabelsOrValue(text string) error {
	const defs = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}"
	tree := parse.New("description")
	tree.Mode = parse.SkipFuncCheck
	if _, err := tree.Parse(defs+text, "{{", "}}", map[string]*parse.Tree{}); err != nil {
		return fmt.Errorf("does not parse: %w", err)
	}
	uses := false
	var walk func(n parse.Node)
	walk = func(n parse.Node) {
		if n == nil || uses {
			return
		}
		switch n := n.(type) {
		case *parse.ListNode:
			if n == nil {
				return
			}
			for _, c := range n.Nodes {
				walk(c)
			}
		case *parse.ActionNode:
			walk(n.Pipe)
		case *parse.PipeNode:
			if n == nil {
				return
			}
			for _, c := range n.Cmds {
				walk(c)
			}
		case *parse.CommandNode:
			for _, a := range n.Args {
				walk(a)
			}
		case *parse.VariableNode:
			uses = n.Ident[0] == "$labels" || n.Ident[0] == "$value"
		case *parse.IfNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		}
	}
	walk(tree.Root)
	if !uses {
		return fmt.Errorf("%q does not use {{ $labels.<name> }} or {{ $value }}", text)
	}
	return nil
}
