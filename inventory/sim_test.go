package inventory

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/internal/lockedbuffer"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio/simulator"
)

// The tests in sim_test.go, jobkeys_test.go and hostile_test.go run the
// inventory on the real client against the simulator, over loopback HTTP:
// signing, paging, decoding and bounds are the ones /metrics serves.

const simAK, simSK = "AKINVENTORYSIM000001", "inventory-sim-SECRET-sk"

// simUpstream is a simulator and a client that calls it, both on a clock
// fixed at t0, so that the durations the simulator reports are exact.
type simUpstream struct {
	sim    *simulator.Running
	client *metastudio.Client
	t0     time.Time
}

// startSim starts a simulator holding a project p-{name} for each name,
// with the user-config config (nil: none set).
func startSim(t *testing.T, config []byte, names ...string) *simUpstream {
	t.Helper()
	t0 := time.Now().Truncate(time.Second)
	now := func() time.Time { return t0 }
	var tenants []simulator.Tenant
	for _, n := range names {
		tenants = append(tenants, simulator.Tenant{ProjectID: "p-" + n, AccessKey: simAK, SecretKey: simSK, Config: config})
	}
	sim, err := simulator.Start(simulator.Options{Now: now}, tenants...)
	if err != nil {
		t.Fatal(err)
	}
	transport := metastudio.NewTransport(8)
	t.Cleanup(func() {
		_ = sim.Close()
		transport.CloseIdleConnections()
	})
	return &simUpstream{sim: sim, client: metastudio.NewClient(metastudio.ClientOptions{Transport: transport, Now: now}), t0: t0}
}

// addProject adds project p-{name} to the simulator.
func (u *simUpstream) addProject(t *testing.T, name string) {
	t.Helper()
	if err := u.sim.Server.AddTenant(simulator.Tenant{ProjectID: "p-" + name, AccessKey: simAK, SecretKey: simSK}); err != nil {
		t.Fatal(err)
	}
}

// tenant is testTenant(name, with...) at the simulator.
func (u *simUpstream) tenant(name string, with ...func(*config.Settings)) *config.Tenant {
	t := *testTenant(name, with...)
	t.Endpoint = u.sim.URL
	t.Credentials = metastudio.Credentials{AccessKey: simAK, SecretKey: simSK}
	return config.NewTenant(t)
}

// calls is how many calls of route the project of tenant name received.
func (u *simUpstream) calls(name string, route simulator.Route) int64 {
	return u.sim.Server.RouteCalls("p-"+name, route)
}

func (u *simUpstream) must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// newSimInventory is an Inventory on u's client whose log goes to the
// returned buffer.
func newSimInventory(t *testing.T, u *simUpstream) (*Inventory, *lockedbuffer.Buffer) {
	t.Helper()
	logs := &lockedbuffer.Buffer{}
	inv := New(u.client, Options{Logger: log.NewLogfmtLogger(logs)})
	t.Cleanup(inv.Close)
	return inv, logs
}

// awaitServed serves tenants, as scrapes do, until the exposition holds
// every one of want: the refreshes the first one started have stored what
// they found. It returns that exposition.
func awaitServed(t *testing.T, inv *Inventory, tenants []*config.Tenant, want ...string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := serve(t, inv, Kinds{Rooms: true, Jobs: true}, tenants...)
		missing := ""
		for _, w := range want {
			if !strings.Contains(got, w+"\n") {
				missing = w
				break
			}
		}
		if missing == "" {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("never served %s; last served:\n%s", missing, got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// fast are intervals short enough that every room's detail is fetched
// within a test's first moments.
func fast(s *config.Settings) {
	s.Rooms = config.Rooms{RefreshInterval: 30 * time.Millisecond, MaxRooms: 500}
	s.LiveJobs = config.LiveJobs{RefreshInterval: 20 * time.Millisecond, FailedWindow: 24 * time.Hour}
}

// sampleShop is a simulator whose project p-shop has rooms and jobs of
// every kind, under a tenant limit of 4 h: a room that repeats forever
// with an unsafe callback of its own, one with every setting of its own
// and a signed callback, one with none; jobs running in each, one waiting,
// one failed 5 minutes ago and one long done.
func sampleShop(t *testing.T) *simUpstream {
	t.Helper()
	u := startSim(t, []byte(`{"live_exit_config":{"max_live_duration":4}}`), "shop")
	sim, t0 := u.sim.Server, u.t0
	u.must(t, sim.AddRoom("p-shop", simulator.Room{ID: "r-forever", Name: `<b onmouseover="x()">Forever</b>`,
		RepeatCount: new(simulator.RepeatUntilStopped), Exit: &simulator.LiveExit{MaxLiveDuration: new(0)},
		Callback:   &simulator.Callback{URL: "http://hooks.example.com/cb", AuthType: simulator.AuthNone},
		OutputURLs: []string{"rtmp://push.example.com/live/"}, StreamKeys: []string{"SECRET-STREAM-KEY"}}))
	u.must(t, sim.AddRoom("p-shop", simulator.Room{ID: "r-own", Name: "Own", Type: simulator.RoomTemplate,
		RepeatCount: new(3), Exit: &simulator.LiveExit{MaxLiveDuration: new(2), MaxExceptionWaitingDuration: new(10)},
		Callback: &simulator.Callback{URL: "https://hooks.example.com/own?token=SECRET-URL-TOKEN", AuthType: simulator.AuthMSSA, Key: "SECRET-ROOM-KEY"}}))
	u.must(t, sim.AddRoom("p-shop", simulator.Room{ID: "r-plain", Name: "Plain", State: simulator.RoomDisable}))
	u.must(t, sim.AddLiveJob("p-shop", simulator.LiveJob{ID: "j-forever", RoomID: "r-forever", StartTime: t0.Add(-time.Hour), UsedResourceType: simulator.ResourcePeriod}))
	u.must(t, sim.AddLiveJob("p-shop", simulator.LiveJob{ID: "j-own", RoomID: "r-own", StartTime: t0.Add(-7000 * time.Second), UsedResourceType: simulator.ResourceOnDemand}))
	u.must(t, sim.AddLiveJob("p-shop", simulator.LiveJob{ID: "j-wait", RoomID: "r-plain", State: simulator.JobWaiting}))
	u.must(t, sim.AddLiveJob("p-shop", simulator.LiveJob{ID: "j-failed", RoomID: "r-plain", State: simulator.JobFailed,
		StartTime: t0.Add(-20 * time.Minute), EndTime: t0.Add(-5 * time.Minute), ErrorCode: "MSS.00000201", ErrorMsg: "push refused"}))
	u.must(t, sim.AddLiveJob("p-shop", simulator.LiveJob{ID: "j-done", RoomID: "r-plain", State: simulator.JobSucceed,
		StartTime: t0.Add(-3 * time.Hour), EndTime: t0.Add(-2 * time.Hour)}))
	u.must(t, sim.SetJobStreaming("p-shop", "j-own", false))
	return u
}

// TestExpositionThroughClient: what the simulator serves of a tenant's
// rooms and jobs, read by the real client and served, series by series;
// the refresh times aside, every value is exact.
func TestExpositionThroughClient(t *testing.T) {
	u := sampleShop(t)
	t0 := u.t0
	inv, logs := newSimInventory(t, u)
	shop := u.tenant("shop", fast)
	if _, err := inv.ObserveUserConfig(u.client).GetUserConfig(t.Context(), shop.Target); err != nil {
		t.Fatal(err)
	}
	got := awaitServed(t, inv, []*config.Tenant{shop},
		`metastudio_room_play_repeats{room_id="r-own",tenant="shop"} 3`,
		`metastudio_room_play_repeats{room_id="r-forever",tenant="shop"} -1`,
		`metastudio_live_job_max_duration_seconds{job_id="j-wait",room_id="r-plain",tenant="shop"} 14400`, // r-plain's detail
		`metastudio_live_jobs_up{tenant="shop"} 1`)
	start, end := float64(t0.Add(-time.Hour).Unix()), float64(t0.Add(-5*time.Minute).Unix())
	want := `# HELP metastudio_room_info One series per room; always 1.
# TYPE metastudio_room_info gauge
metastudio_room_info{room_id="r-forever",room_name="<b onmouseover=\"x()\">Forever</b>",room_state="ENABLE",room_type="NORMAL",tenant="shop"} 1
metastudio_room_info{room_id="r-own",room_name="Own",room_state="ENABLE",room_type="TEMPLATE",tenant="shop"} 1
metastudio_room_info{room_id="r-plain",room_name="Plain",room_state="DISABLE",room_type="NORMAL",tenant="shop"} 1
# HELP metastudio_room_play_repeats The room's play_policy.repeat_count; -1 means it repeats until stopped. Absent when the room sets none.
# TYPE metastudio_room_play_repeats gauge
metastudio_room_play_repeats{room_id="r-forever",tenant="shop"} -1
metastudio_room_play_repeats{room_id="r-own",tenant="shop"} 3
# HELP metastudio_room_live_max_duration_seconds The room's own play_policy.live_exit_config.max_live_duration in seconds; 0 means none. Absent when the room sets none.
# TYPE metastudio_room_live_max_duration_seconds gauge
metastudio_room_live_max_duration_seconds{room_id="r-forever",tenant="shop"} 0
metastudio_room_live_max_duration_seconds{room_id="r-own",tenant="shop"} 7200
# HELP metastudio_room_live_max_exception_waiting_seconds The room's own play_policy.live_exit_config.max_exception_waiting_duration in seconds; 0 means none. Absent when the room sets none.
# TYPE metastudio_room_live_max_exception_waiting_seconds gauge
metastudio_room_live_max_exception_waiting_seconds{room_id="r-own",tenant="shop"} 600
# HELP metastudio_room_event_callback_https 1 if the room's own live event callback URL is https; only for a room with a callback URL of its own.
# TYPE metastudio_room_event_callback_https gauge
metastudio_room_event_callback_https{room_id="r-forever",tenant="shop"} 0
metastudio_room_event_callback_https{room_id="r-own",tenant="shop"} 1
# HELP metastudio_room_event_callback_auth_type_info The auth type of the room's own live event callback; always 1; only for a room with a callback URL of its own.
# TYPE metastudio_room_event_callback_auth_type_info gauge
metastudio_room_event_callback_auth_type_info{auth_type="MSS_A",room_id="r-own",tenant="shop"} 1
metastudio_room_event_callback_auth_type_info{auth_type="NONE",room_id="r-forever",tenant="shop"} 1
# HELP metastudio_room_event_callback_url_credentials 1 if the room's own live event callback URL carries a query parameter with a value (a token, for auth type NONE); only for a room with a callback URL of its own.
# TYPE metastudio_room_event_callback_url_credentials gauge
metastudio_room_event_callback_url_credentials{room_id="r-forever",tenant="shop"} 0
metastudio_room_event_callback_url_credentials{room_id="r-own",tenant="shop"} 1
# HELP metastudio_rooms_skipped Rooms of this tenant past rooms.max_rooms at the last listing: not watched.
# TYPE metastudio_rooms_skipped gauge
metastudio_rooms_skipped{tenant="shop"} 0
# HELP metastudio_live_jobs Live jobs of this tenant in this state now.
# TYPE metastudio_live_jobs gauge
metastudio_live_jobs{state="PROCESSING",tenant="shop"} 2
metastudio_live_jobs{state="WAITING",tenant="shop"} 1
# HELP metastudio_live_job_info One series per WAITING or PROCESSING live job; always 1.
# TYPE metastudio_live_job_info gauge
metastudio_live_job_info{job_id="j-forever",room_id="r-forever",state="PROCESSING",tenant="shop",used_resource_type="PERIOD"} 1
metastudio_live_job_info{job_id="j-own",room_id="r-own",state="PROCESSING",tenant="shop",used_resource_type="ONDEMAND"} 1
metastudio_live_job_info{job_id="j-wait",room_id="r-plain",state="WAITING",tenant="shop",used_resource_type=""} 1
# HELP metastudio_live_job_duration_seconds How long the live job has been live, as reported.
# TYPE metastudio_live_job_duration_seconds gauge
metastudio_live_job_duration_seconds{job_id="j-forever",room_id="r-forever",tenant="shop"} 3600
metastudio_live_job_duration_seconds{job_id="j-own",room_id="r-own",tenant="shop"} 7000
metastudio_live_job_duration_seconds{job_id="j-wait",room_id="r-plain",tenant="shop"} 0
# HELP metastudio_live_job_stream_duration_seconds How long the live job's RTMP push has been up, as reported.
# TYPE metastudio_live_job_stream_duration_seconds gauge
metastudio_live_job_stream_duration_seconds{job_id="j-forever",room_id="r-forever",tenant="shop"} 3600
metastudio_live_job_stream_duration_seconds{job_id="j-own",room_id="r-own",tenant="shop"} 7000
metastudio_live_job_stream_duration_seconds{job_id="j-wait",room_id="r-plain",tenant="shop"} 0
# HELP metastudio_live_job_start_timestamp_seconds When the live job started; absent when not reported.
# TYPE metastudio_live_job_start_timestamp_seconds gauge
metastudio_live_job_start_timestamp_seconds{job_id="j-forever",room_id="r-forever",tenant="shop"} ` + ftoa(start) + `
metastudio_live_job_start_timestamp_seconds{job_id="j-own",room_id="r-own",tenant="shop"} ` + ftoa(float64(t0.Add(-7000*time.Second).Unix())) + `
# HELP metastudio_live_job_max_duration_seconds The duration limit that applies to the live job: its room's if the room sets one, else the tenant's; 0 means none. Absent while neither is known.
# TYPE metastudio_live_job_max_duration_seconds gauge
metastudio_live_job_max_duration_seconds{job_id="j-forever",room_id="r-forever",tenant="shop"} 0
metastudio_live_job_max_duration_seconds{job_id="j-own",room_id="r-own",tenant="shop"} 7200
metastudio_live_job_max_duration_seconds{job_id="j-wait",room_id="r-plain",tenant="shop"} 14400
# HELP metastudio_live_job_event_callback_info The live event callback the job runs with; always 1; absent when it reports none.
# TYPE metastudio_live_job_event_callback_info gauge
metastudio_live_job_event_callback_info{auth_type="MSS_A",job_id="j-own",room_id="r-own",scheme="https",tenant="shop"} 1
metastudio_live_job_event_callback_info{auth_type="NONE",job_id="j-forever",room_id="r-forever",scheme="http",tenant="shop"} 1
# HELP metastudio_live_job_failed_timestamp_seconds End (else last update) time of a FAILED or BLOCKED live job of the failed window; the newest 20 per tenant.
# TYPE metastudio_live_job_failed_timestamp_seconds gauge
metastudio_live_job_failed_timestamp_seconds{error_code="MSS.00000201",job_id="j-failed",room_id="r-plain",state="FAILED",tenant="shop"} ` + ftoa(end) + `
`
	compare(t, inv, shop, want,
		"metastudio_room_info", "metastudio_room_play_repeats", "metastudio_room_live_max_duration_seconds",
		"metastudio_room_live_max_exception_waiting_seconds", "metastudio_room_event_callback_https",
		"metastudio_room_event_callback_auth_type_info", "metastudio_room_event_callback_url_credentials", "metastudio_rooms_skipped",
		"metastudio_live_jobs", "metastudio_live_job_info", "metastudio_live_job_duration_seconds",
		"metastudio_live_job_stream_duration_seconds", "metastudio_live_job_start_timestamp_seconds",
		"metastudio_live_job_max_duration_seconds", "metastudio_live_job_event_callback_info", "metastudio_live_job_failed_timestamp_seconds")
	for _, s := range []string{"SECRET", "token=", "hooks.example.com", "push.example.com"} {
		if strings.Contains(got, s) || strings.Contains(logs.String(), s) {
			t.Errorf("the exposition or the log holds %q", s)
		}
	}
	checkMetrics(t, got)
}

func ftoa(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// TestStatus: what the status page reads of a tenant is what its series
// say, from the same memory, with no secret and without a call.
func TestStatus(t *testing.T) {
	u := sampleShop(t)
	t0 := u.t0
	inv, _ := newSimInventory(t, u)
	shop := u.tenant("shop", fast)
	if s := inv.Status(shop); s.Watched || s.Rooms != nil || s.Jobs != nil {
		t.Fatalf("a tenant never scraped: %+v", s)
	}
	if _, err := inv.ObserveUserConfig(u.client).GetUserConfig(t.Context(), shop.Target); err != nil {
		t.Fatal(err)
	}
	awaitServed(t, inv, []*config.Tenant{shop},
		`metastudio_room_play_repeats{room_id="r-own",tenant="shop"} 3`,
		`metastudio_room_play_repeats{room_id="r-forever",tenant="shop"} -1`,
		`metastudio_live_job_max_duration_seconds{job_id="j-wait",room_id="r-plain",tenant="shop"} 14400`, // r-plain's detail
		`metastudio_live_jobs_up{tenant="shop"} 1`)
	got := inv.Status(shop)
	if got.Rooms == nil || got.Jobs == nil || !got.Rooms.Up || !got.Jobs.Up || got.Rooms.LastSuccess.IsZero() || got.Jobs.LastSuccess.IsZero() {
		t.Fatalf("status %+v: not both kinds refreshed", got)
	}
	got.Rooms.LastSuccess, got.Jobs.LastSuccess = time.Time{}, time.Time{}
	d := func(v time.Duration) *time.Duration { return &v }
	want := Status{
		Watched: true,
		Rooms: &RoomsStatus{Up: true, Interval: 30 * time.Millisecond, Listed: 3, Detailed: 3, Own: []RoomStatus{
			{ID: "r-forever", Name: `<b onmouseover="x()">Forever</b>`, Type: "NORMAL", State: "ENABLE", Repeats: new(-1), MaxDuration: d(0),
				Callback: &CallbackStatus{AuthType: "NONE", Scheme: "http"}},
			{ID: "r-own", Name: "Own", Type: "TEMPLATE", State: "ENABLE", Repeats: new(3), MaxDuration: d(2 * time.Hour), MaxExceptionWaiting: d(10 * time.Minute),
				Callback: &CallbackStatus{AuthType: "MSS_A", Scheme: "https", Credentials: true}},
		}},
		Jobs: &JobsStatus{Up: true, Interval: 20 * time.Millisecond,
			Running: []JobStatus{
				{ID: "j-own", RoomID: "r-own", State: "PROCESSING", ResourceType: "ONDEMAND", Duration: 7000 * time.Second, StreamDuration: 7000 * time.Second,
					Start: t0.Add(-7000 * time.Second), MaxDuration: 2 * time.Hour, MaxDurationKnown: true, Callback: &CallbackStatus{AuthType: "MSS_A", Scheme: "https"}},
				{ID: "j-forever", RoomID: "r-forever", State: "PROCESSING", ResourceType: "PERIOD", Duration: time.Hour, StreamDuration: time.Hour,
					Start: t0.Add(-time.Hour), MaxDurationKnown: true, Callback: &CallbackStatus{AuthType: "NONE", Scheme: "http"}},
				{ID: "j-wait", RoomID: "r-plain", State: "WAITING", MaxDuration: 4 * time.Hour, MaxDurationKnown: true},
			},
			Failed: []FailedJobStatus{{ID: "j-failed", RoomID: "r-plain", State: "FAILED", ErrorCode: "MSS.00000201", At: t0.Add(-5 * time.Minute)}},
		},
	}
	// Jobs come in the API's order, by create time.
	if g, w := dump(got), dump(want); g != w {
		t.Errorf("status:\n%s\nwant:\n%s", g, w)
	}
}

// dump writes s out, times in UTC, to compare and to show.
func dump(s Status) string {
	b, _ := json.MarshalIndent(s, "", "  ")
	return string(b)
}
