package receiver

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/internal/promtext"
)

// postMSSAt posts body to tenant mss signed at the clock's now plus offset:
// the event's time is then t0+offset.
func (h *harness) postMSSAt(t *testing.T, offset time.Duration, body string) {
	t.Helper()
	q := signedQuery(testKey, mssURL, h.clock.Now().Add(offset))
	if a := h.do(request{path: "/callback/mss", query: q, body: body}); a.status != 200 || a.body != answerJSON("accepted", "") {
		t.Fatalf("got %d %s", a.status, a.body)
	}
}

const streamsGolden = `# HELP metastudio_live_events_total Accepted live events; types this exporter does not know count as other.
# TYPE metastudio_live_events_total counter
metastudio_live_events_total{event_type="REPLY_COMMAND_FINISH",tenant="mss"} 1
metastudio_live_events_total{event_type="RTMP_STREAM_STATE_CHANGE",tenant="mss"} 5
metastudio_live_events_total{event_type="SHOOT_SCRIPT_SWITCH",tenant="mss"} 2
metastudio_live_events_total{event_type="other",tenant="mss"} 1
# HELP metastudio_live_job_last_event_timestamp_seconds Time of the last live event of any type for the job.
# TYPE metastudio_live_job_last_event_timestamp_seconds gauge
metastudio_live_job_last_event_timestamp_seconds{job_id="job-1",room_id="room-1",tenant="mss"} 1795924830
metastudio_live_job_last_event_timestamp_seconds{job_id="job-2",room_id="room-1",tenant="mss"} 1795924820
# HELP metastudio_live_script_paragraph shoot_script_sequence_no of the job's last SHOOT_SCRIPT_SWITCH event.
# TYPE metastudio_live_script_paragraph gauge
metastudio_live_script_paragraph{job_id="job-1",room_id="room-1",tenant="mss"} 7
# HELP metastudio_live_stream_state 1 for the latest state this exporter saw of the stream, 0 for the other known states; state="other" stands for every state this exporter does not know and appears once seen.
# TYPE metastudio_live_stream_state gauge
metastudio_live_stream_state{job_id="job-1",output_host="b.example.net:1935",room_id="room-1",state="CONNECTED",tenant="mss"} 0
metastudio_live_stream_state{job_id="job-1",output_host="b.example.net:1935",room_id="room-1",state="CONNECTING",tenant="mss"} 0
metastudio_live_stream_state{job_id="job-1",output_host="b.example.net:1935",room_id="room-1",state="DISCONNECTED",tenant="mss"} 0
metastudio_live_stream_state{job_id="job-1",output_host="b.example.net:1935",room_id="room-1",state="END",tenant="mss"} 0
metastudio_live_stream_state{job_id="job-1",output_host="b.example.net:1935",room_id="room-1",state="RECONNECTING",tenant="mss"} 0
metastudio_live_stream_state{job_id="job-1",output_host="b.example.net:1935",room_id="room-1",state="other",tenant="mss"} 1
metastudio_live_stream_state{job_id="job-1",output_host="live.example.com",room_id="room-1",state="CONNECTED",tenant="mss"} 0
metastudio_live_stream_state{job_id="job-1",output_host="live.example.com",room_id="room-1",state="CONNECTING",tenant="mss"} 0
metastudio_live_stream_state{job_id="job-1",output_host="live.example.com",room_id="room-1",state="DISCONNECTED",tenant="mss"} 1
metastudio_live_stream_state{job_id="job-1",output_host="live.example.com",room_id="room-1",state="END",tenant="mss"} 0
metastudio_live_stream_state{job_id="job-1",output_host="live.example.com",room_id="room-1",state="RECONNECTING",tenant="mss"} 0
# HELP metastudio_live_stream_state_timestamp_seconds Time of the last event with this state (hwTime when signed, else receipt); max by over replicas gives the fleet's truth.
# TYPE metastudio_live_stream_state_timestamp_seconds gauge
metastudio_live_stream_state_timestamp_seconds{job_id="job-1",output_host="b.example.net:1935",room_id="room-1",state="other",tenant="mss"} 1795924820
metastudio_live_stream_state_timestamp_seconds{job_id="job-1",output_host="live.example.com",room_id="room-1",state="CONNECTED",tenant="mss"} 1795924810
metastudio_live_stream_state_timestamp_seconds{job_id="job-1",output_host="live.example.com",room_id="room-1",state="CONNECTING",tenant="mss"} 1795924800
metastudio_live_stream_state_timestamp_seconds{job_id="job-1",output_host="live.example.com",room_id="room-1",state="DISCONNECTED",tenant="mss"} 1795924820
metastudio_live_stream_state_timestamp_seconds{job_id="job-1",output_host="live.example.com",room_id="room-1",state="RECONNECTING",tenant="mss"} 1795924815
`

// streamsScenario sends the events behind streamsGolden.
func streamsScenario(t *testing.T, h *harness) {
	h.postMSSAt(t, 0, rtmpBody("room-1", "job-1", "live.example.com", "CONNECTING"))
	h.postMSSAt(t, 10*time.Second, rtmpBody("room-1", "job-1", "LIVE.example.com", "CONNECTED"))
	h.postMSSAt(t, 20*time.Second, rtmpBody("room-1", "job-1", "live.example.com", "DISCONNECTED"))
	// A late retry of an older event updates its state's time but does not
	// become the latest state.
	h.postMSSAt(t, 15*time.Second, rtmpBody("room-1", "job-1", "live.example.com", "RECONNECTING"))
	h.postMSSAt(t, 20*time.Second, rtmpBody("room-1", "job-1", "b.example.net:1935", "PAUSED"))
	h.postMSSAt(t, 20*time.Second, switchBody("room-1", "job-1", 7))
	h.postMSSAt(t, 5*time.Second, switchBody("room-1", "job-1", 6)) // older: paragraph stays 7
	h.postMSSAt(t, 20*time.Second, eventBody("REPLY_COMMAND_FINISH", map[string]any{"room_id": "room-1", "job_id": "job-2", "reply_id": "x"}))
	h.postMSSAt(t, 30*time.Second, eventBody("NEW_THING", map[string]any{"room_id": "room-1", "job_id": "job-1"}))
}

func TestStreamMetrics(t *testing.T) {
	h := newHarness(t, Options{})
	streamsScenario(t, h)
	compare(t, h.rc.StreamCollector(), streamsGolden)
	compare(t, h.rc.ReceiverCollector(), `# HELP metastudio_exporter_callback_tracked_streams Streams in the receiver's table.
# TYPE metastudio_exporter_callback_tracked_streams gauge
metastudio_exporter_callback_tracked_streams 2
# HELP metastudio_exporter_callback_tracked_jobs Jobs in the receiver's table.
# TYPE metastudio_exporter_callback_tracked_jobs gauge
metastudio_exporter_callback_tracked_jobs 2
`, "metastudio_exporter_callback_tracked_streams", "metastudio_exporter_callback_tracked_jobs")
}

// TestUnsignedEventTime: without hwTime the receipt time is the event's.
func TestUnsignedEventTime(t *testing.T) {
	h := newHarness(t, Options{})
	h.clock.Advance(1500 * time.Millisecond)
	if a := h.postNone(rtmpBody("r", "j", "h", "CONNECTED")); a.status != 200 {
		t.Fatalf("got %d %s", a.status, a.body)
	}
	compare(t, h.rc.StreamCollector(), `# HELP metastudio_live_stream_state_timestamp_seconds Time of the last event with this state (hwTime when signed, else receipt); max by over replicas gives the fleet's truth.
# TYPE metastudio_live_stream_state_timestamp_seconds gauge
metastudio_live_stream_state_timestamp_seconds{job_id="j",output_host="h",room_id="r",state="CONNECTED",tenant="none"} 1795924801.5
`, "metastudio_live_stream_state_timestamp_seconds")
}

// TestLabelValuesBounded: IDs from events are cut to 128 bytes of valid
// UTF-8; a numeric ID is taken as written.
func TestLabelValuesBounded(t *testing.T) {
	h := newHarness(t, Options{})
	long := strings.Repeat("é", 100) // 200 bytes
	body := `{"event_type":"RTMP_STREAM_STATE_CHANGE","message":"{\"room_id\":\"` + long + `\",\"job_id\":12345,\"state\":\"END\",\"output_url\":\"rtmp://h\\\\xff/app\"}"}`
	h.postMSSAt(t, 0, body)
	h.postMSSAt(t, 0, `{"event_type":"SHOOT_SCRIPT_SWITCH","message":"{\"room_id\":\"r\\udc00\",\"job_id\":\"j\",\"shoot_script_sequence_no\":\"12\"}"}`)
	want := strings.Repeat("é", 64)
	compare(t, h.rc.StreamCollector(), fmt.Sprintf(`# HELP metastudio_live_job_last_event_timestamp_seconds Time of the last live event of any type for the job.
# TYPE metastudio_live_job_last_event_timestamp_seconds gauge
metastudio_live_job_last_event_timestamp_seconds{job_id="12345",room_id="%[1]s",tenant="mss"} 1795924800
metastudio_live_job_last_event_timestamp_seconds{job_id="j",room_id="%[2]s",tenant="mss"} 1795924800
# HELP metastudio_live_script_paragraph shoot_script_sequence_no of the job's last SHOOT_SCRIPT_SWITCH event.
# TYPE metastudio_live_script_paragraph gauge
metastudio_live_script_paragraph{job_id="j",room_id="%[2]s",tenant="mss"} 12
`, want, "r\uFFFD"), "metastudio_live_job_last_event_timestamp_seconds", "metastudio_live_script_paragraph")
}

// TestEviction: past max-streams the least recently updated stream goes,
// and is counted.
func TestEviction(t *testing.T) {
	h := newHarness(t, Options{MaxStreams: 2})
	h.postNone(rtmpBody("r", "j1", "h", "CONNECTED"))
	h.clock.Advance(time.Second)
	h.postNone(rtmpBody("r", "j2", "h", "CONNECTED"))
	h.clock.Advance(time.Second)
	h.postNone(rtmpBody("r", "j1", "h", "DISCONNECTED")) // j1 is now the most recent
	h.clock.Advance(time.Second)
	h.postNone(rtmpBody("r", "j3", "h", "CONNECTED")) // evicts j2
	compare(t, h.rc.StreamCollector(), `# HELP metastudio_live_job_last_event_timestamp_seconds Time of the last live event of any type for the job.
# TYPE metastudio_live_job_last_event_timestamp_seconds gauge
metastudio_live_job_last_event_timestamp_seconds{job_id="j1",room_id="r",tenant="none"} 1795924802
metastudio_live_job_last_event_timestamp_seconds{job_id="j3",room_id="r",tenant="none"} 1795924803
# HELP metastudio_live_stream_state_timestamp_seconds Time of the last event with this state (hwTime when signed, else receipt); max by over replicas gives the fleet's truth.
# TYPE metastudio_live_stream_state_timestamp_seconds gauge
metastudio_live_stream_state_timestamp_seconds{job_id="j1",output_host="h",room_id="r",state="CONNECTED",tenant="none"} 1795924800
metastudio_live_stream_state_timestamp_seconds{job_id="j1",output_host="h",room_id="r",state="DISCONNECTED",tenant="none"} 1795924802
metastudio_live_stream_state_timestamp_seconds{job_id="j3",output_host="h",room_id="r",state="CONNECTED",tenant="none"} 1795924803
`, "metastudio_live_stream_state_timestamp_seconds", "metastudio_live_job_last_event_timestamp_seconds")
	compare(t, h.rc.ReceiverCollector(), `# HELP metastudio_exporter_callback_evicted_streams_total Streams dropped because the table held max-streams; the least recently updated goes first.
# TYPE metastudio_exporter_callback_evicted_streams_total counter
metastudio_exporter_callback_evicted_streams_total 1
# HELP metastudio_exporter_callback_evicted_jobs_total Jobs dropped because the table held max-streams jobs; the least recently updated goes first.
# TYPE metastudio_exporter_callback_evicted_jobs_total counter
metastudio_exporter_callback_evicted_jobs_total 1
# HELP metastudio_exporter_callback_tracked_streams Streams in the receiver's table.
# TYPE metastudio_exporter_callback_tracked_streams gauge
metastudio_exporter_callback_tracked_streams 2
`, "metastudio_exporter_callback_evicted_streams_total", "metastudio_exporter_callback_evicted_jobs_total", "metastudio_exporter_callback_tracked_streams")
}

// tracked is the receiver's (streams, jobs) after a collection.
func tracked(t *testing.T, h *harness) string {
	t.Helper()
	exp := promtext.Gather(t, h.rc.ReceiverCollector())
	var s, j string
	for _, line := range strings.Split(exp, "\n") {
		if v, ok := strings.CutPrefix(line, "metastudio_exporter_callback_tracked_streams "); ok {
			s = v
		}
		if v, ok := strings.CutPrefix(line, "metastudio_exporter_callback_tracked_jobs "); ok {
			j = v
		}
	}
	return s + " streams, " + j + " jobs"
}

// TestEndRetention: a stream in END goes end-retention after its END
// event, and its job with it; a stream that came back from END stays.
func TestEndRetention(t *testing.T) {
	h := newHarness(t, Options{EndRetention: 15 * time.Minute})
	h.postNone(rtmpBody("r", "ended", "h", "CONNECTED"))
	h.postNone(rtmpBody("r", "back", "h", "END"))
	h.clock.Advance(time.Second)
	h.postNone(rtmpBody("r", "ended", "h", "END"))
	h.postNone(rtmpBody("r", "back", "h", "CONNECTING"))
	h.clock.Advance(15 * time.Minute)
	if got := tracked(t, h); got != "2 streams, 2 jobs" {
		t.Errorf("at end-retention: %s", got)
	}
	h.clock.Advance(time.Millisecond)
	if got := tracked(t, h); got != "1 streams, 1 jobs" {
		t.Errorf("past end-retention: %s", got)
	}
	exp := promtext.Gather(t, h.rc.StreamCollector())
	if strings.Contains(exp, `job_id="ended"`) || !strings.Contains(exp, `job_id="back"`) {
		t.Errorf("wrong stream dropped:\n%s", exp)
	}
}

// TestStaleExpiry: any other state stays 169 h after its last event.
func TestStaleExpiry(t *testing.T) {
	h := newHarness(t, Options{})
	h.postNone(rtmpBody("r", "j", "h", "DISCONNECTED"))
	h.postNone(switchBody("r", "script-only", 1))
	h.clock.Advance(169 * time.Hour)
	if got := tracked(t, h); got != "1 streams, 2 jobs" {
		t.Errorf("at 169h: %s", got)
	}
	h.clock.Advance(time.Millisecond)
	if got := tracked(t, h); got != "0 streams, 0 jobs" {
		t.Errorf("past 169h: %s", got)
	}
}

// TestRetain forgets removed tenants' streams, jobs and counters.
func TestRetain(t *testing.T) {
	h := newHarness(t, Options{})
	h.postNone(rtmpBody("r", "j", "h", "CONNECTED"))
	h.postMSSAt(t, 0, rtmpBody("r", "j", "h", "CONNECTED"))
	h.do(request{path: "/callback/nope"})
	h.rc.Retain([]string{"mss", "head"})
	if got := tracked(t, h); got != "1 streams, 1 jobs" {
		t.Errorf("after Retain: %s", got)
	}
	exp := promtext.Gather(t, h.rc.StreamCollector(), h.rc.ReceiverCollector())
	if strings.Contains(exp, `tenant="none"`) || !strings.Contains(exp, `tenant="mss"`) ||
		!strings.Contains(exp, `metastudio_exporter_callback_requests_total{result="unknown_tenant",tenant=""} 1`) {
		t.Errorf("after Retain:\n%s", exp)
	}
}
