package receiver

import (
	"strconv"
	"strings"
	"testing"

	"github.com/metastudio-exporter/metastudio_exporter/internal/promtext"
	"github.com/metastudio-exporter/metastudio_exporter/secret"
)

// TestFloodKeepsOtherTenantsStreams: 2,400 unsigned events to a tenant that
// allows them fill the table past max-streams, yet another tenant's
// DISCONNECTED stream stays, so its alert keeps firing; the flood evicts
// only its own streams.
func TestFloodKeepsOtherTenantsStreams(t *testing.T) {
	h := newHarness(t, Options{})
	h.postMSSAt(t, 0, rtmpBody("room-1", "job-1", "live.example.com", "DISCONNECTED"))
	for i := range 2400 {
		if a := h.do(request{path: "/callback/openok", body: rtmpBody("r", "flood-"+strconv.Itoa(i), "h", "CONNECTED")}); a.status != 200 {
			t.Fatalf("flood event %d: %d %s", i, a.status, a.body)
		}
	}
	exp := promtext.Gather(t, h.rc.StreamCollector(), h.rc.ReceiverCollector())
	for _, want := range []string{
		`metastudio_live_stream_state{job_id="job-1",output_host="live.example.com",room_id="room-1",state="DISCONNECTED",tenant="mss"} 1`,
		"metastudio_exporter_callback_tracked_streams 2000",
		"metastudio_exporter_callback_evicted_streams_total 401",
		`metastudio_live_job_last_event_timestamp_seconds{job_id="job-1",room_id="room-1",tenant="mss"} 1.7959248e+09`,
	} {
		if !strings.Contains(exp, want+"\n") {
			t.Errorf("exposition lacks %s", want)
		}
	}
	// The flood kept its newest 1,999 streams.
	if strings.Contains(exp, `job_id="flood-400"`) || !strings.Contains(exp, `job_id="flood-401"`) || !strings.Contains(exp, `job_id="flood-2399"`) {
		t.Error("the flood did not evict its own least recently updated streams")
	}
}

// TestFloodKeepsOtherTenantsReplays: 65,600 signed events from one tenant
// overflow the replay memory, yet another tenant's byte-identical signed
// replay is still a duplicate and reaches its app once.
func TestFloodKeepsOtherTenantsReplays(t *testing.T) {
	if testing.Short() {
		t.Skip("65,600 requests")
	}
	h := newHarness(t, Options{})
	a := newApp(t, "MSS_A_HEAD")
	h.src.set("head", func(s *TenantSettings) { s.ForwardURL = secret.String(a.url) })
	headSecret, headTime := sign(testKey, "https://mon.example.com/callback/head", t0)
	replayed := request{path: "/callback/head", header: map[string]string{headerSecret: headSecret, headerTime: headTime},
		body: rtmpBody("room-1", "job-1", "live.example.com", "DISCONNECTED")}
	if ans := h.do(replayed); ans.status != 200 || ans.body != answerJSON("accepted", "") {
		t.Fatalf("first copy: %d %s", ans.status, ans.body)
	}
	q := signedQuery(testKey, mssURL, t0)
	for i := range 65600 {
		if ans := h.do(request{path: "/callback/mss", query: q, body: switchBody("r", "j", i)}); ans.status != 200 {
			t.Fatalf("flood event %d: %d %s", i, ans.status, ans.body)
		}
	}
	if n := h.rc.replay.len(); n != maxReplayEntries {
		t.Errorf("replay memory holds %d entries, want its bound %d", n, maxReplayEntries)
	}
	if ans := h.do(replayed); ans.status != 200 || ans.body != answerJSON("duplicate", "") {
		t.Errorf("replay after the flood: %d %s, want 200 duplicate", ans.status, ans.body)
	}
	if got, problems := a.received(); len(got) != 1 || len(problems) != 0 {
		t.Errorf("the app got %d relays (problems %q), want 1", len(got), problems)
	}
}

// TestFairVictim: between tenants the one holding the most loses its least
// recently updated entry; ties go to the entry updated longest ago.
func TestFairVictim(t *testing.T) {
	tb := newTable(4, DefaultEndRetention)
	ev := func(job string) *event {
		return &event{typeLabel: "RTMP_STREAM_STATE_CHANGE", roomID: "r", jobID: job, outputHost: "h", state: stateConnected}
	}
	tb.record("a", ev("a1"), 1)
	tb.record("b", ev("b1"), 2)
	tb.record("a", ev("a2"), 3)
	tb.record("b", ev("b2"), 4)
	tb.record("b", ev("b1"), 5) // b1 is now b's most recent
	tb.record("c", ev("c1"), 6) // a and b hold 2 each: a1 is older than b2
	tb.record("c", ev("c2"), 7) // b holds the most: b2 goes
	var got []string
	for _, e := range tb.streamLRU.ordered() {
		got = append(got, e.(*stream).key.jobID)
	}
	if strings.Join(got, " ") != "a2 b1 c1 c2" {
		t.Errorf("streams left, least recently updated first: %q, want a2 b1 c1 c2", got)
	}
}
