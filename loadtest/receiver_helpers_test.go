package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/metastudio/simulator"
)

// liveReceiver is the exporter, built from this module and run as a
// process with its receiver on, against the simulator with one tenant
// whose callbacks are signed with MSS_A.
type liveReceiver struct {
	cbAddr, webAddr string
	log             string // the exporter's output
	pid             int
	sender          *simulator.Sender
	cb              simulator.Callback
}

// startLiveReceiver builds and starts the exporter with the receiver on
// and args added to its command line, and sends one signed event, so
// that the tenant's settings are fetched before anything is measured.
// sender posts each event as client does: its keep-alive decides whether
// events share connections.
func startLiveReceiver(ctx context.Context, t *testing.T, client *http.Client, args ...string) *liveReceiver {
	t.Helper()
	dir := t.TempDir()
	bin, err := buildExporter(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	const key, callbackURL = "load-callback-key", "https://mon.example.com/callback/live"
	sim, err := simulator.Start(simulator.Options{}, simulator.Tenant{
		ProjectID: projectID(0), AccessKey: loadAK, SecretKey: loadSK,
		Config: []byte(`{"live_event_callback_config":{"live_event_type_callback_url":"` + callbackURL +
			`","auth_type":"MSS_A","key":"` + key + `","callback_event_type":["RTMP_STREAM_STATE_CHANGE"]}}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	cfg := filepath.Join(dir, "metastudio.yml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("credentials:\n  sim: {access_key: %s, secret_key: %s}\ntenants:\n  - {name: live, project_id: %s, endpoint: %q, credentials: sim}\n",
		loadAK, loadSK, projectID(0), sim.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	r := &liveReceiver{
		sender: &simulator.Sender{Client: client},
		cb:     simulator.Callback{URL: callbackURL, AuthType: "MSS_A", Key: key},
	}
	r.webAddr, _ = freeLoopbackAddr()
	r.cbAddr, _ = freeLoopbackAddr()
	r.sender.Origin = "http://" + r.cbAddr
	r.log = filepath.Join(dir, "exporter.log")
	cmd := startFloodExporter(ctx, t, bin, r.log, append([]string{"--config.file=" + cfg,
		"--web.listen-address=" + r.webAddr, "--callback.listen-address=" + r.cbAddr}, args...)...)
	r.pid = cmd.Process.Pid
	if _, err := r.send(ctx, -1); err != nil {
		t.Fatalf("first signed event: %v", err)
	}
	return r
}

// send posts one signed CONNECTED event, of job i modulo 500, and says how
// long the answer took; an answer but 200 accepted is an error.
func (r *liveReceiver) send(ctx context.Context, i int) (time.Duration, error) {
	start := time.Now()
	d, err := r.sender.Send(ctx, r.cb, simulator.RTMPStreamStateChange{
		RoomID: "room", JobID: fmt.Sprintf("job-%d", i%500), OutputURL: "rtmp://push.example.com/live", State: "CONNECTED",
	})
	took := time.Since(start)
	if err == nil && (d.Status != 200 || d.Body != `{"result":"accepted"}`) {
		err = fmt.Errorf("answer %d %s", d.Status, d.Body)
	}
	return took, err
}

// metric reads one series' value from the exporter's /metrics; false if
// there is no such series.
func (r *liveReceiver) metric(t *testing.T, series string) (float64, bool) {
	t.Helper()
	resp, err := http.Get("http://" + r.webAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindSubmatch(b)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v, true
}

// latencies are p50, p99 and max of times, sorted in place.
func latencies(times []time.Duration) (p50, p99, maxTime time.Duration) {
	slices.Sort(times)
	return times[len(times)/2], times[len(times)*99/100], times[len(times)-1]
}
