package receiver

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/metastudio-exporter/metastudio_exporter/internal/promtext"
	"github.com/metastudio-exporter/metastudio_exporter/secret"
)

var update = flag.Bool("update", false, "rewrite the golden expositions in testdata/")

// TestExpositionGolden: the receiver's whole exposition, both collectors,
// after a scenario that touches every family and most label values: every
// name, help text, type and label is pinned by testdata/exposition.prom.
func TestExpositionGolden(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, Options{StateFile: path, MaxStreams: 2})
	a := newApp(t, "NONE")
	a.statuses = []int{503}
	h.src.set("none", func(s *TenantSettings) { s.ForwardURL = secret.String(a.url) })

	want := []struct {
		status int
		do     func() answer
	}{
		{200, func() answer { return h.postMSS(rtmpBody("r", "j1", "h", "CONNECTED")) }},
		{200, func() answer { return h.postMSS(rtmpBody("r", "j1", "h", "CONNECTED")) }}, // duplicate
		{200, func() answer { return h.postMSS(switchBody("r", "j1", 3)) }},
		{200, func() answer {
			return h.postMSS(eventBody("NEW_THING", map[string]any{"room_id": "r", "job_id": "j2"}))
		}},
		{502, func() answer { return h.postNone(rtmpBody("r", "j3", "h", "DISCONNECTED")) }}, // a third job: evicts mss's j1
		{200, func() answer {
			return h.postNone(eventBody("REPLY_COMMAND_FINISH", map[string]any{"room_id": "r", "job_id": "j3"}))
		}},
		{200, func() answer { return h.postNone(rtmpBody("r", "j4", "h", "CONNECTED")) }}, // a third stream: evicts none's j3
		{401, func() answer {
			return h.do(request{path: "/callback/mss", query: signedQuery("forged", mssURL, h.clock.Now()), body: switchBody("r", "j", 1)})
		}},
		{401, func() answer {
			return h.do(request{path: "/callback/mss", query: signedQuery(testKey, mssURL, h.clock.Now().Add(-time.Hour)), body: switchBody("r", "j", 1)})
		}},
		{401, func() answer { return h.do(request{path: "/callback/open", body: switchBody("r", "j", 1)}) }},
		{401, func() answer { return h.do(request{path: "/callback/meituan", body: switchBody("r", "j", 1)}) }},
		{400, func() answer { return h.postMSS(`{"event_type":""}`) }},
		{413, func() answer { return h.postMSS(strings.Repeat(" ", maxBodyBytes+1)) }},
		{503, func() answer { return h.do(request{path: "/callback/down", body: "{}"}) }},
		{404, func() answer { return h.do(request{path: "/callback/nope", body: "{}"}) }},
		{404, func() answer { return h.do(request{path: "/elsewhere"}) }},
		{405, func() answer { return h.do(request{method: "GET", path: "/callback/mss"}) }},
	}
	for i, w := range want {
		if got := w.do(); got.status != w.status {
			t.Fatalf("request %d: %d %s, want %d", i, got.status, got.body, w.status)
		}
	}
	exp := promtext.Gather(t, h.rc.StreamCollector(), h.rc.ReceiverCollector())
	golden := filepath.Join("testdata", "exposition.prom")
	if *update {
		if err := os.WriteFile(golden, []byte(exp), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(golden)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := testutil.CollectAndCompare(collectors{h.rc.StreamCollector(), h.rc.ReceiverCollector()}, f); err != nil {
		t.Error(err)
	}
}

// collectors is several collectors as one, for CollectAndCompare.
type collectors []prometheus.Collector

func (cs collectors) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range cs {
		c.Describe(ch)
	}
}

func (cs collectors) Collect(ch chan<- prometheus.Metric) {
	for _, c := range cs {
		c.Collect(ch)
	}
}
