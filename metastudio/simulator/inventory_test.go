package simulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/internal/fakeclock"
)

const apiBase = "http://metastudio.cn-north-4.myhuaweicloud.com/v1/"

// getAt is a GET of project's path?query, signed with ak/sk at date.
func getAt(project, pathAndQuery, ak, sk string, date time.Time) *http.Request {
	r := httptest.NewRequest(http.MethodGet, apiBase+project+pathAndQuery, nil)
	r.Header.Set("X-Sdk-Date", date.UTC().Format("20060102T150405Z"))
	r.Header.Set("X-Project-Id", project)
	testSign(r, ak, sk, nil)
	return r
}

// inventoryServer is newTestServer with rooms and jobs in projA and projB
// (whose user config limits streams to 2 hours).
func inventoryServer(t *testing.T) (*Server, *fakeclock.Clock) {
	t.Helper()
	s, c := newTestServer(t, Options{})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.AddRoom(projA, Room{ID: "room-a1", Name: "Morning <b>show</b>", RepeatCount: new(RepeatUntilStopped),
		Exit:       &LiveExit{MaxLiveDuration: new(0), AutoStopMode: new("SCRIPT_END")},
		Callback:   &Callback{URL: "https://hooks.example/cb", AuthType: AuthMSSAHead, Key: "room-key", EventTypes: []string{EventRTMPStreamStateChange}},
		OutputURLs: []string{"rtmp://push.example/live/"}, StreamKeys: []string{"stream-key-a1"},
		CreateTime: t0.Add(-24 * time.Hour)}))
	must(s.AddRoom(projA, Room{ID: "room-a2", Name: "plain", Type: RoomTemp, State: RoomBlocked, ErrorCode: "MSS.00000009", ErrorMsg: "frozen",
		CreateTime: t0.Add(-24 * time.Hour)}))
	must(s.AddLiveJob(projA, LiveJob{ID: "job-1", RoomID: "room-a1", StartTime: t0.Add(-time.Hour), UsedResourceType: ResourcePeriod}))
	must(s.AddLiveJob(projA, LiveJob{ID: "job-2", RoomID: "room-a2", State: JobWaiting, CreateTime: t0.Add(-5 * time.Minute)}))
	must(s.AddLiveJob(projA, LiveJob{ID: "job-3", RoomID: "room-a2", State: JobFailed, StartTime: t0.Add(-2 * time.Hour),
		EndTime: t0.Add(-90 * time.Minute), ErrorCode: "MSS.00000201", ErrorMsg: "push failed", BlockReason: ""}))

	must(s.AddRoom(projB, Room{ID: "room-b1", Name: "inherits"}))
	must(s.AddRoom(projB, Room{ID: "room-b2", Name: "forever", RepeatCount: new(RepeatUntilStopped), Exit: &LiveExit{MaxLiveDuration: new(0)}}))
	must(s.AddLiveJob(projB, LiveJob{ID: "job-b1", RoomID: "room-b1", StartTime: t0.Add(-90 * time.Minute)}))
	must(s.AddLiveJob(projB, LiveJob{ID: "job-b2", RoomID: "room-b2", StartTime: t0.Add(-90 * time.Minute)}))
	return s, c
}

func TestListLiveJobs(t *testing.T) {
	s, _ := inventoryServer(t)
	job3 := `{"job_id":"job-3","room_id":"room-a2","room_name":"plain","state":"FAILED","duration":1800,` +
		`"start_time":"2026-11-28T06:00:00Z","end_time":"2026-11-28T06:30:00Z","error_info":{"error_code":"MSS.00000201","error_msg":"push failed"},` +
		`"create_time":"2026-11-28T06:00:00Z","lastupdate_time":"2026-11-28T06:30:00Z","stream_duration":1800}`
	job1 := `{"job_id":"job-1","room_id":"room-a1","room_name":"Morning \u003cb\u003eshow\u003c/b\u003e","state":"PROCESSING","duration":3600,` +
		`"start_time":"2026-11-28T07:00:00Z","create_time":"2026-11-28T07:00:00Z","lastupdate_time":"2026-11-28T07:00:00Z",` +
		`"live_event_callback_config":{"live_event_type_callback_url":"https://hooks.example/cb","auth_type":"MSS_A_HEAD","key":"room-key","callback_event_type":["RTMP_STREAM_STATE_CHANGE"]},` +
		`"stream_duration":3600,"used_resource_type":"PERIOD"}`
	job2 := `{"job_id":"job-2","room_id":"room-a2","room_name":"plain","state":"WAITING","duration":0,` +
		`"create_time":"2026-11-28T07:55:00Z","lastupdate_time":"2026-11-28T07:55:00Z","stream_duration":0}`
	for _, tc := range []struct{ query, want string }{
		{"", `{"count":3,"smart_live_jobs":[` + job3 + `,` + job1 + `,` + job2 + `]}`},
		{"?offset=0&limit=2", `{"count":3,"smart_live_jobs":[` + job3 + `,` + job1 + `]}`},
		{"?offset=2&limit=2", `{"count":3,"smart_live_jobs":[` + job2 + `]}`},
		{"?offset=3&limit=100", `{"count":3,"smart_live_jobs":[]}`},
		{"?offset=99", `{"count":3,"smart_live_jobs":[]}`},
		{"?state=WAITING,PROCESSING", `{"count":2,"smart_live_jobs":[` + job1 + `,` + job2 + `]}`},
		{"?state=FAILED,BLOCKED&create_since=2026-11-28T05:00:00Z", `{"count":1,"smart_live_jobs":[` + job3 + `]}`},
		{"?state=FAILED,BLOCKED&create_since=2026-11-28T06:00:01Z", `{"count":0,"smart_live_jobs":[]}`},
		{"?create_since=2026-11-28T09:55:00%2B02:00", `{"count":1,"smart_live_jobs":[` + job2 + `]}`},
		{"?state=NEW_STATE", `{"count":0,"smart_live_jobs":[]}`},
	} {
		t.Run(tc.query, func(t *testing.T) {
			wantOK(t, serve(s, getAt(projA, "/smart-live-jobs"+tc.query, akA, skA, t0)), tc.want)
		})
	}
	if n := s.RouteCalls(projA, RouteLiveJobs); n != 10 {
		t.Fatalf("RouteCalls(live jobs) = %d, want 10", n)
	}
	if n := s.Calls(projA); n != 0 {
		t.Fatalf("user-config Calls = %d, want 0", n)
	}
}

// jobState is the part of a job that changes with the clock.
type jobState struct {
	State          string  `json:"state"`
	Duration       float64 `json:"duration"`
	StreamDuration float64 `json:"stream_duration"`
	EndTime        string  `json:"end_time"`
	LastUpdate     string  `json:"lastupdate_time"`
}

func jobsAt(t *testing.T, s *Server, project, ak, sk string, at time.Time) map[string]jobState {
	t.Helper()
	rec := serve(s, getAt(project, "/smart-live-jobs?limit=100", ak, sk, at))
	if rec.Code != http.StatusOK {
		t.Fatalf("list = %d %s", rec.Code, rec.Body)
	}
	var page struct {
		Jobs []struct {
			ID string `json:"job_id"`
			jobState
		} `json:"smart_live_jobs"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil {
		t.Fatal(err)
	}
	out := map[string]jobState{}
	for _, j := range page.Jobs {
		out[j.ID] = j.jobState
	}
	return out
}

func TestJobsGrowWithTheClockAndEndAtTheirLimit(t *testing.T) {
	s, c := inventoryServer(t)
	at := func(d time.Duration) time.Time { c.Set(t0.Add(d)); return t0.Add(d) }

	// The push of job-b1 drops for 10 minutes: its stream stops growing.
	if err := s.SetJobStreaming(projB, "job-b1", false); err != nil {
		t.Fatal(err)
	}
	got := jobsAt(t, s, projB, akB, skB, at(10*time.Minute))
	if g := got["job-b1"]; g.State != JobProcessing || g.Duration != 6000 || g.StreamDuration != 5400 || g.LastUpdate != "2026-11-28T08:00:00Z" {
		t.Fatalf("job-b1 while down = %+v", g)
	}
	if err := s.SetJobStreaming(projB, "job-b1", true); err != nil {
		t.Fatal(err)
	}
	if err := s.SetJobStreaming(projB, "job-b1", true); err != nil { // already up: no change
		t.Fatal(err)
	}
	got = jobsAt(t, s, projB, akB, skB, at(29*time.Minute+59*time.Second+500*time.Millisecond))
	if g := got["job-b1"]; g.State != JobProcessing || g.Duration != 7199.5 || g.StreamDuration != 6599.5 {
		t.Fatalf("job-b1 just before its limit = %+v", g)
	}

	// The project's 2 h limit ends job-b1 at start + 2 h, as MetaStudio's
	// auto exit would; job-b2's room sets no limit (0), which wins.
	got = jobsAt(t, s, projB, akB, skB, at(45*time.Minute))
	want := jobState{State: JobSucceed, Duration: 7200, StreamDuration: 6600, EndTime: "2026-11-28T08:30:00Z", LastUpdate: "2026-11-28T08:30:00Z"}
	if got["job-b1"] != want {
		t.Fatalf("job-b1 after its limit = %+v\nwant %+v", got["job-b1"], want)
	}
	if g := got["job-b2"]; g.State != JobProcessing || g.Duration != 8100 || g.StreamDuration != 8100 {
		t.Fatalf("job-b2 = %+v", g)
	}
	// An ended job no longer streams.
	if err := s.SetJobStreaming(projB, "job-b1", false); err != nil {
		t.Fatal(err)
	}
	if g := jobsAt(t, s, projB, akB, skB, at(50*time.Minute))["job-b1"]; g != want {
		t.Fatalf("job-b1 changed after it ended: %+v", g)
	}

	// A limit set later, by PUT, applies to jobs already running.
	wantOK(t, serve(s, func() *http.Request {
		r := newRequest(http.MethodPut, projA, []byte(`{"live_exit_config":{"max_live_duration":1}}`), t0.Add(50*time.Minute))
		testSign(r, akA, skA, []byte(`{"live_exit_config":{"max_live_duration":1}}`))
		return r
	}()), `{"live_exit_config":{"max_live_duration":1}}`)
	if g := jobsAt(t, s, projA, akA, skA, at(50*time.Minute))["job-1"]; g.State != JobProcessing {
		t.Fatalf("job-1's room sets 0, which wins over the project's 1 h: %+v", g)
	}

	for _, tc := range []struct{ project, job, want string }{
		{"ffffffffffffffffffffffffffffffff", "job-1", `simulator: unknown project "ffffffffffffffffffffffffffffffff"`},
		{projA, "job-9", `simulator: project "` + projA + `" has no live job "job-9"`},
	} {
		if err := s.SetJobStreaming(tc.project, tc.job, true); err == nil || err.Error() != tc.want {
			t.Errorf("SetJobStreaming(%s, %s) = %v, want %s", tc.project, tc.job, err, tc.want)
		}
	}
}

func TestListAndShowRooms(t *testing.T) {
	s, _ := inventoryServer(t)
	a1 := `{"room_id":"room-a1","project_id":"` + projA + `","room_name":"Morning \u003cb\u003eshow\u003c/b\u003e","room_type":"NORMAL","room_state":"ENABLE",` +
		`"create_time":"2026-11-27T08:00:00Z","update_time":"2026-11-27T08:00:00Z","last_job_start_time":"2026-11-28T07:00:00Z","last_job_status":"PROCESSING"}`
	a2 := `{"room_id":"room-a2","project_id":"` + projA + `","room_name":"plain","room_type":"TEMP","room_state":"BLOCKED",` +
		`"error_info":{"error_code":"MSS.00000009","error_msg":"frozen"},"create_time":"2026-11-27T08:00:00Z","update_time":"2026-11-27T08:00:00Z","last_job_status":"WAITING"}`
	wantOK(t, serve(s, getAt(projA, "/smart-live-rooms", akA, skA, t0)), `{"count":2,"smart_live_rooms":[`+a1+`,`+a2+`]}`)
	wantOK(t, serve(s, getAt(projA, "/smart-live-rooms?offset=1&limit=1", akA, skA, t0)), `{"count":2,"smart_live_rooms":[`+a2+`]}`)

	wantOK(t, serve(s, getAt(projA, "/smart-live-rooms/room-a1", akA, skA, t0)),
		`{"room_name":"Morning \u003cb\u003eshow\u003c/b\u003e","room_type":"NORMAL",`+
			`"play_policy":{"repeat_count":-1,"live_exit_config":{"max_live_duration":0,"auto_stop_mode":"SCRIPT_END"}},`+
			`"output_urls":["rtmp://push.example/live/"],"stream_keys":["stream-key-a1"],`+
			`"live_event_callback_config":{"live_event_type_callback_url":"https://hooks.example/cb","auth_type":"MSS_A_HEAD","key":"room-key","callback_event_type":["RTMP_STREAM_STATE_CHANGE"]},`+
			`"room_id":"room-a1","create_time":"2026-11-27T08:00:00Z","update_time":"2026-11-27T08:00:00Z","room_state":"ENABLE"}`)
	wantOK(t, serve(s, getAt(projB, "/smart-live-rooms/room-b1", akB, skB, t0)),
		`{"room_name":"inherits","room_type":"NORMAL","room_id":"room-b1","create_time":"2026-11-28T08:00:00Z","update_time":"2026-11-28T08:00:00Z","room_state":"ENABLE"}`)
	wantError(t, serve(s, getAt(projA, "/smart-live-rooms/room-b1", akA, skA, t0)), 404, CodeRoomNotFound, "The room does not exist")

	// A room id is one path segment, an escaped "/" included.
	if err := s.AddRoom(projB, Room{ID: "a/b ?", Name: "odd"}); err != nil {
		t.Fatal(err)
	}
	rec := serve(s, getAt(projB, "/smart-live-rooms/a%2Fb%20%3F", akB, skB, t0))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"room_id":"a/b ?"`) {
		t.Fatalf("escaped room id: %d %s", rec.Code, rec.Body)
	}
	if a, b := s.RouteCalls(projA, RouteRooms), s.RouteCalls(projA, RouteRoom); a != 2 || b != 2 {
		t.Fatalf("RouteCalls rooms %d, room %d; want 2 and 2", a, b)
	}
}

func TestListQueryValidation(t *testing.T) {
	s, _ := inventoryServer(t)
	const p = "Invalid parameter: "
	for _, tc := range []struct{ path, msg string }{
		{"/smart-live-jobs?limit=0", "limit must be between 1 and 100"},
		{"/smart-live-jobs?limit=101", "limit must be between 1 and 100"},
		{"/smart-live-rooms?limit=ten", "limit must be between 1 and 100"},
		{"/smart-live-rooms?limit=", "limit must be between 1 and 100"},
		{"/smart-live-jobs?offset=-1", "offset must be a non-negative integer"},
		{"/smart-live-rooms?offset=1.5", "offset must be a non-negative integer"},
		{"/smart-live-jobs?create_since=yesterday", "create_since must be an RFC 3339 time"},
	} {
		wantError(t, serve(s, getAt(projA, tc.path, akA, skA, t0)), 400, CodeBadParameter, p+tc.msg)
	}
	wantOK(t, serve(s, getAt(projA, "/smart-live-rooms?limit=100&offset=2", akA, skA, t0)), `{"count":2,"smart_live_rooms":[]}`)
}

func TestInventoryAuthentication(t *testing.T) {
	s, _ := inventoryServer(t)
	// Another project's key, a bad signature, an unknown project and a
	// token scoped to the project, as on the user-config route.
	wantError(t, serve(s, getAt(projA, "/smart-live-jobs", akB, skB, t0)), 403, CodeForbidden,
		"The IAM user is not authorized to access the API: access key has no permission on this project")
	wantError(t, serve(s, getAt(projA, "/smart-live-rooms", akA, skB, t0)), 401, CodeAuthFailed,
		"Incorrect IAM authentication information: signature mismatch")
	wantError(t, serve(s, getAt("ffffffffffffffffffffffffffffffff", "/smart-live-rooms/room-a1", akA, skA, t0)), 404, CodeProjectNotFound,
		"The project does not exist")
	tok := login(t, s, projA)
	r := httptest.NewRequest(http.MethodGet, apiBase+projA+"/smart-live-rooms/room-a2", nil)
	r.Header.Set("X-Auth-Token", tok)
	if rec := serve(s, r); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"room_id":"room-a2"`) {
		t.Fatalf("with a token: %d %s", rec.Code, rec.Body)
	}
	for _, path := range []string{"/smart-live-jobs/job-1", "/smart-live-rooms/room-a1/jobs", "/smart-live-rooms/"} {
		wantError(t, serve(s, getAt(projA, path, akA, skA, t0)), 404, CodeAPINotFound,
			"The API does not exist or has not been published in the environment")
	}
	put := httptest.NewRequest(http.MethodPut, apiBase+projA+"/smart-live-rooms/room-a1", strings.NewReader(`{}`))
	wantError(t, serve(s, put), 404, CodeAPINotFound, "The API does not exist or has not been published in the environment")
}

func TestRouteFaults(t *testing.T) {
	s, _ := inventoryServer(t)
	s.SetRouteFault(projA, RouteLiveJobs, Fault{Status: 429, RetryAfter: "7"})
	rec := serve(s, getAt(projA, "/smart-live-jobs", akA, skA, t0))
	wantError(t, rec, 429, CodeThrottled, "The throttling threshold has been reached: policy user over ratelimit")
	if ra := rec.Header().Get("Retry-After"); ra != "7" {
		t.Fatalf("Retry-After = %q", ra)
	}
	// Only that route of that project.
	wantOK(t, serve(s, getAt(projA, "/smart-live-rooms?limit=1&offset=1", akA, skA, t0)), `{"count":2,"smart_live_rooms":[`+
		`{"room_id":"room-a2","project_id":"`+projA+`","room_name":"plain","room_type":"TEMP","room_state":"BLOCKED",`+
		`"error_info":{"error_code":"MSS.00000009","error_msg":"frozen"},"create_time":"2026-11-27T08:00:00Z","update_time":"2026-11-27T08:00:00Z","last_job_status":"WAITING"}]}`)
	wantOK(t, serve(s, signedGet(projA, akA, skA)), "{}")
	if rec := serve(s, getAt(projB, "/smart-live-jobs", akB, skB, t0)); rec.Code != 200 {
		t.Fatalf("projB's jobs: %d", rec.Code)
	}
	// Validation comes first: a bad query is refused, not throttled.
	wantError(t, serve(s, getAt(projA, "/smart-live-jobs?limit=0", akA, skA, t0)), 400, CodeBadParameter, "Invalid parameter: limit must be between 1 and 100")

	s.SetRouteFault(projA, RouteLiveJobs, Fault{})
	s.SetRouteFault(projA, RouteRoom, Fault{Body: []byte(`{"room_name":`)})
	wantOK(t, serve(s, getAt(projA, "/smart-live-rooms/room-a1", akA, skA, t0)), `{"room_name":`)
	s.SetRouteFault(projA, RouteRoom, Fault{Status: 503})
	wantError(t, serve(s, getAt(projA, "/smart-live-rooms/nowhere", akA, skA, t0)), 404, CodeRoomNotFound, "The room does not exist")
	s.SetRouteFault(projA, Route(42), Fault{Status: 500}) // ignored
	if n := s.RouteCalls(projA, Route(-1)); n != 0 {
		t.Fatalf("RouteCalls(-1) = %d", n)
	}
}

func TestListFaultsForHostileClients(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	for i := range 250 {
		if err := s.AddRoom(projA, Room{ID: fmt.Sprintf("r%03d", i), Name: "n"}); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(query string) (int64, []string) {
		t.Helper()
		rec := serve(s, getAt(projA, "/smart-live-rooms"+query, akA, skA, t0))
		var page struct {
			Count int64 `json:"count"`
			Rooms []struct {
				ID string `json:"room_id"`
			} `json:"smart_live_rooms"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil {
			t.Fatalf("%d %s: %v", rec.Code, rec.Body, err)
		}
		out := make([]string, len(page.Rooms))
		for i, r := range page.Rooms {
			out[i] = r.ID
		}
		return page.Count, out
	}
	if n, got := ids("?offset=200&limit=100"); n != 250 || len(got) != 50 || got[0] != "r200" || got[49] != "r249" {
		t.Fatalf("last page: count %d, %d rooms from %v", n, len(got), got[:1])
	}
	s.SetRouteFault(projA, RouteRooms, Fault{Count: 1 << 40, RepeatFirstPage: true})
	if n, got := ids("?offset=200&limit=100"); n != 1<<40 || len(got) != 100 || got[0] != "r000" {
		t.Fatalf("endless pages: count %d, %d rooms from %s", n, len(got), got[0])
	}
	s.SetRouteFault(projA, RouteRooms, Fault{IgnoreLimit: true})
	if n, got := ids("?offset=10&limit=5"); n != 250 || len(got) != 240 || got[0] != "r010" {
		t.Fatalf("oversized page: count %d, %d rooms from %s", n, len(got), got[0])
	}
}

func TestAddRoomAndJobErrors(t *testing.T) {
	s, _ := inventoryServer(t)
	for _, tc := range []struct {
		err  error
		want string
	}{
		{s.AddRoom("nope", Room{ID: "x"}), `simulator: unknown project "nope"`},
		{s.AddRoom(projA, Room{}), "simulator: a room id must have 1 to 64 characters, not 0"},
		{s.AddRoom(projA, Room{ID: "room-a1"}), `simulator: project "` + projA + `" already has room "room-a1"`},
		{s.AddRoom(projA, Room{ID: "k", StreamKeys: []string{"s"}}), `simulator: room "k": 1 stream keys for 0 output URLs`},
		{s.AddLiveJob("nope", LiveJob{ID: "x"}), `simulator: unknown project "nope"`},
		{s.AddLiveJob(projA, LiveJob{ID: strings.Repeat("j", 65)}), "simulator: a live job id must have 1 to 64 characters, not 65"},
		{s.AddLiveJob(projA, LiveJob{ID: "j", RoomID: "room-a1"}), `simulator: live job "j": a PROCESSING job needs its start time`},
		{s.AddLiveJob(projA, LiveJob{ID: "j", RoomID: "room-a1", State: JobWaiting, StartTime: t0}), `simulator: live job "j": a WAITING job has no start time`},
		{s.AddLiveJob(projA, LiveJob{ID: "j", RoomID: "room-a1", State: JobBlocked}), `simulator: live job "j": a BLOCKED job needs its end time`},
		{s.AddLiveJob(projA, LiveJob{ID: "j", RoomID: "room-b1", StartTime: t0}), `simulator: live job "j": project "` + projA + `" has no room "room-b1"`},
		{s.AddLiveJob(projA, LiveJob{ID: "job-1", RoomID: "room-a1", StartTime: t0}), `simulator: project "` + projA + `" already has live job "job-1"`},
	} {
		if tc.err == nil || tc.err.Error() != tc.want {
			t.Errorf("error = %v\nwant %s", tc.err, tc.want)
		}
	}
}

// TestJobCallbackDefaults: a job runs with its room's own callback, else
// the project's as it stood when the job was added, else none.
func TestJobCallbackDefaults(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	cfg := `{"live_event_callback_config":{"live_event_type_callback_url":"https://tenant.example/cb","auth_type":"MSS_A","key":"tenant-key"}}`
	if err := s.SetConfig(projA, []byte(cfg)); err != nil {
		t.Fatal(err)
	}
	for _, r := range []Room{{ID: "own", Callback: &Callback{URL: "https://room.example/cb", AuthType: AuthMSSAHead, Key: "room-key"}}, {ID: "inherit"}} {
		if err := s.AddRoom(projA, r); err != nil {
			t.Fatal(err)
		}
	}
	for _, j := range []LiveJob{
		{ID: "in-own", RoomID: "own", StartTime: t0},
		{ID: "in-inherit", RoomID: "inherit", StartTime: t0},
		{ID: "explicit", RoomID: "own", StartTime: t0, Callback: &Callback{URL: "http://job.example/cb"}},
	} {
		if err := s.AddLiveJob(projA, j); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetConfig(projB, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.AddRoom(projB, Room{ID: "none"}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddLiveJob(projB, LiveJob{ID: "no-callback", RoomID: "none", StartTime: t0}); err != nil {
		t.Fatal(err)
	}
	rec := serve(s, getAt(projA, "/smart-live-jobs", akA, skA, t0))
	for _, want := range []string{
		`"job_id":"in-own","room_id":"own","state":"PROCESSING","duration":0,"start_time":"2026-11-28T08:00:00Z","create_time":"2026-11-28T08:00:00Z","lastupdate_time":"2026-11-28T08:00:00Z","live_event_callback_config":{"live_event_type_callback_url":"https://room.example/cb","auth_type":"MSS_A_HEAD","key":"room-key"}`,
		`"job_id":"in-inherit","room_id":"inherit","state":"PROCESSING","duration":0,"start_time":"2026-11-28T08:00:00Z","create_time":"2026-11-28T08:00:00Z","lastupdate_time":"2026-11-28T08:00:00Z","live_event_callback_config":{"live_event_type_callback_url":"https://tenant.example/cb","auth_type":"MSS_A","key":"tenant-key"}`,
		`"live_event_callback_config":{"live_event_type_callback_url":"http://job.example/cb"}`,
	} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("answer %s\nlacks %s", rec.Body, want)
		}
	}
	if rec := serve(s, getAt(projB, "/smart-live-jobs", akB, skB, t0)); strings.Contains(rec.Body.String(), "live_event_callback_config") {
		t.Errorf("a job with no callback anywhere reports one: %s", rec.Body)
	}
}
