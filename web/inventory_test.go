package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/metastudio-exporter/metastudio_exporter/callslots"
	"github.com/metastudio-exporter/metastudio_exporter/collector"
	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/inventory"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio/simulator"
	"github.com/metastudio-exporter/metastudio_exporter/tenants"
)

const (
	simAK    = "AKWEBINVENTORY000001"
	simSK    = "web-inventory-sk"
	projectA = "0a0a0a0a0a0a4a0a8a0a0a0a0a0a0a0a"
	projectB = "0b0b0b0b0b0b4b0b8b0b0b0b0b0b0b0b"
)

// inventoryExporter is the web layer over a real client, Scraper and
// Inventory, sharing one pool of slots, on the simulator: each of its two
// projects has one room, with a 2 h limit of its own in project A, and one
// PROCESSING job in it.
type inventoryExporter struct {
	handler http.Handler
	sim     *simulator.Running
}

func newInventoryExporter(t *testing.T) *inventoryExporter {
	t.Helper()
	sim, err := simulator.Start(simulator.Options{},
		simulator.Tenant{ProjectID: projectA, AccessKey: simAK, SecretKey: simSK, Config: []byte(`{"live_exit_config":{"max_live_duration":4}}`)},
		simulator.Tenant{ProjectID: projectB, AccessKey: simAK, SecretKey: simSK, Config: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	started := time.Now().Add(-time.Minute)
	for project, room := range map[string]simulator.Room{
		projectA: {ID: "room-shop-a", Name: "Room of shop-a", Exit: &simulator.LiveExit{MaxLiveDuration: new(2)}},
		projectB: {ID: "room-shop-b", Name: "Room of shop-b"},
	} {
		if err := sim.Server.AddRoom(project, room); err != nil {
			t.Fatal(err)
		}
		if err := sim.Server.AddLiveJob(project, simulator.LiveJob{ID: "job" + strings.TrimPrefix(room.ID, "room"), RoomID: room.ID, StartTime: started}); err != nil {
			t.Fatal(err)
		}
	}
	// A call the simulator holds must not end at the tenant's timeout,
	// however slow the machine: only the inventory's Close ends it.
	cfg, err := config.Parse(fmt.Appendf(nil, `defaults: {credentials: sim, timeout: 1h}
credentials:
  sim: {access_key: %s, secret_key: %s}
tenants:
  - {name: shop-a, project_id: %s, endpoint: %q}
  - {name: shop-b, project_id: %s, endpoint: %q}
`, simAK, simSK, projectA, sim.URL, projectB, sim.URL), "test.yml", t.TempDir(), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	set := tenants.NewStatic(cfg, tenants.Options{})
	// As main: as many connections as calls in flight, of which the
	// background calls hold at most 4 and the scrapes the rest.
	slots := callslots.New(8, 4)
	transport := metastudio.NewTransport(8)
	t.Cleanup(transport.CloseIdleConnections)
	client := metastudio.NewClient(metastudio.ClientOptions{Transport: transport})
	inv := inventory.New(client, inventory.Options{Slots: slots})
	t.Cleanup(inv.Close)
	inventory.FollowTenants(set, inv)
	scraper := collector.NewScraper(inv.ObserveUserConfig(client), collector.Options{Slots: slots})
	collector.FollowTenants(set, scraper, collector.NewRequestMetrics())
	return &inventoryExporter{
		sim: sim,
		handler: Handler(Options{TelemetryPath: "/metrics", Tenants: set, Scraper: scraper, Inventory: inv,
			Exporter: prometheus.NewRegistry(), Reload: func() error { return nil }}),
	}
}

func (e *inventoryExporter) get(t *testing.T, path string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
	}
	return rec.Body.String()
}

// awaitSeries serves /metrics?collect[]=rooms&collect[]=jobs, which makes
// no user-config call, until it holds every one of want: the refreshes the
// first scrape started have stored what they found.
func (e *inventoryExporter) awaitSeries(t *testing.T, want ...string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		body := e.get(t, "/metrics?collect[]=rooms&collect[]=jobs")
		missing := ""
		for _, w := range want {
			if !strings.Contains(body, w+"\n") {
				missing = w
				break
			}
		}
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the refreshes never served %s:\n%s", missing, body)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestScrapesServeRoomsAndJobsFromMemory: /metrics serves rooms and jobs
// once refreshed, with jobs' limits from their room or from the tenant's
// user-config the scrape fetched; every scrape, whatever it selects, makes
// exactly one user-config call per tenant, or none without collect[]=tenants.
func TestScrapesServeRoomsAndJobsFromMemory(t *testing.T) {
	e := newInventoryExporter(t)
	e.get(t, "/metrics")
	e.awaitSeries(t,
		`metastudio_live_job_max_duration_seconds{job_id="job-shop-a",room_id="room-shop-a",tenant="shop-a"} 7200`,
		`metastudio_live_jobs_up{tenant="shop-b"} 1`, `metastudio_rooms_up{tenant="shop-b"} 1`)
	if a, b := e.sim.Server.Calls(projectA), e.sim.Server.Calls(projectB); a != 1 || b != 1 {
		t.Fatalf("user-config calls after one scrape: %d and %d, want 1 each", a, b)
	}

	body := e.get(t, "/metrics")
	for _, want := range []string{
		`metastudio_up{tenant="shop-a"} 1`,
		`metastudio_room_info{room_id="room-shop-a",room_name="Room of shop-a",room_state="ENABLE",room_type="NORMAL",tenant="shop-a"} 1`,
		`metastudio_live_job_info{job_id="job-shop-b",room_id="room-shop-b",state="PROCESSING",tenant="shop-b",used_resource_type=""} 1`,
		`metastudio_live_job_max_duration_seconds{job_id="job-shop-a",room_id="room-shop-a",tenant="shop-a"} 7200`,
		`metastudio_live_jobs_up{tenant="shop-b"} 1`,
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	body = e.get(t, "/metrics?collect[]=jobs")
	if strings.Contains(body, "metastudio_up") || strings.Contains(body, "metastudio_room_info") || !strings.Contains(body, `metastudio_live_job_info{job_id="job-shop-a"`) {
		t.Errorf("collect[]=jobs serves more or less than the jobs:\n%s", body)
	}
	body = e.get(t, "/metrics?collect[]=rooms&collect[]=exporter")
	if strings.Contains(body, "metastudio_live_job") || !strings.Contains(body, `metastudio_rooms_up{tenant="shop-b"} 1`) {
		t.Errorf("collect[]=rooms serves more or less than the rooms:\n%s", body)
	}
	body = e.get(t, "/probe?tenant=shop-b")
	if strings.Contains(body, "shop-a") || !strings.Contains(body, `metastudio_room_info{room_id="room-shop-b"`) || !strings.Contains(body, `metastudio_live_job_info{job_id="job-shop-b"`) {
		t.Errorf("/probe?tenant=shop-b does not serve shop-b's rooms and jobs alone:\n%s", body)
	}
	// /metrics three times (once with tenants since the first), /probe once.
	if a, b := e.sim.Server.Calls(projectA), e.sim.Server.Calls(projectB); a != 2 || b != 3 {
		t.Errorf("user-config calls: %d and %d, want 2 and 3: one per tenant per scrape that selects tenants", a, b)
	}
}

// TestScrapeNeverWaitsForRefresh: with every rooms and jobs call hanging,
// scrapes answer with the tenants' settings, one user-config call each.
func TestScrapeNeverWaitsForRefresh(t *testing.T) {
	e := newInventoryExporter(t)
	for _, p := range []string{projectA, projectB} {
		for _, r := range []simulator.Route{simulator.RouteRooms, simulator.RouteRoom, simulator.RouteLiveJobs} {
			e.sim.Server.SetRouteFault(p, r, simulator.Fault{Hang: true})
		}
	}
	for i := 1; i <= 3; i++ {
		body := e.get(t, "/metrics")
		if !strings.Contains(body, `metastudio_up{tenant="shop-a"} 1`) || strings.Contains(body, "metastudio_rooms_up") {
			t.Fatalf("scrape %d:\n%s", i, body)
		}
		if a := e.sim.Server.Calls(projectA); a != int64(i) {
			t.Fatalf("%d user-config calls after %d scrapes", a, i)
		}
	}
}

func TestCollectFilter(t *testing.T) {
	for _, tc := range []struct {
		names []string
		want  collectParts
		err   string
	}{
		{nil, collectParts{tenants: true, rooms: true, jobs: true, streams: true, exporter: true}, ""},
		{[]string{"rooms"}, collectParts{rooms: true}, ""},
		{[]string{"jobs", "streams"}, collectParts{jobs: true, streams: true}, ""},
		{[]string{"tenants", "rooms", "jobs"}, collectParts{tenants: true, rooms: true, jobs: true}, ""},
		{[]string{"jobs", "room"}, collectParts{}, `collect[]: unknown collector "room" (known: exporter, jobs, rooms, streams, tenants)`},
	} {
		got, err := collectFilter(tc.names)
		if got != tc.want || (err == nil) != (tc.err == "") || err != nil && err.Error() != tc.err {
			t.Errorf("%q: %+v, %v; want %+v, %s", tc.names, got, err, tc.want, tc.err)
		}
	}
}
