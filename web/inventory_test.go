package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
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

// roomsAndJobs is a scripted rooms and jobs API (the simulator does not
// serve them yet): every project has one room and one PROCESSING job. Each
// project's first refresh of each kind answers; the call that begins its
// second refresh, which a refresh makes only once the first one's results
// are stored, reports the project on refreshed and hangs until the
// inventory closes. block makes every call hang from the start.
type roomsAndJobs struct {
	block     bool
	refreshed chan string // "rooms <project>" or "jobs <project>"

	mu    sync.Mutex
	calls map[string]int // by op and project
}

func newRoomsAndJobs(block bool) *roomsAndJobs {
	return &roomsAndJobs{block: block, refreshed: make(chan string, 16), calls: map[string]int{}}
}

// call counts a call and hangs it if it must: from the start with block,
// or as call number hangAt of its kind and project.
func (f *roomsAndJobs) call(ctx context.Context, kind, project string, hangAt int) error {
	f.mu.Lock()
	f.calls[kind+" "+project]++
	n := f.calls[kind+" "+project]
	f.mu.Unlock()
	if !f.block && n < hangAt {
		return nil
	}
	if n == hangAt {
		f.refreshed <- kind + " " + project
	}
	<-ctx.Done()
	return &metastudio.Error{Reason: metastudio.ReasonTimeout, Op: kind, Err: ctx.Err()}
}

func (f *roomsAndJobs) ListRooms(ctx context.Context, t metastudio.Target, _ int) ([]metastudio.Room, int, error) {
	if err := f.call(ctx, "rooms", t.ProjectID, 2); err != nil {
		return nil, 0, err
	}
	return []metastudio.Room{{RoomID: "room-" + t.Name, RoomName: "Room of " + t.Name, RoomType: metastudio.RoomNormal, RoomState: metastudio.RoomEnable}}, 1, nil
}

func (f *roomsAndJobs) GetRoom(ctx context.Context, t metastudio.Target, roomID string) (*metastudio.RoomDetail, error) {
	if err := f.call(ctx, "room", t.ProjectID, 2); err != nil {
		return nil, err
	}
	hours := 2
	return &metastudio.RoomDetail{Exit: &metastudio.LiveExit{MaxLiveDurationHours: &hours}}, nil
}

func (f *roomsAndJobs) ListLiveJobs(ctx context.Context, t metastudio.Target, q metastudio.JobQuery) ([]metastudio.LiveJob, int, error) {
	if err := f.call(ctx, "jobs", t.ProjectID, 3); err != nil { // two listings a refresh
		return nil, 0, err
	}
	if q.States[0] != metastudio.JobWaiting {
		return nil, 0, nil
	}
	return []metastudio.LiveJob{{JobID: "job-" + t.Name, RoomID: "room-" + t.Name, State: metastudio.JobProcessing, Duration: 60, StreamDuration: 60}}, 1, nil
}

// inventoryExporter is the web layer over a real Scraper on the simulator,
// for user-config, and an Inventory on api, sharing one pool of slots.
type inventoryExporter struct {
	handler http.Handler
	sim     *simulator.Running
}

func newInventoryExporter(t *testing.T, api inventory.API) *inventoryExporter {
	t.Helper()
	sim, err := simulator.Start(simulator.Options{},
		simulator.Tenant{ProjectID: projectA, AccessKey: simAK, SecretKey: simSK, Config: []byte(`{"live_exit_config":{"max_live_duration":4}}`)},
		simulator.Tenant{ProjectID: projectB, AccessKey: simAK, SecretKey: simSK, Config: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	// The calls the fake hangs must not end at the tenant's timeout,
	// however slow the machine: only Close ends them.
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
	transport := metastudio.NewTransport(4)
	t.Cleanup(transport.CloseIdleConnections)
	client := metastudio.NewClient(metastudio.ClientOptions{Transport: transport})
	// Room for the four calls the fake hangs (two tenants, two kinds) and
	// for the scrapes besides.
	slots := callslots.New(8, 4)
	// Intervals of a millisecond: a kind's second refresh, which the fake
	// reports, follows its first at once.
	inv := inventory.New(api, inventory.Options{Slots: slots, Settings: func(*config.Tenant) inventory.Settings {
		return inventory.Settings{RoomsInterval: time.Millisecond, MaxRooms: 10, JobsInterval: time.Millisecond, FailedWindow: time.Hour}
	}})
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

// awaitRefreshed waits until the fake reports every one of want.
func awaitRefreshed(t *testing.T, api *roomsAndJobs, want ...string) {
	t.Helper()
	left := map[string]bool{}
	for _, w := range want {
		left[w] = true
	}
	timeout := time.After(30 * time.Second)
	for len(left) > 0 {
		select {
		case got := <-api.refreshed:
			delete(left, got)
		case <-timeout:
			t.Fatalf("refreshes never reported: %v", left)
		}
	}
}

// TestScrapesServeRoomsAndJobsFromMemory: /metrics serves rooms and jobs
// once refreshed, with jobs' limits from their room or from the tenant's
// user-config the scrape fetched; every scrape, whatever it selects, makes
// exactly one user-config call per tenant, or none without collect[]=tenants.
func TestScrapesServeRoomsAndJobsFromMemory(t *testing.T) {
	api := newRoomsAndJobs(false)
	e := newInventoryExporter(t, api)
	e.get(t, "/metrics")
	awaitRefreshed(t, api, "rooms "+projectA, "rooms "+projectB, "jobs "+projectA, "jobs "+projectB)
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
	api := newRoomsAndJobs(true)
	e := newInventoryExporter(t, api)
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
