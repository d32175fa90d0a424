package main

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// schemaVersion is the dashboard schema Grafana 10 writes. The SDK defaults
// to a newer one, which Grafana 10 would load without migrating; 39 lets
// every Grafana from 10 on migrate the model as it does its own exports.
const schemaVersion = 39

// spec is one generated dashboard: the file it is written to and its model.
type spec struct {
	file  string
	build func() *dashboard.DashboardBuilder
}

// all lists every dashboard, in file name order.
var all = []spec{
	{"metastudio-exporter.json", exporterDashboard},
	{"metastudio-live.json", liveDashboard},
	{"metastudio-overview.json", overviewDashboard},
}

// newDashboard is the frame every MetaStudio dashboard shares: the
// datasource, job and tenant variables, a shared crosshair, the built-in
// annotations and a drop-down linking the dashboards tagged metastudio,
// carrying the time range and variables along.
func newDashboard(uid, title, description string, tags []string, from, refresh string) *dashboard.DashboardBuilder {
	return dashboard.NewDashboardBuilder(title).Uid(uid).Description(description).Tags(tags).
		Readonly().Tooltip(dashboard.DashboardCursorSyncCrosshair).Timezone("").WeekStart("").
		Time(from, "now").Refresh(refresh).FiscalYearStartMonth(0).LiveNow(false).Version(1).
		Link(dashboard.NewDashboardLinkBuilder("MetaStudio dashboards").Type(dashboard.DashboardLinkTypeDashboards).
			Tags([]string{"metastudio"}).AsDropdown(true).IncludeVars(true).KeepTime(true).
			Icon("external link").Tooltip("").TargetBlank(false)).
		Annotation(dashboard.NewAnnotationQueryBuilder().Name("Annotations & Alerts").BuiltIn(1).Type("dashboard").
			Datasource(common.DataSourceRef{Type: cog.ToPtr("grafana"), Uid: cog.ToPtr("-- Grafana --")}).
			Enable(true).Hide(true).IconColor("rgba(0, 211, 255, 1)")).
		WithVariable(dashboard.NewDatasourceVariableBuilder("datasource").Label("Data source").Type("prometheus").
			Hide(dashboard.VariableHideDontHide).Regex("").Multi(false).IncludeAll(false)).
		WithVariable(labelVariable("job", "Job", "metastudio_up", ".+")).
		WithVariable(labelVariable("tenant", "Tenant", `metastudio_up{job=~"$job"}`, ".*"))
}

// labelVariable offers the values of one label of the selected series,
// several at once or All. All is a regexp, not the list of values, so that
// it matches any number of values. For job it is .+: every series has a
// job. For tenant it is .*, which also matches the series without a
// tenant (the exporter's own, their alerts) and the callbacks of unknown
// tenants (tenant="").
func labelVariable(name, label, selector, all string) *dashboard.QueryVariableBuilder {
	query := fmt.Sprintf("label_values(%s, %s)", selector, name)
	return dashboard.NewQueryVariableBuilder(name).Label(label).Datasource(promDS).
		Definition(query).
		Query(dashboard.StringOrMap{Map: map[string]any{
			"qryType": 1, "query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery",
		}}).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).Sort(dashboard.VariableSortAlphabeticalAsc).
		Multi(true).IncludeAll(true).AllValue(all).
		Current(dashboard.VariableOption{Selected: cog.ToPtr(true),
			Text:  dashboard.StringOrArrayOfString{ArrayOfString: []string{"All"}},
			Value: dashboard.StringOrArrayOfString{ArrayOfString: []string{"$__all"}}}).
		Hide(dashboard.VariableHideDontHide).Options([]dashboard.VariableOption{}).Regex("")
}

// row starts a section. Rows stay expanded: a collapsed row would move its
// panels into the row and out of the sight of anyone opening the dashboard.
func row(title string, y uint32) *dashboard.RowBuilder {
	return dashboard.NewRowBuilder(title).Collapsed(false).GridPos(at(0, y, 24, 1))
}

// render builds a dashboard into the JSON written to its file: panels
// numbered 1, 2, ... in order (ids only need to be unique, and order
// keeps them stable across edits elsewhere), the schema version set, two-
// space indentation and a final newline as editors leave files.
func render(b *dashboard.DashboardBuilder) ([]byte, error) {
	d, err := b.Build()
	if err != nil {
		return nil, err
	}
	d.SchemaVersion = schemaVersion
	// The SDK places links and annotation toggles in Grafana 12's controls
	// menu; without a placement they stay above the panels, where users of
	// every Grafana version have them today.
	for i := range d.Links {
		d.Links[i].Placement = nil
	}
	for i := range d.Annotations.List {
		d.Annotations.List[i].Placement = nil
	}
	for i, p := range d.Panels {
		id := uint32(i + 1)
		switch {
		case p.Panel != nil:
			p.Panel.Id = &id
		case p.RowPanel != nil:
			p.RowPanel.Id = id
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
