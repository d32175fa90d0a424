package sdkcompat

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/auth/basic"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"
	metastudio "github.com/huaweicloud/huaweicloud-sdk-go-v3/services/metastudio/v1"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/metastudio/v1/model"

	"github.com/metastudio-exporter/metastudio_exporter/metastudio/simulator"
)

const (
	project   = "4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a4a"
	accessKey = "AKSDKCOMPAT000001"
	secretKey = "sdkcompat-secret-key"
)

const userConfig = `{"live_exit_config":{"max_live_duration":12,"auto_stop_mode":"SEGMENT_END","max_exception_waiting_duration":5},` +
	`"live_event_callback_config":{"live_event_type_callback_url":"https://mon.example.com/callback/shop","auth_type":"MSS_A",` +
	`"key":"tenant-key","callback_event_type":["RTMP_STREAM_STATE_CHANGE"]},"live_notify_config":{"notify_events":["AUTO_EXIT"]}}`

// authorizations records the Authorization header of every request.
type authorizations struct {
	mu   sync.Mutex
	seen []string
}

func (a *authorizations) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.seen = append(a.seen, r.Header.Get("Authorization"))
		a.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// start serves a simulator with one project, its rooms and jobs, on a
// clock stopped at now; the SDK signs with the real clock, which stays
// well within the simulator's 15 minutes of allowed skew.
func start(t *testing.T, now time.Time) (*simulator.Server, string, *authorizations) {
	t.Helper()
	sim := simulator.New(simulator.Options{Now: func() time.Time { return now }})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(sim.AddTenant(simulator.Tenant{ProjectID: project, AccessKey: accessKey, SecretKey: secretKey, Config: []byte(userConfig)}))
	must(sim.AddRoom(project, simulator.Room{ID: "room-forever", Name: "Runs forever",
		RepeatCount: new(simulator.RepeatUntilStopped), Exit: &simulator.LiveExit{MaxLiveDuration: new(0), MaxExceptionWaitingDuration: new(0)},
		Callback:   &simulator.Callback{URL: "https://hooks.example/room", AuthType: simulator.AuthMSSAHead, Key: "room-key", EventTypes: []string{simulator.EventRTMPStreamStateChange}},
		OutputURLs: []string{"rtmp://push.example/live/"}, StreamKeys: []string{"stream-key-1"},
		CreateTime: now.Add(-48 * time.Hour)}))
	must(sim.AddRoom(project, simulator.Room{ID: "room-plain", Name: "Plain", State: simulator.RoomDisable, ErrorCode: "MSS.00000009", ErrorMsg: "disabled",
		CreateTime: now.Add(-24 * time.Hour)}))
	must(sim.AddLiveJob(project, simulator.LiveJob{ID: "job-live", RoomID: "room-forever", StartTime: now.Add(-95 * time.Minute), UsedResourceType: simulator.ResourcePeriod}))
	must(sim.AddLiveJob(project, simulator.LiveJob{ID: "job-waiting", RoomID: "room-plain", State: simulator.JobWaiting, CreateTime: now.Add(-time.Minute)}))
	must(sim.AddLiveJob(project, simulator.LiveJob{ID: "job-failed", RoomID: "room-plain", State: simulator.JobFailed,
		StartTime: now.Add(-20 * time.Minute), EndTime: now.Add(-15 * time.Minute), ErrorCode: "MSS.00000201", ErrorMsg: "push refused"}))
	must(sim.SetJobStreaming(project, "job-live", false))
	auths := &authorizations{}
	srv := httptest.NewServer(auths.wrap(sim))
	t.Cleanup(srv.Close)
	return sim, srv.URL, auths
}

// sdkClient is the SDK's MetaStudio client with AK/SK credentials for
// project, pointed at endpoint.
func sdkClient(t *testing.T, endpoint, sk string) *metastudio.MetaStudioClient {
	t.Helper()
	creds, err := basic.NewCredentialsBuilder().WithAk(accessKey).WithSk(sk).WithProjectId(project).SafeBuild()
	if err != nil {
		t.Fatal(err)
	}
	hc, err := metastudio.MetaStudioClientBuilder().WithEndpoints([]string{endpoint}).WithCredential(creds).SafeBuild()
	if err != nil {
		t.Fatal(err)
	}
	return metastudio.NewMetaStudioClient(hc)
}

func TestUserConfig(t *testing.T) {
	_, url, auths := start(t, time.Now().UTC().Truncate(time.Second))
	resp, err := sdkClient(t, url, secretKey).ShowSmartLiveUserConfig(&model.ShowSmartLiveUserConfigRequest{})
	if err != nil {
		t.Fatal(err)
	}
	e, cb, n := resp.LiveExitConfig, resp.LiveEventCallbackConfig, resp.LiveNotifyConfig
	if e == nil || *e.MaxLiveDuration != 12 || e.AutoStopMode.Value() != "SEGMENT_END" || *e.MaxExceptionWaitingDuration != 5 {
		t.Fatalf("live_exit_config = %+v", e)
	}
	if cb == nil || *cb.LiveEventTypeCallbackUrl != "https://mon.example.com/callback/shop" || cb.AuthType.Value() != "MSS_A" ||
		*cb.Key != "tenant-key" || strings.Join(*cb.CallbackEventType, ",") != "RTMP_STREAM_STATE_CHANGE" {
		t.Fatalf("live_event_callback_config = %+v", cb)
	}
	if n == nil || len(*n.NotifyEvents) != 1 || (*n.NotifyEvents)[0].Value() != "AUTO_EXIT" {
		t.Fatalf("live_notify_config = %+v", n)
	}
	if resp.HttpStatusCode != 200 || !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(*resp.XRequestId) {
		t.Fatalf("status %d, request id %v", resp.HttpStatusCode, resp.XRequestId)
	}
	// The SDK signs every header it sends but Host; the simulator, like
	// the gateway, asks only that X-Sdk-Date be among them.
	signed := regexp.MustCompile(`SignedHeaders=([^,]*),`).FindStringSubmatch(auths.seen[0])
	if signed == nil || strings.Contains(";"+signed[1]+";", ";host;") || !strings.Contains(";"+signed[1]+";", ";x-sdk-date;") {
		t.Fatalf("the SDK signed %q", auths.seen[0])
	}
	t.Logf("the SDK signs SignedHeaders=%s", signed[1])
}

func TestListSmartLiveJobs(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	_, url, _ := start(t, now)
	c := sdkClient(t, url, secretKey)

	resp, err := c.ListSmartLiveJobs(&model.ListSmartLiveJobsRequest{Offset: new(int32(0)), Limit: new(int32(100)), State: new("WAITING,PROCESSING")})
	if err != nil {
		t.Fatal(err)
	}
	if *resp.Count != 2 || len(*resp.SmartLiveJobs) != 2 {
		t.Fatalf("count %d, %d jobs", *resp.Count, len(*resp.SmartLiveJobs))
	}
	live, waiting := (*resp.SmartLiveJobs)[0], (*resp.SmartLiveJobs)[1]
	// job-live's push dropped when the clock stopped: its stream_duration
	// equals its duration, 95 minutes.
	if *live.JobId != "job-live" || *live.RoomId != "room-forever" || *live.RoomName != "Runs forever" || live.State.Value() != "PROCESSING" ||
		*live.Duration != 5700 || *live.StreamDuration != 5700 || *live.StartTime != now.Add(-95*time.Minute).Format(time.RFC3339) ||
		live.UsedResourceType.Value() != "PERIOD" || live.EndTime != nil || live.ErrorInfo != nil {
		t.Fatalf("job-live = %s", live)
	}
	if cb := live.LiveEventCallbackConfig; cb == nil || *cb.LiveEventTypeCallbackUrl != "https://hooks.example/room" || cb.AuthType.Value() != "MSS_A_HEAD" || *cb.Key != "room-key" {
		t.Fatalf("job-live's callback = %+v", cb)
	}
	if *waiting.JobId != "job-waiting" || waiting.State.Value() != "WAITING" || *waiting.Duration != 0 || waiting.StartTime != nil ||
		*waiting.CreateTime != now.Add(-time.Minute).Format(time.RFC3339) {
		t.Fatalf("job-waiting = %s", waiting)
	}
	// A job in a room without a callback of its own runs with the tenant's.
	if cb := waiting.LiveEventCallbackConfig; cb == nil || cb.AuthType.Value() != "MSS_A" || *cb.Key != "tenant-key" {
		t.Fatalf("job-waiting's callback = %+v", cb)
	}

	resp, err = c.ListSmartLiveJobs(&model.ListSmartLiveJobsRequest{State: new("FAILED,BLOCKED"), CreateSince: new(now.Add(-time.Hour).Format(time.RFC3339))})
	if err != nil {
		t.Fatal(err)
	}
	if *resp.Count != 1 || len(*resp.SmartLiveJobs) != 1 {
		t.Fatalf("failed jobs: count %d", *resp.Count)
	}
	failed := (*resp.SmartLiveJobs)[0]
	if *failed.JobId != "job-failed" || failed.State.Value() != "FAILED" || *failed.Duration != 300 ||
		*failed.EndTime != now.Add(-15*time.Minute).Format(time.RFC3339) ||
		*failed.ErrorInfo.ErrorCode != "MSS.00000201" || *failed.ErrorInfo.ErrorMsg != "push refused" {
		t.Fatalf("job-failed = %s", failed)
	}

	_, err = c.ListSmartLiveJobs(&model.ListSmartLiveJobsRequest{Limit: new(int32(101))})
	wantServiceError(t, err, 400, "MSS.00000003", "Invalid parameter: limit must be between 1 and 100")
}

func TestListSmartLiveRooms(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	_, url, _ := start(t, now)
	resp, err := sdkClient(t, url, secretKey).ListSmartLiveRooms(&model.ListSmartLiveRoomsRequest{Offset: new(int32(1)), Limit: new(int32(1))})
	if err != nil {
		t.Fatal(err)
	}
	if *resp.Count != 2 || len(*resp.SmartLiveRooms) != 1 {
		t.Fatalf("count %d, %d rooms", *resp.Count, len(*resp.SmartLiveRooms))
	}
	r := (*resp.SmartLiveRooms)[0]
	if *r.RoomId != "room-plain" || *r.ProjectId != project || *r.RoomName != "Plain" || r.RoomType.Value() != "NORMAL" ||
		r.RoomState.Value() != "DISABLE" || *r.ErrorInfo.ErrorCode != "MSS.00000009" || r.LastJobStatus.Value() != "WAITING" ||
		*r.CreateTime != now.Add(-24*time.Hour).Format(time.RFC3339) {
		t.Fatalf("room = %s", r)
	}
}

func TestShowSmartLiveRoom(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	_, url, _ := start(t, now)
	c := sdkClient(t, url, secretKey)
	resp, err := c.ShowSmartLiveRoom(&model.ShowSmartLiveRoomRequest{RoomId: "room-forever"})
	if err != nil {
		t.Fatal(err)
	}
	p := resp.PlayPolicy
	if resp.RoomName != "Runs forever" || *resp.RoomId != "room-forever" || resp.RoomType.Value() != "NORMAL" || resp.RoomState.Value() != "ENABLE" ||
		p == nil || *p.RepeatCount != -1 || *p.LiveExitConfig.MaxLiveDuration != 0 || *p.LiveExitConfig.MaxExceptionWaitingDuration != 0 ||
		p.LiveExitConfig.AutoStopMode != nil {
		t.Fatalf("room = %s", resp)
	}
	if cb := resp.LiveEventCallbackConfig; cb == nil || *cb.LiveEventTypeCallbackUrl != "https://hooks.example/room" || cb.AuthType.Value() != "MSS_A_HEAD" ||
		*cb.Key != "room-key" || strings.Join(*cb.CallbackEventType, ",") != "RTMP_STREAM_STATE_CHANGE" {
		t.Fatalf("callback = %+v", cb)
	}
	if strings.Join(*resp.OutputUrls, ",") != "rtmp://push.example/live/" || strings.Join(*resp.StreamKeys, ",") != "stream-key-1" {
		t.Fatalf("output %v %v", *resp.OutputUrls, *resp.StreamKeys)
	}

	resp, err = c.ShowSmartLiveRoom(&model.ShowSmartLiveRoomRequest{RoomId: "room-plain"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.PlayPolicy != nil || resp.LiveEventCallbackConfig != nil || resp.OutputUrls != nil || *resp.ErrorInfo.ErrorMsg != "disabled" {
		t.Fatalf("a room with no settings of its own = %s", resp)
	}

	_, err = c.ShowSmartLiveRoom(&model.ShowSmartLiveRoomRequest{RoomId: "room-gone"})
	wantServiceError(t, err, 404, "MSS.00000004", "The room does not exist")
}

func TestWrongSecretKey(t *testing.T) {
	_, url, _ := start(t, time.Now().UTC().Truncate(time.Second))
	_, err := sdkClient(t, url, "not-the-secret-key").ListSmartLiveRooms(&model.ListSmartLiveRoomsRequest{})
	wantServiceError(t, err, 401, "APIGW.0301", "Incorrect IAM authentication information: signature mismatch")
}

func wantServiceError(t *testing.T, err error, status int, code, msg string) {
	t.Helper()
	var e *sdkerr.ServiceResponseError
	if !errors.As(err, &e) {
		t.Fatalf("err = %v (%T), want a ServiceResponseError", err, err)
	}
	if e.StatusCode != status || e.ErrorCode != code || e.ErrorMessage != msg || len(e.RequestId) != 32 {
		t.Fatalf("error %d %q %q (request id %q), want %d %q %q", e.StatusCode, e.ErrorCode, e.ErrorMessage, e.RequestId, status, code, msg)
	}
}
