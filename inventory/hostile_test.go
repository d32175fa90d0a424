package inventory

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio/simulator"
)

// TestHostileUpstream: whatever one tenant's upstream answers, through the
// real client and the inventory each refresh costs bounded calls and keeps
// bounded results, ends within the tenant's timeout, and shows as that
// tenant's own outcome (its _up 0 and a logged reason when it fails),
// while a calm tenant beside it is served as ever.
func TestHostileUpstream(t *testing.T) {
	u := startSim(t, nil, "calm")
	u.must(t, u.sim.Server.AddRoom("p-calm", simulator.Room{ID: "r-calm", RepeatCount: new(1)}))
	u.must(t, u.sim.Server.AddLiveJob("p-calm", simulator.LiveJob{ID: "j-calm", RoomID: "r-calm", StartTime: u.t0}))
	markup := `<script>alert("x")</script>` + strings.Repeat("<i>&amp;", 40) + "\n\"}"

	for _, tc := range []struct {
		name string
		// setup fills the hostile project and sets its faults.
		setup func(t *testing.T, project string)
		// want are series of the hostile tenant the refresh must serve;
		// log is a line it must log, "" for none above debug.
		want []string
		log  string
		// rooms, room and jobs are the calls each route takes: the
		// first listing (with its pages), the details fetched until the
		// test looks, the first refresh's two listings.
		rooms, jobs int64
		roomInfos   int
	}{
		{
			name: "10,000 rooms",
			setup: func(t *testing.T, project string) {
				for i := range 10000 {
					u.must(t, u.sim.Server.AddRoom(project, simulator.Room{ID: fmt.Sprintf("r%05d", i)}))
				}
			},
			want:      []string{`metastudio_rooms_up{tenant="hostile"} 1`, `metastudio_rooms_skipped{tenant="hostile"} 9500`},
			log:       `level=warn msg="Tenant has more rooms than max_rooms; the rest are not watched (metastudio_rooms_skipped counts them)" tenant=hostile rooms=10000 max_rooms=500`,
			rooms:     5, // 500 rooms, 100 a page
			jobs:      2,
			roomInfos: 500,
		},
		{
			name: "a count that never ends, pages that ignore offset",
			setup: func(t *testing.T, project string) {
				for i := range 150 {
					u.must(t, u.sim.Server.AddRoom(project, simulator.Room{ID: fmt.Sprintf("r%03d", i)}))
					u.must(t, u.sim.Server.AddLiveJob(project, simulator.LiveJob{ID: fmt.Sprintf("j%03d", i), RoomID: fmt.Sprintf("r%03d", i), StartTime: u.t0}))
				}
				endless := simulator.Fault{Count: 1 << 40, RepeatFirstPage: true}
				u.sim.Server.SetRouteFault(project, simulator.RouteRooms, endless)
				u.sim.Server.SetRouteFault(project, simulator.RouteLiveJobs, endless)
			},
			want: []string{`metastudio_rooms_up{tenant="hostile"} 1`, `metastudio_rooms_skipped{tenant="hostile"} 1.099511627276e+12`,
				`metastudio_live_jobs_up{tenant="hostile"} 1`, `metastudio_live_jobs{state="PROCESSING",tenant="hostile"} 100`},
			log:       `level=warn msg="Tenant runs more live jobs than are watched; the rest have no series" tenant=hostile jobs=1099511627776 watched=1000`,
			rooms:     2, // the repeated page adds nothing: the listing ends
			jobs:      3, // likewise, then the failed jobs' one short page
			roomInfos: 100,
		},
		{
			name: "bad JSON",
			setup: func(t *testing.T, project string) {
				u.must(t, u.sim.Server.AddRoom(project, simulator.Room{ID: "r1"}))
				u.sim.Server.SetRouteFault(project, simulator.RouteRooms, simulator.Fault{Body: []byte(`{"count":1,"smart_live_rooms":[{"room_id":"SECRET"x}]}`)})
				u.sim.Server.SetRouteFault(project, simulator.RouteLiveJobs, simulator.Fault{Body: []byte(`{"count":1,"smart_live_jobs":[{"job_id":`)})
			},
			want: []string{`metastudio_rooms_up{tenant="hostile"} 0`, `metastudio_live_jobs_up{tenant="hostile"} 0`},
			log:  `level=warn msg="Refreshing live jobs failed" tenant=hostile reason=decode request_id=ID err="list live jobs: decode: unexpected end of JSON input"`,
			// A failed listing ends the refresh: no details, no second
			// listing.
			rooms: 1, jobs: 1,
		},
		{
			name: "an oversized body",
			setup: func(t *testing.T, project string) {
				u.sim.Server.SetRouteFault(project, simulator.RouteRooms, simulator.Fault{BodySize: 2 << 20})
			},
			want:  []string{`metastudio_rooms_up{tenant="hostile"} 0`, `metastudio_live_jobs_up{tenant="hostile"} 1`},
			log:   `level=warn msg="Refreshing rooms failed" tenant=hostile reason=decode request_id=ID err="list rooms: decode: response body exceeds 1048576 bytes"`,
			rooms: 1, jobs: 2,
		},
		{
			name: "names full of markup",
			setup: func(t *testing.T, project string) {
				u.must(t, u.sim.Server.AddRoom(project, simulator.Room{ID: "r-markup", Name: markup, Type: markup, State: markup}))
				u.must(t, u.sim.Server.AddLiveJob(project, simulator.LiveJob{ID: "j-markup", RoomID: "r-markup", StartTime: u.t0, UsedResourceType: markup}))
			},
			want:  []string{`metastudio_rooms_up{tenant="hostile"} 1`, `metastudio_live_jobs_up{tenant="hostile"} 1`},
			rooms: 1, jobs: 2, roomInfos: 1,
		},
		{
			name: "an upstream that never answers",
			setup: func(t *testing.T, project string) {
				u.sim.Server.SetRouteFault(project, simulator.RouteLiveJobs, simulator.Fault{Hang: true})
			},
			// Ended by the tenant's timeout, 1 s here: an upstream that
			// holds the call for ever could not make it 0 else.
			want:  []string{`metastudio_live_jobs_up{tenant="hostile"} 0`},
			log:   `level=warn msg="Refreshing live jobs failed" tenant=hostile reason=timeout err="list live jobs: timeout: context deadline exceeded"`,
			rooms: 1, jobs: 1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := fmt.Sprintf("hostile-%d", time.Now().UnixNano())
			u.addProject(t, name)
			tc.setup(t, "p-"+name)
			inv, logs := newSimInventory(t, u)
			// One listing of each kind within the test; every refresh
			// ends within a second.
			oneRound := func(s *config.Settings) {
				s.Timeout = time.Second
				s.Rooms.RefreshInterval, s.LiveJobs.RefreshInterval = time.Hour, time.Hour
			}
			hostile, calm := u.tenant(name, oneRound), u.tenant("calm", oneRound)
			// The hostile tenant's series under its own name, for the
			// expected lines.
			rename := func(s string) string { return strings.ReplaceAll(s, `tenant="hostile"`, `tenant="`+name+`"`) }
			var want []string
			for _, w := range tc.want {
				want = append(want, rename(w))
			}
			got := awaitServed(t, inv, []*config.Tenant{hostile, calm}, append(want,
				`metastudio_rooms_up{tenant="calm"} 1`, `metastudio_live_jobs_up{tenant="calm"} 1`,
				`metastudio_room_play_repeats{room_id="r-calm",tenant="calm"} 1`,
				`metastudio_live_job_info{job_id="j-calm",room_id="r-calm",state="PROCESSING",tenant="calm",used_resource_type=""} 1`)...)

			if n := u.calls(name, simulator.RouteRooms); n != tc.rooms {
				t.Errorf("%d rooms listing calls, want %d", n, tc.rooms)
			}
			if n := u.calls(name, simulator.RouteLiveJobs); n != tc.jobs {
				t.Errorf("%d live jobs listing calls, want %d", n, tc.jobs)
			}
			if n := testutil.CollectAndCount(inv.Collector(Kinds{Rooms: true}, nil, hostile), "metastudio_room_info"); n != tc.roomInfos {
				t.Errorf("%d rooms served, want %d", n, tc.roomInfos)
			}
			var loud []string
			for line := range strings.Lines(logs.String()) {
				if !strings.HasPrefix(line, "level=debug") {
					loud = append(loud, requestIDRE.ReplaceAllString(strings.TrimSpace(line), "request_id=ID"))
				}
			}
			if wantLog := rename(strings.ReplaceAll(tc.log, "tenant=hostile", "tenant="+name)); wantLog != "" && !contains(loud, wantLog) || wantLog == "" && len(loud) > 0 {
				t.Errorf("log above debug:\n%s\nwant the line:\n%s", strings.Join(loud, "\n"), wantLog)
			}
			for _, line := range loud {
				if strings.Contains(line, "tenant=calm") {
					t.Errorf("the calm tenant logs: %s", line)
				}
			}
			for _, s := range []string{"SECRET", "<script>"} {
				if strings.Contains(logs.String(), s) {
					t.Errorf("the log quotes the answer (%q):\n%s", s, logs.String())
				}
			}
			if strings.Contains(got, "SECRET") {
				t.Error("the exposition quotes the answer")
			}
			checkMetrics(t, got)
		})
	}
}

var requestIDRE = regexp.MustCompile(`request_id=[0-9a-f]+`)

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
