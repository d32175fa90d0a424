package main

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/table"
)

// firingAlerts selects the MetaStudio alerts firing now.
const firingAlerts = `ALERTS{alertstate="firing",alertname=~"MetaStudio.+",job=~"$job",tenant=~"$tenant"}`

// overviewDashboard shows the risky live settings of every tenant.
func overviewDashboard() *dashboard.DashboardBuilder {
	return newDashboard("metastudio-overview", "MetaStudio / Overview",
		"Risky live-streaming settings of Huawei Cloud MetaStudio tenants, from metastudio_exporter.",
		[]string{"metastudio", "livestreaming", "huaweicloud"}, "now-6h", "1m").
		Annotation(dashboard.NewAnnotationQueryBuilder().Name("Settings changes").Datasource(promDS).
			Enable(true).Hide(false).IconColor("orange").
			Expr(`changes(metastudio_live_config_hash{job=~"$job",tenant=~"$tenant"}[$__interval]) > 0`).
			Step("$__interval").TitleFormat("Settings changed").TextFormat("tenant {{tenant}}").
			TagKeys("tenant").UseValueForTime(false)).
		WithRow(row("Fleet", 0)).
		WithPanel(count("Tenants", "Tenants the exporter is configured for.",
			at(0, 1, 4, 4), common.BigValueColorModeNone,
			instantQuery("A", `count(metastudio_up{job=~"$job",tenant=~"$tenant"})`, "tenants"))).
		WithPanel(count("Tenants down",
			"Tenants whose live settings could not be fetched in the last scrape. Their settings alerts hold their last state for up to 1 hour.",
			at(4, 1, 4, 4), common.BigValueColorModeBackground,
			instantQuery("A", `count(metastudio_up{job=~"$job",tenant=~"$tenant"} == 0) or vector(0)`, "down"),
			step{1, "red"})).
		WithPanel(count("Firing alerts", "MetaStudio alerts firing now, one per alert and tenant.",
			at(8, 1, 4, 4), common.BigValueColorModeBackground,
			instantQuery("A", "count("+firingAlerts+") or vector(0)", "firing"),
			step{1, "orange"})).
		WithPanel(bars("Tenants per alert",
			"Number of tenants each firing MetaStudio alert applies to. See alerts/README.md for the runbook of each.",
			at(12, 1, 12, 8),
			instantQuery("A", "count by (alertname) (count by (alertname, tenant) ("+firingAlerts+"))", "{{alertname}}"))).
		WithPanel(timeline("Up per tenant",
			"Whether each tenant's live settings were fetched in each scrape. Down reasons are on the exporter dashboard.",
			at(0, 5, 12, 4), upDown("up", "down"), false,
			rangeQuery("A", `metastudio_up{job=~"$job",tenant=~"$tenant"}`, "{{tenant}}"))).
		WithRow(row("Settings", 9)).
		WithPanel(settingsTable()).
		WithRow(row("Changes", 20)).
		WithPanel(counted(timeSeries("Settings changes",
			"Changes of each tenant's settings hash. Every change is also an annotation on all panels.",
			"none", at(0, 21, 24, 6),
			rangeQuery("A", `changes(metastudio_live_config_hash{job=~"$job",tenant=~"$tenant"}[$__rate_interval])`, "{{tenant}}"))).
			Legend(common.NewVizLegendOptionsBuilder().ShowLegend(true).
				DisplayMode(common.LegendDisplayModeList).Placement(common.LegendPlacementBottom).Calcs([]string{})))
}

// tenantSeries selects a per-tenant series of the dashboard's jobs and
// tenants, after the matchers in extra (empty for none).
func tenantSeries(metric, extra string) string {
	if extra != "" {
		extra += ","
	}
	return fmt.Sprintf(`%s{%sjob=~"$job",tenant=~"$tenant"}`, metric, extra)
}

// settingQuery is one column of the settings table: the series' value per
// tenant, with the labels in by as more columns.
func settingQuery(refID, by, series string) *prometheus.DataqueryBuilder {
	return tableQuery(refID, fmt.Sprintf("max by (job, instance, tenant%s) (%s)", by, series))
}

// ifCallback keeps a callback setting only where a callback is set: the
// others are empty cells rather than misleading "no"s.
func ifCallback(series string) string {
	return series + " and on(job, instance, tenant) " + tenantSeries("metastudio_live_event_callback_configured", "") + " == 1"
}

func property(id string, value any) dashboard.DynamicConfigValue {
	return dashboard.DynamicConfigValue{Id: id, Value: value}
}

func displayName(name string) dashboard.DynamicConfigValue { return property("displayName", name) }
func unit(u string) dashboard.DynamicConfigValue           { return property("unit", u) }
func mappings(m []dashboard.ValueMapping) dashboard.DynamicConfigValue {
	return property("mappings", m)
}
func backgroundByValue() dashboard.DynamicConfigValue {
	return property("custom.cellOptions", colouredBackground().TableColoredBackgroundCellOptions)
}

// onOff is a 0/1 setting column shown as words, coloured in the background
// when coloured.
func onOff(name string, yes, no shown, coloured bool) []dashboard.DynamicConfigValue {
	yes.value, no.value = "1", "0"
	props := []dashboard.DynamicConfigValue{displayName(name), unit("none"), mappings(valueMappings(yes, no))}
	if coloured {
		props = append(props, backgroundByValue())
	}
	return props
}

// limit is a duration setting where 0 means unlimited (red) and values from
// orangeFrom seconds on are orange.
func limit(name string, orangeFrom float64) []dashboard.DynamicConfigValue {
	return []dashboard.DynamicConfigValue{displayName(name), unit("s"),
		mappings(valueMappings(shown{"0", "unlimited", "red"})), backgroundByValue(),
		property("thresholds", dashboard.ThresholdsConfig{Mode: dashboard.ThresholdsModeAbsolute,
			Steps: thresholdSteps("green", []step{{orangeFrom, "orange"}})})}
}

// policy is a per-tenant policy duration, where 0 means none is set.
func policy(name string) []dashboard.DynamicConfigValue {
	return []dashboard.DynamicConfigValue{displayName(name), unit("s"),
		mappings(valueMappings(shown{"0", "no policy", "transparent"}))}
}

// settingsTable is one row per tenant, one column per setting: the
// queries' values merged on their labels, then named and coloured.
func settingsTable() *table.PanelBuilder {
	yes, no := shown{text: "yes", color: "green"}, shown{text: "no", color: "orange"}
	return dataTable("Tenant settings",
		"Live settings in force per tenant, as of the last successful fetch. Red: unlimited, or a callback over plain http. Orange: limits above 24 h / 30 min (per-tenant policies are in the Policy columns and in the AbovePolicy alerts), unsigned callbacks, or events not subscribed. Empty cells: no callback set, or the tenant is down.",
		at(0, 10, 24, 10),
		settingQuery("UP", "", tenantSeries("metastudio_up", "")),
		settingQuery("DUR", "", tenantSeries("metastudio_live_max_duration_seconds", "")),
		settingQuery("DURPOL", "", tenantSeries("metastudio_policy_max_live_duration_seconds", "")),
		settingQuery("EXC", "", tenantSeries("metastudio_live_max_exception_waiting_seconds", "")),
		settingQuery("EXCPOL", "", tenantSeries("metastudio_policy_max_exception_waiting_seconds", "")),
		settingQuery("MODE", ", mode", tenantSeries("metastudio_live_auto_stop_mode_info", "")),
		settingQuery("CB", "", tenantSeries("metastudio_live_event_callback_configured", "")),
		settingQuery("HTTPS", "", ifCallback(tenantSeries("metastudio_live_event_callback_https", ""))),
		settingQuery("AUTH", ", auth_type", ifCallback(tenantSeries("metastudio_live_event_callback_auth_type_info", ""))),
		settingQuery("KEY", "", ifCallback(tenantSeries("metastudio_live_event_callback_key_configured", ""))),
		settingQuery("RTMP", "", ifCallback(tenantSeries("metastudio_live_event_callback_event_enabled", `event_type="RTMP_STREAM_STATE_CHANGE"`))),
		settingQuery("EXIT", "", tenantSeries("metastudio_live_notify_event_enabled", `event="AUTO_EXIT"`)),
	).
		Filterable(true).
		OverrideByName("Value #UP", onOff("Fetch", shown{text: "up", color: "green"}, shown{text: "down", color: "red"}, true)).
		OverrideByName("Value #DUR", limit("Max live duration", 86401)).
		OverrideByName("Value #DURPOL", policy("Duration policy")).
		OverrideByName("Value #EXC", limit("Max exception waiting", 1801)).
		OverrideByName("Value #EXCPOL", policy("Exception waiting policy")).
		OverrideByName("mode", []dashboard.DynamicConfigValue{displayName("Auto stop mode")}).
		OverrideByName("Value #CB", onOff("Event callback", shown{text: "set", color: "green"}, shown{text: "none", color: "blue"}, true)).
		OverrideByName("Value #HTTPS", onOff("HTTPS", shown{text: "yes", color: "green"}, shown{text: "no", color: "red"}, true)).
		OverrideByName("auth_type", []dashboard.DynamicConfigValue{displayName("Callback auth"), backgroundByValue(),
			mappings(valueMappings(shown{"NONE", "NONE", "orange"}, shown{"MSS_A", "MSS_A", "green"},
				shown{"MSS_A_HEAD", "MSS_A_HEAD", "green"}, shown{"MEITUAN_DEFAULT", "MEITUAN_DEFAULT", "green"}))}).
		OverrideByName("Value #KEY", onOff("Signing key", shown{text: "set", color: "green"}, shown{text: "none", color: "text"}, false)).
		OverrideByName("Value #RTMP", onOff("Stream state events", yes, no, true)).
		OverrideByName("Value #EXIT", onOff("AUTO_EXIT notify", yes, no, true)).
		SortBy(sortedBy("tenant")).
		WithTransformation(dashboard.DataTransformerConfig{Id: "merge", Options: map[string]any{}}).
		WithTransformation(organize(
			[]string{"Time", "__name__", "Value #MODE", "Value #AUTH"},
			[]string{"tenant", "Value #UP", "Value #DUR", "Value #DURPOL", "Value #EXC", "Value #EXCPOL", "mode",
				"Value #CB", "Value #HTTPS", "auth_type", "Value #KEY", "Value #RTMP", "Value #EXIT", "job", "instance"},
			nil))
}
