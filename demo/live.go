package demo

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/metastudio/simulator"
)

// A live job's life, looping until the demo stops: it connects, stays up
// for `up` (switching script paragraphs and finishing replies meanwhile),
// drops, reconnects after `down`, and goes round again. The first drop
// comes after firstUp, so that the dashboards show every state within a
// minute of starting.
type liveJob struct {
	tenant, project string
	room, job       string
	output          string // rtmp URL with the stream key in its path
	streamKey       string
	firstUp, up     time.Duration
	down            time.Duration
	// started is how long before the simulator starts the job went live.
	started time.Duration
	// own is the callback the job's room has of its own, which signs its
	// events; nil for a job that runs with its tenant's.
	own *simulator.Callback
}

// liveJobs are the demo's jobs. demo-safe's three cover what the stream
// alerts are for: a steady stream whose rare, short drops recover before
// anything fires, a flaky one that drops every minute
// (MetaStudioLiveStreamFlapping within three minutes) and one whose drops
// last three minutes (MetaStudioLiveStreamDisconnected, then resolved). A
// `for: 1m` alert seen through 15 s scrapes and evaluations can take 105 s
// to fire, and Alertmanager waits 30 s (group_wait) before it notifies: a
// drop of 100 s, as this one once was, resolved before the notification
// about half the time. The steady and outage cycles are longer than 7.5
// minutes, so that neither reconnects 3 times in the 15 minutes Flapping
// counts.
// demo-safe's fourth job runs in a room with a callback of its own, whose
// key signs its events (the receiver finds it among the tenant's live
// jobs); it drops rarely and briefly, as the steady one does.
// demo-risky subscribes to SHOOT_SCRIPT_SWITCH only, so its streams stay
// invisible, which is the risk its settings alert names. demo-rejected's
// settings cannot be fetched, so the receiver answers its events 503.
var liveJobs = []liveJob{
	{tenant: safeTenant, project: safeProject, room: "room-morning-show", job: "job-steady",
		output: "rtmp://live-push.example.com/live/", streamKey: "demo-stream-key-steady",
		firstUp: 40 * time.Second, up: 8 * time.Minute, down: 12 * time.Second, started: 3 * time.Hour},
	{tenant: safeTenant, project: safeProject, room: "room-flash-sale", job: "job-flaky",
		output: "rtmp://live-push.example.com/live/", streamKey: "demo-stream-key-flaky",
		firstUp: 20 * time.Second, up: 45 * time.Second, down: 10 * time.Second, started: 5 * time.Minute},
	{tenant: safeTenant, project: safeProject, room: "room-night-stream", job: "job-outage",
		output: "rtmp://push.example.net/app/", streamKey: "demo-stream-key-outage",
		firstUp: 10 * time.Second, up: 7 * time.Minute, down: 3 * time.Minute, started: 50 * time.Minute},
	{tenant: safeTenant, project: safeProject, room: "room-own-app", job: jobOwnKey,
		output: "rtmp://live-push.example.com/live/", streamKey: "demo-stream-key-own-app",
		firstUp: 2 * time.Minute, up: 9 * time.Minute, down: 12 * time.Second, started: 20 * time.Minute, own: &ownAppCallback},
	{tenant: riskyTenant, project: riskyProject, room: "room-risky", job: "job-risky",
		output: "rtmp://live-push.example.com/live/", streamKey: "demo-stream-key-risky",
		firstUp: 30 * time.Second, up: time.Minute, down: 20 * time.Second, started: 26 * time.Hour},
	{tenant: rejectedTenant, project: rejectedProject, room: "room-rejected", job: "job-rejected",
		output: "rtmp://live-push.example.com/live/", streamKey: "demo-stream-key-rejected",
		firstUp: 30 * time.Second, up: 2 * time.Minute, down: 15 * time.Second, started: time.Hour},
}

// sampleRoom is a room of a sample project in the simulator, with the jobs
// that run in it besides the played ones (liveJobs), which are added to
// their rooms with the same ids as their events.
type sampleRoom struct {
	project string
	room    simulator.Room
	jobs    []simulator.LiveJob
}

// Ids of sample jobs, for the docs and the tests.
const (
	jobNearLimit = "job-marathon"     // not played; ends at its room's 2 h limit, 25 min after the start
	jobFailed    = "job-flash-sale-1" // not played; failed 6 min before the start
	jobOwnKey    = "job-own-app"      // played; runs in a room that signs its callbacks with a key of its own
	ownRoomKey   = "demo-room-own-signing-key"
)

// ownAppCallback is room-own-app's own callback: the tenant's receiver URL,
// signed in headers with a key of the room's.
var ownAppCallback = simulator.Callback{URL: CallbackExternalURL + "/callback/" + safeTenant, AuthType: simulator.AuthMSSAHead, Key: ownRoomKey,
	EventTypes: []string{simulator.EventShootScriptSwitch, simulator.EventRTMPStreamStateChange, simulator.EventReplyCommandFinish}}

// sampleRooms are the rooms and jobs of the three sample projects at now,
// the moment the simulator starts. Besides the played jobs: demo-risky's
// room repeats until stopped and sets no limit, under a tenant with none
// (it runs forever), and another sends its events by a callback of its own
// that is plain http and unsigned, with no credentials in its URL;
// demo-safe has a job 25 minutes from its room's 2 h limit, a job that
// failed a few minutes ago, and a room whose callbacks are signed with a
// key of its own (MSS_A_HEAD), whose job is played.
func sampleRooms(now time.Time) []sampleRoom {
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	// Rooms are listed in this order and their settings read one after
	// another: the ones the alerts and the receiver are about come first,
	// so that they show within seconds of the first scrape.
	return []sampleRoom{
		{project: safeProject, room: simulator.Room{ID: "room-marathon", Name: "Marathon", RepeatCount: new(simulator.RepeatUntilStopped),
			Exit: &simulator.LiveExit{MaxLiveDuration: new(2), AutoStopMode: new("SCENE_END")}}, jobs: []simulator.LiveJob{
			{ID: jobNearLimit, RoomID: "room-marathon", StartTime: ago(95 * time.Minute), UsedResourceType: simulator.ResourcePeriod},
		}},
		{project: safeProject, room: simulator.Room{ID: "room-own-app", Name: "Own app", Callback: &ownAppCallback}},
		{project: safeProject, room: simulator.Room{ID: "room-morning-show", Name: "Morning show", RepeatCount: new(0)}},
		{project: safeProject, room: simulator.Room{ID: "room-flash-sale", Name: "Flash sale"}, jobs: []simulator.LiveJob{
			{ID: jobFailed, RoomID: "room-flash-sale", State: simulator.JobFailed, StartTime: ago(12 * time.Minute), EndTime: ago(6 * time.Minute),
				ErrorCode: "MSS.00000201", ErrorMsg: "The RTMP push to the live platform failed", UsedResourceType: simulator.ResourceOnDemand},
		}},
		{project: safeProject, room: simulator.Room{ID: "room-night-stream", Name: "Night stream"}},
		{project: riskyProject, room: simulator.Room{ID: "room-risky", Name: "Round the clock", RepeatCount: new(simulator.RepeatUntilStopped)}},
		{project: riskyProject, room: simulator.Room{ID: "room-partner-hook", Name: "Partner hook",
			Callback: &simulator.Callback{URL: "http://hooks.partner.example.com/metastudio/events", AuthType: simulator.AuthNone,
				EventTypes: []string{simulator.EventRTMPStreamStateChange}}}},
		{project: rejectedProject, room: simulator.Room{ID: "room-rejected", Name: "Rejected"}},
	}
}

// addRooms adds rooms and their jobs, the played ones included, to the
// simulator, as of now. A played job's room pushes where its events say:
// its output URL and stream key.
func addRooms(sim *simulator.Server, now time.Time, rooms []sampleRoom) error {
	for _, r := range rooms {
		r.room.CreateTime = now.Add(-30 * 24 * time.Hour)
		var played []simulator.LiveJob
		for _, j := range liveJobs {
			if j.project == r.project && j.room == r.room.ID {
				r.room.OutputURLs, r.room.StreamKeys = []string{j.output}, []string{j.streamKey}
				played = append(played, simulator.LiveJob{ID: j.job, RoomID: j.room, StartTime: now.Add(-j.started), UsedResourceType: simulator.ResourcePeriod})
			}
		}
		if err := sim.AddRoom(r.project, r.room); err != nil {
			return err
		}
		for _, j := range played {
			if err := sim.AddLiveJob(r.project, j); err != nil {
				return err
			}
		}
		for _, j := range r.jobs {
			if err := sim.AddLiveJob(r.project, j); err != nil {
				return err
			}
		}
	}
	return nil
}

// Pace of the events while a stream is up.
const (
	connectTime    = 2 * time.Second  // CONNECTING to CONNECTED
	reconnectAfter = 3 * time.Second  // DISCONNECTED to RECONNECTING
	paragraphEvery = 15 * time.Second // SHOOT_SCRIPT_SWITCH
	replyEvery     = 4                // a REPLY_COMMAND_FINISH every 4th paragraph
	paragraphs     = 8                // the script loops over this many
)

// RunLiveJobs plays MetaStudio for the sample tenants: a few live jobs per
// tenant connect, drop and recover on a cycle, and their events go to the
// receiver at receiverBaseURL (e.g. "http://127.0.0.1:10037"), signed as
// each tenant's callback settings say, for the events each subscribes to.
// It returns an error at once if it cannot start, else blocks until ctx
// ends and returns nil. Failed deliveries are not retried: the next event
// carries the stream on.
func (d *Demo) RunLiveJobs(ctx context.Context, receiverBaseURL string) error {
	return d.runLiveJobs(ctx, receiverBaseURL, 1, nil)
}

// deliveryReport is told the outcome of every event sent for a tenant.
type deliveryReport func(tenant string, d simulator.Delivery, err error)

// runLiveJobs runs the jobs with every duration multiplied by scale, and
// tells report, if set, how each delivery went.
func (d *Demo) runLiveJobs(ctx context.Context, receiverBaseURL string, scale float64, report deliveryReport) error {
	u, err := url.Parse(receiverBaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("demo live jobs: receiver URL %q is not http(s)://host:port", receiverBaseURL)
	}
	sender := &simulator.Sender{
		Client: &http.Client{Timeout: 10 * time.Second},
		Origin: u.Scheme + "://" + u.Host,
		Header: map[string]string{"User-Agent": "metastudio-exporter-demo"},
	}
	callbacks := map[string]simulator.Callback{}
	for _, j := range liveJobs {
		cb, err := d.run.Server.Callback(j.project)
		if err != nil {
			return fmt.Errorf("demo live jobs: %w", err)
		}
		if j.own != nil {
			cb = *j.own
		}
		callbacks[j.job] = cb
		// Each stream starts by connecting: its push is down until then.
		if err := d.run.Server.SetJobStreaming(j.project, j.job, false); err != nil {
			return fmt.Errorf("demo live jobs: %w", err)
		}
	}
	defer sender.Client.CloseIdleConnections()
	var wg sync.WaitGroup
	for _, j := range liveJobs {
		wg.Go(func() {
			p := &player{ctx: ctx, sender: sender, sim: d.run.Server, cb: callbacks[j.job], job: j, scale: scale, report: report}
			p.play()
		})
	}
	wg.Wait()
	return nil
}

// player runs one live job.
type player struct {
	ctx       context.Context
	sender    *simulator.Sender
	sim       *simulator.Server // where the job's stream_duration grows while its push is up
	cb        simulator.Callback
	job       liveJob
	scale     float64
	report    deliveryReport // nil = none
	paragraph int
	ticks     int
}

func (p *player) play() {
	p.state(simulator.StreamConnecting)
	if !p.sleep(connectTime) {
		return
	}
	p.state(simulator.StreamConnected)
	up := p.job.firstUp
	for {
		if !p.stayUp(up) {
			return
		}
		p.state(simulator.StreamDisconnected)
		if !p.sleep(reconnectAfter) {
			return
		}
		p.state(simulator.StreamReconnecting)
		if !p.sleep(p.job.down - reconnectAfter) {
			return
		}
		p.state(simulator.StreamConnected)
		up = p.job.up
	}
}

// stayUp plays the script for d; false once the demo stops.
func (p *player) stayUp(d time.Duration) bool {
	for d > 0 {
		step := min(d, paragraphEvery)
		if !p.sleep(step) {
			return false
		}
		d -= step
		if step < paragraphEvery {
			break
		}
		p.ticks++
		p.paragraph = p.paragraph%paragraphs + 1
		p.send(simulator.ShootScriptSwitch{RoomID: p.job.room, JobID: p.job.job, SceneScriptName: "demo-script",
			ShootScriptSequenceNo: p.paragraph, ShootScriptTitle: "Paragraph " + strconv.Itoa(p.paragraph)})
		if p.ticks%replyEvery == 0 {
			p.send(simulator.ReplyCommandFinish{RoomID: p.job.room, JobID: p.job.job, ReplyID: "reply-" + strconv.Itoa(p.ticks)})
		}
	}
	return true
}

func (p *player) state(s string) {
	// The job was checked when the players started; it cannot be missing.
	_ = p.sim.SetJobStreaming(p.job.project, p.job.job, s == simulator.StreamConnected)
	p.send(simulator.RTMPStreamStateChange{RoomID: p.job.room, JobID: p.job.job,
		OutputURL: p.job.output + p.job.streamKey, StreamKey: p.job.streamKey, State: s})
}

// send delivers an event the tenant subscribes to. A refused event is
// not retried: that is what the receiver's metrics are there to show.
func (p *player) send(ev simulator.LiveEvent) {
	if !p.cb.Subscribes(ev.EventType()) {
		return
	}
	d, err := p.sender.Send(p.ctx, p.cb, ev)
	if p.report != nil && p.ctx.Err() == nil {
		p.report(p.job.tenant, d, err)
	}
}

func (p *player) sleep(d time.Duration) bool {
	t := time.NewTimer(time.Duration(float64(d) * p.scale))
	defer t.Stop()
	select {
	case <-p.ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
