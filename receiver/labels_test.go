package receiver

import (
	"strings"
	"testing"

	"github.com/metastudio-exporter/metastudio_exporter/internal/fixedlabels"
)

// testLabels is a tenant set's fixed labels: names served, and each
// tenant's as "name=value,..." (sorted by name) in byTenant.
func testLabels(names []string, byTenant map[string]string) fixedlabels.Lookup {
	return fixedlabels.Lookup{
		Names: names,
		Of: func(tenant string) (names, values []string) {
			if byTenant[tenant] == "" {
				return nil, nil
			}
			for pair := range strings.SplitSeq(byTenant[tenant], ",") {
				name, value, _ := strings.Cut(pair, "=")
				names, values = append(names, name), append(values, value)
			}
			return names, values
		},
	}
}

// TestSeriesCarryTenantLabels: the live series and the per-tenant counters
// carry each tenant's fixed labels under the names the tenant set serves,
// "" where a tenant lacks one and for a request of no tenant; the
// receiver's other series carry none. When the set's labels change, the
// series follow at the next collection, the counts going on.
func TestSeriesCarryTenantLabels(t *testing.T) {
	h := newHarness(t, Options{})
	h.rc.SetTenantLabels(testLabels([]string{"env", "team"}, map[string]string{"mss": "env=prod,team=live", "none": "team=ops"}))
	h.postMSSAt(t, 0, rtmpBody("room-1", "job-1", "live.example.com", "CONNECTED"))
	h.postMSSAt(t, 0, switchBody("room-1", "job-1", 3))
	if a := h.postNone(rtmpBody("r", "j", "h", "DISCONNECTED")); a.status != 200 {
		t.Fatalf("none: %d %s", a.status, a.body)
	}
	if a := h.do(request{path: "/callback/nope", body: rtmpBody("r", "j", "h", "END")}); a.status != 404 {
		t.Fatalf("nope: %d %s", a.status, a.body)
	}
	compare(t, h.rc.StreamCollector(), `# HELP metastudio_live_events_total Accepted live events; types this exporter does not know count as other.
# TYPE metastudio_live_events_total counter
metastudio_live_events_total{env="",event_type="RTMP_STREAM_STATE_CHANGE",team="ops",tenant="none"} 1
metastudio_live_events_total{env="prod",event_type="RTMP_STREAM_STATE_CHANGE",team="live",tenant="mss"} 1
metastudio_live_events_total{env="prod",event_type="SHOOT_SCRIPT_SWITCH",team="live",tenant="mss"} 1
# HELP metastudio_live_job_last_event_timestamp_seconds Time of the last live event of any type for the job.
# TYPE metastudio_live_job_last_event_timestamp_seconds gauge
metastudio_live_job_last_event_timestamp_seconds{env="",job_id="j",room_id="r",team="ops",tenant="none"} 1795924800
metastudio_live_job_last_event_timestamp_seconds{env="prod",job_id="job-1",room_id="room-1",team="live",tenant="mss"} 1795924800
# HELP metastudio_live_script_paragraph shoot_script_sequence_no of the job's last SHOOT_SCRIPT_SWITCH event.
# TYPE metastudio_live_script_paragraph gauge
metastudio_live_script_paragraph{env="prod",job_id="job-1",room_id="room-1",team="live",tenant="mss"} 3
# HELP metastudio_live_stream_state_timestamp_seconds Time of the last event with this state (hwTime when signed, else receipt); max by over replicas gives the fleet's truth.
# TYPE metastudio_live_stream_state_timestamp_seconds gauge
metastudio_live_stream_state_timestamp_seconds{env="",job_id="j",output_host="h",room_id="r",state="DISCONNECTED",team="ops",tenant="none"} 1795924800
metastudio_live_stream_state_timestamp_seconds{env="prod",job_id="job-1",output_host="live.example.com",room_id="room-1",state="CONNECTED",team="live",tenant="mss"} 1795924800
`, "metastudio_live_events_total", "metastudio_live_job_last_event_timestamp_seconds", "metastudio_live_script_paragraph", "metastudio_live_stream_state_timestamp_seconds")
	compare(t, h.rc.StreamCollector(), `# HELP metastudio_live_stream_state 1 for the latest state this exporter saw of the stream, 0 for the other known states; state="other" stands for every state this exporter does not know and appears once seen.
# TYPE metastudio_live_stream_state gauge
metastudio_live_stream_state{env="",job_id="j",output_host="h",room_id="r",state="CONNECTED",team="ops",tenant="none"} 0
metastudio_live_stream_state{env="",job_id="j",output_host="h",room_id="r",state="CONNECTING",team="ops",tenant="none"} 0
metastudio_live_stream_state{env="",job_id="j",output_host="h",room_id="r",state="DISCONNECTED",team="ops",tenant="none"} 1
metastudio_live_stream_state{env="",job_id="j",output_host="h",room_id="r",state="END",team="ops",tenant="none"} 0
metastudio_live_stream_state{env="",job_id="j",output_host="h",room_id="r",state="RECONNECTING",team="ops",tenant="none"} 0
metastudio_live_stream_state{env="prod",job_id="job-1",output_host="live.example.com",room_id="room-1",state="CONNECTED",team="live",tenant="mss"} 1
metastudio_live_stream_state{env="prod",job_id="job-1",output_host="live.example.com",room_id="room-1",state="CONNECTING",team="live",tenant="mss"} 0
metastudio_live_stream_state{env="prod",job_id="job-1",output_host="live.example.com",room_id="room-1",state="DISCONNECTED",team="live",tenant="mss"} 0
metastudio_live_stream_state{env="prod",job_id="job-1",output_host="live.example.com",room_id="room-1",state="END",team="live",tenant="mss"} 0
metastudio_live_stream_state{env="prod",job_id="job-1",output_host="live.example.com",room_id="room-1",state="RECONNECTING",team="live",tenant="mss"} 0
`, "metastudio_live_stream_state")
	compare(t, h.rc.ReceiverCollector(), `# HELP metastudio_exporter_callback_requests_total Callback requests by result; tenant is empty when the request names no tenant.
# TYPE metastudio_exporter_callback_requests_total counter
metastudio_exporter_callback_requests_total{env="",result="accepted",team="ops",tenant="none"} 1
metastudio_exporter_callback_requests_total{env="",result="unknown_tenant",team="",tenant=""} 1
metastudio_exporter_callback_requests_total{env="prod",result="accepted",team="live",tenant="mss"} 2
# HELP metastudio_exporter_callback_tracked_streams Streams in the receiver's table.
# TYPE metastudio_exporter_callback_tracked_streams gauge
metastudio_exporter_callback_tracked_streams 2
`, "metastudio_exporter_callback_requests_total", "metastudio_exporter_callback_tracked_streams")

	// A reload that leaves the set with team alone: the names go, the
	// counts stay.
	h.rc.SetTenantLabels(testLabels([]string{"team"}, map[string]string{"mss": "team=live", "none": "team=ops"}))
	h.postMSSAt(t, 0, switchBody("room-1", "job-1", 4))
	compare(t, h.rc.StreamCollector(), `# HELP metastudio_live_events_total Accepted live events; types this exporter does not know count as other.
# TYPE metastudio_live_events_total counter
metastudio_live_events_total{event_type="RTMP_STREAM_STATE_CHANGE",team="ops",tenant="none"} 1
metastudio_live_events_total{event_type="RTMP_STREAM_STATE_CHANGE",team="live",tenant="mss"} 1
metastudio_live_events_total{event_type="SHOOT_SCRIPT_SWITCH",team="live",tenant="mss"} 2
# HELP metastudio_live_script_paragraph shoot_script_sequence_no of the job's last SHOOT_SCRIPT_SWITCH event.
# TYPE metastudio_live_script_paragraph gauge
metastudio_live_script_paragraph{job_id="job-1",room_id="room-1",team="live",tenant="mss"} 4
`, "metastudio_live_events_total", "metastudio_live_script_paragraph")
}

// TestSeriesWithoutTenantLabels: until the tenant set's labels are given,
// and with a set that has none, the series carry the receiver's own
// labels alone.
func TestSeriesWithoutTenantLabels(t *testing.T) {
	h := newHarness(t, Options{})
	h.postMSSAt(t, 0, switchBody("room-1", "job-1", 3))
	want := `# HELP metastudio_live_script_paragraph shoot_script_sequence_no of the job's last SHOOT_SCRIPT_SWITCH event.
# TYPE metastudio_live_script_paragraph gauge
metastudio_live_script_paragraph{job_id="job-1",room_id="room-1",tenant="mss"} 3
`
	compare(t, h.rc.StreamCollector(), want, "metastudio_live_script_paragraph")
	h.rc.SetTenantLabels(testLabels(nil, nil))
	compare(t, h.rc.StreamCollector(), want, "metastudio_live_script_paragraph")
}
