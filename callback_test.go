package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/metastudio-exporter/metastudio_exporter/internal/loopback"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio/simulator"
)

// TestForgedFloodSpendsNoQuota: the whole program with the receiver on and
// the simulator behind it. A flood of forged callbacks costs each tenant at
// most one refetch of its settings, counted where the calls arrive; a
// tenant whose settings cannot be had is asked once; a genuine event after
// the flood is still accepted.
func TestForgedFloodSpendsNoQuota(t *testing.T) {
	const ak, sk, key = "AKFLOOD000000000001", "flood-SECRET-sk", "flood-SECRET-key"
	userConfig := func(tenant string) []byte {
		return []byte(`{"live_event_callback_config":{"live_event_type_callback_url":"https://mon.example.com/callback/` + tenant +
			`","auth_type":"MSS_A","key":"` + key + `","callback_event_type":["RTMP_STREAM_STATE_CHANGE"]}}`)
	}
	sim, err := simulator.Start(simulator.Options{},
		simulator.Tenant{ProjectID: "p-live", AccessKey: ak, SecretKey: sk, Config: userConfig("live")},
		simulator.Tenant{ProjectID: "p-broken", AccessKey: ak, SecretKey: sk, Config: userConfig("broken")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	sim.Server.SetFault("p-broken", simulator.Fault{Status: 500})
	callbackAddr := loopback.FreeAddress(t)
	cfg := writeFile(t, t.TempDir(), "metastudio.yml", fmt.Sprintf(`credentials:
  sim: {access_key: %s, secret_key: %s}
tenants:
  - {name: live, project_id: p-live, endpoint: %q, credentials: sim}
  - {name: broken, project_id: p-broken, endpoint: %q, credentials: sim}
`, ak, sk, sim.URL, sim.URL))
	e := startExporter(t, "--config.file="+cfg, "--callback.listen-address="+callbackAddr)

	sender := &simulator.Sender{Origin: "http://" + callbackAddr}
	send := func(tenant, signingKey string) int {
		cb := simulator.Callback{URL: "https://mon.example.com/callback/" + tenant, AuthType: "MSS_A", Key: signingKey}
		d, err := sender.Send(context.Background(), cb, simulator.RTMPStreamStateChange{
			RoomID: "room", JobID: "job", OutputURL: "rtmp://push.example.com/live", State: "CONNECTED",
		})
		if err != nil {
			t.Fatal(err)
		}
		return d.Status
	}
	statuses := map[string]int{}
	for i := range 200 {
		statuses[fmt.Sprintf("live %d", send("live", fmt.Sprintf("forged-%d", i)))]++
		statuses[fmt.Sprintf("broken %d", send("broken", "forged"))]++
	}
	if statuses["live 401"] != 200 || statuses["broken 503"] != 200 {
		t.Errorf("answers to the flood: %v; want 200 × 401 for live and 200 × 503 for broken", statuses)
	}
	// live: one call for its settings, one refetch when the first forged
	// request failed; nothing more within 30 s. broken: one failed call.
	if n := sim.Server.Calls("p-live"); n != 2 {
		t.Errorf("400 forged requests made %d calls for live, want 2", n)
	}
	if n := sim.Server.Calls("p-broken"); n != 1 {
		t.Errorf("200 requests for a tenant whose settings fail made %d calls, want 1", n)
	}
	if got := send("live", key); got != 200 {
		t.Errorf("a genuine event after the flood: %d, want 200", got)
	}
	_, metrics := e.get(t, "/metrics?collect[]=exporter")
	for _, want := range []string{
		`metastudio_exporter_callback_requests_total{result="bad_signature",tenant="live"} 200`,
		`metastudio_exporter_callback_requests_total{result="settings_unavailable",tenant="broken"} 200`,
		`metastudio_exporter_callback_requests_total{result="accepted",tenant="live"} 1`,
	} {
		if !strings.Contains(metrics, want+"\n") {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
