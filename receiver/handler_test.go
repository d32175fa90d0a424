package receiver

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestResults produces every result of the receiver's table with its exact
// status, answer and counted (tenant, result).
func TestResults(t *testing.T) {
	valid := rtmpBody("room-1", "job-1", "live.example.com", "CONNECTED")
	at := t0
	mssQuery := signedQuery(testKey, mssURL, at)
	headSecret, headTime := sign(testKey, "https://mon.example.com/callback/head", at)
	pathSecret, pathTime := sign(testKey, mssPath, at)
	upper := strings.ToUpper(strings.Split(strings.Split(mssQuery, "&")[0], "=")[1])
	oldQuery := signedQuery(testKey, mssURL, at.Add(-5*time.Minute-time.Second))
	futureQuery := signedQuery(testKey, mssURL, at.Add(5*time.Minute+time.Second))
	edgeQuery := signedQuery(testKey, mssURL, at.Add(-5*time.Minute))
	msg := func(m string) string { return `{"event_type":"RTMP_STREAM_STATE_CHANGE","message":` + m + `}` }

	for _, tc := range []struct {
		name   string
		req    request
		status int
		answer string
		tenant string // counted tenant label
	}{
		{"accepted MSS_A over the URL as held", request{path: "/callback/mss", query: mssQuery, body: valid}, 200, answerJSON("accepted", ""), "mss"},
		{"accepted MSS_A over the path alone", request{path: "/callback/mss", query: "hwSecret=" + pathSecret + "&hwTime=" + pathTime, body: valid}, 200, answerJSON("accepted", ""), "mss"},
		{"accepted upper-case hwSecret", request{path: "/callback/mss", query: "hwSecret=" + upper + "&hwTime=" + strings.Split(mssQuery, "hwTime=")[1], body: valid}, 200, answerJSON("accepted", ""), "mss"},
		{"accepted hwTime at the skew's edge", request{path: "/callback/mss", query: edgeQuery, body: valid}, 200, answerJSON("accepted", ""), "mss"},
		{"accepted MSS_A_HEAD", request{path: "/callback/head", header: map[string]string{"X-Hw-Mss-Secret": headSecret, "X-Hw-Mss-Time": headTime}, body: valid}, 200, answerJSON("accepted", ""), "head"},
		{"accepted NONE with the URL's credentials", request{path: "/callback/none", query: "v=2&token=" + urlToken + "&extra=1", body: valid}, 200, answerJSON("accepted", ""), "none"},
		{"accepted NONE without credentials when allowed", request{path: "/callback/openok", body: valid}, 200, answerJSON("accepted", ""), "openok"},
		{"accepted unknown event type without IDs", request{path: "/callback/mss", query: mssQuery, body: `{"event_type":"NEW_THING","message":"{}"}`}, 200, answerJSON("accepted", ""), "mss"},
		{"accepted unknown state", request{path: "/callback/mss", query: mssQuery, body: rtmpBody("room-1", "job-1", "h", "PAUSED")}, 200, answerJSON("accepted", ""), "mss"},
		{"accepted message as a bare object", request{path: "/callback/mss", query: mssQuery, body: msg(`{"room_id":"r","job_id":"j","state":"END"}`)}, 200, answerJSON("accepted", ""), "mss"},

		{"bad_request not JSON", request{path: "/callback/mss", query: mssQuery, body: "event_type=x"}, 400, answerJSON("bad_request", problemNotJSON), "mss"},
		{"bad_request empty body", request{path: "/callback/mss", query: mssQuery}, 400, answerJSON("bad_request", problemNotJSON), "mss"},
		{"bad_request array", request{path: "/callback/mss", query: mssQuery, body: `[{"event_type":"X"}]`}, 400, answerJSON("bad_request", problemNotJSON), "mss"},
		{"bad_request trailing garbage", request{path: "/callback/mss", query: mssQuery, body: valid + "x"}, 400, answerJSON("bad_request", problemNotJSON), "mss"},
		{"bad_request no event_type", request{path: "/callback/mss", query: mssQuery, body: `{"message":"{}"}`}, 400, answerJSON("bad_request", problemNoEventType), "mss"},
		{"bad_request empty event_type", request{path: "/callback/mss", query: mssQuery, body: `{"event_type":"","message":"{}"}`}, 400, answerJSON("bad_request", problemNoEventType), "mss"},
		{"bad_request event_type a number", request{path: "/callback/mss", query: mssQuery, body: `{"event_type":3,"message":"{}"}`}, 400, answerJSON("bad_request", problemNoEventType), "mss"},
		{"bad_request no message", request{path: "/callback/mss", query: mssQuery, body: `{"event_type":"X"}`}, 400, answerJSON("bad_request", problemMessage), "mss"},
		{"bad_request message not JSON", request{path: "/callback/mss", query: mssQuery, body: msg(`"room_id=1"`)}, 400, answerJSON("bad_request", problemMessage), "mss"},
		{"bad_request message an array", request{path: "/callback/mss", query: mssQuery, body: msg(`"[1,2]"`)}, 400, answerJSON("bad_request", problemMessage), "mss"},
		{"bad_request message null", request{path: "/callback/mss", query: mssQuery, body: msg(`"null"`)}, 400, answerJSON("bad_request", problemMessage), "mss"},
		{"bad_request message a number", request{path: "/callback/mss", query: mssQuery, body: msg(`7`)}, 400, answerJSON("bad_request", problemMessage), "mss"},
		{"bad_request missing room_id", request{path: "/callback/mss", query: mssQuery, body: msg(`"{\"job_id\":\"j\",\"state\":\"END\"}"`)}, 400, answerJSON("bad_request", problemRoomOrJobIDs), "mss"},
		{"bad_request missing job_id", request{path: "/callback/mss", query: mssQuery, body: eventBody("SHOOT_SCRIPT_SWITCH", map[string]any{"room_id": "r"})}, 400, answerJSON("bad_request", problemRoomOrJobIDs), "mss"},
		{"bad_request empty room_id", request{path: "/callback/mss", query: mssQuery, body: eventBody("REPLY_COMMAND_FINISH", map[string]any{"room_id": "", "job_id": "j"})}, 400, answerJSON("bad_request", problemRoomOrJobIDs), "mss"},

		{"bad_signature wrong key", request{path: "/callback/mss", query: signedQuery("not-the-key", mssURL, at), body: valid}, 401, answerJSON("bad_signature", detailMismatch), "mss"},
		{"bad_signature other URL", request{path: "/callback/mss", query: signedQuery(testKey, "https://evil.example.com/callback/mss", at), body: valid}, 401, answerJSON("bad_signature", detailMismatch), "mss"},
		{"bad_signature no hwSecret", request{path: "/callback/mss", query: "hwTime=" + strings.Split(mssQuery, "hwTime=")[1], body: valid}, 401, answerJSON("bad_signature", detailMissingQuery), "mss"},
		{"bad_signature signature in headers for MSS_A", request{path: "/callback/mss", header: map[string]string{"X-Hw-Mss-Secret": headSecret, "X-Hw-Mss-Time": headTime}, body: valid}, 401, answerJSON("bad_signature", detailMissingQuery), "mss"},
		{"bad_signature no headers for MSS_A_HEAD", request{path: "/callback/head", query: "hwSecret=" + headSecret + "&hwTime=" + headTime, body: valid}, 401, answerJSON("bad_signature", detailMissingHead), "head"},
		{"bad_signature hwTime not hex", request{path: "/callback/mss", query: "hwSecret=" + pathSecret + "&hwTime=-5f", body: valid}, 401, answerJSON("bad_signature", detailBadTime), "mss"},
		{"bad_signature hwSecret not hex", request{path: "/callback/mss", query: "hwSecret=zz&hwTime=" + pathTime, body: valid}, 401, answerJSON("bad_signature", detailBadSecret), "mss"},
		{"bad_signature hwSecret truncated", request{path: "/callback/mss", query: "hwSecret=" + pathSecret[:62] + "&hwTime=" + pathTime, body: valid}, 401, answerJSON("bad_signature", detailBadSecret), "mss"},
		{"bad_signature NONE wrong token", request{path: "/callback/none", query: "token=guess&v=2", body: valid}, 401, answerJSON("bad_signature", detailURLCreds), "none"},
		{"bad_signature NONE missing parameter", request{path: "/callback/none", query: "token=" + urlToken, body: valid}, 401, answerJSON("bad_signature", detailURLCreds), "none"},
		{"bad_signature NONE repeated parameter", request{path: "/callback/none", query: "token=" + urlToken + "&token=" + urlToken + "&v=2", body: valid}, 401, answerJSON("bad_signature", detailURLCreds), "none"},

		{"expired past", request{path: "/callback/mss", query: oldQuery, body: valid}, 401, answerJSON("expired", detailExpired), "mss"},
		{"expired future", request{path: "/callback/mss", query: futureQuery, body: valid}, 401, answerJSON("expired", detailExpired), "mss"},

		{"unauthenticated NONE URL without credentials", request{path: "/callback/open", body: valid}, 401, answerJSON("unauthenticated", detailNoURLCreds), "open"},
		{"unauthenticated MSS_A without key", request{path: "/callback/nokey", query: mssQuery, body: valid}, 401, answerJSON("unauthenticated", detailNoKey), "nokey"},

		{"unsupported_auth MEITUAN_DEFAULT", request{path: "/callback/meituan", query: mssQuery, body: valid}, 401, answerJSON("unsupported_auth", detailUnsupported), "meituan"},
		{"unsupported_auth unknown", request{path: "/callback/weird", query: mssQuery, body: valid}, 401, answerJSON("unsupported_auth", detailUnsupported), "weird"},

		{"unknown_tenant", request{path: "/callback/nope", query: mssQuery, body: valid}, 404, answerJSON("unknown_tenant", detailUnknownTenant), ""},
		{"unknown_tenant no name", request{path: "/callback/", body: valid}, 404, answerJSON("unknown_tenant", detailUnknownTenant), ""},
		{"unknown_tenant nested path", request{path: "/callback/mss/x", query: mssQuery, body: valid}, 404, answerJSON("unknown_tenant", detailUnknownTenant), ""},
		{"unknown_tenant other path", request{path: "/metrics", body: valid}, 404, answerJSON("unknown_tenant", detailUnknownTenant), ""},

		{"too_large", request{path: "/callback/mss", query: mssQuery, body: `{"event_type":"X","message":"` + strings.Repeat("a", maxBodyBytes) + `"}`}, 413, answerJSON("too_large", detailTooLarge), "mss"},

		{"settings_unavailable", request{path: "/callback/down", query: mssQuery, body: valid}, 503, answerJSON("settings_unavailable", detailNoSettings), "down"},

		{"method_not_allowed GET", request{method: http.MethodGet, path: "/callback/mss"}, 405, answerJSON("method_not_allowed", detailMethod), ""},
		{"method_not_allowed PUT", request{method: http.MethodPut, path: "/callback/mss", query: mssQuery, body: valid}, 405, answerJSON("method_not_allowed", detailMethod), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			a := h.do(tc.req)
			if a.status != tc.status || a.body != tc.answer {
				t.Errorf("got %d %s, want %d %s", a.status, a.body, tc.status, tc.answer)
			}
			if ct := a.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if tc.status == 405 && a.header.Get("Allow") != "POST" {
				t.Errorf("Allow %q, want POST", a.header.Get("Allow"))
			}
			res := strings.Split(tc.answer, `"`)[3]
			compare(t, h.rc.ReceiverCollector(), `# HELP metastudio_exporter_callback_requests_total Callback requests by result; tenant is empty when the request names no tenant.
# TYPE metastudio_exporter_callback_requests_total counter
metastudio_exporter_callback_requests_total{result="`+res+`",tenant="`+tc.tenant+`"} 1
`, "metastudio_exporter_callback_requests_total")
		})
	}
}

// TestTooLargeChunked refuses a body over 64 KiB that came without a length.
func TestTooLargeChunked(t *testing.T) {
	h := newHarness(t, Options{})
	req := request{path: "/callback/mss", query: signedQuery(testKey, mssURL, t0), body: strings.Repeat(" ", maxBodyBytes+1)}
	a := h.doChunked(req)
	if a.status != 413 || a.body != answerJSON("too_large", detailTooLarge) {
		t.Errorf("got %d %s", a.status, a.body)
	}
	// Exactly 64 KiB is read and judged on its content.
	req.body = strings.Repeat(" ", maxBodyBytes)
	if a := h.doChunked(req); a.status != 400 || a.body != answerJSON("bad_request", problemNotJSON) {
		t.Errorf("64 KiB: got %d %s", a.status, a.body)
	}
}

// TestDuplicate answers a replay inside the window 200 duplicate without
// applying it twice, while a distinct event in the same second is accepted.
func TestDuplicate(t *testing.T) {
	h := newHarness(t, Options{})
	first := switchBody("room-1", "job-1", 3)
	second := switchBody("room-1", "job-1", 4)
	for i, want := range []struct{ body, answer string }{
		{first, answerJSON("accepted", "")},
		{first, answerJSON("duplicate", "")},
		{second, answerJSON("accepted", "")}, // same hwTime and hwSecret, another body
		{first, answerJSON("duplicate", "")},
	} {
		if a := h.postMSS(want.body); a.status != 200 || a.body != want.answer {
			t.Errorf("request %d: got %d %s, want 200 %s", i, a.status, a.body, want.answer)
		}
	}
	// NONE has no time: a repeated body is a real repeat, never a duplicate.
	for i, want := range []string{answerJSON("accepted", ""), answerJSON("accepted", "")} {
		h.clock.Advance(time.Second)
		if a := h.postNone(first); a.status != 200 || a.body != want {
			t.Errorf("NONE request %d: got %d %s, want 200 %s", i, a.status, a.body, want)
		}
	}
	compare(t, h.rc.StreamCollector(), `# HELP metastudio_live_events_total Accepted live events; types this exporter does not know count as other.
# TYPE metastudio_live_events_total counter
metastudio_live_events_total{event_type="SHOOT_SCRIPT_SWITCH",tenant="mss"} 2
metastudio_live_events_total{event_type="SHOOT_SCRIPT_SWITCH",tenant="none"} 2
`, "metastudio_live_events_total")
	compare(t, h.rc.ReceiverCollector(), `# HELP metastudio_exporter_callback_requests_total Callback requests by result; tenant is empty when the request names no tenant.
# TYPE metastudio_exporter_callback_requests_total counter
metastudio_exporter_callback_requests_total{result="accepted",tenant="mss"} 2
metastudio_exporter_callback_requests_total{result="accepted",tenant="none"} 2
metastudio_exporter_callback_requests_total{result="duplicate",tenant="mss"} 2
`, "metastudio_exporter_callback_requests_total")

	// Past the skew window the replay is expired, not a duplicate.
	q := signedQuery(testKey, mssURL, h.clock.Now())
	h.clock.Advance(5*time.Minute + time.Second)
	if a := h.do(request{path: "/callback/mss", query: q, body: first}); a.status != 401 || a.body != answerJSON("expired", detailExpired) {
		t.Errorf("late replay: got %d %s", a.status, a.body)
	}
}

// TestNoneRecoveryIsNoDuplicate: a NONE stream that drops and recovers
// within seconds sends the same CONNECTED body twice; the second one is
// taken, so the stream ends CONNECTED and no alert pages for it. Events
// received in the same millisecond apply in arrival order.
func TestNoneRecoveryIsNoDuplicate(t *testing.T) {
	for _, step := range []time.Duration{time.Second, 0} {
		h := newHarness(t, Options{})
		for _, state := range []string{"CONNECTED", "DISCONNECTED", "RECONNECTING", "CONNECTED"} {
			h.clock.Advance(step)
			if a := h.postNone(rtmpBody("room-1", "job-1", "live.example.com", state)); a.status != 200 || a.body != answerJSON("accepted", "") {
				t.Errorf("step %s, %s: got %d %s, want 200 accepted", step, state, a.status, a.body)
			}
		}
		compare(t, h.rc.StreamCollector(), `# HELP metastudio_live_stream_state 1 for the latest state this exporter saw of the stream, 0 for the other known states; state="other" stands for every state this exporter does not know and appears once seen.
# TYPE metastudio_live_stream_state gauge
metastudio_live_stream_state{job_id="job-1",output_host="live.example.com",room_id="room-1",state="CONNECTED",tenant="none"} 1
metastudio_live_stream_state{job_id="job-1",output_host="live.example.com",room_id="room-1",state="CONNECTING",tenant="none"} 0
metastudio_live_stream_state{job_id="job-1",output_host="live.example.com",room_id="room-1",state="DISCONNECTED",tenant="none"} 0
metastudio_live_stream_state{job_id="job-1",output_host="live.example.com",room_id="room-1",state="END",tenant="none"} 0
metastudio_live_stream_state{job_id="job-1",output_host="live.example.com",room_id="room-1",state="RECONNECTING",tenant="none"} 0
# HELP metastudio_live_events_total Accepted live events; types this exporter does not know count as other.
# TYPE metastudio_live_events_total counter
metastudio_live_events_total{event_type="RTMP_STREAM_STATE_CHANGE",tenant="none"} 4
`, "metastudio_live_stream_state", "metastudio_live_events_total")
	}
}

// TestOverHTTP serves the handler on a loopback listener: an accepted event
// and a body over the limit, as a real client sees them.
func TestOverHTTP(t *testing.T) {
	h := newHarness(t, Options{})
	srv := httptest.NewServer(h.rc.Handler())
	t.Cleanup(srv.Close)
	target := srv.URL + "/callback/mss?" + signedQuery(testKey, mssURL, t0)
	for _, tc := range []struct {
		body   string
		status int
		answer string
	}{
		{switchBody("r", "j", 1), 200, answerJSON("accepted", "")},
		{strings.Repeat("x", maxBodyBytes+1), 413, answerJSON("too_large", detailTooLarge)},
	} {
		resp, err := http.Post(target, "application/json", strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || string(b) != tc.answer {
			t.Errorf("got %d %s, want %d %s", resp.StatusCode, b, tc.status, tc.answer)
		}
	}
}
