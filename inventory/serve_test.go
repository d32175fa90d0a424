package inventory

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/internal/promtext"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

var update = flag.Bool("update", false, "rewrite testdata/*.prom golden files")

const goldenFile = "testdata/inventory.prom"

func intp(v int) *int { return &v }

// userConfigOf answers a fixed user-config: the tenant's own limit, which
// jobs in rooms without one of their own run under.
type userConfigOf struct{ hours int }

func (u userConfigOf) GetUserConfig(context.Context, metastudio.Target) (*metastudio.UserConfig, error) {
	return &metastudio.UserConfig{LiveExitConfig: &metastudio.LiveExitConfig{MaxLiveDuration: intp(u.hours)}}, nil
}

// goldenProject fills p with rooms and jobs that cover every series and
// every rule of what is served, around now.
func goldenProject(api *fakeAPI, p *fakeProject, now time.Time) {
	p.rooms = append(rooms("r-broken", "r-forever", "r-own", "r-plain", "r-plain"),
		metastudio.Room{RoomID: "r-long", RoomName: strings.Repeat("N", 200), RoomType: metastudio.RoomTemplate, RoomState: metastudio.RoomDisable})
	api.script("p-shop", opShowRoom, &metastudio.Error{Reason: metastudio.ReasonServerError, StatusCode: 500, ErrorCode: "MSS.00000001", Op: opShowRoom})
	p.details["r-forever"] = &metastudio.RoomDetail{RepeatCount: intp(metastudio.RepeatUntilStopped),
		Callback: &metastudio.CallbackAuth{AuthType: metastudio.AuthNone, URL: "http://hooks.example.com/cb?token=SECRET-ROOM-TOKEN"}}
	p.details["r-own"] = &metastudio.RoomDetail{RepeatCount: intp(3),
		Exit:     &metastudio.LiveExit{MaxLiveDurationHours: intp(2), MaxExceptionWaitingMinutes: intp(10)},
		Callback: &metastudio.CallbackAuth{AuthType: metastudio.AuthMSSA, Key: "SECRET-ROOM-KEY", URL: "https://hooks.example.com/own"}}
	p.details["r-plain"] = &metastudio.RoomDetail{}
	p.details["r-long"] = &metastudio.RoomDetail{Exit: &metastudio.LiveExit{MaxLiveDurationHours: intp(0)},
		Callback: &metastudio.CallbackAuth{URL: "ftp://hooks.example.com/x?sig="}}

	job := func(room, id, state string, d, sd float64, start time.Time) metastudio.LiveJob {
		return metastudio.LiveJob{JobID: id, RoomID: room, State: state, Duration: d, StreamDuration: sd, StartTime: start, UsedResourceType: "PERIOD"}
	}
	forever := job("r-forever", "j-forever", metastudio.JobProcessing, 3600.5, 3500, now.Add(-time.Hour))
	forever.Callback = &metastudio.CallbackAuth{AuthType: metastudio.AuthNone, URL: "http://hooks.example.com/cb?token=SECRET-JOB-TOKEN"}
	own := job("r-own", "j-own", metastudio.JobProcessing, 7000, 6990, now.Add(-7000*time.Second))
	own.UsedResourceType = "ONDEMAND"
	own.Callback = &metastudio.CallbackAuth{AuthType: metastudio.AuthMSSA, Key: "SECRET-JOB-KEY", URL: "https://hooks.example.com/own"}
	p.active = []metastudio.LiveJob{
		forever, own, own,
		job("r-plain", "j-wait", metastudio.JobWaiting, 0, 0, time.Time{}),
		job("r-broken", "j-broken", metastudio.JobProcessing, 10, 10, now.Add(-10*time.Second)),
		job("r-unlisted", "j-elsewhere", metastudio.JobProcessing, 20, 20, now.Add(-20*time.Second)),
		job("r-long", "j-long", metastudio.JobProcessing, 30, 0, now.Add(-30*time.Second)),
		job("r-plain", "j-done", metastudio.JobSucceed, 99, 99, now.Add(-99*time.Second)),
	}
	for i := 1; i <= 23; i++ {
		p.failed = append(p.failed, metastudio.LiveJob{JobID: fmt.Sprintf("f%02d", i), RoomID: "r-own", State: metastudio.JobFailed,
			ErrorCode: "MSS.00010001", ErrorMsg: "push failed", EndTime: now.Add(-time.Duration(i) * time.Minute), LastUpdateTime: now})
	}
	p.failed = append(p.failed,
		metastudio.LiveJob{JobID: "f-blocked", RoomID: "r-plain", State: metastudio.JobBlocked, ErrorCode: "MSS.00000123", LastUpdateTime: now.Add(-30 * time.Second)},
		metastudio.LiveJob{JobID: "f-untimed", RoomID: "r-plain", State: metastudio.JobFailed})
}

// TestExposition holds everything served to a golden file: rooms with and
// without settings of their own, a room whose detail failed, labels cut to
// size, repeated ids, jobs in rooms with and without limits (one in a room
// not listed, whose limit is not known), the newest 20 failures, and a
// tenant with nothing at all. The exposition passes promtool check metrics
// and holds no secret, nor does the log.
func TestExposition(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := newFakeAPI()
		goldenProject(api, api.project("p-shop"), time.Now().Add(9*time.Minute))
		api.project("p-quiet")
		inv, logs := newTestInventory(t, api)
		shop, quiet := testTenant("shop"), testTenant("quiet")
		if _, err := inv.ObserveUserConfig(userConfigOf{hours: 4}).GetUserConfig(t.Context(), shop.Target); err != nil {
			t.Fatal(err)
		}
		// Room details at 0, 2, 4, 6 and 8 minutes; the jobs refresh
		// every minute.
		serveEvery(t, inv, 5*time.Minute, 9*time.Minute, shop, quiet)
		synctest.Wait()

		c := inv.Collector(Kinds{Rooms: true, Jobs: true}, nil, shop, quiet)
		if *update {
			writeGolden(t, c)
		}
		f, err := os.Open(goldenFile)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := testutil.CollectAndCompare(c, f); err != nil {
			t.Errorf("%v\n(if the change is deliberate: go test ./inventory -run TestExposition -update)", err)
		}
		exposition := serve(t, inv, Kinds{Rooms: true, Jobs: true}, shop, quiet)
		// What /metrics serves, through Gatherer, is the same.
		mfs, err := inv.Gatherer(Kinds{Rooms: true, Jobs: true}, nil, shop, quiet).Gather()
		if err != nil {
			t.Fatal(err)
		}
		if got := text(t, mfs); got != exposition {
			t.Errorf("Gatherer serves\n%s\nCollector in a registry\n%s", got, exposition)
		}
		for _, s := range []string{"SECRET", "token=", "hooks.example.com"} {
			if strings.Contains(exposition, s) {
				t.Errorf("the exposition holds %q", s)
			}
			if strings.Contains(logs.String(), s) {
				t.Errorf("the log holds %q:\n%s", s, logs.String())
			}
		}
		checkMetrics(t, exposition)
	})
}

func writeGolden(t *testing.T, c prometheus.Collector) {
	t.Helper()
	if err := os.WriteFile(goldenFile, []byte(promtext.Gather(t, c)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkMetrics runs promtool check metrics on an exposition, as CI does on
// the exporter's whole answer.
func checkMetrics(t *testing.T, exposition string) {
	t.Helper()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("promtool not on PATH and CI is set: %v", err)
		}
		t.Log("promtool not on PATH; not checking the exposition with it")
		return
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(exposition)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// TestFailedRefreshKeepsLastResult: a failing refresh serves what the last
// good one found, says it is not up, keeps its last success time, and logs
// one warn line for the streak and one info line when it recovers.
func TestFailedRefreshKeepsLastResult(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := newFakeAPI()
		api.project("p-shop").active = []metastudio.LiveJob{processing("r1", "j1")}
		api.script("p-shop", opListLiveJobs, nil, nil, serverError, serverError, serverError)
		inv, logs := newTestInventory(t, api)
		shop := testTenant("shop", jobsOnly)
		start := time.Now()
		serveEvery(t, inv, 5*time.Minute, 150*time.Second, shop)
		synctest.Wait()
		want := fmt.Sprintf(`# HELP metastudio_live_jobs_up 1 if the last live jobs refresh of this tenant (both listings) succeeded.
# TYPE metastudio_live_jobs_up gauge
metastudio_live_jobs_up{tenant="shop"} 0
# HELP metastudio_live_jobs_last_success_timestamp_seconds When the last live jobs refresh of this tenant that succeeded ended; 0 if none has.
# TYPE metastudio_live_jobs_last_success_timestamp_seconds gauge
metastudio_live_jobs_last_success_timestamp_seconds{tenant="shop"} %d
# HELP metastudio_live_job_info One series per WAITING or PROCESSING live job; always 1.
# TYPE metastudio_live_job_info gauge
metastudio_live_job_info{job_id="j1",room_id="r1",state="PROCESSING",tenant="shop",used_resource_type="PERIOD"} 1
`, start.Unix())
		compare(t, inv, shop, want, "metastudio_live_jobs_up", "metastudio_live_jobs_last_success_timestamp_seconds", "metastudio_live_job_info")
		// The status page says why, and forgets it once a refresh succeeds.
		if got := inv.Status(shop).Jobs.Failure; got != "list live jobs: HTTP 500 MSS.00000001: internal error" {
			t.Errorf("status while failing: Failure %q", got)
		}

		serveEvery(t, inv, 5*time.Minute, 2*time.Minute, shop) // recovers at 4 minutes
		if s := inv.Status(shop).Jobs; !s.Up || s.Failure != "" {
			t.Errorf("status after recovering: Up %v, Failure %q", s.Up, s.Failure)
		}
		var loud []string
		debug := 0
		for line := range strings.Lines(logs.String()) {
			switch {
			case strings.HasPrefix(line, "level=debug"):
				debug++
			default:
				loud = append(loud, strings.TrimSpace(line))
			}
		}
		wantLoud := []string{
			`level=warn msg="Refreshing live jobs failed" tenant=shop reason=server_error status=500 error_code=MSS.00000001 err="list live jobs: HTTP 500 MSS.00000001: internal error"`,
			`level=info msg="Refreshing live jobs succeeded again" tenant=shop failed_calls=3 failing_for=3m0s`,
		}
		if strings.Join(loud, "\n") != strings.Join(wantLoud, "\n") {
			t.Errorf("log above debug:\n%s\nwant:\n%s", strings.Join(loud, "\n"), strings.Join(wantLoud, "\n"))
		}
	})
}

// TestMaxRooms: rooms past max_rooms are not watched, counted in
// metastudio_rooms_skipped, and logged once however often they are listed.
func TestMaxRooms(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := newFakeAPI()
		p := api.project("p-shop")
		p.rooms = rooms("r1", "r2", "r3", "r4", "r5", "r6", "r7")
		for _, r := range p.rooms {
			p.details[r.RoomID] = &metastudio.RoomDetail{}
		}
		inv, logs := newTestInventory(t, api)
		shop := testTenant("shop", roomsOnly, roomsEvery(10*time.Minute, 5))
		serveEvery(t, inv, 5*time.Minute, 25*time.Minute, shop)
		if got := testutil.CollectAndCount(inv.Collector(Kinds{Rooms: true}, nil, shop), "metastudio_room_info"); got != 5 {
			t.Errorf("%d rooms served, want 5", got)
		}
		compare(t, inv, shop, `# HELP metastudio_rooms_skipped Rooms of this tenant past rooms.max_rooms at the last listing: not watched.
# TYPE metastudio_rooms_skipped gauge
metastudio_rooms_skipped{tenant="shop"} 2
`, "metastudio_rooms_skipped")
		if n := len(api.callsOf(opListRooms)); n != 3 {
			t.Fatalf("%d listings, want 3", n)
		}
		want := `level=warn msg="Tenant has more rooms than max_rooms; the rest are not watched (metastudio_rooms_skipped counts them)" tenant=shop rooms=7 max_rooms=5`
		if n := strings.Count(logs.String(), want); n != 1 {
			t.Errorf("%d warn lines about the skipped rooms, want 1:\n%s", n, logs.String())
		}
	})
}

// TestRoomGoneSinceListing: a room deleted between the listing and its
// detail (404) leaves the view; that is no failure.
func TestRoomGoneSinceListing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := newFakeAPI()
		p := api.project("p-shop")
		p.rooms = rooms("r1", "r2", "r3")
		p.details["r1"] = &metastudio.RoomDetail{}
		p.details["r3"] = &metastudio.RoomDetail{RepeatCount: intp(2)}
		inv, _ := newTestInventory(t, api)
		shop := testTenant("shop", roomsOnly, roomsEvery(3*time.Minute, 5))
		serveEvery(t, inv, time.Minute, 2*time.Minute+time.Second, shop)
		compare(t, inv, shop, `# HELP metastudio_room_info One series per room; always 1.
# TYPE metastudio_room_info gauge
metastudio_room_info{room_id="r1",room_name="room r1",room_state="ENABLE",room_type="NORMAL",tenant="shop"} 1
metastudio_room_info{room_id="r3",room_name="room r3",room_state="ENABLE",room_type="NORMAL",tenant="shop"} 1
# HELP metastudio_room_play_repeats The room's play_policy.repeat_count; -1 means it repeats until stopped. Absent when the room sets none.
# TYPE metastudio_room_play_repeats gauge
metastudio_room_play_repeats{room_id="r3",tenant="shop"} 2
# HELP metastudio_rooms_up 1 if the last rooms call of this tenant (the listing or a room's detail) succeeded.
# TYPE metastudio_rooms_up gauge
metastudio_rooms_up{tenant="shop"} 1
`, "metastudio_room_info", "metastudio_room_play_repeats", "metastudio_rooms_up")
	})
}

// TestJobLimit: the limit a job runs under is its room's own, else the
// tenant's; not known while the room's detail or the tenant's settings are
// not; the tenant's when rooms are not watched.
func TestJobLimit(t *testing.T) {
	h := func(hours float64) *float64 { return ptr(hours * 3600) }
	view := &roomsView{
		rooms: []*room{{id: "own"}, {id: "none", own: &roomSettings{}}, {id: "pending"}, {id: "zero", own: &roomSettings{maxDuration: h(0)}}},
		index: map[string]int{"own": 0, "none": 1, "pending": 2, "zero": 3},
	}
	view.rooms[0].own = &roomSettings{maxDuration: h(2)}
	for _, tc := range []struct {
		room         string
		rooms        *roomsView
		roomsWatched bool
		tenantKnown  bool
		want         float64
		known        bool
	}{
		{"own", view, true, true, 7200, true},
		{"own", view, true, false, 7200, true},
		{"zero", view, true, true, 0, true},
		{"none", view, true, true, 14400, true},
		{"none", view, true, false, 0, false},
		{"pending", view, true, true, 0, false},
		{"unlisted", view, true, true, 0, false},
		{"own", nil, true, true, 0, false},
		{"own", nil, false, true, 14400, true},
		{"own", nil, false, false, 0, false},
	} {
		got, known := jobLimit(&liveJob{roomID: tc.room}, tc.rooms, tc.roomsWatched, 14400, tc.tenantKnown)
		if known != tc.known || known && got != tc.want {
			t.Errorf("room %s (rooms watched %v, known %v, tenant known %v): %v %v, want %v %v",
				tc.room, tc.roomsWatched, tc.rooms != nil, tc.tenantKnown, got, known, tc.want, tc.known)
		}
	}
}

// TestObserveUserConfig: the tenant's limit comes from the answers the
// scrapes fetch, for that tenant's project only, and is forgotten with the
// tenant.
func TestObserveUserConfig(t *testing.T) {
	inv := New(newFakeAPI(), Options{})
	defer inv.Close()
	shop := testTenant("shop")
	if _, known := inv.limits.maxDuration(shop); known {
		t.Fatal("a limit known before any answer")
	}
	if _, err := inv.ObserveUserConfig(userConfigOf{hours: 3}).GetUserConfig(t.Context(), shop.Target); err != nil {
		t.Fatal(err)
	}
	if got, known := inv.limits.maxDuration(shop); got != 3*3600 || !known {
		t.Errorf("limit %v %v, want 10800", got, known)
	}
	moved := *shop
	moved.ProjectID = "p-elsewhere"
	if _, known := inv.limits.maxDuration(config.NewTenant(moved)); known {
		t.Error("another project's limit is taken for the tenant")
	}
	inv.Retain(nil)
	if _, known := inv.limits.maxDuration(shop); known {
		t.Error("a removed tenant's limit is kept")
	}
}
