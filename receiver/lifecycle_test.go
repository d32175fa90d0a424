package receiver

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/internal/promtext"
	"github.com/metastudio-exporter/metastudio_exporter/secret"
)

// TestTenantRemovedInFlight: a tenant removed (and Retain called) after its
// request got the settings and before the event is recorded keeps nothing:
// the answer is unknown_tenant, no stream, no counter under its name,
// nothing in the state file.
func TestTenantRemovedInFlight(t *testing.T) {
	for _, tenant := range []string{"mss", "none"} { // signed and not
		t.Run(tenant, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.json")
			h := newHarness(t, Options{StateFile: path})
			h.src.afterSettings = func(name string) {
				if name == tenant {
					h.src.remove(tenant)
					h.rc.Retain([]string{"head"})
				}
			}
			body := rtmpBody("room-1", "job-1", "live.example.com", "DISCONNECTED")
			var a answer
			if tenant == "mss" {
				a = h.postMSS(body)
			} else {
				a = h.postNone(body)
			}
			if a.status != 404 || a.body != answerJSON("unknown_tenant", detailUnknownTenant) {
				t.Errorf("got %d %s, want 404 unknown_tenant", a.status, a.body)
			}
			if got := tracked(t, h); got != "0 streams, 0 jobs" {
				t.Errorf("table: %s", got)
			}
			if err := h.rc.Close(); err != nil {
				t.Fatal(err)
			}
			if data, err := os.ReadFile(path); err == nil && strings.Contains(string(data), "job-1") {
				t.Errorf("state file holds the removed tenant's stream:\n%s", data)
			}
			exp := promtext.Gather(t, h.rc.StreamCollector(), h.rc.ReceiverCollector())
			if strings.Contains(exp, `tenant="`+tenant+`"`) ||
				!strings.Contains(exp, `metastudio_exporter_callback_requests_total{result="unknown_tenant",tenant=""} 1`+"\n") {
				t.Errorf("exposition:\n%s", exp)
			}
			if rec := h.rc.Recent(); len(rec) != 1 || rec[0].Tenant != "" || rec[0].Result != "unknown_tenant" {
				t.Errorf("recent: %+v", rec)
			}
		})
	}
}

// TestFutureStateEntriesDropped: entries dated past now plus the clock skew
// are dropped at load, logged once, and never pin a stream's state.
func TestFutureStateEntriesDropped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	future := t0.Add(5*time.Minute + time.Second).UnixMilli()
	edge := t0.Add(5 * time.Minute).UnixMilli()
	file := `{"version":1,"streams":[
{"tenant":"mss","room_id":"r","job_id":"pinned","output_host":"h","latest":"CONNECTED","states_ms":{"CONNECTED":4102444800000}},
{"tenant":"mss","room_id":"r","job_id":"soon","output_host":"h","latest":"CONNECTED","states_ms":{"CONNECTED":` + itoa(future) + `}},
{"tenant":"mss","room_id":"r","job_id":"edge","output_host":"h","latest":"CONNECTED","states_ms":{"CONNECTED":` + itoa(edge) + `}}],
"jobs":[{"tenant":"mss","room_id":"r","job_id":"pinned","last_event_ms":4102444800000},
{"tenant":"mss","room_id":"r","job_id":"edge","last_event_ms":` + itoa(edge) + `}]}`
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, Options{StateFile: path})
	logs := h.logBuf.String()
	if n := strings.Count(logs, "Dropped callback state file entries"); n != 1 ||
		!strings.Contains(logs, `level=warn msg="Dropped callback state file entries dated after now plus --callback.max-clock-skew; a clock was wrong when they were written" path=`+path+` entries=3`) {
		t.Errorf("want one line for 3 entries:\n%s", logs)
	}
	if got := tracked(t, h); got != "1 streams, 1 jobs" {
		t.Errorf("table: %s", got)
	}
	h.postMSSAt(t, 0, rtmpBody("r", "pinned", "h", "DISCONNECTED"))
	if exp := promtext.Gather(t, h.rc.StreamCollector()); !strings.Contains(exp, `metastudio_live_stream_state{job_id="pinned",output_host="h",room_id="r",state="DISCONNECTED",tenant="mss"} 1`+"\n") {
		t.Errorf("a DISCONNECTED after a future CONNECTED did not win:\n%s", exp)
	}
	if err := h.rc.Close(); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(path); strings.Contains(string(data), "4102444800000") {
		t.Errorf("the future entry was written back:\n%s", data)
	}
}

// TestTenantRemovedDuringRelay: a request whose tenant is removed (and
// Retain called) while its relay is at the app counts neither its request
// nor its relay under the removed tenant's name: Retain deleted the
// tenant's series, and they stay deleted.
func TestTenantRemovedDuringRelay(t *testing.T) {
	h := newHarness(t, Options{})
	a := newApp(t, "NONE")
	a.block, a.arrived = make(chan struct{}), make(chan struct{}, 1)
	h.src.set("none", func(s *TenantSettings) { s.ForwardURL = secret.String(a.url) })
	answers := make(chan answer, 1)
	go func() { answers <- h.postNone(rtmpBody("room-1", "job-1", "live.example.com", "DISCONNECTED")) }()
	<-a.arrived
	h.src.remove("none")
	h.rc.Retain([]string{"mss"})
	close(a.block)
	if ans := <-answers; ans.status != 200 || ans.body != answerJSON("accepted", "") {
		t.Errorf("got %d %s, want the relay's 200 accepted", ans.status, ans.body)
	}
	compare(t, h.rc.ReceiverCollector(), `# HELP metastudio_exporter_callback_requests_total Callback requests by result; tenant is empty when the request names no tenant.
# TYPE metastudio_exporter_callback_requests_total counter
metastudio_exporter_callback_requests_total{result="accepted",tenant=""} 1
`, "metastudio_exporter_callback_requests_total", "metastudio_exporter_callback_forwards_total")
	if exp := promtext.Gather(t, h.rc.StreamCollector(), h.rc.ReceiverCollector()); strings.Contains(exp, `tenant="none"`) {
		t.Errorf("the removed tenant has series:\n%s", exp)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestHelloAndMethods: GET / says what the listener is; anything but POST
// on /callback/{tenant} is 405.
func TestHelloAndMethods(t *testing.T) {
	h := newHarness(t, Options{})
	a := h.do(request{method: http.MethodGet, path: "/"})
	if a.status != 200 || a.body != "metastudio_exporter live-event receiver: MetaStudio posts events to POST /callback/{tenant}\n" ||
		a.header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("GET /: %d %q %q", a.status, a.body, a.header.Get("Content-Type"))
	}
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete, http.MethodHead, http.MethodPatch} {
		a := h.do(request{method: m, path: "/callback/mss"})
		want := answerJSON("method_not_allowed", detailMethod) // a server drops it for HEAD
		if a.status != 405 || a.body != want || a.header.Get("Allow") != "POST" {
			t.Errorf("%s /callback/mss: %d %s (Allow %q)", m, a.status, a.body, a.header.Get("Allow"))
		}
	}
	if a := h.do(request{method: http.MethodPost, path: "/"}); a.status != 404 || a.body != answerJSON("unknown_tenant", detailUnknownTenant) {
		t.Errorf("POST /: %d %s", a.status, a.body)
	}
}
