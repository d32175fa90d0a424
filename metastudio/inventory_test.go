package metastudio_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio/simulator"
)

// invT0 is the simulator's and the client's clock in these tests.
var invT0 = time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)

const (
	invProject    = "7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e"
	invIAMProject = "8f8f8f8f8f8f8f8f8f8f8f8f8f8f8f8f"
	invAK, invSK  = "AKINVENTORY", "sim-SECRET-inventory"
)

// queryRecorder keeps the query of every request it passes on.
type queryRecorder struct {
	mu      sync.Mutex
	queries []string
}

func (q *queryRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	q.mu.Lock()
	q.queries = append(q.queries, r.URL.Path+"?"+r.URL.RawQuery)
	q.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

// inventorySim serves invProject (AK/SK) and invIAMProject (IAM password)
// on a clock stopped at invT0, with rooms and jobs in invProject.
func inventorySim(t *testing.T) (*simulator.Server, string) {
	t.Helper()
	sim := simulator.New(simulator.Options{Now: func() time.Time { return invT0 }})
	for _, tn := range []simulator.Tenant{
		{ProjectID: invProject, AccessKey: invAK, SecretKey: invSK,
			Config: []byte(`{"live_exit_config":{"max_live_duration":12}}`)},
		{ProjectID: invIAMProject, IAMDomain: "acme", IAMUser: "inventory", IAMPassword: "sim-SECRET-pw"},
	} {
		if err := sim.AddTenant(tn); err != nil {
			t.Fatal(err)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(sim.AddRoom(invProject, simulator.Room{ID: "room-forever", Name: `<img src=x onerror="alert(1)">`,
		RepeatCount: new(simulator.RepeatUntilStopped), Exit: &simulator.LiveExit{MaxLiveDuration: new(0), MaxExceptionWaitingDuration: new(0)},
		Callback:   &simulator.Callback{URL: "https://room.example/cb?token=sim-SECRET-room-url", AuthType: simulator.AuthMSSAHead, Key: "sim-SECRET-room-key"},
		OutputURLs: []string{"rtmp://push.example/OUTPUTPATH/?OUTPUTQUERY=1"}, StreamKeys: []string{"STREAMKEY-forever"},
		CreateTime: invT0.Add(-48 * time.Hour)}))
	must(sim.AddRoom(invProject, simulator.Room{ID: "room-plain", Name: "plain", Type: "NEW_TYPE", CreateTime: invT0.Add(-48 * time.Hour)}))
	must(sim.AddLiveJob(invProject, simulator.LiveJob{ID: "job-live", RoomID: "room-forever", StartTime: invT0.Add(-95 * time.Minute),
		UsedResourceType: simulator.ResourcePeriod}))
	must(sim.AddLiveJob(invProject, simulator.LiveJob{ID: "job-waiting", RoomID: "room-plain", State: simulator.JobWaiting, CreateTime: invT0.Add(-time.Minute)}))
	must(sim.AddLiveJob(invProject, simulator.LiveJob{ID: "job-failed", RoomID: "room-plain", State: simulator.JobFailed,
		StartTime: invT0.Add(-10 * time.Minute), EndTime: invT0.Add(-5 * time.Minute), ErrorCode: "MSS.00000201", ErrorMsg: "the push was refused"}))
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return sim, srv.URL
}

func invClient(opts metastudio.ClientOptions) *metastudio.Client {
	opts.Now = func() time.Time { return invT0 }
	return metastudio.NewClient(opts)
}

func invTarget(url string) metastudio.Target {
	return metastudio.Target{Name: "shop-a", Endpoint: url, ProjectID: invProject,
		Credentials: metastudio.Credentials{AccessKey: invAK, SecretKey: invSK}}
}

func TestListLiveJobs(t *testing.T) {
	sim, url := inventorySim(t)
	rec := &queryRecorder{}
	var obs metastudio.ObserveLog
	c := invClient(metastudio.ClientOptions{Transport: rec, Observe: obs.Observe})
	tg := invTarget(url)

	live := metastudio.LiveJob{JobID: "job-live", RoomID: "room-forever", RoomName: `<img src=x onerror="alert(1)">`, State: metastudio.JobProcessing,
		Duration: 5700, StreamDuration: 5700, StartTime: invT0.Add(-95 * time.Minute), CreateTime: invT0.Add(-95 * time.Minute),
		LastUpdateTime: invT0.Add(-95 * time.Minute), UsedResourceType: "PERIOD",
		Callback: &metastudio.CallbackAuth{AuthType: "MSS_A_HEAD", Key: "sim-SECRET-room-key", URL: "https://room.example/cb?token=sim-SECRET-room-url"}}
	waiting := metastudio.LiveJob{JobID: "job-waiting", RoomID: "room-plain", RoomName: "plain", State: metastudio.JobWaiting,
		CreateTime: invT0.Add(-time.Minute), LastUpdateTime: invT0.Add(-time.Minute)}
	failed := metastudio.LiveJob{JobID: "job-failed", RoomID: "room-plain", RoomName: "plain", State: metastudio.JobFailed,
		Duration: 300, StreamDuration: 300, StartTime: invT0.Add(-10 * time.Minute), EndTime: invT0.Add(-5 * time.Minute),
		CreateTime: invT0.Add(-10 * time.Minute), LastUpdateTime: invT0.Add(-5 * time.Minute),
		ErrorCode: "MSS.00000201", ErrorMsg: "the push was refused"}

	for _, tc := range []struct {
		name  string
		q     metastudio.JobQuery
		want  []metastudio.LiveJob
		query string
	}{
		{"running", metastudio.JobQuery{States: []string{metastudio.JobWaiting, metastudio.JobProcessing}},
			[]metastudio.LiveJob{live, waiting}, "limit=100&offset=0&state=WAITING%2CPROCESSING"},
		{"recent failures", metastudio.JobQuery{States: []string{metastudio.JobFailed, metastudio.JobBlocked},
			CreateSince: invT0.Add(-time.Hour).In(time.FixedZone("CST", 8*3600))},
			[]metastudio.LiveJob{failed}, "create_since=2026-11-28T07%3A00%3A00Z&limit=100&offset=0&state=FAILED%2CBLOCKED"},
		{"every state", metastudio.JobQuery{}, []metastudio.LiveJob{live, failed, waiting}, "limit=100&offset=0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec.queries = nil
			jobs, total, err := c.ListLiveJobs(context.Background(), tg, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(jobs, tc.want) || total != len(tc.want) {
				t.Fatalf("jobs (total %d):\n%s\nwant:\n%s", total, dump(jobs), dump(tc.want))
			}
			if want := "/v1/" + invProject + "/smart-live-jobs?" + tc.query; len(rec.queries) != 1 || rec.queries[0] != want {
				t.Fatalf("requests %q, want one %q", rec.queries, want)
			}
		})
	}
	if got := obs.Codes(); got != "200,200,200" {
		t.Fatalf("observed %q", got)
	}
	if n := sim.RouteCalls(invProject, simulator.RouteLiveJobs); n != 3 {
		t.Fatalf("simulator saw %d calls", n)
	}
}

func dump(v any) string { return fmt.Sprintf("%+v", v) }

func TestListLiveJobsPages(t *testing.T) {
	sim, url := inventorySim(t)
	for i := range 247 {
		err := sim.AddLiveJob(invProject, simulator.LiveJob{ID: fmt.Sprintf("bulk-%03d", i), RoomID: "room-plain",
			StartTime: invT0.Add(-time.Duration(300-i) * time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
	}
	c := invClient(metastudio.ClientOptions{})
	calls := func() int64 { return sim.RouteCalls(invProject, simulator.RouteLiveJobs) }
	for _, tc := range []struct {
		max, kept, calls int
	}{
		{0, 250, 3},   // 100 + 100 + 50: the short page ends it
		{120, 120, 2}, // the second page fills Max
		{100, 100, 1},
		{1, 1, 1},
		{-5, 250, 3}, // as 0
	} {
		before := calls()
		jobs, total, err := c.ListLiveJobs(context.Background(), invTarget(url), metastudio.JobQuery{Max: tc.max})
		if err != nil {
			t.Fatal(err)
		}
		if len(jobs) != tc.kept || total != 250 || calls()-before != int64(tc.calls) {
			t.Fatalf("Max %d: %d jobs of %d in %d calls, want %d in %d", tc.max, len(jobs), total, calls()-before, tc.kept, tc.calls)
		}
		seen := map[string]bool{}
		for i, j := range jobs {
			if seen[j.JobID] {
				t.Fatalf("Max %d: job %s twice", tc.max, j.JobID)
			}
			seen[j.JobID] = true
			if i == 0 && j.JobID != "bulk-000" {
				t.Fatalf("Max %d: first job %s, want the oldest", tc.max, j.JobID)
			}
		}
	}
}

func TestListRooms(t *testing.T) {
	sim, url := inventorySim(t)
	c := invClient(metastudio.ClientOptions{})
	rooms, total, err := c.ListRooms(context.Background(), invTarget(url), 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []metastudio.Room{
		{RoomID: "room-forever", RoomName: `<img src=x onerror="alert(1)">`, RoomType: "NORMAL", RoomState: "ENABLE"},
		{RoomID: "room-plain", RoomName: "plain", RoomType: "NEW_TYPE", RoomState: "ENABLE"},
	}
	if !reflect.DeepEqual(rooms, want) || total != 2 {
		t.Fatalf("rooms (total %d) = %+v", total, rooms)
	}

	// 10,000 rooms: the default 500 are kept, in five calls, and counted.
	for i := range 9998 {
		if err := sim.AddRoom(invProject, simulator.Room{ID: fmt.Sprintf("r%05d", i), Name: "<b>" + strings.Repeat("&", i%50)}); err != nil {
			t.Fatal(err)
		}
	}
	before := sim.RouteCalls(invProject, simulator.RouteRooms)
	rooms, total, err = c.ListRooms(context.Background(), invTarget(url), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(rooms) != metastudio.DefaultMaxRooms || total != 10_000 || sim.RouteCalls(invProject, simulator.RouteRooms)-before != 5 {
		t.Fatalf("%d rooms of %d in %d calls", len(rooms), total, sim.RouteCalls(invProject, simulator.RouteRooms)-before)
	}
	if r := rooms[499]; r.RoomID != "r00497" || r.RoomName != "<b>"+strings.Repeat("&", 497%50) {
		t.Fatalf("room 499 = %+v", r)
	}
	rooms, total, err = c.ListRooms(context.Background(), invTarget(url), 10_000)
	if err != nil || len(rooms) != 10_000 || total != 10_000 {
		t.Fatalf("all rooms: %d of %d, %v", len(rooms), total, err)
	}
}

func TestGetRoom(t *testing.T) {
	sim, url := inventorySim(t)
	var obs metastudio.ObserveLog
	c := invClient(metastudio.ClientOptions{Observe: obs.Observe})
	tg := invTarget(url)

	d, err := c.GetRoom(context.Background(), tg, "room-forever")
	if err != nil {
		t.Fatal(err)
	}
	want := &metastudio.RoomDetail{
		Room:        metastudio.Room{RoomID: "room-forever", RoomName: `<img src=x onerror="alert(1)">`, RoomType: "NORMAL", RoomState: "ENABLE"},
		RepeatCount: new(metastudio.RepeatUntilStopped),
		Exit:        &metastudio.LiveExit{MaxLiveDurationHours: new(0), MaxExceptionWaitingMinutes: new(0)},
		Callback:    &metastudio.CallbackAuth{AuthType: "MSS_A_HEAD", Key: "sim-SECRET-room-key", URL: "https://room.example/cb?token=sim-SECRET-room-url"},
	}
	if !reflect.DeepEqual(d, want) {
		t.Fatalf("room = %s\nwant %s", dump(*d), dump(*want))
	}
	d, err = c.GetRoom(context.Background(), tg, "room-plain")
	if err != nil {
		t.Fatal(err)
	}
	if want := (&metastudio.RoomDetail{Room: metastudio.Room{RoomID: "room-plain", RoomName: "plain", RoomType: "NEW_TYPE", RoomState: "ENABLE"}}); !reflect.DeepEqual(d, want) {
		t.Fatalf("a room with no settings of its own = %s", dump(*d))
	}

	_, err = c.GetRoom(context.Background(), tg, "room-gone")
	var e *metastudio.Error
	if !errors.As(err, &e) || err.Error() != "show room: HTTP 404 MSS.00000004: The room does not exist" || e.Reason != metastudio.ReasonClientError || len(e.RequestID) != 32 {
		t.Fatalf("unknown room: %v", err)
	}

	// Ids that would change the path are refused before any call.
	for _, id := range []string{"", ".", "..", "a/b", `a\b`, "../user-config", "a\nb", strings.Repeat("x", 129)} {
		_, err := c.GetRoom(context.Background(), tg, id)
		if !errors.As(err, &e) || e.Reason != metastudio.ReasonClientError || e.StatusCode != 0 ||
			!strings.HasPrefix(err.Error(), "show room: client_error: room id ") || !strings.HasSuffix(err.Error(), " would change the request path") {
			t.Errorf("room id %q: %v", id, err)
		}
	}
	// What may be escaped is escaped, as one path segment.
	if err := sim.AddRoom(invProject, simulator.Room{ID: "a b?c#d%e", Name: "odd"}); err != nil {
		t.Fatal(err)
	}
	if d, err := c.GetRoom(context.Background(), tg, "a b?c#d%e"); err != nil || d.RoomName != "odd" {
		t.Fatalf("escaped room id: %+v, %v", d, err)
	}
	if got := obs.Codes(); got != "200,200,404,200" {
		t.Fatalf("observed %q", got)
	}
}

// TestInventoryKeepsNoStreamKey: rooms answer with output URLs and stream
// keys, secrets of the push; nothing the client returns holds any part of
// them, nor the path or query of an output URL, even in an error.
func TestInventoryKeepsNoStreamKey(t *testing.T) {
	sim, url := inventorySim(t)
	c := invClient(metastudio.ClientOptions{})
	tg := invTarget(url)
	ctx := context.Background()
	var found []any
	d, err := c.GetRoom(ctx, tg, "room-forever")
	found = append(found, d, err)
	rooms, _, err := c.ListRooms(ctx, tg, 0)
	found = append(found, rooms, err)
	jobs, _, err := c.ListLiveJobs(ctx, tg, metastudio.JobQuery{})
	found = append(found, jobs, err)
	sim.SetRouteFault(invProject, simulator.RouteRoom, simulator.Fault{
		Body: []byte(`{"room_name":"x","output_urls":["rtmp://h/OUTPUTPATH?OUTPUTQUERY"],"stream_keys":["STREAMKEY-1"],"play_policy":{"repeat_count":"STREAMKEY-2"}}`)})
	_, err = c.GetRoom(ctx, tg, "room-forever")
	if err == nil || err.Error() != "show room: decode: play_policy.repeat_count: a JSON string where a number belongs" {
		t.Fatalf("err = %v", err)
	}
	found = append(found, err, err.Error())
	for _, s := range allStrings(reflect.ValueOf(found)) {
		for _, secretPart := range []string{"STREAMKEY", "OUTPUTPATH", "OUTPUTQUERY"} {
			if strings.Contains(s, secretPart) {
				t.Errorf("%q holds %s", s, secretPart)
			}
		}
	}
	if d.Callback == nil || d.Callback.Key.Reveal() != "sim-SECRET-room-key" {
		t.Fatalf("the walk saw no room detail: %+v", d)
	}
}

// allStrings collects every string reachable from v, secret.Strings
// revealed, so that a secret cannot hide behind its formatting.
func allStrings(v reflect.Value) []string {
	var out []string
	var walk func(reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.String:
			out = append(out, v.String())
		case reflect.Pointer, reflect.Interface:
			if !v.IsNil() {
				walk(v.Elem())
			}
		case reflect.Struct:
			for i := range v.NumField() {
				walk(v.Field(i))
			}
		case reflect.Slice, reflect.Array:
			for i := range v.Len() {
				walk(v.Index(i))
			}
		case reflect.Map:
			for _, k := range v.MapKeys() {
				walk(k)
				walk(v.MapIndex(k))
			}
		}
	}
	walk(v)
	return out
}

func TestInventoryWithIAMToken(t *testing.T) {
	sim, url := inventorySim(t)
	if err := sim.AddRoom(invIAMProject, simulator.Room{ID: "room-iam", Name: "iam"}); err != nil {
		t.Fatal(err)
	}
	if err := sim.AddLiveJob(invIAMProject, simulator.LiveJob{ID: "job-iam", RoomID: "room-iam", StartTime: invT0.Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	var obs metastudio.ObserveLog
	c := invClient(metastudio.ClientOptions{Observe: obs.Observe})
	tg := metastudio.Target{Name: "shop-a", Endpoint: url, ProjectID: invIAMProject, Credentials: metastudio.Credentials{
		IAM: &metastudio.IAMPassword{Endpoint: url, Domain: "acme", User: "inventory", Password: "sim-SECRET-pw"}}}
	ctx := context.Background()
	if jobs, _, err := c.ListLiveJobs(ctx, tg, metastudio.JobQuery{}); err != nil || len(jobs) != 1 || jobs[0].Duration != 60 {
		t.Fatalf("jobs %+v, %v", jobs, err)
	}
	sim.RevokeTokens()
	if rooms, _, err := c.ListRooms(ctx, tg, 0); err != nil || len(rooms) != 1 {
		t.Fatalf("rooms after revocation %+v, %v", rooms, err)
	}
	if d, err := c.GetRoom(ctx, tg, "room-iam"); err != nil || d.RoomName != "iam" {
		t.Fatalf("room %+v, %v", d, err)
	}
	if n := sim.TokensIssued(); n != 2 {
		t.Fatalf("%d tokens issued, want 2", n)
	}
	if got := obs.Codes(); got != "200,401,200,200" {
		t.Fatalf("observed %q", got)
	}
}
