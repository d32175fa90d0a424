package main

import (
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// exporterDashboard is the health of metastudio_exporter itself.
func exporterDashboard() *dashboard.DashboardBuilder {
	return newDashboard("metastudio-exporter", "MetaStudio / Exporter",
		"Health of metastudio_exporter itself: scrapes, upstream calls, failures, reloads.",
		[]string{"metastudio", "exporter"}, "now-6h", "1m").
		WithRow(row("Scrapes", 0)).
		WithPanel(timeSeries("Scrape duration per tenant",
			"Time the exporter spent on each tenant in each scrape; close to the scrape timeout means the tenant is timing out.",
			"s", at(0, 1, 12, 8),
			rangeQuery("A", `metastudio_scrape_duration_seconds{job=~"$job",tenant=~"$tenant"}`, "{{tenant}}"))).
		WithPanel(timeSeries("API calls per second by code",
			"MetaStudio and IAM calls made by the exporter, by HTTP status, or timeout / network when no answer came.",
			"reqps", at(12, 1, 12, 8),
			rangeQuery("A", `sum by (code) (rate(metastudio_exporter_api_requests_total{job=~"$job",tenant=~"$tenant"}[$__rate_interval]))`, "{{code}}")).
			Stacking(stacked())).
		WithPanel(counted(timeSeries("Fetch failures by reason",
			"Tenants whose fetch failed in the last scrape, by reason (auth, forbidden, throttled, client_error, server_error, timeout, network, decode, credentials).",
			"none", at(0, 9, 12, 8),
			rangeQuery("A", `count by (reason) (metastudio_scrape_error_info{job=~"$job",tenant=~"$tenant"})`, "{{reason}}")))).
		WithPanel(timeSeries("API call latency", "Latency of upstream calls across all tenants.",
			"s", at(12, 9, 12, 8),
			rangeQuery("A", `histogram_quantile(0.5, sum by (le) (rate(metastudio_exporter_api_request_duration_seconds_bucket{job=~"$job"}[$__rate_interval])))`, "p50"),
			rangeQuery("B", `histogram_quantile(0.99, sum by (le) (rate(metastudio_exporter_api_request_duration_seconds_bucket{job=~"$job"}[$__rate_interval])))`, "p99"))).
		WithPanel(dataTable("Failing tenants",
			"Tenants down now, with the reason and the upstream error code. The exporter log has the X-Request-Id of each failed call.",
			at(0, 17, 24, 6),
			tableQuery("A", `metastudio_scrape_error_info{job=~"$job",tenant=~"$tenant"}`)).
			WithTransformation(organize([]string{"Time", "Value", "__name__"}, []string{"tenant", "reason", "error_code"}, nil))).
		WithRow(row("Exporter", 23)).
		WithPanel(singleStat("Config reload",
			"Whether the last config reload succeeded. After a failure the exporter keeps serving the previous config.",
			at(0, 24, 6, 5), common.BigValueColorModeBackground, common.BigValueTextModeValueAndName,
			instantQuery("A", `metastudio_exporter_config_last_reload_successful{job=~"$job"}`, "{{instance}}")).
			Mappings(upDown("ok", "failed"))).
		WithPanel(singleStat("Last successful reload", "When the config in force was loaded.",
			at(6, 24, 6, 5), common.BigValueColorModeNone, common.BigValueTextModeValueAndName,
			instantQuery("A", `metastudio_exporter_config_last_reload_success_timestamp_seconds{job=~"$job"} * 1000`, "{{instance}}")).
			Unit("dateTimeFromNow")).
		WithPanel(dataTable("Build info", "Version of each exporter instance.",
			at(12, 24, 12, 5),
			tableQuery("A", `metastudio_exporter_build_info{job=~"$job"}`)).
			WithTransformation(organize([]string{"Time", "Value", "__name__"}, []string{"instance", "version", "revision", "branch", "goversion"}, nil)))
}
