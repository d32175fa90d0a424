package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
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
			WithTransformation(organize([]string{"Time"}, nil, map[string]string{"Value": "routed here"})))
}
