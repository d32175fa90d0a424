package alerts

import (
	"os"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestRulesPassTheMixinsLint runs the checks over the bundled rules, with
// the runbook's sections and the promtool tests of this directory.
func TestRulesPassTheMixinsLint(t *testing.T) {
	readme, err := os.ReadFile(runbookFile)
	if err != nil {
		t.Fatal(err)
	}
	fired := map[string]bool{}
	for _, tf := range loadPromtoolTests(t) {
		for _, tc := range tf.Tests {
			for _, a := range tc.AlertRuleTest {
				if len(a.ExpAlerts) > 0 {
					fired[a.AlertName] = true
				}
			}
		}
	}
	l := alertLinter{runbookAnchors: markdownAnchors(string(readme)), firedInTests: fired}
	if problems := l.lint(loadRules(t)); len(problems) > 0 {
		t.Errorf("%s:\n  %s", rulesFile, strings.Join(problems, "\n  "))
	}
}

// goodRules passes every check; each case of TestAlertLintFinds changes
// it into a broken rule file.
const goodRules = `
groups:
  - name: metastudio
    rules:
      - record: tenant:metastudio_up:max
        expr: max by (job, tenant) (metastudio_up)
      - alert: MetaStudioTenantDown
        expr: metastudio_up == 0
        for: 15m
        labels:
          severity: warning
        annotations:
          summary: MetaStudio live settings of a tenant cannot be fetched.
          description: Tenant {{ $labels.tenant }} is down.
          runbook_url: https://github.com/metastudio-exporter/metastudio_exporter/blob/main/alerts/README.md#metastudiotenantdown
`

var goodLinter = alertLinter{
	runbookAnchors: map[string]bool{"metastudiotenantdown": true, "metastudioapidown": true},
	firedInTests:   map[string]bool{"MetaStudioTenantDown": true, "MetaStudioAPIDown": true},
}

func TestAlertLintFinds(t *testing.T) {
	many := strings.Repeat("      - record: a:b:c\n        expr: up\n", 20)
	for _, c := range []struct {
		name    string
		replace []string // old, new, ... in goodRules
		want    []string
	}{
		{name: "good"},
		{name: "acronym leading a word", replace: []string{"alert: MetaStudioTenantDown", "alert: MetaStudioAPIDown", "#metastudiotenantdown", "#metastudioapidown"}},
		{name: "too many rules", replace: []string{"    rules:\n", "    rules:\n" + many},
			want: []string{`[alert-group-rule-count] group "metastudio": 22 rules, at most 20`}},
		{name: "long group name", replace: []string{"name: metastudio", "name: metastudio-settings-of-every-tenant-and-room"},
			want: []string{`[alert-group-name-length] group "metastudio-settings-of-every-tenant-and-room": name longer than 40 characters`}},
		{name: "acronym at the end", replace: []string{"alert: MetaStudioTenantDown", "alert: MetaStudioCallbackNotHTTPS"},
			want: []string{
				"[alert-name-camelcase] alert MetaStudioCallbackNotHTTPS: name is not CamelCase",
				"[alert-runbook-url] alert MetaStudioCallbackNotHTTPS: https://github.com/metastudio-exporter/metastudio_exporter/blob/main/alerts/README.md#metastudiotenantdown points at #metastudiotenantdown, want #metastudiocallbacknothttps",
				"[alert-unit-tested] alert MetaStudioCallbackNotHTTPS: no promtool test in alerts/tests expects it to fire",
			}},
		{name: "snake case", replace: []string{"alert: MetaStudioTenantDown", "alert: MetaStudio_tenant_down"},
			want: []string{
				"[alert-name-camelcase] alert MetaStudio_tenant_down: name is not CamelCase",
				"[alert-runbook-url] alert MetaStudio_tenant_down: https://github.com/metastudio-exporter/metastudio_exporter/blob/main/alerts/README.md#metastudiotenantdown points at #metastudiotenantdown, want #metastudio_tenant_down",
				"[alert-unit-tested] alert MetaStudio_tenant_down: no promtool test in alerts/tests expects it to fire",
			}},
		{name: "long name", replace: []string{"alert: MetaStudioTenantDown", "alert: MetaStudioTenantDownForLongerThanTheScrapes"},
			want: []string{
				"[alert-name-length] alert MetaStudioTenantDownForLongerThanTheScrapes: name longer than 40 characters",
				"[alert-runbook-url] alert MetaStudioTenantDownForLongerThanTheScrapes: https://github.com/metastudio-exporter/metastudio_exporter/blob/main/alerts/README.md#metastudiotenantdown points at #metastudiotenantdown, want #metastudiotenantdownforlongerthanthescrapes",
				"[alert-unit-tested] alert MetaStudioTenantDownForLongerThanTheScrapes: no promtool test in alerts/tests expects it to fire",
			}},
		{name: "no prefix", replace: []string{"alert: MetaStudioTenantDown", "alert: TenantDown"},
			want: []string{
				"[alert-name-prefix] alert TenantDown: name does not start with MetaStudio",
				"[alert-runbook-url] alert TenantDown: https://github.com/metastudio-exporter/metastudio_exporter/blob/main/alerts/README.md#metastudiotenantdown points at #metastudiotenantdown, want #tenantdown",
				"[alert-unit-tested] alert TenantDown: no promtool test in alerts/tests expects it to fire",
			}},
		{name: "severity page", replace: []string{"severity: warning", "severity: page"},
			want: []string{`[alert-severity-rule] alert MetaStudioTenantDown: severity "page", want info, warning or critical`}},
		{name: "no severity", replace: []string{"severity: warning", "team: live"},
			want: []string{`[alert-severity-rule] alert MetaStudioTenantDown: severity "", want info, warning or critical`}},
		{name: "no description", replace: []string{"          description: Tenant {{ $labels.tenant }} is down.\n", ""},
			want: []string{"[alert-description-missing-rule] alert MetaStudioTenantDown: no description"}},
		{name: "fixed description", replace: []string{"Tenant {{ $labels.tenant }} is down.", "A tenant is down."},
			want: []string{`[alert-description-templating] alert MetaStudioTenantDown: description "A tenant is down." does not use {{ $labels.<name> }} or {{ $value }}`}},
		{name: "a template that reads neither labels nor value", replace: []string{"Tenant {{ $labels.tenant }} is down.", `"{{ with query \"up\" }}Down.{{ end }}"`},
			want: []string{`[alert-description-templating] alert MetaStudioTenantDown: description "{{ with query \"up\" }}Down.{{ end }}" does not use {{ $labels.<name> }} or {{ $value }}`}},
		{name: "value in a with", replace: []string{"Tenant {{ $labels.tenant }} is down.", `"{{ with printf \"%.0f\" $value }}Down {{ . }} times.{{ end }}"`}},
		{name: "broken template", replace: []string{"Tenant {{ $labels.tenant }} is down.", `"Tenant {{ $labels.tenant is down."`},
			want: []string{`[alert-description-templating] alert MetaStudioTenantDown: description does not parse: template: description:1: unexpected "." in operand`}},
		{name: "no summary", replace: []string{"          summary: MetaStudio live settings of a tenant cannot be fetched.\n", ""},
			want: []string{"[alert-summary-missing-rule] alert MetaStudioTenantDown: no summary"}},
		{name: "templated summary", replace: []string{"summary: MetaStudio live settings of a tenant cannot be fetched.", "summary: Tenant {{ $labels.tenant }} is down."},
			want: []string{`[alert-summary-templating] alert MetaStudioTenantDown: summary "Tenant {{ $labels.tenant }} is down." is a template`}},
		{name: "summary without a period", replace: []string{"cannot be fetched.", "cannot be fetched"},
			want: []string{`[alert-summary-style] alert MetaStudioTenantDown: summary "MetaStudio live settings of a tenant cannot be fetched" is not a sentence: a capital first, a period last`}},
		{name: "summary in lower case", replace: []string{"summary: MetaStudio live", "summary: the live"},
			want: []string{`[alert-summary-style] alert MetaStudioTenantDown: summary "the live settings of a tenant cannot be fetched." is not a sentence: a capital first, a period last`}},
		{name: "no runbook", replace: []string{"          runbook_url: https://github.com/metastudio-exporter/metastudio_exporter/blob/main/alerts/README.md#metastudiotenantdown\n", ""},
			want: []string{"[alert-runbook-url] alert MetaStudioTenantDown: no runbook_url"}},
		{name: "runbook elsewhere", replace: []string{"https://github.com/metastudio-exporter/metastudio_exporter/blob/main/alerts/README.md#", "https://wiki.example.com/runbooks#"},
			want: []string{"[alert-runbook-url] alert MetaStudioTenantDown: https://wiki.example.com/runbooks#metastudiotenantdown is not in https://github.com/metastudio-exporter/metastudio_exporter/blob/main/alerts/README.md#"}},
		{name: "runbook section missing", replace: []string{"alert: MetaStudioTenantDown", "alert: MetaStudioTenantGone"},
			want: []string{
				"[alert-runbook-url] alert MetaStudioTenantGone: https://github.com/metastudio-exporter/metastudio_exporter/blob/main/alerts/README.md#metastudiotenantdown points at #metastudiotenantdown, want #metastudiotenantgone",
				"[alert-unit-tested] alert MetaStudioTenantGone: no promtool test in alerts/tests expects it to fire",
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			for i := 0; i < len(c.replace); i += 2 {
				if !strings.Contains(goodRules, c.replace[i]) {
					t.Fatalf("the good rules hold no %q", c.replace[i])
				}
			}
			text := strings.NewReplacer(c.replace...).Replace(goodRules)
			var rf ruleFile
			if err := yaml.Unmarshal([]byte(text), &rf); err != nil {
				t.Fatal(err)
			}
			if got := goodLinter.lint(rf); !slices.Equal(got, c.want) {
				t.Errorf("found\n  %q\nwant\n  %q", got, c.want)
			}
		})
	}
}

// TestAlertLintFindsAMissingSection: the anchor is right but the runbook
// has no such section.
func TestAlertLintFindsAMissingSection(t *testing.T) {
	var rf ruleFile
	if err := yaml.Unmarshal([]byte(goodRules), &rf); err != nil {
		t.Fatal(err)
	}
	l := alertLinter{runbookAnchors: map[string]bool{}, firedInTests: goodLinter.firedInTests}
	want := []string{"[alert-runbook-url] alert MetaStudioTenantDown: README.md has no section #metastudiotenantdown"}
	if got := l.lint(rf); !slices.Equal(got, want) {
		t.Errorf("found %q, want %q", got, want)
	}
}
