package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/metastudio/simulator"
)

// inventorySize is what each simulated tenant runs: rooms, each with a play
// policy and a callback of its own, running jobs in the first rooms, and
// jobs that failed within the failed window.
type inventorySize struct {
	rooms, jobs, failedJobs int
}

// countedSimulator is the simulator with every tenant's rooms and jobs,
// behind a handler that tells the two jobs listings apart: the simulator
// counts calls per route, and both listings are one route.
type countedSimulator struct {
	*simulator.Server
	url     string
	tenants int
	http    *http.Server
	// activeListings and failedListings count GETs of smart-live-jobs by
	// their state filter, as they arrive (as the simulator counts).
	activeListings, failedListings atomic.Int64
}

// startInventorySimulator starts a simulator of n tenants, each with size's
// rooms and jobs, answering every MetaStudio call after latency.
func startInventorySimulator(n int, size inventorySize, latency time.Duration) (*countedSimulator, error) {
	srv := simulator.New(simulator.Options{Latency: latency})
	now := time.Now()
	for i := range n {
		project := projectID(i)
		err := srv.AddTenant(simulator.Tenant{ProjectID: project, AccessKey: loadAK, SecretKey: loadSK, Config: []byte(tenantBody)})
		if err == nil {
			err = addInventory(srv, project, i, size, now)
		}
		if err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &countedSimulator{Server: srv, url: "http://" + ln.Addr().String(), tenants: n}
	s.http = &http.Server{
		Handler:           http.HandlerFunc(s.serve),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	go func() { _ = s.http.Serve(ln) }()
	return s, nil
}

func (s *countedSimulator) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/smart-live-jobs") {
		if strings.Contains(r.URL.Query().Get("state"), simulator.JobFailed) {
			s.failedListings.Add(1)
		} else {
			s.activeListings.Add(1)
		}
	}
	s.ServeHTTP(w, r)
}

func (s *countedSimulator) close() { _ = s.http.Close() }

// addInventory gives tenant i its rooms and jobs. Every room sets a repeat
// count, a duration limit and a signed https callback of its own, so that it
// has every series a room with settings has; the running jobs run in rooms
// whose limit (none, 4 h) they are far from, so that none ends during a run.
func addInventory(srv *simulator.Server, project string, i int, size inventorySize, now time.Time) error {
	rooms := make([]string, size.rooms)
	for r := range rooms {
		rooms[r] = upstreamID("room", i, r)
		repeats, hours := simulator.RepeatUntilStopped, 4*(r%3)
		if r%2 == 1 {
			repeats = 3
		}
		err := srv.AddRoom(project, simulator.Room{
			ID: rooms[r], Name: fmt.Sprintf("Room %d of %s", r, tenantName(i)),
			RepeatCount: &repeats, Exit: &simulator.LiveExit{MaxLiveDuration: &hours},
			Callback: &simulator.Callback{
				URL:      "https://hooks.example.com/metastudio/rooms/" + rooms[r],
				AuthType: simulator.AuthMSSA, Key: "loadtest-room-key",
				EventTypes: []string{"RTMP_STREAM_STATE_CHANGE"},
			},
			// Served because the cloud serves them; the exporter skips them.
			OutputURLs: []string{"rtmp://push.example.com/live"},
			StreamKeys: []string{"loadtest-stream-key-" + rooms[r]},
		})
		if err != nil {
			return err
		}
	}
	if size.rooms == 0 {
		if size.jobs+size.failedJobs > 0 {
			return fmt.Errorf("%d jobs need rooms to run in", size.jobs+size.failedJobs)
		}
		return nil
	}
	for j := range size.jobs {
		// Rooms 0 and 1 (mod 3) have no limit and 4 h.
		room := rooms[(j%2)%len(rooms)]
		err := srv.AddLiveJob(project, simulator.LiveJob{
			ID: upstreamID("job", i, j), RoomID: room, State: simulator.JobProcessing,
			StartTime: now.Add(-time.Hour), UsedResourceType: simulator.ResourcePeriod,
		})
		if err != nil {
			return err
		}
	}
	for j := range size.failedJobs {
		err := srv.AddLiveJob(project, simulator.LiveJob{
			ID: upstreamID("failed", i, j), RoomID: rooms[j%len(rooms)], State: simulator.JobFailed,
			StartTime: now.Add(-3 * time.Hour), EndTime: now.Add(-2 * time.Hour),
			ErrorCode: "MSS.00010001", ErrorMsg: "The stream was interrupted", UsedResourceType: simulator.ResourceOnDemand,
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// upstreamID is an id as MetaStudio makes them: 32 hex digits that look
// random, so that series sort as they would in production.
func upstreamID(kind string, tenant, n int) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s/%d/%d", kind, tenant, n))
	return hex.EncodeToString(sum[:16])
}

// apiCalls are the MetaStudio calls of one kind a simulator received.
type apiCalls struct {
	userConfig, roomsList, roomDetail, jobsActive, jobsFailed int64
}

// calls reads the simulator's per-route counters, summed over its tenants,
// and the two jobs listings as this handler counted them.
func (s *countedSimulator) calls() apiCalls {
	var c apiCalls
	for i := range s.tenants {
		p := projectID(i)
		c.userConfig += s.RouteCalls(p, simulator.RouteUserConfig)
		c.roomsList += s.RouteCalls(p, simulator.RouteRooms)
		c.roomDetail += s.RouteCalls(p, simulator.RouteRoom)
	}
	c.jobsActive, c.jobsFailed = s.activeListings.Load(), s.failedListings.Load()
	return c
}

// jobsListings is the simulator's own count of smart-live-jobs GETs, both
// listings together.
func (s *countedSimulator) jobsListings() int64 {
	var n int64
	for i := range s.tenants {
		n += s.RouteCalls(projectID(i), simulator.RouteLiveJobs)
	}
	return n
}

func (c apiCalls) minus(o apiCalls) apiCalls {
	return apiCalls{c.userConfig - o.userConfig, c.roomsList - o.roomsList, c.roomDetail - o.roomDetail,
		c.jobsActive - o.jobsActive, c.jobsFailed - o.jobsFailed}
}
