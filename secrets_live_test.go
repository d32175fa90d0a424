package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/internal/lockedbuffer"
	"github.com/metastudio-exporter/metastudio_exporter/internal/loopback"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio/simulator"
)

// TestNoSecretFromReceiverOrDiscovery drives the live-event receiver (its
// verification, relay and state file) and project discovery with debug
// logging, then looks for every secret they handle everywhere: receiver
// answers, /metrics, /config, /sd, /probe, the log, the state file and what
// the relay sends on (which may carry only the key's signature).
func TestNoSecretFromReceiverOrDiscovery(t *testing.T) {
	secrets := map[string]string{
		"user-config key":     "uckey-SECRET-A",
		"callback URL cred":   "urltok-SECRET-B",
		"config key override": "override-SECRET-C",
		"forward URL cred":    "fwdtok-SECRET-D",
		"discovery SK":        "discsk-SECRET-E",
		"stream key":          "streamkey-SECRET-F",
		"output path":         "outpath-SECRET-G",
		"output query":        "outq-SECRET-H",
		"forged key":          "forged-SECRET-I",
	}
	const ak, discAK = "AKLIVE0000000000001", "AKDISC0000000000001"
	callbackAddr := loopback.FreeAddress(t)
	userConfig := func(tenant string) []byte {
		return []byte(`{"live_event_callback_config":{"live_event_type_callback_url":"https://mon.example.com/callback/` + tenant +
			`?token=` + secrets["callback URL cred"] + `","auth_type":"MSS_A","key":"` + secrets["user-config key"] + `",` +
			`"callback_event_type":["RTMP_STREAM_STATE_CHANGE"]}}`)
	}
	sim, err := simulator.Start(simulator.Options{},
		simulator.Tenant{ProjectID: "p-live", AccessKey: ak, SecretKey: "live-sk-value", Config: userConfig("live")},
		simulator.Tenant{ProjectID: "p-relay", AccessKey: ak, SecretKey: "live-sk-value", Config: userConfig("relay")},
		simulator.Tenant{ProjectID: "p-found", ProjectName: "cn-north-4_found", AccessKey: discAK, SecretKey: secrets["discovery SK"]})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })

	// The tenant's own app behind forward_url records what it is sent.
	var relayed lockedbuffer.Buffer
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(&relayed, "%s %s %v\n%s\n", r.Method, r.URL.RawQuery, r.Header, body)
	}))
	t.Cleanup(app.Close)

	dir := t.TempDir()
	writeFile(t, dir, "cb-key", secrets["config key override"])
	writeFile(t, dir, "disc-sk", secrets["discovery SK"])
	stateFile := filepath.Join(dir, "streams.json")
	cfg := writeFile(t, dir, "metastudio.yml", fmt.Sprintf(`credentials:
  live: {access_key: %[1]s, secret_key: live-sk-value}
  disc: {access_key: %[2]s, secret_key_file: disc-sk}
tenants:
  - {name: live, project_id: p-live, endpoint: %[3]q, credentials: live}
  - name: relay
    project_id: p-relay
    endpoint: %[3]q
    credentials: live
    callback: {key_file: cb-key, forward_url: "%[4]s/app?apptoken=%[5]s", forward_timeout: 2s}
discovery:
  - {credentials: disc, iam_endpoint: %[3]q, endpoint: %[3]q, regions: [cn-north-4]}
`, ak, discAK, sim.URL, app.URL, secrets["forward URL cred"]))
	e := startExporter(t, "--config.file="+cfg, "--log.level=debug",
		"--callback.listen-address="+callbackAddr, "--callback.state-file="+stateFile,
		"--callback.external-url=https://mon.example.com")

	var seen strings.Builder
	sender := &simulator.Sender{Origin: "http://" + callbackAddr}
	send := func(tenant, key string) {
		cb := simulator.Callback{
			URL:      "https://mon.example.com/callback/" + tenant + "?token=" + secrets["callback URL cred"],
			AuthType: "MSS_A", Key: key, EventTypes: []string{"RTMP_STREAM_STATE_CHANGE"},
		}
		d, err := sender.Send(context.Background(), cb, simulator.RTMPStreamStateChange{
			RoomID: "room-1", JobID: "job-1", State: "DISCONNECTED", StreamKey: secrets["stream key"],
			OutputURL: "rtmp://push.example.com/live/" + secrets["output path"] + "?auth=" + secrets["output query"],
		})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&seen, "POST /callback/%s -> %d %s\n", tenant, d.Status, d.Body)
	}
	send("live", secrets["user-config key"])
	send("relay", secrets["config key override"])
	send("relay", secrets["forged key"])
	send("nobody", secrets["forged key"])

	deadline := time.Now().Add(10 * time.Second)
	for {
		_, sd := e.get(t, "/sd")
		if strings.Contains(sd, "cn-north-4_found") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("discovery found nothing within 10s:\n%s", e.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, path := range []string{"/metrics", "/config", "/sd", "/probe?tenant=relay", "/probe?tenant=cn-north-4_found", "/"} {
		code, body := e.get(t, path)
		fmt.Fprintf(&seen, "GET %s -> %d\n%s\n", path, code, body)
	}
	out := seen.String()
	for _, want := range []string{
		"POST /callback/live -> 200", "POST /callback/relay -> 200", "POST /callback/relay -> 401", "POST /callback/nobody -> 404",
		`metastudio_live_stream_state{job_id="job-1",output_host="push.example.com",room_id="room-1",state="DISCONNECTED",tenant="relay"} 1`,
		`metastudio_exporter_callback_forwards_total{code="200",tenant="relay"} 1`,
		`metastudio_up{tenant="cn-north-4_found"} 1`,
		`metastudio_live_event_callback_routed_here{tenant="live"} 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q; the test would prove nothing:\n%s", want, out)
		}
	}
	toApp := relayed.String()
	if !strings.Contains(toApp, "hwSecret=") {
		t.Errorf("the app was not sent a signed relay:\n%s", toApp)
	}
	// The state file is written at most once a second; wait for it.
	var state []byte
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if state, _ = os.ReadFile(stateFile); strings.Contains(string(state), "job-1") {
			break
		}
	}
	if !strings.Contains(string(state), "job-1") {
		t.Fatalf("the state file holds no stream:\n%s", state)
	}
	for what, value := range secrets {
		for where, text := range map[string]string{"an answer": out, "the log": e.logs.String(), "the state file": string(state)} {
			if strings.Contains(text, value) {
				t.Errorf("the %s appears in %s", what, where)
			}
		}
		// The app is the tenant's own: it gets the body (and so the stream
		// key and output URL MetaStudio sent) but never a key.
		if (what == "user-config key" || what == "config key override" || what == "discovery SK" || what == "callback URL cred") && strings.Contains(toApp, value) {
			t.Errorf("the %s was relayed to the app", what)
		}
	}
	if t.Failed() {
		t.Logf("answers:\n%s\nlog:\n%s", out, e.logs)
	}
}
