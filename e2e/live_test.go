package e2e

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/internal/loopback"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio/simulator"
)

// The live tenant: safe settings, its callback pointed at the receivers'
// public URL (a load balancer in front of two replicas), signed with MSS_A.
const (
	liveTenant    = "live-shop"
	liveProject   = "p-live-shop"
	liveAK        = "AKE2ELIVE00000000001"
	liveSK        = "e2e-live-secret-key"
	liveKey       = "e2e-live-callback-key"
	liveExternal  = "https://mon.e2e.example:10037"
	liveOutput    = "push.e2e.example"
	liveStreamKey = "e2e-stream-key-must-stay-secret"
)

var liveConfig = `{
  "live_exit_config": {"max_live_duration": 8, "auto_stop_mode": "FORCE_EXIT", "max_exception_waiting_duration": 5},
  "live_event_callback_config": {
    "live_event_type_callback_url": "` + liveExternal + `/callback/` + liveTenant + `",
    "auth_type": "MSS_A",
    "key": "` + liveKey + `",
    "callback_event_type": ["RTMP_STREAM_STATE_CHANGE", "SHOOT_SCRIPT_SWITCH", "REPLY_COMMAND_FINISH"]
  },
  "live_notify_config": {"notify_events": ["AUTO_EXIT"]}
}`

// TestLiveStreamAlert sends MetaStudio's events to two exporter replicas,
// part to each, and follows a dropped stream to the Alertmanager webhook and
// back: a DISCONNECTED event on one replica must page for exactly that
// stream, and a CONNECTED event on the other must resolve it.
func TestLiveStreamAlert(t *testing.T) {
	promBin := requireBinary(t, "prometheus", "prometheus")
	amBin := requireBinary(t, "prometheus-alertmanager", "prometheus-alertmanager", "alertmanager")

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	rules := loadBundledRules(t)
	exporterBin := buildExporter(ctx, t, dir)

	sim, err := simulator.Start(simulator.Options{}, simulator.Tenant{
		ProjectID: liveProject, AccessKey: liveAK, SecretKey: liveSK, Config: []byte(liveConfig),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	// What runs in the tenant, for the dashboard's rooms and jobs panels:
	// a room with every setting of its own, listed first so that its
	// settings are read at once, with a job under its limit; the rooms
	// and jobs of the events below; a job that failed 5 minutes ago.
	now := time.Now()
	for _, err := range []error{
		sim.Server.AddRoom(liveProject, simulator.Room{ID: "room-studio", Name: "Studio", RepeatCount: new(3),
			Exit:     &simulator.LiveExit{MaxLiveDuration: new(4), MaxExceptionWaitingDuration: new(10)},
			Callback: &simulator.Callback{URL: liveExternal + "/callback/" + liveTenant + "?room=studio", AuthType: simulator.AuthMSSAHead, Key: "e2e-studio-key"}}),
		sim.Server.AddRoom(liveProject, simulator.Room{ID: "room-1"}),
		sim.Server.AddRoom(liveProject, simulator.Room{ID: "room-2"}),
		sim.Server.AddLiveJob(liveProject, simulator.LiveJob{ID: "job-studio", RoomID: "room-studio", StartTime: now.Add(-time.Hour)}),
		sim.Server.AddLiveJob(liveProject, simulator.LiveJob{ID: "job-1", RoomID: "room-1", StartTime: now.Add(-time.Minute)}),
		sim.Server.AddLiveJob(liveProject, simulator.LiveJob{ID: "job-2", RoomID: "room-2", StartTime: now.Add(-time.Minute)}),
		sim.Server.AddLiveJob(liveProject, simulator.LiveJob{ID: "job-0", RoomID: "room-1", State: simulator.JobFailed, ErrorCode: "MSS.00000201",
			StartTime: now.Add(-20 * time.Minute), EndTime: now.Add(-5 * time.Minute)}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}

	// The tenant's own app, behind forward_url: it verifies the relayed
	// signature with code of its own.
	app := newRelayApp(t)

	exporterCfg := writeFile(t, dir, "metastudio.yml", fmt.Sprintf(`defaults:
  timeout: 5s
  rooms: {refresh_interval: 1m}
  live_jobs: {refresh_interval: 15s}
credentials:
  live: {access_key: %q, secret_key: %q}
tenants:
  - name: %s
    project_id: %s
    endpoint: %q
    credentials: live
    callback:
      forward_url: %q
`, liveAK, liveSK, liveTenant, liveProject, sim.URL, app.url))

	// Two replicas, as behind one load balancer.
	type replica struct {
		proc     *process
		metrics  string
		callback string
	}
	var replicas []replica
	for _, name := range []string{"exporter-a", "exporter-b"} {
		metricsAddr, callbackAddr := loopback.FreeAddress(t), loopback.FreeAddress(t)
		p := start(t, dir, name, exporterBin,
			"--config.file="+exporterCfg, "--web.listen-address="+metricsAddr, "--log.level=debug",
			"--scrape.timeout-offset=0.1s",
			"--callback.listen-address="+callbackAddr, "--callback.external-url="+liveExternal)
		replicas = append(replicas, replica{p, metricsAddr, "http://" + callbackAddr})
	}

	hook := newStreamWebhook(t)
	promAddr := startAlerting(ctx, t, dir, amBin, promBin, hook.url, alerting{
		groupBy: "[alertname, tenant, room_id, job_id, output_host]", groupWait: "0s", job: job,
		rules: shortenFor(t, rules.raw, "1s"), targets: []string{replicas[0].metrics, replicas[1].metrics},
	})
	for _, r := range replicas {
		if err := waitReady(ctx, r.proc, "http://"+r.metrics+"/-/ready"); err != nil {
			t.Fatal(err)
		}
	}
	api := &promAPI{base: "http://" + promAddr}
	waitUntil(ctx, t, "both replicas to fetch the tenant's settings", func() (bool, string) {
		n, err := api.query(ctx, `metastudio_up{tenant="`+liveTenant+`"} == 1`)
		return n == 2, fmt.Sprintf("%d replicas up, %v", n, err)
	})

	// MetaStudio, sending as the tenant is configured; each event goes to
	// the replica the load balancer would have picked.
	cb, err := sim.Server.Callback(liveProject)
	if err != nil {
		t.Fatal(err)
	}
	send := func(to int, at time.Time, ev simulator.LiveEvent) time.Time {
		t.Helper()
		s := &simulator.Sender{Origin: replicas[to].callback, Now: func() time.Time { return at }}
		posted := time.Now()
		d, err := s.Send(ctx, cb, ev)
		if err != nil || d.Status != http.StatusOK || d.Body != `{"result":"accepted"}` {
			t.Fatalf("%s %+v to replica %d: %+v, %v", ev.EventType(), ev, to, d, err)
		}
		return posted
	}
	state := func(room, job, st string) simulator.RTMPStreamStateChange {
		return simulator.RTMPStreamStateChange{RoomID: room, JobID: job, State: st,
			OutputURL: "rtmp://" + liveOutput + "/live/" + liveStreamKey + "?auth=e2e-push-auth", StreamKey: liveStreamKey}
	}

	// Two streams come up, on different replicas; the second one stays up
	// throughout and must never page.
	began := time.Now().Add(-time.Minute).Truncate(time.Second)
	send(0, began, state("room-1", "job-1", simulator.StreamConnecting))
	send(0, began.Add(time.Second), state("room-1", "job-1", simulator.StreamConnected))
	send(1, began, state("room-2", "job-2", simulator.StreamConnecting))
	send(1, began.Add(time.Second), state("room-2", "job-2", simulator.StreamConnected))
	send(1, began.Add(2*time.Second), simulator.ShootScriptSwitch{RoomID: "room-2", JobID: "job-2", SceneScriptName: "intro", ShootScriptSequenceNo: 2, ShootScriptTitle: "Welcome"})
	send(0, began.Add(3*time.Second), simulator.ReplyCommandFinish{RoomID: "room-2", JobID: "job-2", ReplyID: "reply-1"})
	waitUntil(ctx, t, "Prometheus to see both streams CONNECTED", func() (bool, string) {
		n, err := api.query(ctx, `stream:metastudio_live_stream_state_timestamp_seconds:max{state="CONNECTED"}`)
		return n == 2, fmt.Sprintf("%d streams, %v", n, err)
	})

	// The drop reaches replica B only.
	dropped := time.Now().Truncate(time.Second)
	posted := send(1, dropped, state("room-1", "job-1", simulator.StreamDisconnected))
	fired := hook.wait(ctx, t, "MetaStudioLiveStreamDisconnected", "firing")
	firingAfter := fired.received.Sub(posted)
	t.Logf("POST of DISCONNECTED → webhook firing: %v (scrape and evaluation every 1s, for shortened to 1s, group_wait 0s)", firingAfter.Round(time.Millisecond))

	wantLabels := map[string]string{
		"alertname": "MetaStudioLiveStreamDisconnected", "severity": "critical", "job": job,
		"tenant": liveTenant, "room_id": "room-1", "job_id": "job-1", "output_host": liveOutput,
	}
	checkStreamAlert(t, rules, fired.alert, wantLabels, "DISCONNECTED", dropped)

	// The recovery reaches replica A only; B still holds DISCONNECTED.
	recovered := time.Now().Truncate(time.Second)
	if !recovered.After(dropped) {
		recovered = dropped.Add(time.Second)
	}
	posted = send(0, recovered, state("room-1", "job-1", simulator.StreamConnected))
	resolved := hook.wait(ctx, t, "MetaStudioLiveStreamDisconnected", "resolved")
	t.Logf("POST of CONNECTED → webhook resolved: %v", resolved.received.Sub(posted).Round(time.Millisecond))
	if resolved.alert.Status != "resolved" || resolved.alert.EndsAt.IsZero() {
		t.Errorf("resolution: status %s, ends %v", resolved.alert.Status, resolved.alert.EndsAt)
	}
	checkStreamAlert(t, rules, resolved.alert, wantLabels, "DISCONNECTED", dropped)

	// Exactly that stream paged, once, and no other stream alert fired,
	// after more rounds in which another would have.
	// (Other alerts may come and go: with every `for` at 1s, one slow
	// scrape is enough for MetaStudioTenantDown.)
	api.waitRounds(ctx, t, 3)
	if got := hook.all("MetaStudioLiveStream"); len(got) != 2 {
		t.Errorf("webhook got %d stream notifications, want 2 (firing, resolved): %v", len(got), got)
	}

	// The relay re-signed every accepted event for the app.
	if got, want := app.verified(), 8; got != want || app.rejected() != 0 {
		t.Errorf("app verified %d relayed events and rejected %d, want %d and 0", got, app.rejected(), want)
	}

	// Nothing secret reached Prometheus.
	var series json.RawMessage
	if err := api.get(ctx, "/api/v1/series", url.Values{"match[]": {`{__name__=~"metastudio_.+|stream:.+"}`}}, &series); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(series), `"output_host":"`+liveOutput+`"`) {
		t.Errorf("no stream series in Prometheus: %.300s", series)
	}
	for _, secret := range []string{liveStreamKey, "e2e-push-auth", liveKey, "/live/"} {
		if strings.Contains(string(series), secret) {
			t.Errorf("a series in Prometheus carries %q", secret)
		}
	}

	// The jobs panels' rates need two listings of the jobs, 15 s apart.
	waitUntil(ctx, t, "Prometheus to see a job's duration grow", func() (bool, string) {
		n, err := api.query(ctx, `delta(metastudio_live_job_duration_seconds[5m]) > 0`)
		return n > 0, fmt.Sprintf("%d series, %v", n, err)
	})
	checkDashboards(ctx, t, api, func(f string) bool { return f == liveDashboard }, []string{liveTenant})
}

// checkStreamAlert holds a webhook alert to the bundled rule and to the
// stream it must be about.
func checkStreamAlert(t *testing.T, rules *bundledRules, a webhookAlert, want map[string]string, state string, since time.Time) {
	t.Helper()
	for k, v := range want {
		if a.Labels[k] != v {
			t.Errorf("label %s=%q, want %q (all: %v)", k, a.Labels[k], v, a.Labels)
		}
	}
	if len(a.Labels) != len(want) {
		t.Errorf("labels %v, want exactly %v: no instance, whichever replica saw the event", a.Labels, want)
	}
	r := rules.alerts[want["alertname"]]
	if a.Annotations["summary"] != r.Annotations["summary"] || a.Annotations["runbook_url"] != runbookPrefix+strings.ToLower(want["alertname"]) {
		t.Errorf("annotations %v do not match the rule", a.Annotations)
	}
	d := a.Annotations["description"]
	wantSince := since.UTC().Format("2006-01-02 15:04:05 -0700 MST")
	for _, s := range []string{want["tenant"], want["room_id"], want["job_id"], want["output_host"], state, wantSince} {
		if !strings.Contains(d, s) {
			t.Errorf("description %q does not contain %q", d, s)
		}
	}
	if strings.Contains(d, liveStreamKey) || strings.Contains(d, "{{") {
		t.Errorf("description %q leaks the stream key or is not expanded", d)
	}
}

// streamWebhook records every alert Alertmanager notifies, with the time it
// arrived.
type streamWebhook struct {
	url string

	mu     sync.Mutex
	got    []notified
	arrive chan struct{}
}

type notified struct {
	received time.Time
	alert    webhookAlert
}

func newStreamWebhook(t *testing.T) *streamWebhook {
	t.Helper()
	h := &streamWebhook{arrive: make(chan struct{}, 100)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		var msg struct {
			Alerts []webhookAlert `json:"alerts"`
		}
		if err := json.NewDecoder(r.Body).Decode(&msg); err != nil {
			http.Error(w, "bad notification", http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		for _, a := range msg.Alerts {
			h.got = append(h.got, notified{now, a})
		}
		h.mu.Unlock()
		select {
		case h.arrive <- struct{}{}:
		default:
		}
	}))
	t.Cleanup(srv.Close)
	h.url = srv.URL + "/alerts"
	return h
}

// wait returns the first notification of the alert with the given status.
func (h *streamWebhook) wait(ctx context.Context, t *testing.T, alertname, status string) notified {
	t.Helper()
	for {
		h.mu.Lock()
		i := slices.IndexFunc(h.got, func(n notified) bool {
			return n.alert.Labels["alertname"] == alertname && n.alert.Status == status
		})
		var n notified
		if i >= 0 {
			n = h.got[i]
		}
		h.mu.Unlock()
		if i >= 0 {
			return n
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no %s notification of %s reached the webhook; got %v", status, alertname, h.all(""))
		case <-h.arrive:
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// all describes the notifications of alerts whose name starts with prefix.
func (h *streamWebhook) all(prefix string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, n := range h.got {
		if strings.HasPrefix(n.alert.Labels["alertname"], prefix) {
			out = append(out, n.alert.Status+" "+fmt.Sprint(n.alert.Labels))
		}
	}
	return out
}

// relayApp is the tenant's own application behind forward_url. It verifies
// MSS_A as the tenant's app would: hwSecret = hex(HMAC-SHA256(key, U +
// hwTime)) with U its own URL as configured in forward_url.
type relayApp struct {
	url string

	mu        sync.Mutex
	good, bad int
}

func newRelayApp(t *testing.T) *relayApp {
	t.Helper()
	a := &relayApp{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		q := r.URL.Query()
		ok := false
		if ts, err := strconv.ParseInt(q.Get("hwTime"), 16, 64); err == nil && time.Since(time.Unix(ts, 0)).Abs() < 10*time.Minute {
			m := hmac.New(sha256.New, []byte(liveKey))
			m.Write([]byte(a.url + q.Get("hwTime")))
			want := hex.EncodeToString(m.Sum(nil))
			ok = hmac.Equal([]byte(strings.ToLower(q.Get("hwSecret"))), []byte(want))
		}
		a.mu.Lock()
		if ok {
			a.good++
		} else {
			a.bad++
		}
		a.mu.Unlock()
		if !ok {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	a.url = srv.URL + "/metastudio/events"
	return a
}

func (a *relayApp) verified() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.good
}

func (a *relayApp) rejected() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.bad
}
