package config

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestLabelsLevels: a tenant's own names win over those of defaults and of
// its discovery entry, one by one, and the result is sorted by name.
func TestLabelsLevels(t *testing.T) {
	data := mainCreds + `defaults:
  credentials: main
  labels: {team: core, env: prod}
discovery:
  - regions: [cn-north-4]
    labels: {env: staging, cost_centre: "4711"}
tenants:
  - {name: plain, project_id: p1}
  - {name: own, project_id: p2, labels: {team: payments, Zone: "b ü"}}
`
	cfg, err := Parse([]byte(data), "m.yml", ".", testEnv)
	if err != nil {
		t.Fatal(err)
	}
	found := cfg.Discovery()[0].Settings // what the entry's tenants get
	plain, _ := cfg.Tenant("plain")
	own, _ := cfg.Tenant("own")
	for _, tc := range []struct {
		name                string
		labels              Labels
		wantNames, wantVals []string
	}{
		{"plain", plain.Labels, []string{"env", "team"}, []string{"prod", "core"}},
		{"own", own.Labels, []string{"Zone", "env", "team"}, []string{"b ü", "prod", "payments"}},
		{"discovered", found.Labels, []string{"cost_centre", "env", "team"}, []string{"4711", "staging", "core"}},
	} {
		if !slices.Equal(tc.labels.Names(), tc.wantNames) || !slices.Equal(tc.labels.Values(), tc.wantVals) {
			t.Errorf("%s: %v = %v, want %v = %v", tc.name, tc.labels.Names(), tc.labels.Values(), tc.wantNames, tc.wantVals)
		}
	}
	if v, ok := own.Labels.Get("team"); !ok || v != "payments" {
		t.Errorf("Get(team) = %q, %v", v, ok)
	}
	if _, ok := own.Labels.Get("owner"); ok {
		t.Error("Get found a label the tenant does not have")
	}
	// Resolved once: every call hands out the same slices, nothing is
	// sorted or copied on the scrape path.
	names1, names2 := own.Labels.Names(), own.Labels.Names()
	values1, values2 := own.Labels.Values(), own.Labels.Values()
	if &names1[0] != &names2[0] || &values1[0] != &values2[0] {
		t.Error("Names or Values copies")
	}
	view, err := cfg.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(view), "    labels:\n      Zone: b ü\n      env: prod\n      team: payments\n") {
		t.Errorf("/config does not show own's labels:\n%s", view)
	}
}

func TestLabelsErrors(t *testing.T) {
	data := "tenants:\n  - name: a\n    project_id: p1\n    labels:\n" +
		"      __hidden: x\n" +
		"      tenant: x\n" +
		"      9lives: x\n" +
		"      team-name: x\n" +
		"      team: [a]\n" +
		"      long: " + strings.Repeat("v", 1025) + "\n" +
		"      ok: fine\n" +
		"defaults:\n  labels: [team]\n"
	want := "m.yml:5: tenants[0].labels.__hidden: label name must not start with __, which Prometheus reserves\n" +
		"m.yml:6: tenants[0].labels.tenant: the exporter sets this label itself; choose another name\n" +
		"m.yml:7: tenants[0].labels.9lives: label name must match ^[a-zA-Z_][a-zA-Z0-9_]*$\n" +
		"m.yml:8: tenants[0].labels.team-name: label name must match ^[a-zA-Z_][a-zA-Z0-9_]*$\n" +
		"m.yml:9: tenants[0].labels.team: must be a string\n" +
		"m.yml:10: tenants[0].labels.long: must be at most 1024 bytes\n" +
		"m.yml:13: defaults.labels: must be a mapping"
	if got := parseErr(t, data); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestReservedLabels: the list other packages hold the exposition to is
// sorted, has no repeats, holds valid names and at least every label the
// exporter's series and Prometheus use.
func TestReservedLabels(t *testing.T) {
	if !slices.IsSorted(ReservedLabels) || len(slices.Compact(slices.Clone(ReservedLabels))) != len(ReservedLabels) {
		t.Errorf("ReservedLabels is not sorted or repeats a name: %v", ReservedLabels)
	}
	name := regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
	for _, l := range ReservedLabels {
		if !name.MatchString(l) {
			t.Errorf("%q is no label name", l)
		}
	}
	for _, l := range []string{
		"tenant", "project_id", "region", "reason", "error_code", "mode", "auth_type", "event_type", "event",
		"state", "room_id", "room_name", "room_type", "room_state", "job_id", "used_resource_type", "scheme",
		"output_host", "code", "result", "source", "operation", "le", "quantile", "job", "instance",
		"version", "revision", "branch", "goversion", "goos", "goarch", "tags",
	} {
		if !slices.Contains(ReservedLabels, l) {
			t.Errorf("ReservedLabels lacks %s", l)
		}
	}
}
