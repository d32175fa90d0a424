package livesettings

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/callslots"
	"github.com/metastudio-exporter/metastudio_exporter/collector"
	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/internal/fakeclock"
	"github.com/metastudio-exporter/metastudio_exporter/inventory"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio/simulator"
	"github.com/metastudio-exporter/metastudio_exporter/receiver"
	"github.com/metastudio-exporter/metastudio_exporter/tenants"
)

// TestJobKeysEndToEnd: the receiver as main wires it, over the tenant set,
// the scraper and the inventory, on the real client and the simulator. A
// job in a room with a callback of its own is verified with the room's key;
// forged job ids list the tenant's jobs once per 30 s however many come,
// counted where the calls arrive; the tenant's key still verifies the jobs
// that run with it, and the config's callback.key overrides it for them.
func TestJobKeysEndToEnd(t *testing.T) {
	const (
		ak, sk              = "AKJOBKEYS0000000001", "jobkeys-SECRET-sk"
		tenantKey, override = "tenant-SECRET-key", "override-SECRET-key"
		roomKey             = "room-SECRET-key"
	)
	tenantURL := func(tenant string) string { return "https://mon.example.com/callback/" + tenant }
	roomURL := func(tenant string) string { return tenantURL(tenant) + "?room=own" }
	userConfig := func(url string) []byte {
		return []byte(`{"live_event_callback_config":{"live_event_type_callback_url":"` + url +
			`","auth_type":"MSS_A","key":"` + tenantKey + `","callback_event_type":["RTMP_STREAM_STATE_CHANGE"]}}`)
	}
	sim, err := simulator.Start(simulator.Options{},
		simulator.Tenant{ProjectID: "p-shop", AccessKey: ak, SecretKey: sk, Config: userConfig(tenantURL("shop"))},
		simulator.Tenant{ProjectID: "p-keyed", AccessKey: ak, SecretKey: sk, Config: userConfig(tenantURL("keyed"))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	started := time.Now().Add(-time.Hour)
	for _, name := range []string{"shop", "keyed"} {
		p := "p-" + name
		for _, err := range []error{
			sim.Server.AddRoom(p, simulator.Room{ID: "room-own", Callback: &simulator.Callback{URL: roomURL(name), AuthType: simulator.AuthMSSAHead, Key: roomKey}}),
			sim.Server.AddRoom(p, simulator.Room{ID: "room-plain"}),
			sim.Server.AddLiveJob(p, simulator.LiveJob{ID: "job-own", RoomID: "room-own", StartTime: started}),
			sim.Server.AddLiveJob(p, simulator.LiveJob{ID: "job-plain", RoomID: "room-plain", StartTime: started}),
		} {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	cfg, err := config.Parse(fmt.Appendf(nil, `credentials:
  sim: {access_key: %s, secret_key: %s}
defaults: {credentials: sim}
tenants:
  - {name: shop, project_id: p-shop, endpoint: %q}
  - {name: keyed, project_id: p-keyed, endpoint: %q, callback: {key: %s}}
`, ak, sk, sim.URL, sim.URL, override), "metastudio.yml", t.TempDir(), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	set := tenants.NewStatic(cfg, tenants.Options{})
	t.Cleanup(set.Close)
	slots := callslots.New(8, 4)
	transport := metastudio.NewTransport(8)
	t.Cleanup(transport.CloseIdleConnections)
	client := metastudio.NewClient(metastudio.ClientOptions{Transport: transport})
	inv := inventory.New(client, inventory.Options{Slots: slots})
	t.Cleanup(inv.Close)
	inventory.FollowTenants(set, inv)
	scraper := collector.NewScraper(inv.ObserveUserConfig(client), collector.Options{Slots: slots})
	collector.FollowTenants(set, scraper, collector.NewRequestMetrics())
	// The receiver's clock moves only when the test moves it, so that the
	// 30 s between two listings pass at once.
	clock := fakeclock.New(time.Now())
	rc, err := receiver.New(receiver.Options{Now: clock.Now, AfterFunc: clock.AfterFunc},
		Source{Set: set, Scraper: scraper, Inventory: inv})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rc.Close() })
	srv := httptest.NewServer(rc.Handler())
	t.Cleanup(srv.Close)

	sender := &simulator.Sender{Origin: srv.URL, Now: clock.Now}
	send := func(cb simulator.Callback, job string) string {
		t.Helper()
		d, err := sender.Send(context.Background(), cb, simulator.RTMPStreamStateChange{
			RoomID: "room", JobID: job, OutputURL: "rtmp://push.example.com/live/", State: "CONNECTED"})
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("%d %s", d.Status, strings.TrimSpace(string(d.Body)))
	}
	room := func(tenant, key string) simulator.Callback {
		return simulator.Callback{URL: roomURL(tenant), AuthType: simulator.AuthMSSAHead, Key: key}
	}
	own := func(tenant, key string) simulator.Callback {
		return simulator.Callback{URL: tenantURL(tenant), AuthType: simulator.AuthMSSA, Key: key}
	}
	listings := func(p string) int64 { return sim.Server.RouteCalls(p, simulator.RouteLiveJobs) }
	const accepted, mismatch = `200 {"result":"accepted"}`, `401 {"result":"bad_signature","error":"the signature does not match"}`

	if got := send(room("shop", roomKey), "job-own"); got != accepted {
		t.Errorf("an event of the room's job signed with the room's key: %s", got)
	}
	if n := listings("p-shop"); n != 1 {
		t.Errorf("%d listings for the job's first event, want 1", n)
	}
	if got := send(room("shop", "forged"), "job-own"); got != mismatch {
		t.Errorf("the room's job with a wrong key: %s", got)
	}
	if got := send(own("shop", tenantKey), "job-plain"); got != accepted {
		t.Errorf("a job that runs with the tenant's callback, signed with its key: %s", got)
	}
	for round := range 3 {
		for i := range 100 {
			if got := send(room("shop", roomKey), fmt.Sprintf("forged-%d-%d", round, i)); !strings.HasPrefix(got, "401 ") {
				t.Fatalf("a forged job id: %s", got)
			}
		}
		if n, want := listings("p-shop"), int64(1+round); n != want {
			t.Errorf("round %d: %d listings, want %d: one per 30 s however many forged job ids", round, n, want)
		}
		clock.Advance(30 * time.Second)
	}

	// keyed's config overrides its key: its own jobs verify with the
	// override, its room's job with the room's key.
	if got := send(own("keyed", override), "job-plain"); got != accepted {
		t.Errorf("keyed's job signed with the config's key: %s", got)
	}
	if got := send(room("keyed", roomKey), "job-own"); got != accepted {
		t.Errorf("keyed's room's job signed with the room's key: %s", got)
	}
	if got := send(own("keyed", tenantKey), "job-plain"); got != mismatch {
		t.Errorf("keyed's job signed with the user-config's key the config overrides: %s", got)
	}
	if n := listings("p-keyed"); n != 1 {
		t.Errorf("%d listings for keyed, want 1", n)
	}
}
