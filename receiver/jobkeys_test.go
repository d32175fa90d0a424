package receiver

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// A room of tenant mss with a callback of its own: its jobs' events are
// signed in headers with the room's key, over the room's URL.
const (
	roomKey = "room-key-Jc58"
	roomURL = "https://mon.example.com:10037/callback/mss?room=own"
)

var roomCallback = &JobCallback{AuthType: "MSS_A_HEAD", Key: roomKey, CallbackURL: roomURL}

// postJob posts body to tenant mss signed in headers with key over roomURL
// at the clock's now plus offset.
func (h *harness) postJob(key, body string, offset time.Duration) answer {
	sec, tm := sign(key, roomURL, h.clock.Now().Add(offset))
	return h.do(request{path: "/callback/mss", header: map[string]string{headerSecret: sec, headerTime: tm}, body: body})
}

// TestJobKeys: a job whose room has a callback of its own is verified with
// the room's key, found among the tenant's live jobs (listed again when
// they do not hold it); every other answer stays as it was.
func TestJobKeys(t *testing.T) {
	h := newHarness(t, Options{})
	h.src.startJob("mss", "job-own", roomCallback)
	h.src.startJob("mss", "job-plain", nil)
	accepted := answerJSON("accepted", "")

	// The first event of the job: not listed yet, so listed once.
	if a := h.postJob(roomKey, rtmpBody("room-own", "job-own", "live.example.com", "CONNECTED"), 0); a.status != 200 || a.body != accepted {
		t.Fatalf("an event signed with its room's key: %d %s", a.status, a.body)
	}
	if n := h.src.listings("mss"); n != 1 {
		t.Fatalf("%d listings, want 1", n)
	}
	h.clock.Advance(time.Second)
	for _, tc := range []struct {
		name   string
		key    string
		body   string
		offset time.Duration
		status int
		answer string
	}{
		{"the next event, the job now known", roomKey, switchBody("room-own", "job-own", 2), 0, 200, accepted},
		{"the same event again", roomKey, switchBody("room-own", "job-own", 2), 0, 200, answerJSON("duplicate", "")},
		{"a wrong key", "forged-key", switchBody("room-own", "job-own", 3), 0, 401, answerJSON("bad_signature", detailMismatch)},
		{"the tenant's key where the room's signs", testKey, switchBody("room-own", "job-own", 4), 0, 401, answerJSON("bad_signature", detailMismatch)},
		{"the room's key, out of time", roomKey, switchBody("room-own", "job-own", 5), -time.Hour, 401, answerJSON("expired", detailExpired)},
		{"the room's key, a body without room_id", roomKey, eventBody("SHOOT_SCRIPT_SWITCH", map[string]any{"job_id": "job-own"}), 0,
			400, answerJSON("bad_request", problemRoomOrJobIDs)},
		{"the room's key for a job that runs with the tenant's", roomKey, switchBody("room-plain", "job-plain", 1), 0, 401, answerJSON("bad_signature", detailMissingQuery)},
	} {
		a := h.postJob(tc.key, tc.body, tc.offset)
		if a.status != tc.status || a.body != tc.answer {
			t.Errorf("%s: %d %s, want %d %s", tc.name, a.status, a.body, tc.status, tc.answer)
		}
	}
	// The room's jobs never needed the tenant's settings refetched: its key
	// does not sign them. The job that runs with the tenant's did, once.
	if n, fresh := h.src.listings("mss"), h.src.freshCalls(); n != 1 || fresh != 1 {
		t.Errorf("%d listings and %d settings refetches, want 1 and 1", n, fresh)
	}

	// The tenant's own key still signs every job that has none of its
	// own, listed or not, with no call at all.
	for _, job := range []string{"job-plain", "job-unlisted"} {
		if a := h.postMSS(switchBody("room-plain", job, 1)); a.status != 200 || a.body != accepted {
			t.Errorf("%s signed with the tenant's key: %d %s", job, a.status, a.body)
		}
	}
	if n := h.src.listings("mss"); n != 1 {
		t.Errorf("%d listings after the tenant-signed events, want 1", n)
	}
	compare(t, h.rc.ReceiverCollector(), `# HELP metastudio_exporter_callback_requests_total Callback requests by result; tenant is empty when the request names no tenant.
# TYPE metastudio_exporter_callback_requests_total counter
metastudio_exporter_callback_requests_total{result="accepted",tenant="mss"} 4
metastudio_exporter_callback_requests_total{result="bad_request",tenant="mss"} 1
metastudio_exporter_callback_requests_total{result="bad_signature",tenant="mss"} 3
metastudio_exporter_callback_requests_total{result="duplicate",tenant="mss"} 1
metastudio_exporter_callback_requests_total{result="expired",tenant="mss"} 1
`, "metastudio_exporter_callback_requests_total")
	assertNoSecret(t, "the log", h.logBuf.String())
}

// TestJobKeysListingBudget: job ids the tenant's live jobs do not hold list
// them once per 30 s per tenant however many requests name them, and a
// job started meanwhile is verified once the next slot lists it.
func TestJobKeysListingBudget(t *testing.T) {
	h := newHarness(t, Options{})
	forged := func(n int) {
		t.Helper()
		for i := range n {
			body := switchBody("room-x", fmt.Sprintf("forged-%d", i), 1)
			if a := h.postJob(roomKey, body, 0); a.status != 401 || a.body != answerJSON("bad_signature", detailMissingQuery) {
				t.Fatalf("forged request %d: %d %s", i, a.status, a.body)
			}
		}
	}
	forged(200)
	if n := h.src.listings("mss"); n != 1 {
		t.Fatalf("%d listings for 200 forged job ids, want 1", n)
	}
	// Started after the listing: refused until the slot frees.
	h.src.startJob("mss", "job-new", roomCallback)
	body := rtmpBody("room-own", "job-new", "live.example.com", "CONNECTING")
	h.clock.Advance(29 * time.Second)
	if a := h.postJob(roomKey, body, 0); a.status != 401 || a.body != answerJSON("bad_signature", detailMissingQuery) {
		t.Errorf("a new job within 30 s of the listing: %d %s", a.status, a.body)
	}
	h.clock.Advance(time.Second)
	if a := h.postJob(roomKey, body, 0); a.status != 200 || a.body != answerJSON("accepted", "") {
		t.Errorf("a new job 30 s after the listing: %d %s", a.status, a.body)
	}
	forged(200)
	if n := h.src.listings("mss"); n != 2 {
		t.Errorf("%d listings in all, want 2", n)
	}
	// Each tenant has its own slot.
	h.src.startJob("head", "job-own", roomCallback)
	sec, tm := sign(roomKey, roomURL, h.clock.Now())
	if a := h.do(request{path: "/callback/head", header: map[string]string{headerSecret: sec, headerTime: tm}, body: rtmpBody("room-own", "job-own", "h", "CONNECTED")}); a.status != 200 {
		t.Errorf("another tenant's job, its slot unused: %d %s", a.status, a.body)
	}
	if n, m := h.src.listings("mss"), h.src.listings("head"); n != 2 || m != 1 {
		t.Errorf("listings %d and %d, want 2 and 1", n, m)
	}
}

// TestJobKeysOrder: what a sender that cannot sign learns is what it
// learned before jobs had keys: a body that does not parse or names no job
// is refused as unsigned (401), never judged (400), and costs no listing;
// a failed listing leaves the tenant's verdict.
func TestJobKeysOrder(t *testing.T) {
	h := newHarness(t, Options{})
	h.src.startJob("mss", "job-own", roomCallback)
	for _, tc := range []struct{ name, body string }{
		{"not JSON", "not json"},
		{"no message", `{"event_type":"SHOOT_SCRIPT_SWITCH"}`},
		{"no job_id", eventBody("SHOOT_SCRIPT_SWITCH", map[string]any{"room_id": "room-own"})},
	} {
		if a := h.postJob(roomKey, tc.body, 0); a.status != 401 || a.body != answerJSON("bad_signature", detailMissingQuery) {
			t.Errorf("%s, signed with a room's key: %d %s", tc.name, a.status, a.body)
		}
	}
	if n := h.src.listings("mss"); n != 0 {
		t.Errorf("%d listings for bodies that name no job", n)
	}
	// A signed body that names no job is still judged once verified.
	if a := h.postMSS("not json"); a.status != 400 || a.body != answerJSON("bad_request", problemNotJSON) {
		t.Errorf("a tenant-signed body that is no JSON: %d %s", a.status, a.body)
	}
	h.src.freshFails = map[string]bool{"mss": true}
	if a := h.postJob(roomKey, switchBody("room-own", "job-own", 1), 0); a.status != 401 || a.body != answerJSON("bad_signature", detailMissingQuery) {
		t.Errorf("the room's key while the jobs cannot be listed: %d %s", a.status, a.body)
	}
	if !strings.Contains(h.logBuf.String(), `level=debug msg="Cannot list live jobs to find a job's callback key" tenant=mss err="API down"`) {
		t.Errorf("the failed listing is not logged at debug:\n%s", h.logBuf.String())
	}
}
