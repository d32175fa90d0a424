package metastudio_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio/simulator"
)

// TestListLiveJobsHostileUpstream: whatever the upstream answers, a
// listing costs bounded calls and memory, keeps each job once, and fails
// with an error that says what and where, never a value.
func TestListLiveJobsHostileUpstream(t *testing.T) {
	sim, url := inventorySim(t)
	for i := range 247 {
		if err := sim.AddLiveJob(invProject, simulator.LiveJob{ID: fmt.Sprintf("bulk-%03d", i), RoomID: "room-plain",
			StartTime: invT0.Add(-time.Duration(300-i) * time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	c := invClient(metastudio.ClientOptions{})
	calls := func() int64 { return sim.RouteCalls(invProject, simulator.RouteLiveJobs) }
	for _, tc := range []struct {
		name         string
		fault        simulator.Fault
		max          int
		kept, total  int
		calls        int64
		firstJob     string
		reason       metastudio.Reason
		err          string
		errorIsExact bool
	}{
		{name: "a count that never ends, pages that ignore offset", fault: simulator.Fault{Count: 1 << 40, RepeatFirstPage: true},
			kept: 100, total: 1 << 40, calls: 2, firstJob: "bulk-000"},
		{name: "a count that never ends", fault: simulator.Fault{Count: 1 << 40},
			kept: 250, total: 1 << 40, calls: 3, firstJob: "bulk-000"},
		{name: "a count smaller than the list", fault: simulator.Fault{Count: 1, IgnoreLimit: true},
			kept: 250, total: 250, calls: 1, firstJob: "bulk-000"},
		{name: "a page larger than limit", fault: simulator.Fault{IgnoreLimit: true}, max: 120,
			kept: 120, total: 250, calls: 1, firstJob: "bulk-000"},
		{name: "ids missing, repeated; unknown fields and enums kept as sent", fault: simulator.Fault{Body: []byte(
			`{"count":5,"smart_live_jobs":[{"job_id":"a","state":"PAUSED","used_resource_type":"SPOT","rtc_room_info":{"x":[1,{"y":null}]}},` +
				`{"room_id":"r"},{"job_id":"a","state":"PROCESSING"},{"job_id":"b","start_time":"not a time","duration":-1.5},null],"extra":true}`)},
			kept: 2, total: 5, calls: 1, firstJob: "a"},
		{name: "none, as a count of 0 without a list", fault: simulator.Fault{Body: []byte(`{"count":0}`)}, calls: 1},
		{name: "no list", fault: simulator.Fault{Body: []byte(`{"count":3}`)}, calls: 1,
			reason: metastudio.ReasonDecode, err: `list live jobs: decode: response has no "smart_live_jobs" list`, errorIsExact: true},
		{name: "a null list", fault: simulator.Fault{Body: []byte(`{"smart_live_jobs":null}`)}, calls: 1,
			reason: metastudio.ReasonDecode, err: `list live jobs: decode: response has no "smart_live_jobs" list`, errorIsExact: true},
		{name: "not an object", fault: simulator.Fault{Body: []byte(`[{"job_id":"a"}]`)}, calls: 1,
			reason: metastudio.ReasonDecode, err: "list live jobs: decode: response body is not a JSON object", errorIsExact: true},
		{name: "a negative count", fault: simulator.Fault{Body: []byte(`{"count":-4,"smart_live_jobs":[]}`)}, calls: 1,
			reason: metastudio.ReasonDecode, err: "list live jobs: decode: count: negative", errorIsExact: true},
		{name: "a count that is no number", fault: simulator.Fault{Body: []byte(`{"count":"STREAMKEY","smart_live_jobs":[]}`)}, calls: 1,
			reason: metastudio.ReasonDecode, err: "list live jobs: decode: count: a JSON string where a number belongs", errorIsExact: true},
		{name: "a count past int64", fault: simulator.Fault{Body: []byte(`{"count":123456789012345678901234567890,"smart_live_jobs":[]}`)}, calls: 1,
			reason: metastudio.ReasonDecode, err: "list live jobs: decode: count: number out of range for int64", errorIsExact: true},
		{name: "a wrong type, named by its path", fault: simulator.Fault{Body: []byte(
			`{"count":2,"smart_live_jobs":[{"job_id":"a"},{"job_id":"b","live_event_callback_config":{"key":7}}]}`)}, calls: 1,
			reason: metastudio.ReasonDecode, err: "list live jobs: decode: smart_live_jobs[1].live_event_callback_config.key: a JSON number where a string belongs", errorIsExact: true},
		{name: "a list of strings", fault: simulator.Fault{Body: []byte(`{"smart_live_jobs":["STREAMKEY"]}`)}, calls: 1,
			reason: metastudio.ReasonDecode, err: "list live jobs: decode: smart_live_jobs[0]: a JSON string where an object belongs", errorIsExact: true},
		{name: "bad JSON", fault: simulator.Fault{Body: []byte(`{"count":1,"smart_live_jobs":[{"job_id":"STREAMKEY"x}]}`)}, calls: 1,
			reason: metastudio.ReasonDecode, err: "list live jobs: decode: smart_live_jobs[0]: invalid JSON", errorIsExact: true},
		{name: "bad JSON between entries", fault: simulator.Fault{Body: []byte(`{"count":1,"smart_live_jobs":[{"job_id":"a"} {"job_id":"b"}]}`)}, calls: 1,
			reason: metastudio.ReasonDecode, err: "list live jobs: decode: smart_live_jobs[1]: invalid JSON", errorIsExact: true},
		{name: "cut short", fault: simulator.Fault{Body: []byte(`{"count":1,"smart_live_jobs":[{"job_id":`)}, calls: 1,
			reason: metastudio.ReasonDecode, err: "list live jobs: decode: unexpected end of JSON input", errorIsExact: true},
		{name: "trailing data", fault: simulator.Fault{Body: []byte(`{"count":0,"smart_live_jobs":[]}{}`)}, calls: 1,
			reason: metastudio.ReasonDecode, err: "list live jobs: decode: data after the JSON value", errorIsExact: true},
		{name: "an oversized body", fault: simulator.Fault{BodySize: 2 << 20}, calls: 1,
			reason: metastudio.ReasonDecode, err: "list live jobs: decode: response body exceeds 1048576 bytes", errorIsExact: true},
		{name: "throttled", fault: simulator.Fault{Status: 429, RetryAfter: "7"}, calls: 1, reason: metastudio.ReasonThrottled,
			err: "list live jobs: HTTP 429 APIGW.0308: The throttling threshold has been reached: policy user over ratelimit", errorIsExact: true},
		{name: "a 5xx", fault: simulator.Fault{Status: 502}, calls: 1, reason: metastudio.ReasonServerError,
			err: "list live jobs: HTTP 502 APIGW.0202: Backend unavailable", errorIsExact: true},
		{name: "reset mid-body", fault: simulator.Fault{ResetMidBody: true}, calls: 1, reason: metastudio.ReasonNetwork,
			err: "list live jobs: network: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim.SetRouteFault(invProject, simulator.RouteLiveJobs, tc.fault)
			defer sim.SetRouteFault(invProject, simulator.RouteLiveJobs, simulator.Fault{})
			before := calls()
			jobs, total, err := c.ListLiveJobs(context.Background(), invTarget(url), metastudio.JobQuery{Max: tc.max})
			if n := calls() - before; n != tc.calls {
				t.Errorf("%d calls, want %d", n, tc.calls)
			}
			if tc.err != "" {
				var e *metastudio.Error
				if !errors.As(err, &e) || e.Reason != tc.reason || (tc.errorIsExact && err.Error() != tc.err) || !strings.HasPrefix(err.Error(), tc.err) {
					t.Fatalf("err = %v\nwant %s %q", err, tc.reason, tc.err)
				}
				if len(e.RequestID) != 32 || jobs != nil || total != 0 {
					t.Fatalf("request id %q, jobs %v, total %d", e.RequestID, jobs, total)
				}
				if strings.Contains(err.Error(), "STREAMKEY") {
					t.Fatalf("the error quotes the answer: %v", err)
				}
				if tc.reason == metastudio.ReasonThrottled && e.RetryAfter != 7*time.Second {
					t.Fatalf("RetryAfter = %v", e.RetryAfter)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for _, j := range jobs {
				if j.JobID == "" || seen[j.JobID] {
					t.Fatalf("job id %q empty or repeated", j.JobID)
				}
				seen[j.JobID] = true
			}
			if len(jobs) != tc.kept || total != tc.total || (tc.kept > 0 && jobs[0].JobID != tc.firstJob) {
				t.Fatalf("%d jobs of %d (first %+v), want %d of %d from %s", len(jobs), total, jobs[:min(1, len(jobs))], tc.kept, tc.total, tc.firstJob)
			}
		})
	}

	// The unknown values are kept as sent.
	sim.SetRouteFault(invProject, simulator.RouteLiveJobs, simulator.Fault{Body: []byte(
		`{"count":1,"smart_live_jobs":[{"job_id":"a","state":"PAUSED","used_resource_type":"SPOT","start_time":"yesterday","duration":-1.5,` +
			`"live_event_callback_config":{"auth_type":"NEW_AUTH"}}]}`)})
	jobs, _, err := c.ListLiveJobs(context.Background(), invTarget(url), metastudio.JobQuery{})
	if err != nil {
		t.Fatal(err)
	}
	want := metastudio.LiveJob{JobID: "a", State: "PAUSED", UsedResourceType: "SPOT", Duration: -1.5, Callback: &metastudio.CallbackAuth{AuthType: "NEW_AUTH"}}
	if len(jobs) != 1 || !reflect.DeepEqual(jobs[0], want) {
		t.Fatalf("jobs = %+v\nwant %+v", jobs, want)
	}
}

// TestInventoryContext: a call never starts once its context is done, and
// a hanging upstream is left when the deadline passes.
func TestInventoryContext(t *testing.T) {
	sim, url := inventorySim(t)
	var obs metastudio.ObserveLog
	c := invClient(metastudio.ClientOptions{Observe: obs.Observe})
	tg := invTarget(url)

	done, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := c.ListLiveJobs(done, tg, metastudio.JobQuery{}); metastudio.ReasonOf(err) != metastudio.ReasonTimeout {
		t.Fatalf("jobs with a done context: %v", err)
	}
	if _, _, err := c.ListRooms(done, tg, 0); metastudio.ReasonOf(err) != metastudio.ReasonTimeout {
		t.Fatalf("rooms with a done context: %v", err)
	}
	if _, err := c.GetRoom(done, tg, "room-plain"); metastudio.ReasonOf(err) != metastudio.ReasonTimeout {
		t.Fatalf("room with a done context: %v", err)
	}
	for _, r := range []simulator.Route{simulator.RouteLiveJobs, simulator.RouteRooms, simulator.RouteRoom} {
		if n := sim.RouteCalls(invProject, r); n != 0 {
			t.Fatalf("%d %s calls sent after the context was done", n, r)
		}
	}

	for _, r := range []simulator.Route{simulator.RouteLiveJobs, simulator.RouteRooms, simulator.RouteRoom} {
		sim.SetRouteFault(invProject, r, simulator.Fault{Hang: true})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, _, err := c.ListLiveJobs(ctx, tg, metastudio.JobQuery{})
	if err == nil || err.Error() != "list live jobs: timeout: context deadline exceeded" {
		t.Fatalf("hang: %v", err)
	}
	_, _, err = c.ListRooms(ctx, tg, 0)
	if err == nil || err.Error() != "list rooms: timeout: context deadline exceeded" {
		t.Fatalf("hang: %v", err)
	}
	if got := obs.Codes(); got != "timeout" {
		t.Fatalf("observed %q: one call timed out, the next never started", got)
	}
}

// TestListRoomsEndlessPages: rooms page through the same bounds as jobs.
func TestListRoomsEndlessPages(t *testing.T) {
	sim, url := inventorySim(t)
	for i := range 1_000 {
		if err := sim.AddRoom(invProject, simulator.Room{ID: fmt.Sprintf("r%04d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	c := invClient(metastudio.ClientOptions{})
	calls := func() int64 { return sim.RouteCalls(invProject, simulator.RouteRooms) }
	if rooms, total, err := c.ListRooms(context.Background(), invTarget(url), 0); err != nil || len(rooms) != 500 || total != 1002 {
		t.Fatalf("without a fault: %d rooms of %d, %v", len(rooms), total, err)
	}
	for _, tc := range []struct {
		fault       simulator.Fault
		kept, total int
		calls       int64
		lastRoomID  string
		comment     string
	}{
		{simulator.Fault{Count: 1 << 40, RepeatFirstPage: true}, 100, 1 << 40, 2, "r0097", "the second page adds nothing new"},
		{simulator.Fault{Count: 1 << 40}, 500, 1 << 40, 5, "r0497", "max_rooms reached"},
		{simulator.Fault{IgnoreLimit: true}, 500, 1002, 1, "r0497", "one page of 1,002"},
	} {
		sim.SetRouteFault(invProject, simulator.RouteRooms, tc.fault)
		before := calls()
		rooms, total, err := c.ListRooms(context.Background(), invTarget(url), 0)
		sim.SetRouteFault(invProject, simulator.RouteRooms, simulator.Fault{})
		if err != nil {
			t.Fatal(err)
		}
		if len(rooms) != tc.kept || total != tc.total || calls()-before != tc.calls || rooms[len(rooms)-1].RoomID != tc.lastRoomID {
			t.Fatalf("%s: %d rooms of %d in %d calls, last %s", tc.comment, len(rooms), total, calls()-before, rooms[len(rooms)-1].RoomID)
		}
	}
}
