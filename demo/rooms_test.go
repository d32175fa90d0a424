package demo

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/internal/fakeclock"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio/simulator"
	"github.com/metastudio-exporter/metastudio_exporter/secret"
)

// clockedDemo is the demo's simulator on a clock of the test's.
func clockedDemo(t *testing.T, clock *fakeclock.Clock) *Demo {
	t.Helper()
	run, err := simulator.Start(simulator.Options{Now: clock.Now}, Tenants()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = run.Close() })
	if err := addRooms(run.Server, clock.Now(), sampleRooms(clock.Now())); err != nil {
		t.Fatal(err)
	}
	return &Demo{URL: run.URL, run: run}
}

func demoTarget(d *Demo, project string, now func() time.Time) (*metastudio.Client, metastudio.Target) {
	c := metastudio.NewClient(metastudio.ClientOptions{Now: now})
	return c, metastudio.Target{Name: project, Endpoint: d.URL, ProjectID: project,
		Credentials: metastudio.Credentials{AccessKey: demoAccessKey, SecretKey: secret.String(demoSecretKey)}}
}

func jobsByID(t *testing.T, c *metastudio.Client, tg metastudio.Target) map[string]metastudio.LiveJob {
	t.Helper()
	jobs, _, err := c.ListLiveJobs(context.Background(), tg, metastudio.JobQuery{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]metastudio.LiveJob{}
	for _, j := range jobs {
		out[j.JobID] = j
	}
	return out
}

// TestSampleRoomsMatchTheEvents: every played job runs in the simulator
// with the room and job ids of its events, in its tenant's project.
func TestSampleRoomsMatchTheEvents(t *testing.T) {
	d, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, lj := range liveJobs {
		c, tg := demoTarget(d, lj.project, nil)
		j, ok := jobsByID(t, c, tg)[lj.job]
		if !ok || j.RoomID != lj.room || j.State != metastudio.JobProcessing {
			t.Errorf("%s: job %s = %+v, want PROCESSING in %s", lj.tenant, lj.job, j, lj.room)
		}
		if lag := j.Duration - lj.started.Seconds(); lag < 0 || lag > 60 {
			t.Errorf("%s: job %s has run %.0f s, want about %.0f s", lj.tenant, lj.job, j.Duration, lj.started.Seconds())
		}
	}
}

func TestSampleRooms(t *testing.T) {
	t0 := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
	clock := fakeclock.New(t0)
	d := clockedDemo(t, clock)
	ctx := context.Background()

	// demo-risky's room repeats until stopped and sets no limit; its
	// tenant has none either: it runs forever.
	c, risky := demoTarget(d, riskyProject, clock.Now)
	room, err := c.GetRoom(ctx, risky, "room-risky")
	if err != nil {
		t.Fatal(err)
	}
	uc, err := c.GetUserConfig(ctx, risky)
	if err != nil {
		t.Fatal(err)
	}
	if room.RepeatCount == nil || *room.RepeatCount != metastudio.RepeatUntilStopped || room.Exit != nil || uc.Effective().MaxLiveDurationHours != 0 {
		t.Fatalf("room-risky = %+v, tenant limit %d h", room, uc.Effective().MaxLiveDurationHours)
	}

	// demo-safe: a job 25 minutes from its room's 2 h limit.
	c, safe := demoTarget(d, safeProject, clock.Now)
	marathon, err := c.GetRoom(ctx, safe, "room-marathon")
	if err != nil {
		t.Fatal(err)
	}
	if marathon.Exit == nil || *marathon.Exit.MaxLiveDurationHours != 2 {
		t.Fatalf("room-marathon = %+v", marathon)
	}
	jobs := jobsByID(t, c, safe)
	if j := jobs[jobNearLimit]; j.State != metastudio.JobProcessing || j.Duration != 95*60 || j.RoomID != "room-marathon" {
		t.Fatalf("%s = %+v", jobNearLimit, j)
	}
	// A job that failed a few minutes before the start, with its error.
	if j := jobs[jobFailed]; j.State != metastudio.JobFailed || !j.EndTime.Equal(t0.Add(-6*time.Minute)) || j.ErrorCode != "MSS.00000201" || j.ErrorMsg == "" {
		t.Fatalf("%s = %+v", jobFailed, j)
	}
	// A room with a callback key of its own, and its job running with it.
	own, err := c.GetRoom(ctx, safe, "room-own-app")
	if err != nil {
		t.Fatal(err)
	}
	tenantKey := demoSecret(t, c, safe)
	if own.Callback == nil || own.Callback.AuthType != metastudio.AuthMSSAHead || own.Callback.Key.Reveal() != ownRoomKey || ownRoomKey == tenantKey {
		t.Fatalf("room-own-app's callback = %+v", own.Callback)
	}
	if j := jobs[jobOwnKey]; j.State != metastudio.JobProcessing || j.Callback == nil || j.Callback.Key.Reveal() != ownRoomKey {
		t.Fatalf("%s = %+v", jobOwnKey, j)
	}
	// Its events are played, signed with the room's callback.
	for _, lj := range liveJobs {
		if lj.job == jobOwnKey && (lj.own == nil || lj.own.Key != own.Callback.Key.Reveal() || lj.own.URL != own.Callback.URL.Reveal() || lj.own.AuthType != own.Callback.AuthType) {
			t.Fatalf("%s is played with the callback %+v, not its room's", jobOwnKey, lj.own)
		}
	}
	// demo-risky has a room whose own callback is plain http and unsigned,
	// with no credentials in its URL.
	hook, err := c.GetRoom(ctx, risky, "room-partner-hook")
	if err != nil {
		t.Fatal(err)
	}
	if cb := hook.Callback; cb == nil || !strings.HasPrefix(cb.URL.Reveal(), "http://") || strings.Contains(cb.URL.Reveal(), "?") || cb.AuthType != metastudio.AuthNone {
		t.Fatalf("room-partner-hook's callback = %+v", hook.Callback)
	}
	// The played jobs run with the tenant's callback, as their events are signed.
	if j := jobs["job-steady"]; j.Callback == nil || j.Callback.Key.Reveal() != tenantKey || j.Callback.AuthType != metastudio.AuthMSSA {
		t.Fatalf("job-steady's callback = %+v", j.Callback)
	}

	// At the limit the simulator ends the job, as MetaStudio would.
	clock.Advance(25 * time.Minute)
	jobs = jobsByID(t, c, safe)
	if j := jobs[jobNearLimit]; j.State != metastudio.JobSucceed || j.Duration != 7200 || !j.EndTime.Equal(t0.Add(25*time.Minute)) {
		t.Fatalf("%s at its limit = %+v", jobNearLimit, j)
	}
	if j := jobs["job-steady"]; j.State != metastudio.JobProcessing {
		t.Fatalf("job-steady = %+v", j)
	}
}

func demoSecret(t *testing.T, c *metastudio.Client, tg metastudio.Target) string {
	t.Helper()
	uc, err := c.GetUserConfig(context.Background(), tg)
	if err != nil {
		t.Fatal(err)
	}
	return uc.CallbackAuth().Key.Reveal()
}

// TestDroppedStreamStopsStreamDuration: while a played stream is down its
// job's stream_duration stops growing; its duration does not.
func TestDroppedStreamStopsStreamDuration(t *testing.T) {
	t0 := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
	clock := fakeclock.New(t0)
	d := clockedDemo(t, clock)
	rc := &testReceiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	cb, err := d.run.Server.Callback(safeProject)
	if err != nil {
		t.Fatal(err)
	}
	var lj liveJob
	for _, j := range liveJobs {
		if j.job == "job-outage" {
			lj = j
		}
	}
	p := &player{ctx: context.Background(), sender: &simulator.Sender{Origin: srv.URL}, sim: d.run.Server, cb: cb, job: lj, scale: 1}
	c, tg := demoTarget(d, safeProject, clock.Now)
	durations := func() (float64, float64) {
		j := jobsByID(t, c, tg)["job-outage"]
		return j.Duration, j.StreamDuration
	}
	started := lj.started.Seconds()
	for _, step := range []struct {
		state          string
		live, streamed float64 // after 10 s more
	}{
		{simulator.StreamDisconnected, started + 10, started},
		{simulator.StreamReconnecting, started + 20, started},
		{simulator.StreamConnected, started + 30, started + 10},
		{simulator.StreamDisconnected, started + 40, started + 10},
	} {
		p.state(step.state)
		clock.Advance(10 * time.Second)
		if live, streamed := durations(); live != step.live || streamed != step.streamed {
			t.Fatalf("10 s after %s: duration %v, stream_duration %v; want %v, %v", step.state, live, streamed, step.live, step.streamed)
		}
	}
	if _, errs, states := rc.snapshot(); len(errs) > 0 || len(states["demo-safe/room-night-stream/job-outage"]) != 4 {
		t.Fatalf("events: %v, rejections %v", states, errs)
	}
}
