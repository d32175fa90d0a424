package inventory

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

// describe is a call as "offset op [room]".
func describe(c apiCall, start time.Time) string {
	return strings.TrimSpace(fmt.Sprintf("%s %s %s", c.at.Sub(start), c.op, c.room))
}

func rooms(ids ...string) []metastudio.Room {
	out := make([]metastudio.Room, len(ids))
	for i, id := range ids {
		out[i] = metastudio.Room{RoomID: id, RoomName: "room " + id, RoomType: metastudio.RoomNormal, RoomState: metastudio.RoomEnable}
	}
	return out
}

func processing(room, job string) metastudio.LiveJob {
	return metastudio.LiveJob{JobID: job, RoomID: room, State: metastudio.JobProcessing, Duration: 60, StreamDuration: 55, UsedResourceType: "PERIOD"}
}

var (
	serverError = &metastudio.Error{Reason: metastudio.ReasonServerError, StatusCode: 500, ErrorCode: "MSS.00000001", ErrorMsg: "internal error", Op: opListLiveJobs}
)

func throttled(op string, retryAfter time.Duration) error {
	return &metastudio.Error{Reason: metastudio.ReasonThrottled, StatusCode: 429, ErrorCode: metastudio.ErrorCodeThrottled, Op: op, RetryAfter: retryAfter}
}

// TestRefreshFollowsDemand: nothing is called for a tenant no scrape has
// served; the first scrape starts its refreshes; ten minutes without one
// stop them and drop the cache, and the next scrape starts afresh.
func TestRefreshFollowsDemand(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := newFakeAPI()
		p := api.project("p-shop")
		p.rooms = rooms("r1")
		p.details["r1"] = &metastudio.RoomDetail{Room: p.rooms[0]}
		p.active = []metastudio.LiveJob{processing("r1", "j1")}
		inv, _ := newTestInventory(t, api)
		shop := testTenant("shop")

		time.Sleep(time.Hour)
		if n := len(api.callsOf("")); n != 0 {
			t.Fatalf("%d calls for a tenant no scrape served", n)
		}
		if got := serve(t, inv, Kinds{}, shop); got != "" || inv.watching() != 0 {
			t.Fatalf("a scrape selecting neither rooms nor jobs started watching:\n%s", got)
		}
		start := time.Now()
		serve(t, inv, Kinds{Jobs: true}, shop)
		synctest.Wait()
		if got := len(api.callsOf("")); got != 4 { // rooms, r1, active jobs, failed jobs
			t.Fatalf("%d calls after the first scrape, want 4: %+v", got, api.callsOf(""))
		}
		if got := serve(t, inv, Kinds{Rooms: true, Jobs: true}, shop); !strings.Contains(got, `metastudio_room_info{room_id="r1"`) || !strings.Contains(got, `metastudio_live_job_info{job_id="j1"`) {
			t.Fatalf("the second scrape does not serve what the first one's refresh found:\n%s", got)
		}

		// Jobs refresh every minute meanwhile; the watch stops between
		// DemandWindow and one idle check later.
		time.Sleep(DemandWindow + idleCheckEvery)
		synctest.Wait()
		if n := inv.watching(); n != 0 {
			t.Fatalf("%d tenants watched %s after the last scrape", n, DemandWindow+idleCheckEvery)
		}
		stopped := len(api.callsOf(""))
		for _, c := range api.callsOf("") {
			if c.at.Sub(start) > DemandWindow+idleCheckEvery {
				t.Errorf("%s at %s, after the watch stopped", c.op, c.at.Sub(start))
			}
		}
		time.Sleep(time.Hour)
		if n := len(api.callsOf("")); n != stopped {
			t.Errorf("%d calls in the hour after the watch stopped", n-stopped)
		}

		// Served again: the cache was dropped, so the scrape that restarts
		// the watch serves nothing yet.
		p.hold = make(chan struct{})
		if got := serve(t, inv, Kinds{Rooms: true, Jobs: true}, shop); got != "" {
			t.Errorf("a restarted watch served the dropped cache:\n%s", got)
		}
		synctest.Wait()
		if n := len(api.callsOf("")); n != stopped+2 { // the rooms and jobs listings, held
			t.Errorf("%d calls after the restart, want 2", n-stopped)
		}
	})
}

// TestRoomDetailsSpreadOverInterval: the rooms are listed every
// refresh_interval and each room's detail is fetched in between, evenly
// spread: five rooms in ten minutes are one call every two minutes.
func TestRoomDetailsSpreadOverInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := newFakeAPI()
		p := api.project("p-shop")
		p.rooms = rooms("r1", "r2", "r3", "r4", "r5")
		for _, r := range p.rooms {
			p.details[r.RoomID] = &metastudio.RoomDetail{Room: r}
		}
		inv, _ := newTestInventory(t, api)
		shop := testTenant("shop", roomsOnly)
		start := time.Now()
		serveEvery(t, inv, 5*time.Minute, 21*time.Minute, shop)

		var got []string
		for _, c := range api.callsOf("") {
			got = append(got, describe(c, start))
		}
		var want []string
		for _, cycle := range []time.Duration{0, 10 * time.Minute, 20 * time.Minute} {
			want = append(want, fmt.Sprintf("%s list rooms", cycle))
			for i, r := range p.rooms {
				if at := cycle + time.Duration(i)*2*time.Minute; at <= 21*time.Minute {
					want = append(want, fmt.Sprintf("%s show room %s", at, r.RoomID))
				}
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}

// TestJobsRefresh: every refresh_interval, one listing of the WAITING and
// PROCESSING jobs and one of the FAILED and BLOCKED jobs created within the
// failed window.
func TestJobsRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := newFakeAPI()
		api.project("p-shop")
		inv, _ := newTestInventory(t, api)
		start := time.Now()
		serveEvery(t, inv, 5*time.Minute, 5*time.Minute, testTenant("shop", jobsOnly, jobsEvery(2*time.Minute, 6*time.Hour)))

		var got []string
		for _, c := range api.callsOf("") {
			got = append(got, fmt.Sprintf("%s %s %v since %s max %d", c.at.Sub(start), c.op, c.query.States, c.query.CreateSince.Sub(start), c.query.Max))
		}
		zero := time.Time{}.Sub(start)
		var want []string
		for _, at := range []time.Duration{0, 2 * time.Minute, 4 * time.Minute} {
			want = append(want,
				fmt.Sprintf("%s list live jobs [WAITING PROCESSING] since %s max 1000", at, zero),
				fmt.Sprintf("%s list live jobs [FAILED BLOCKED] since %s max 500", at, at-6*time.Hour))
		}
		if !slices.Equal(got, want) {
			t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}

// TestThrottlingSlowsTheTenant: each throttled answer doubles the tenant's
// background interval, up to 4x, until a call succeeds; a Retry-After is
// honoured within that cap.
func TestThrottlingSlowsTheTenant(t *testing.T) {
	for _, tc := range []struct {
		name string
		errs []error
		want []time.Duration // when the active jobs are listed
	}{
		{"doubling to 4x", []error{throttled(opListLiveJobs, 0), throttled(opListLiveJobs, 0), throttled(opListLiveJobs, 0)},
			[]time.Duration{0, 2 * time.Minute, 6 * time.Minute, 10 * time.Minute, 11 * time.Minute, 12 * time.Minute}},
		{"Retry-After beyond the doubled interval", []error{throttled(opListLiveJobs, 3*time.Minute+20*time.Second)},
			[]time.Duration{0, 3*time.Minute + 20*time.Second, 4*time.Minute + 20*time.Second, 5*time.Minute + 20*time.Second}},
		{"Retry-After past the cap", []error{throttled(opListLiveJobs, time.Hour)},
			[]time.Duration{0, 4 * time.Minute, 5 * time.Minute, 6 * time.Minute}},
		{"other errors do not slow down", []error{serverError, serverError},
			[]time.Duration{0, time.Minute, 2 * time.Minute, 3 * time.Minute}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				api := newFakeAPI()
				api.script("p-shop", opListLiveJobs, tc.errs...)
				inv, _ := newTestInventory(t, api)
				start := time.Now()
				last := tc.want[len(tc.want)-1]
				serveEvery(t, inv, 5*time.Minute, last+30*time.Second, testTenant("shop", jobsOnly))
				var got []time.Duration
				for _, c := range api.callsOf(opListLiveJobs) {
					if !slices.Contains(c.query.States, metastudio.JobFailed) {
						got = append(got, c.at.Sub(start))
					}
				}
				if !slices.Equal(got, tc.want) {
					t.Errorf("active jobs listed at %v, want %v", got, tc.want)
				}
			})
		})
	}
}

// TestThrottledRoomDetailsSpreadFurther: a throttled room detail doubles
// the wait before the next one, and a success brings it back.
func TestThrottledRoomDetailsSpreadFurther(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := newFakeAPI()
		p := api.project("p-shop")
		p.rooms = rooms("r1", "r2")
		p.details["r1"] = &metastudio.RoomDetail{Room: p.rooms[0]}
		p.details["r2"] = &metastudio.RoomDetail{Room: p.rooms[1]}
		api.script("p-shop", opShowRoom, throttled(opShowRoom, 0))
		inv, _ := newTestInventory(t, api)
		start := time.Now()
		serveEvery(t, inv, 5*time.Minute, 16*time.Minute, testTenant("shop", roomsOnly))
		var got []string
		for _, c := range api.callsOf("") {
			got = append(got, describe(c, start))
		}
		want := []string{"0s list rooms", "0s show room r1", "10m0s show room r2", "15m0s list rooms", "15m0s show room r1"}
		if !slices.Equal(got, want) {
			t.Errorf("calls:\n%s\nwant (r2 10 minutes after the throttled r1, not 5):\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}
