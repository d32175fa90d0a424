package dashboards

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// wantUIDs pins each file's uid: links, provisioning and bookmarks use it,
// so it must never change by accident.
var wantUIDs = map[string]string{
	"metastudio-overview.json": "metastudio-overview",
	"metastudio-exporter.json": "metastudio-exporter",
	"metastudio-live.json":     "metastudio-live",
}

// knownMetrics are the series the exporter and the bundled rules produce
// (listed in the README), plus Prometheus' ALERTS. A dashboard query naming
// anything else is a typo that would show "No data" forever.
var knownMetrics = []string{
	"metastudio_up", "metastudio_scrape_duration_seconds", "metastudio_scrape_error_info",
	"metastudio_tenant_info", "metastudio_data_age_seconds",
	"metastudio_live_max_duration_seconds", "metastudio_live_max_exception_waiting_seconds",
	"metastudio_live_auto_stop_mode_info", "metastudio_live_event_callback_configured",
	"metastudio_live_event_callback_https", "metastudio_live_event_callback_auth_type_info",
	"metastudio_live_event_callback_key_configured", "metastudio_live_event_callback_event_enabled",
	"metastudio_live_notify_event_enabled", "metastudio_live_config_hash",
	"metastudio_policy_max_live_duration_seconds", "metastudio_policy_max_exception_waiting_seconds",
	"metastudio_exporter_build_info", "metastudio_exporter_api_requests_total",
	"metastudio_exporter_api_request_duration_seconds_bucket",
	"metastudio_exporter_config_last_reload_successful",
	"metastudio_exporter_config_last_reload_success_timestamp_seconds",
	"metastudio_live_stream_state", "metastudio_live_stream_state_timestamp_seconds",
	"metastudio_live_job_last_event_timestamp_seconds", "metastudio_live_script_paragraph",
	"metastudio_live_events_total", "metastudio_live_event_callback_routed_here",
	"metastudio_exporter_callback_requests_total", "metastudio_exporter_callback_forwards_total",
	"metastudio_exporter_callback_tracked_streams", "metastudio_exporter_callback_evicted_streams_total",
	"metastudio_live_jobs", "metastudio_live_job_info", "metastudio_live_job_duration_seconds",
	"metastudio_live_job_stream_duration_seconds", "metastudio_live_job_max_duration_seconds",
	"metastudio_live_job_failed_timestamp_seconds", "metastudio_room_info", "metastudio_room_play_repeats",
	"metastudio_room_live_max_duration_seconds", "metastudio_room_live_max_exception_waiting_seconds",
	"metastudio_room_event_callback_https", "metastudio_room_event_callback_auth_type_info",
}

// exporterOnly are the metrics without a tenant label.
var exporterOnly = []string{
	"metastudio_exporter_build_info", "metastudio_exporter_api_request_duration_seconds_bucket",
	"metastudio_exporter_config_last_reload_successful",
	"metastudio_exporter_config_last_reload_success_timestamp_seconds",
	"metastudio_exporter_callback_tracked_streams", "metastudio_exporter_callback_evicted_streams_total",
}

func loadAll(t *testing.T) []*Dashboard {
	t.Helper()
	files, err := Files()
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(wantUIDs) {
		t.Fatalf("dashboards %v, want %d files", files, len(wantUIDs))
	}
	var out []*Dashboard
	for _, f := range files {
		d, err := Load(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

func TestDashboardModel(t *testing.T) {
	for _, d := range loadAll(t) {
		t.Run(d.File, func(t *testing.T) {
			if want := wantUIDs[d.File]; d.UID != want {
				t.Errorf("uid %q, want %q", d.UID, want)
			}
			// A fixed numeric id makes an import overwrite whatever dashboard
			// happens to have that id in the target Grafana.
			if d.ID != nil {
				t.Errorf("id is %d, want null", *d.ID)
			}
			if d.Title == "" || !slices.Contains(d.Tags, "metastudio") {
				t.Errorf("title %q, tags %v: want a title and the tag metastudio", d.Title, d.Tags)
			}
			// 39 is what Grafana 10.x writes; older schemas get migrated on
			// import, newer ones may not load in 10.
			if d.SchemaVersion < 36 || d.SchemaVersion > 39 {
				t.Errorf("schemaVersion %d, want 36..39 (Grafana 10)", d.SchemaVersion)
			}
			checkVariables(t, d)
			checkPanels(t, d)
		})
	}
}

func checkVariables(t *testing.T, d *Dashboard) {
	vars := map[string]Variable{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v
	}
	ds, ok := vars["datasource"]
	if !ok || ds.Type != "datasource" || ds.QueryString() != "prometheus" {
		t.Errorf("want a datasource variable of type prometheus, got %+v", ds)
	}
	for _, name := range []string{"job", "tenant"} {
		v, ok := vars[name]
		if !ok {
			t.Errorf("no %s variable", name)
			continue
		}
		if v.Type != "query" || v.Datasource == nil || v.Datasource.UID != "${datasource}" {
			t.Errorf("%s: want a query variable on ${datasource}, got type %q datasource %+v", name, v.Type, v.Datasource)
		}
		// All is a regexp, for any number of values: .+ for job, as
		// every series has one (Grafana's dashboard linter asks for it),
		// .* for tenant, to keep the series without one (the exporter's
		// own, their alerts) and the callbacks of unknown tenants.
		all := map[string]string{"job": ".+", "tenant": ".*"}[name]
		if !v.Multi || !v.IncludeAll || v.AllValue != all {
			t.Errorf("%s: want multi, includeAll and allValue %s, got %+v", name, all, v)
		}
		if _, label, ok := LabelValues(v.QueryString()); !ok || label != name {
			t.Errorf("%s: query %q is not label_values(..., %s)", name, v.QueryString(), name)
		}
	}
	if sel, _, _ := LabelValues(vars["tenant"].QueryString()); !strings.Contains(sel, `job=~"$job"`) {
		t.Errorf("tenant variable %q does not follow the job variable", vars["tenant"].QueryString())
	}
}

var metricRE = regexp.MustCompile(`\b(metastudio_[a-z0-9_]+|ALERTS)\b(\{[^}]*\})?`)

func checkPanels(t *testing.T, d *Dashboard) {
	ids := map[int]string{}
	var placed []Panel
	for _, p := range d.AllPanels() {
		if prev, dup := ids[p.ID]; dup {
			t.Errorf("panel id %d used by %q and %q", p.ID, prev, p.Title)
		}
		ids[p.ID] = p.Title
		if p.GridPos.X < 0 || p.GridPos.W <= 0 || p.GridPos.X+p.GridPos.W > 24 || p.GridPos.H <= 0 {
			t.Errorf("panel %q: gridPos %+v outside the 24-column grid", p.Title, p.GridPos)
		}
		for _, q := range placed {
			if overlap(p.GridPos, q.GridPos) {
				t.Errorf("panels %q and %q overlap", p.Title, q.Title)
			}
		}
		placed = append(placed, p)
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" || p.Datasource.Type != "prometheus" {
			t.Errorf("panel %q: datasource %+v, want prometheus ${datasource}", p.Title, p.Datasource)
		}
		if p.FieldConfig.Defaults.Unit == "" {
			t.Errorf("panel %q: no unit", p.Title)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q: no queries", p.Title)
		}
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			if refs[tg.RefID] || tg.RefID == "" {
				t.Errorf("panel %q: refId %q empty or repeated", p.Title, tg.RefID)
			}
			refs[tg.RefID] = true
			if tg.Datasource == nil || tg.Datasource.UID != "${datasource}" {
				t.Errorf("panel %q ref %s: datasource %+v, want ${datasource}", p.Title, tg.RefID, tg.Datasource)
			}
			checkExpr(t, fmt.Sprintf("panel %q ref %s", p.Title, tg.RefID), tg.Expr)
		}
		// Table columns are renamed and coloured through "Value #<refId>"
		// overrides; one that names no query silently does nothing.
		for _, o := range p.FieldConfig.Overrides {
			if ref, ok := strings.CutPrefix(o.Matcher.Options, "Value #"); ok && !refs[ref] {
				t.Errorf("panel %q: override for %q matches no query", p.Title, o.Matcher.Options)
			}
		}
	}
	for _, a := range d.Annotations.List {
		if a.BuiltIn != 0 {
			continue
		}
		if a.Datasource == nil || a.Datasource.UID != "${datasource}" {
			t.Errorf("annotation %q: datasource %+v, want ${datasource}", a.Name, a.Datasource)
		}
		checkExpr(t, "annotation "+a.Name, a.Expr)
	}
}

// checkExpr holds a query to the variables: every selector of an exporter
// series filters on $job, and every per-tenant one on $tenant too.
func checkExpr(t *testing.T, where, expr string) {
	t.Helper()
	if strings.TrimSpace(expr) == "" {
		t.Errorf("%s: empty expression", where)
		return
	}
	matches := metricRE.FindAllStringSubmatch(expr, -1)
	if len(matches) == 0 {
		t.Errorf("%s: %q selects no MetaStudio series", where, expr)
	}
	for _, m := range matches {
		name, sel := m[1], m[2]
		if !slices.Contains(knownMetrics, name) && name != "ALERTS" {
			t.Errorf("%s: unknown metric %s", where, name)
		}
		if !strings.Contains(sel, `job=~"$job"`) {
			t.Errorf("%s: selector %s%s does not filter on $job", where, name, sel)
		}
		if !slices.Contains(exporterOnly, name) && !strings.Contains(sel, `tenant=~"$tenant"`) {
			t.Errorf("%s: selector %s%s does not filter on $tenant", where, name, sel)
		}
	}
}

func overlap(a, b GridPos) bool {
	return a.X < b.X+b.W && b.X < a.X+a.W && a.Y < b.Y+b.H && b.Y < a.Y+a.H
}

func TestEveryPanelQueried(t *testing.T) {
	qs, err := AllQueries()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, q := range qs {
		seen[q.Dashboard] = true
	}
	for f := range wantUIDs {
		if !seen[f] {
			t.Errorf("%s: no queries extracted", f)
		}
	}
	// The overview must count tenants per alert and show changes as
	// annotations; the exporter dashboard must show build info and reloads;
	// the live dashboard stream states, events, receiver results and relays.
	for _, want := range []string{"ALERTS{", "metastudio_live_config_hash", "metastudio_exporter_build_info", "metastudio_exporter_config_last_reload_successful", "metastudio_exporter_api_requests_total", "metastudio_scrape_error_info", "metastudio_scrape_duration_seconds",
		"metastudio_live_stream_state_timestamp_seconds", "metastudio_live_events_total", "metastudio_exporter_callback_requests_total", "metastudio_exporter_callback_forwards_total", "metastudio_exporter_callback_tracked_streams"} {
		if !slices.ContainsFunc(qs, func(q Query) bool { return strings.Contains(q.Expr, want) }) {
			t.Errorf("no dashboard query uses %s", want)
		}
	}
}

func TestExpand(t *testing.T) {
	vals := map[string]string{"job": "a|b", "tenant": ".*", "__rate_interval": "1m"}
	got, err := Expand(`rate(x{job=~"$job",tenant=~"${tenant}"}[$__rate_interval])`, vals)
	if err != nil || got != `rate(x{job=~"a|b",tenant=~".*"}[1m])` {
		t.Errorf("Expand = %q, %v", got, err)
	}
	if _, err := Expand(`x[$__range]`, vals); err == nil {
		t.Error("Expand with an unknown variable: want an error")
	}
	if sel, label, ok := LabelValues(`label_values(up{job=~"$job"}, tenant)`); !ok || sel != `up{job=~"$job"}` || label != "tenant" {
		t.Errorf("LabelValues = %q, %q, %v", sel, label, ok)
	}
}

// TestQueriesParse has promtool parse every dashboard query, with the
// variables expanded, by presenting them as recording rules: a PromQL syntax
// error fails here without a running Prometheus. The e2e test then runs them
// against one.
func TestQueriesParse(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("promtool not on PATH and CI is set: %v", err)
		}
		t.Skip("promtool not on PATH; install the prometheus package to parse the dashboard queries")
	}
	qs, err := AllQueries()
	if err != nil {
		t.Fatal(err)
	}
	vals := map[string]string{"job": "metastudio", "tenant": ".*", "datasource": "prom",
		"__interval": "1m", "__rate_interval": "1m", "__range": "1h"}
	var b strings.Builder
	b.WriteString("groups:\n  - name: dashboard_queries\n    rules:\n")
	for i, q := range qs {
		e, err := Expand(q.Expr, vals)
		if err != nil {
			t.Fatalf("%s %s: %v", q.Dashboard, q.Where, err)
		}
		fmt.Fprintf(&b, "      - record: dashboard_query_%d\n        expr: %q\n", i, e)
	}
	path := filepath.Join(t.TempDir(), "queries.yml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "rules", path).CombinedOutput(); err != nil {
		t.Errorf("promtool rejects a dashboard query: %v\n%s", err, out)
	}
}

// TestLiveStateCodes holds the Stream state timeline's codes to its value
// mappings: the query turns each state into a number, the mapping turns it
// back into the state's name, and a mismatch would show a dropped stream as
// connected.
func TestLiveStateCodes(t *testing.T) {
	b, err := FS.ReadFile("metastudio-live.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title       string `json:"title"`
			FieldConfig struct {
				Defaults struct {
					Mappings []struct {
						Options map[string]struct {
							Text string `json:"text"`
						} `json:"options"`
					} `json:"mappings"`
				} `json:"defaults"`
			} `json:"fieldConfig"`
			Targets []Target `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	codeRE := regexp.MustCompile(`state="(\w+)"\}\) >= [^\n]*?\) \* 0 \+ (\d+)`)
	for _, p := range d.Panels {
		if p.Title != "Stream state" {
			continue
		}
		if len(p.Targets) != 1 || len(p.FieldConfig.Defaults.Mappings) != 1 {
			t.Fatalf("want one query and one mapping, got %d and %d", len(p.Targets), len(p.FieldConfig.Defaults.Mappings))
		}
		names := p.FieldConfig.Defaults.Mappings[0].Options
		var states []string
		for _, m := range codeRE.FindAllStringSubmatch(p.Targets[0].Expr, -1) {
			states = append(states, m[1])
			if got := names[m[2]].Text; got != m[1] {
				t.Errorf("state %s is coded %s, which the mapping shows as %q", m[1], m[2], got)
			}
		}
		slices.Sort(states)
		if want := []string{"CONNECTED", "CONNECTING", "DISCONNECTED", "END", "RECONNECTING"}; !slices.Equal(states, want) {
			t.Errorf("coded states %v, want %v", states, want)
		}
		if names["0"].Text != "other" || !strings.HasSuffix(p.Targets[0].Expr, "* 0") {
			t.Errorf("unknown states must show as other (code 0): mapping %q, query %q", names["0"].Text, p.Targets[0].Expr)
		}
		return
	}
	t.Fatal("metastudio-live.json has no Stream state panel")
}
