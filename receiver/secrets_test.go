package receiver

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/internal/promtext"
	"github.com/metastudio-exporter/metastudio_exporter/secret"
)

// TestSecretsNeverLeave sends every kind of request, relays included, and
// checks that no key, URL credential, stream key or output path or query is
// in any answer, metric, debug log line or the state file.
func TestSecretsNeverLeave(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	h := newHarness(t, Options{StateFile: path})
	a := newApp(t, "MSS_A")
	a.statuses = []int{503}
	h.src.set("head", func(s *TenantSettings) { s.ForwardURL = secret.String(a.url) })
	h.src.rotate("mss", func(s *TenantSettings) { s.Key = rotatedKey })

	body := rtmpBody("room-1", "job-1", "live.example.com", "DISCONNECTED")
	hs, ht := sign(testKey, "https://mon.example.com/callback/head", t0)
	reqs := []request{
		{path: "/callback/mss", query: signedQuery(testKey, mssURL, t0), body: body},    // old key: refetch
		{path: "/callback/mss", query: signedQuery(rotatedKey, mssURL, t0), body: body}, // accepted
		{path: "/callback/mss", query: signedQuery(rotatedKey, mssURL, t0), body: body}, // duplicate
		{path: "/callback/mss", query: signedQuery(rotatedKey, mssURL, t0.Add(-time.Hour)), body: body},
		{path: "/callback/head", header: map[string]string{"x-hw-mss-secret": hs, "x-hw-mss-time": ht}, body: body}, // relay fails
		{path: "/callback/head", header: map[string]string{"x-hw-mss-secret": hs, "x-hw-mss-time": ht}, body: body}, // relayed
		{path: "/callback/none", query: "token=" + urlToken + "&v=2", body: body},
		{path: "/callback/none", query: "token=" + urlToken + "x&v=2", body: body},
		{path: "/callback/none", query: "token=" + urlToken + "&v=2", body: `{"event_type":"X","message":"` + streamKeyText + `"}`},
		{path: "/callback/open", body: body},
		{path: "/callback/nokey", body: body},
		{path: "/callback/meituan", body: body},
		{path: "/callback/down", body: body},
		{path: "/callback/" + urlToken, body: body},
		{path: "/callback/mss", query: signedQuery(rotatedKey, mssURL, t0), body: strings.Repeat(streamKeyText, maxBodyBytes/len(streamKeyText)+1)},
		{method: "GET", path: "/callback/mss", query: "hwSecret=" + testKey},
	}
	seen := map[int]bool{}
	for _, r := range reqs {
		ans := h.do(r)
		seen[ans.status] = true
		assertNoSecret(t, r.path+" answer", ans.body)
	}
	for _, status := range []int{200, 400, 401, 404, 405, 413, 502, 503} {
		if !seen[status] {
			t.Errorf("no request was answered %d", status)
		}
	}
	assertNoSecret(t, "exposition", promtext.Gather(t, h.rc.StreamCollector(), h.rc.ReceiverCollector()))
	if err := h.rc.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	assertNoSecret(t, "state file", string(data))
	logs := h.logBuf.String()
	if !strings.Contains(logs, "level=debug") {
		t.Fatalf("no debug lines logged:\n%s", logs)
	}
	assertNoSecret(t, "log", logs)
}

// TestExpositionPassesPromtool runs both collectors' exposition through
// `promtool check metrics`, which must print nothing.
func TestExpositionPassesPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool is not installed; .ci/run installs the prometheus package")
		}
		t.Skip("promtool is not installed (apt-get install prometheus)")
	}
	h := newHarness(t, Options{})
	a := newApp(t, "MSS_A")
	h.src.set("head", func(s *TenantSettings) { s.ForwardURL = secret.String(a.url) })
	streamsScenario(t, h)
	hs, ht := sign(testKey, "https://mon.example.com/callback/head", t0)
	h.do(request{path: "/callback/head", header: map[string]string{"x-hw-mss-secret": hs, "x-hw-mss-time": ht}, body: switchBody("r", "j", 1)})
	h.do(request{path: "/callback/nope"})
	text := promtext.Gather(t, h.rc.StreamCollector(), h.rc.ReceiverCollector())
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(text)
	out, err := cmd.CombinedOutput()
	if err != nil || len(out) != 0 {
		t.Errorf("promtool check metrics: %v\n%s\n%s", err, out, text)
	}
}
