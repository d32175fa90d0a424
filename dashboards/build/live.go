package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/table"
)

// streamKey identifies one RTMP push: the exporter's replicas each report
// the streams they saw, so every query first takes the newest over them.
const streamKey = "tenant, room_id, job_id, output_host"

// newestState is, per stream, the newest event time of its states that
// match matcher (all states when empty).
func newestState(matcher string) string {
	if matcher != "" {
		matcher = "," + matcher
	}
	return fmt.Sprintf(`max by (%s) (metastudio_live_stream_state_timestamp_seconds{job=~"$job",tenant=~"$tenant"%s})`, streamKey, matcher)
}

// inState keeps the streams whose latest state matches matcher. A tie, two
// states in the same second, keeps both.
func inState(matcher string) string {
	return fmt.Sprintf("%s >= on (%s) %s", newestState(matcher), streamKey, newestState(""))
}

// streamStates codes each state for the Stream state timeline, in the order
// the query tries them: on a same-second tie the first one listed wins, so
// the healthier states come first. Code 0 is any other state.
var streamStates = []struct {
	state string
	code  int
	color string
}{
	{"CONNECTED", 2, "green"},
	{"END", 5, "text"},
	{"RECONNECTING", 4, "orange"},
	{"DISCONNECTED", 3, "red"},
	{"CONNECTING", 1, "blue"},
}

// streamStateQuery turns each stream's latest state into its code.
func streamStateQuery() string {
	var parts []string
	for _, s := range streamStates {
		parts = append(parts, fmt.Sprintf("(%s) * 0 + %d", inState(fmt.Sprintf("state=%q", s.state)), s.code))
	}
	parts = append(parts, newestState("")+" * 0")
	return strings.Join(parts, "\n or ")
}

// streamStateMappings shows each code as its state's name.
func streamStateMappings() []dashboard.ValueMapping {
	names := []shown{{"0", "other", "purple"}}
	for _, s := range streamStates {
		names = append(names, shown{strconv.Itoa(s.code), s.state, s.color})
	}
	slices.SortFunc(names, func(a, b shown) int { return strings.Compare(a.value, b.value) })
	return valueMappings(names...)
}

// liveDashboard shows the live streams seen by the live-event receiver.
func liveDashboard() *dashboard.DashboardBuilder {
	return newDashboard("metastudio-live", "MetaStudio / Live streams",
		"Live streams seen by the exporter's live-event receiver: RTMP push state per stream, events, receiver results and relays.",
		[]string{"metastudio", "live"}, "now-3h", "30s").
		WithRow(row("Streams", 0)).
		WithPanel(count("Streams down now",
			"Streams whose latest state, over all replicas, is DISCONNECTED or RECONNECTING (a same-second tie with CONNECTED or END counts as up, as in Stream state).",
			at(0, 1, 4, 4), common.BigValueColorModeBackground,
			instantQuery("A", fmt.Sprintf("count((%s) unless on (%s) (%s)) or vector(0)",
				inState(`state=~"DISCONNECTED|RECONNECTING"`), streamKey, inState(`state=~"CONNECTED|END"`)), "down"),
			step{1, "red"})).
		WithPanel(count("Streams tracked",
			"Streams with any state, over all replicas (a stream seen by two replicas counts once).",
			at(0, 5, 4, 4), common.BigValueColorModeBackground,
			instantQuery("A", "count("+newestState("")+") or vector(0)", "streams"))).
		WithPanel(timeline("Stream state",
			"The latest state of each RTMP push, over all replicas: the state with the newest event time (MetaStudio's hwTime). A same-second tie shows the healthier state. One row per tenant, room, job and output host.",
			at(4, 1, 20, 8), streamStateMappings(), true,
			rangeQuery("A", streamStateQuery(), "{{tenant}} {{room_id}}/{{job_id}} → {{output_host}}"))).
		WithRow(row("Events", 9)).
		WithPanel(timeSeries("Events per second by type",
			"Live events accepted by the receiver, by tenant and type; unknown types count as other.",
			"reqps", at(0, 10, 12, 8),
			rangeQuery("A", `sum by (tenant, event_type) (rate(metastudio_live_events_total{job=~"$job",tenant=~"$tenant"}[$__rate_interval]))`, "{{tenant}} {{event_type}}")).
			Stacking(stacked())).
		WithPanel(timeSeries("Script paragraph",
			"shoot_script_sequence_no of the last SHOOT_SCRIPT_SWITCH of each live job: a flat line during a show means the script is stuck.",
			"none", at(12, 10, 12, 8),
			rangeQuery("A", `max by (tenant, room_id, job_id) (metastudio_live_script_paragraph{job=~"$job",tenant=~"$tenant"})`, "{{tenant}} {{room_id}}/{{job_id}}"))).
		WithPanel(timeSeries("Time since the last event per job",
			"Age of the newest event of any type for each live job, over all replicas.",
			"s", at(0, 18, 24, 7),
			rangeQuery("A", `time() - max by (tenant, room_id, job_id) (metastudio_live_job_last_event_timestamp_seconds{job=~"$job",tenant=~"$tenant"})`, "{{tenant}} {{room_id}}/{{job_id}}"))).
		WithRow(row("Receiver", 25)).
		WithPanel(timeSeries("Callback requests per second by result",
			`Every request to /callback/{tenant}, by result, summed over replicas: accepted and duplicate are good; bad_signature, expired, unauthenticated and unsupported_auth are rejections (401); unknown_tenant has tenant="".`,
			"reqps", at(0, 26, 12, 8),
			rangeQuery("A", `sum by (result) (rate(metastudio_exporter_callback_requests_total{job=~"$job",tenant=~"$tenant"}[$__rate_interval]))`, "{{result}}")).
			Stacking(stacked())).
		WithPanel(timeSeries("Relays per second by code",
			"Relays to the tenants' forward_url, by HTTP status, timeout or network, summed over replicas.",
			"reqps", at(12, 26, 12, 8),
			rangeQuery("A", `sum by (tenant, code) (rate(metastudio_exporter_callback_forwards_total{job=~"$job",tenant=~"$tenant"}[$__rate_interval]))`, "{{tenant}} {{code}}")).
			Stacking(stacked())).
		WithPanel(timeSeries("Tracked streams per replica",
			"Streams each replica holds, against --callback.max-streams, and evictions per second when it is full.",
			"short", at(0, 34, 12, 7),
			rangeQuery("A", `metastudio_exporter_callback_tracked_streams{job=~"$job"}`, "{{instance}} tracked"),
			rangeQuery("B", `rate(metastudio_exporter_callback_evicted_streams_total{job=~"$job"}[$__rate_interval])`, "{{instance}} evicted/s"))).
		WithPanel(dataTable("Callback routed here",
			"With --callback.external-url: whether each tenant's callback URL, query aside, is this receiver's /callback/{tenant}.",
			at(12, 34, 12, 7),
			tableQuery("A", `max by (tenant) (metastudio_live_event_callback_routed_here{job=~"$job",tenant=~"$tenant"})`).LegendFormat("{{tenant}}")).
			Mappings(upDown("yes", "no")).
			CellOptions(common.TableCellOptions{TableColorTextCellOptions: common.NewTableColorTextCellOptions()}).
			SortBy(sortedBy("tenant")).
			WithTransformation(organize([]string{"Time"}, nil, map[string]string{"Value": "routed here"}))).
		WithRow(row("Live jobs and rooms", 41)).
		WithPanel(count("Jobs live now",
			"PROCESSING live jobs, from MetaStudio's job list (refreshed every live_jobs.refresh_interval, 1m by default).",
			at(0, 42, 4, 4), common.BigValueColorModeNone,
			instantQuery("A", `sum(max by (tenant) (`+tenantSeries("metastudio_live_jobs", `state="PROCESSING"`)+`)) or vector(0)`, "live"))).
		WithPanel(count("Jobs failed or blocked",
			"FAILED and BLOCKED jobs created within live_jobs.failed_window (24h by default), at most the newest 20 per tenant.",
			at(0, 46, 4, 4), common.BigValueColorModeBackground,
			instantQuery("A", `count(max by (tenant, job_id) (`+tenantSeries("metastudio_live_job_failed_timestamp_seconds", "")+`)) or vector(0)`, "failed"),
			step{1, "orange"})).
		WithPanel(runningJobsTable()).
		WithPanel(timeSeries("Push up share per job",
			"How much of the last 5 minutes each PROCESSING job's RTMP push was up: its stream duration's growth over its duration's. Below 50% for a minute raises MetaStudioLiveJobStreamStalled.",
			"percentunit", at(0, 50, 24, 7),
			rangeQuery("A", "max by (tenant, room_id, job_id) ("+processing(fmt.Sprintf("delta(%s[5m]) / on (job, instance, tenant, room_id, job_id) (delta(%s[5m]) > 0)",
				tenantSeries("metastudio_live_job_stream_duration_seconds", ""), tenantSeries("metastudio_live_job_duration_seconds", "")))+")", "{{tenant}} {{room_id}}/{{job_id}}")).
			Max(1)).
		WithPanel(dataTable("Failed jobs",
			"FAILED and BLOCKED jobs with their end time (else last update) and MetaStudio's error code, newest first; the error message is in the MetaStudio console.",
			at(0, 57, 12, 8),
			tableQuery("A", `max by (tenant, room_id, job_id, state, error_code) (`+tenantSeries("metastudio_live_job_failed_timestamp_seconds", "")+`) * 1000`)).
			Filterable(true).
			OverrideByName("Value", []dashboard.DynamicConfigValue{displayName("Ended"), unit("dateTimeAsIso")}).
			SortBy([]cog.Builder[common.TableSortByFieldState]{common.NewTableSortByFieldStateBuilder().DisplayName("Ended").Desc(true)}).
			WithTransformation(organize([]string{"Time"}, []string{"tenant", "room_id", "job_id", "state", "error_code", "Value"}, nil))).
		WithPanel(roomsTable())
}

// processing keeps a job series of the PROCESSING jobs only.
func processing(series string) string {
	return series + " and on (job, instance, tenant, room_id, job_id) " + tenantSeries("metastudio_live_job_info", `state="PROCESSING"`)
}

// jobQuery is one column of the running jobs table, per job over replicas.
func jobQuery(refID, series string) *prometheus.DataqueryBuilder {
	return tableQuery(refID, fmt.Sprintf("max by (tenant, room_id, job_id) (%s)", series))
}

// runningJobsTable is one row per PROCESSING job: how long it has been
// live, how long its push has been up, and the time left before its limit.
func runningJobsTable() *table.PanelBuilder {
	duration := tenantSeries("metastudio_live_job_duration_seconds", "")
	return dataTable("Running jobs",
		"PROCESSING live jobs: duration, stream duration (how long the RTMP push has been up; far below the duration means the push dropped) and the time left before the limit that applies (the room's own, else the tenant's). An empty Time left: no limit, or not known yet.",
		at(4, 42, 20, 8),
		jobQuery("DUR", processing(duration)),
		jobQuery("STREAM", processing(tenantSeries("metastudio_live_job_stream_duration_seconds", ""))),
		jobQuery("LEFT", processing(fmt.Sprintf("(%s > 0) - on (job, instance, tenant, room_id, job_id) %s",
			tenantSeries("metastudio_live_job_max_duration_seconds", ""), duration))),
	).
		Filterable(true).
		OverrideByName("Value #DUR", []dashboard.DynamicConfigValue{displayName("Duration"), unit("s")}).
		OverrideByName("Value #STREAM", []dashboard.DynamicConfigValue{displayName("Stream duration"), unit("s")}).
		OverrideByName("Value #LEFT", []dashboard.DynamicConfigValue{displayName("Time left"), unit("s"), backgroundByValue(),
			property("thresholds", dashboard.ThresholdsConfig{Mode: dashboard.ThresholdsModeAbsolute,
				Steps: thresholdSteps("orange", []step{{1800, "green"}})})}).
		SortBy(sortedBy("tenant")).
		WithTransformation(dashboard.DataTransformerConfig{Id: "merge", Options: map[string]any{}}).
		WithTransformation(organize([]string{"Time"},
			[]string{"tenant", "room_id", "job_id", "Value #DUR", "Value #STREAM", "Value #LEFT"}, nil))
}

// roomQuery is one column of the rooms table, per room over replicas, with
// the labels in by as more columns.
func roomQuery(refID, by, series string) *prometheus.DataqueryBuilder {
	return tableQuery(refID, fmt.Sprintf("max by (tenant, room_id%s) (%s)", by, series))
}

// roomsTable is one row per room with settings of its own: they, not the
// tenant's, apply to the room's jobs. Empty cells inherit the tenant's.
func roomsTable() *table.PanelBuilder {
	own := fmt.Sprintf("(%s or %s or %s or %s)",
		tenantSeries("metastudio_room_play_repeats", ""), tenantSeries("metastudio_room_live_max_duration_seconds", ""),
		tenantSeries("metastudio_room_live_max_exception_waiting_seconds", ""), tenantSeries("metastudio_room_event_callback_https", ""))
	return dataTable("Rooms with settings of their own",
		"Rooms whose own play policy or live event callback applies to their jobs instead of the tenant's. Empty cells inherit the tenant's setting. Red: no limit (0), or a callback over plain http; orange: repeats until stopped, limits above 24 h / 30 min, or unsigned callbacks.",
		at(12, 57, 12, 8),
		roomQuery("NAME", ", room_name", tenantSeries("metastudio_room_info", "")+" and on (job, instance, tenant, room_id) "+own),
		roomQuery("REP", "", tenantSeries("metastudio_room_play_repeats", "")),
		roomQuery("DUR", "", tenantSeries("metastudio_room_live_max_duration_seconds", "")),
		roomQuery("EXC", "", tenantSeries("metastudio_room_live_max_exception_waiting_seconds", "")),
		roomQuery("HTTPS", "", tenantSeries("metastudio_room_event_callback_https", "")),
		roomQuery("AUTH", ", auth_type", tenantSeries("metastudio_room_event_callback_auth_type_info", "")),
	).
		Filterable(true).
		OverrideByName("room_name", []dashboard.DynamicConfigValue{displayName("Room")}).
		OverrideByName("Value #REP", []dashboard.DynamicConfigValue{displayName("Repeats"), unit("none"), backgroundByValue(),
			mappings(valueMappings(shown{"-1", "until stopped", "orange"}))}).
		OverrideByName("Value #DUR", limit("Max live duration", 86401)).
		OverrideByName("Value #EXC", limit("Max exception waiting", 1801)).
		OverrideByName("Value #HTTPS", onOff("Callback HTTPS", shown{text: "yes", color: "green"}, shown{text: "no", color: "red"}, true)).
		OverrideByName("auth_type", []dashboard.DynamicConfigValue{displayName("Callback auth"), backgroundByValue(),
			mappings(valueMappings(shown{"NONE", "NONE", "orange"}, shown{"MSS_A", "MSS_A", "green"},
				shown{"MSS_A_HEAD", "MSS_A_HEAD", "green"}, shown{"MEITUAN_DEFAULT", "MEITUAN_DEFAULT", "green"}))}).
		SortBy(sortedBy("tenant")).
		WithTransformation(dashboard.DataTransformerConfig{Id: "merge", Options: map[string]any{}}).
		WithTransformation(organize([]string{"Time", "Value #NAME", "Value #AUTH"},
			[]string{"tenant", "room_id", "room_name", "Value #REP", "Value #DUR", "Value #EXC", "Value #HTTPS", "auth_type"}, nil))
}
