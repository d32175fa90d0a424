package receiver

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/secret"
)

// set changes a tenant's settings everywhere, cache included.
func (s *fakeSource) set(tenant string, f func(*TenantSettings)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ts := s.api[tenant]
	f(&ts)
	s.api[tenant], s.cached[tenant] = ts, ts
}

// app is a tenant's own application behind forward_url. It verifies what it
// gets as an app would verify MetaStudio, with code of its own.
type app struct {
	srv      *httptest.Server
	url      string // forward_url as configured
	authType string
	key      string

	mu       sync.Mutex
	statuses []int // answers to give, in order; 200 once they run out
	got      []string
	problems []string
	block    chan struct{} // when set, requests wait for it or their context
	arrived  chan struct{} // when set, gets a value as each request comes in
}

func newApp(t *testing.T, authType string) *app {
	a := &app{authType: authType, key: testKey}
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.srv.Close)
	a.url = a.srv.URL + "/events?app=1&s=" + forwardSecret
	return a
}

func (a *app) serve(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	block, arrived := a.block, a.arrived
	a.mu.Unlock()
	if arrived != nil {
		arrived <- struct{}{}
	}
	if block != nil {
		select {
		case <-block:
		case <-r.Context().Done():
			return
		}
	}
	body, _ := io.ReadAll(r.Body)
	problem := a.check(r)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.got = append(a.got, string(body))
	if problem != "" {
		a.problems = append(a.problems, problem)
	}
	status := 200
	if len(a.statuses) > 0 {
		status, a.statuses = a.statuses[0], a.statuses[1:]
	}
	w.WriteHeader(status)
}

// check is the app's verifier: hwSecret = hex(HMAC-SHA256(key, forward_url
// + hwTime)), from the query (MSS_A) or headers (MSS_A_HEAD), and the
// request URL is forward_url plus exactly those two parameters.
func (a *app) check(r *http.Request) string {
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		return "method " + r.Method + ", Content-Type " + r.Header.Get("Content-Type")
	}
	received := "http://" + r.Host + r.URL.RequestURI()
	var gotSecret, gotTime string
	switch a.authType {
	case "MSS_A":
		i := strings.Index(received, "&hwSecret=")
		if i < 0 || received[:i] != a.url {
			return "URL " + received + " is not forward_url plus the signature"
		}
		q, _ := url.ParseQuery(received[i+1:])
		if len(q) != 2 {
			return "unexpected query after forward_url: " + received[i+1:]
		}
		gotSecret, gotTime = q.Get("hwSecret"), q.Get("hwTime")
	case "MSS_A_HEAD":
		if received != a.url {
			return "URL " + received + " is not forward_url"
		}
		gotSecret, gotTime = r.Header.Get("x-hw-mss-secret"), r.Header.Get("x-hw-mss-time")
	default:
		if received != a.url || r.Header.Get("x-hw-mss-secret") != "" {
			return "NONE relay changed: " + received
		}
		return ""
	}
	sec, err := strconv.ParseInt(gotTime, 16, 64)
	if err != nil || time.Unix(sec, 0).Sub(t0).Abs() > time.Minute {
		return "hwTime " + gotTime + " is not the relay's time"
	}
	mac := hmac.New(sha256.New, []byte(a.key))
	mac.Write([]byte(a.url + gotTime))
	want := hex.EncodeToString(mac.Sum(nil))
	if gotSecret != want {
		return "hwSecret " + gotSecret + ", want " + want
	}
	return ""
}

func (a *app) received() ([]string, []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.got...), append([]string(nil), a.problems...)
}

func TestRelayResigns(t *testing.T) {
	for _, authType := range []string{"MSS_A", "MSS_A_HEAD", "NONE"} {
		t.Run(authType, func(t *testing.T) {
			h := newHarness(t, Options{})
			a := newApp(t, authType)
			h.src.set("mss", func(s *TenantSettings) {
				s.AuthType, s.ForwardURL = authType, secret.String(a.url)
				if authType == "NONE" {
					s.CallbackURL = noneURL
				}
			})
			req := request{path: "/callback/mss", body: rtmpBody("room-1", "job-1", "live.example.com", "DISCONNECTED")}
			switch authType {
			case "MSS_A":
				req.query = signedQuery(testKey, mssURL, t0)
			case "MSS_A_HEAD":
				s, tm := sign(testKey, mssURL, t0)
				req.header = map[string]string{"x-hw-mss-secret": s, "x-hw-mss-time": tm}
			case "NONE":
				req.query = "token=" + urlToken + "&v=2"
			}
			if ans := h.do(req); ans.status != 200 || ans.body != answerJSON("accepted", "") {
				t.Fatalf("got %d %s", ans.status, ans.body)
			}
			got, problems := a.received()
			if len(got) != 1 || got[0] != req.body || len(problems) != 0 {
				t.Errorf("app got %q, problems %q", got, problems)
			}
			compare(t, h.rc.ReceiverCollector(), `# HELP metastudio_exporter_callback_forwards_total Relays to the tenant's forward_url by HTTP status, or timeout / network.
# TYPE metastudio_exporter_callback_forwards_total counter
metastudio_exporter_callback_forwards_total{code="200",tenant="mss"} 1
`, "metastudio_exporter_callback_forwards_total")
			assertNoSecret(t, "log", h.logBuf.String())
		})
	}
}

// TestRelayFailureThenRetry: the app fails, the receiver answers 502 but
// records the event; MetaStudio's retry is a duplicate that is relayed
// again, and once relayed, further retries are not.
func TestRelayFailureThenRetry(t *testing.T) {
	h := newHarness(t, Options{})
	a := newApp(t, "MSS_A")
	a.statuses = []int{500}
	h.src.set("mss", func(s *TenantSettings) { s.ForwardURL = secret.String(a.url) })
	req := request{path: "/callback/mss", query: signedQuery(testKey, mssURL, t0), body: rtmpBody("room-1", "job-1", "live.example.com", "DISCONNECTED")}
	for i, want := range []struct {
		status int
		answer string
		relays int
	}{
		{502, answerJSON("forward_failed", detailForward), 1},
		{200, answerJSON("duplicate", ""), 2},
		{200, answerJSON("duplicate", ""), 2},
	} {
		if ans := h.do(req); ans.status != want.status || ans.body != want.answer {
			t.Errorf("attempt %d: got %d %s, want %d %s", i, ans.status, ans.body, want.status, want.answer)
		}
		if got, problems := a.received(); len(got) != want.relays || len(problems) != 0 {
			t.Errorf("attempt %d: app got %d relays (problems %q), want %d", i, len(got), problems, want.relays)
		}
	}
	compare(t, h.rc.StreamCollector(), `# HELP metastudio_live_events_total Accepted live events; types this exporter does not know count as other.
# TYPE metastudio_live_events_total counter
metastudio_live_events_total{event_type="RTMP_STREAM_STATE_CHANGE",tenant="mss"} 1
# HELP metastudio_live_stream_state 1 for the latest state this exporter saw of the stream, 0 for the other known states; state="other" stands for every state this exporter does not know and appears once seen.
# TYPE metastudio_live_stream_state gauge
metastudio_live_stream_state{job_id="job-1",output_host="live.example.com",room_id="room-1",state="CONNECTED",tenant="mss"} 0
metastudio_live_stream_state{job_id="job-1",output_host="live.example.com",room_id="room-1",state="CONNECTING",tenant="mss"} 0
metastudio_live_stream_state{job_id="job-1",output_host="live.example.com",room_id="room-1",state="DISCONNECTED",tenant="mss"} 1
metastudio_live_stream_state{job_id="job-1",output_host="live.example.com",room_id="room-1",state="END",tenant="mss"} 0
metastudio_live_stream_state{job_id="job-1",output_host="live.example.com",room_id="room-1",state="RECONNECTING",tenant="mss"} 0
`, "metastudio_live_events_total", "metastudio_live_stream_state")
	compare(t, h.rc.ReceiverCollector(), `# HELP metastudio_exporter_callback_forwards_total Relays to the tenant's forward_url by HTTP status, or timeout / network.
# TYPE metastudio_exporter_callback_forwards_total counter
metastudio_exporter_callback_forwards_total{code="200",tenant="mss"} 1
metastudio_exporter_callback_forwards_total{code="500",tenant="mss"} 1
# HELP metastudio_exporter_callback_requests_total Callback requests by result; tenant is empty when the request names no tenant.
# TYPE metastudio_exporter_callback_requests_total counter
metastudio_exporter_callback_requests_total{result="duplicate",tenant="mss"} 2
metastudio_exporter_callback_requests_total{result="forward_failed",tenant="mss"} 1
`, "metastudio_exporter_callback_forwards_total", "metastudio_exporter_callback_requests_total")
	assertNoSecret(t, "log", h.logBuf.String())
}

func TestRelayTimeout(t *testing.T) {
	h := newHarness(t, Options{})
	a := newApp(t, "MSS_A")
	a.block = make(chan struct{})
	t.Cleanup(func() { close(a.block) }) // runs before the server closes
	h.src.set("mss", func(s *TenantSettings) {
		s.ForwardURL, s.ForwardTimeout = secret.String(a.url), 50*time.Millisecond
	})
	start := time.Now()
	ans := h.do(request{path: "/callback/mss", query: signedQuery(testKey, mssURL, t0), body: switchBody("r", "j", 2)})
	if ans.status != 502 || ans.body != answerJSON("forward_failed", detailForward) {
		t.Errorf("got %d %s", ans.status, ans.body)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the relay took %s despite a 50ms forward_timeout", d)
	}
	compare(t, h.rc.ReceiverCollector(), `# HELP metastudio_exporter_callback_forwards_total Relays to the tenant's forward_url by HTTP status, or timeout / network.
# TYPE metastudio_exporter_callback_forwards_total counter
metastudio_exporter_callback_forwards_total{code="timeout",tenant="mss"} 1
`, "metastudio_exporter_callback_forwards_total")
	assertNoSecret(t, "log", h.logBuf.String())
}

func TestRelayNetworkError(t *testing.T) {
	h := newHarness(t, Options{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String() + "/events?s=" + forwardSecret
	l.Close()
	h.src.set("mss", func(s *TenantSettings) { s.ForwardURL = secret.String(closed) })
	ans := h.do(request{path: "/callback/mss", query: signedQuery(testKey, mssURL, t0), body: switchBody("r", "j", 2)})
	if ans.status != 502 {
		t.Errorf("got %d %s", ans.status, ans.body)
	}
	compare(t, h.rc.ReceiverCollector(), `# HELP metastudio_exporter_callback_forwards_total Relays to the tenant's forward_url by HTTP status, or timeout / network.
# TYPE metastudio_exporter_callback_forwards_total counter
metastudio_exporter_callback_forwards_total{code="network",tenant="mss"} 1
`, "metastudio_exporter_callback_forwards_total")
	logs := h.logBuf.String()
	assertNoSecret(t, "log", logs)
	if !strings.Contains(logs, `level=warn msg="Relaying live events failed" tenant=mss forward_host=`+l.Addr().String()+` code=network err=`) {
		t.Errorf("no relay failure line naming the host:\n%s", logs)
	}
}

// TestRelayNoRedirect: a redirect is not 2xx, and is not followed.
func TestRelayNoRedirect(t *testing.T) {
	h := newHarness(t, Options{})
	a := newApp(t, "MSS_A")
	redirect := httptest.NewServer(http.RedirectHandler(a.url, http.StatusTemporaryRedirect))
	t.Cleanup(redirect.Close)
	h.src.set("mss", func(s *TenantSettings) { s.ForwardURL = secret.String(redirect.URL + "/x") })
	if ans := h.do(request{path: "/callback/mss", query: signedQuery(testKey, mssURL, t0), body: switchBody("r", "j", 2)}); ans.status != 502 {
		t.Errorf("got %d %s", ans.status, ans.body)
	}
	if got, _ := a.received(); len(got) != 0 {
		t.Errorf("the redirect was followed: %q", got)
	}
}

// TestConcurrentDuplicateWaitsForRelay: a copy arriving while the first
// copy's relay is in flight waits for it and answers as it went; the app
// gets one copy either way.
func TestConcurrentDuplicateWaitsForRelay(t *testing.T) {
	for _, tc := range []struct {
		appStatus int
		status    int
		first     string
		second    string
	}{
		{200, 200, answerJSON("accepted", ""), answerJSON("duplicate", "")},
		{500, 502, answerJSON("forward_failed", detailForward), answerJSON("forward_failed", detailForward)},
	} {
		t.Run(strconv.Itoa(tc.appStatus), func(t *testing.T) {
			h := newHarness(t, Options{})
			a := newApp(t, "MSS_A")
			a.statuses = []int{tc.appStatus}
			a.block = make(chan struct{})
			h.src.set("mss", func(s *TenantSettings) { s.ForwardURL = secret.String(a.url) })
			req := request{path: "/callback/mss", query: signedQuery(testKey, mssURL, t0), body: rtmpBody("room-1", "job-1", "h", "DISCONNECTED")}
			answers := make(chan answer, 2)
			go func() { answers <- h.do(req) }()
			// The first relay is at the app (blocked) before the copy comes.
			waitFor(t, "the first relay to be in flight", func() bool {
				h.rc.replay.mu.Lock()
				defer h.rc.replay.mu.Unlock()
				return len(h.rc.replay.relays) == 1
			})
			go func() { answers <- h.do(req) }()
			waitFor(t, "the copy to wait", func() bool {
				h.rc.replay.mu.Lock()
				defer h.rc.replay.mu.Unlock()
				for _, w := range h.rc.replay.relays {
					return w.waiters == 1
				}
				return false
			})
			close(a.block)
			got := []string{}
			for range 2 {
				ans := <-answers
				if ans.status != tc.status {
					t.Errorf("status %d, want %d", ans.status, tc.status)
				}
				got = append(got, ans.body)
			}
			if !(got[0] == tc.first && got[1] == tc.second || got[1] == tc.first && got[0] == tc.second) {
				t.Errorf("answers %q, want %s and %s", got, tc.first, tc.second)
			}
			if relays, problems := a.received(); len(relays) != 1 || len(problems) != 0 {
				t.Errorf("the app got %d copies (problems %q), want 1", len(relays), problems)
			}
		})
	}
}
