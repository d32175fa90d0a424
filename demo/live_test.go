package demo

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
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
)

// side is what a receiver must know to verify callbacks.
type side struct {
	url, auth, key string
	status         int // what the test receiver answers
}

// receiverSide is what a receiver must know of each demo tenant to verify
// its callbacks: written out here, not read from the demo, so that the
// demo's settings are pinned too.
var receiverSide = map[string]side{
	"demo-safe":     {"https://mon.example.com:10037/callback/demo-safe", "MSS_A", "demo-callback-signing-key", http.StatusOK},
	"demo-risky":    {"http://mon.example.com:10037/callback/demo-risky?access_token=demo-token-in-url", "NONE", "", http.StatusOK},
	"demo-rejected": {"https://mon.example.com:10037/callback/demo-rejected", "MSS_A_HEAD", "demo-callback-signing-key", http.StatusServiceUnavailable},
}

// jobSide is the same for the jobs whose room has a callback of its own,
// which signs their events instead of their tenant's.
var jobSide = map[string]side{
	"demo-safe/job-own-app": {"https://mon.example.com:10037/callback/demo-safe", "MSS_A_HEAD", "demo-room-own-signing-key", http.StatusOK},
}

type gotEvent struct {
	tenant, eventType string
	msg               map[string]any
}

// testReceiver verifies every callback with its own code and records the
// events.
type testReceiver struct {
	mu     sync.Mutex
	events []gotEvent
	errs   []string
}

func (rc *testReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tenant, _ := strings.CutPrefix(r.URL.Path, "/callback/")
	ev, status, err := rc.verify(tenant, r)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err != nil {
		rc.errs = append(rc.errs, fmt.Sprintf("%s %s: %v", r.Method, r.URL.Path, err))
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	rc.events = append(rc.events, ev)
	w.WriteHeader(status)
}

// verify verifies a callback with the settings of its tenant, or of its
// job if its room has a callback of its own, and returns its event and
// the status to answer.
func (rc *testReceiver) verify(tenant string, r *http.Request) (gotEvent, int, error) {
	side, ok := receiverSide[tenant]
	if !ok || r.Method != http.MethodPost {
		return gotEvent{}, 0, errors.New("unknown tenant or not a POST")
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return gotEvent{}, 0, err
	}
	var env struct {
		EventType string `json:"event_type"`
		Message   string `json:"message"`
	}
	ev := gotEvent{tenant: tenant}
	if err := json.Unmarshal(body, &env); err != nil || json.Unmarshal([]byte(env.Message), &ev.msg) != nil {
		return gotEvent{}, 0, fmt.Errorf("body %s is not an event whose message is a JSON object", body)
	}
	ev.eventType = env.EventType
	if own, ok := jobSide[fmt.Sprint(tenant, "/", ev.msg["job_id"])]; ok {
		side = own
	}
	return ev, side.status, side.check(r)
}

// check verifies the signature or URL credentials of r.
func (side side) check(r *http.Request) error {
	q := r.URL.Query()
	var secret, hwTime string
	switch side.auth {
	case "MSS_A":
		secret, hwTime = q.Get("hwSecret"), q.Get("hwTime")
	case "MSS_A_HEAD":
		secret, hwTime = r.Header.Get("x-hw-mss-secret"), r.Header.Get("x-hw-mss-time")
		if q.Has("hwSecret") {
			return errors.New("MSS_A_HEAD request with hwSecret in the query")
		}
	case "NONE":
		want, _ := url.Parse(side.url)
		if q.Encode() != want.Query().Encode() {
			return fmt.Errorf("query %q, want the configured URL's", r.URL.RawQuery)
		}
	}
	if side.auth != "NONE" {
		sec, err := strconv.ParseInt(hwTime, 16, 64)
		if err != nil || time.Since(time.Unix(sec, 0)).Abs() > time.Minute {
			return fmt.Errorf("hwTime %q is not hex Unix seconds of now", hwTime)
		}
		m := hmac.New(sha256.New, []byte(side.key))
		m.Write([]byte(side.url + hwTime))
		if want := hex.EncodeToString(m.Sum(nil)); secret != want {
			return errors.New("hwSecret does not verify")
		}
	}
	return nil
}

// snapshot returns the events so far, the rejections and, per stream
// (tenant/room/job), the states in arrival order.
func (rc *testReceiver) snapshot() ([]gotEvent, []string, map[string][]string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	states := map[string][]string{}
	for _, e := range rc.events {
		if e.eventType == "RTMP_STREAM_STATE_CHANGE" {
			k := fmt.Sprintf("%s/%v/%v", e.tenant, e.msg["room_id"], e.msg["job_id"])
			states[k] = append(states[k], e.msg["state"].(string))
		}
	}
	return slices.Clone(rc.events), slices.Clone(rc.errs), states
}

func TestRunLiveJobs(t *testing.T) {
	d, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	rc := &testReceiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	// A hundredth of real time: a 55 s flap cycle takes 0.55 s.
	go func() { done <- d.runLiveJobs(ctx, srv.URL, 0.01, nil) }()

	// Run until every job has been through a drop and the steady job has
	// finished a reply; the deadline is only there to end a broken run.
	deadline := time.After(30 * time.Second)
	for {
		events, errs, states := rc.snapshot()
		if len(errs) > 0 {
			t.Fatalf("receiver rejected a callback: %s", errs[0])
		}
		fullCycle := func(k string) bool { return len(states[k]) >= 5 }
		if fullCycle("demo-safe/room-flash-sale/job-flaky") && fullCycle("demo-safe/room-night-stream/job-outage") &&
			fullCycle("demo-safe/room-morning-show/job-steady") && fullCycle("demo-rejected/room-rejected/job-rejected") &&
			fullCycle("demo-safe/room-own-app/job-own-app") &&
			slices.ContainsFunc(events, func(e gotEvent) bool { return e.tenant == "demo-safe" && e.eventType == "REPLY_COMMAND_FINISH" }) &&
			slices.ContainsFunc(events, func(e gotEvent) bool { return e.tenant == "demo-risky" }) {
			break
		}
		select {
		case <-deadline:
			t.Fatalf("the jobs did not get through a cycle: %d events, states %v", len(events), states)
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("RunLiveJobs = %v, want nil after the context ends", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("RunLiveJobs did not return after the context ended")
	}

	events, errs, states := rc.snapshot()
	for _, e := range errs {
		t.Errorf("receiver rejected a callback: %s", e)
	}

	// Each stream connects once, then cycles through drop and recovery.
	for k, ss := range states {
		want := []string{"CONNECTING", "CONNECTED"}
		for len(want) < len(ss) {
			want = append(want, "DISCONNECTED", "RECONNECTING", "CONNECTED")
		}
		if !slices.Equal(ss, want[:len(ss)]) {
			t.Errorf("%s: states %v, want the cycle %v", k, ss, want[:len(ss)])
		}
	}
	// demo-risky subscribes to script switches only: its stream states are
	// never sent.
	if _, ok := states["demo-risky/room-risky/job-risky"]; ok {
		t.Error("demo-risky got stream state events it does not subscribe to")
	}

	types := map[string][]string{}
	seqs := map[string][]float64{}
	for _, e := range events {
		if !slices.Contains(types[e.tenant], e.eventType) {
			types[e.tenant] = append(types[e.tenant], e.eventType)
		}
		switch e.eventType {
		case "SHOOT_SCRIPT_SWITCH":
			k := fmt.Sprint(e.msg["room_id"], "/", e.msg["job_id"])
			seqs[k] = append(seqs[k], e.msg["shoot_script_sequence_no"].(float64))
		case "RTMP_STREAM_STATE_CHANGE":
			u, err := url.Parse(e.msg["output_url"].(string))
			if err != nil || u.Scheme != "rtmp" || !strings.HasSuffix(u.Path, "/"+e.msg["stream_key"].(string)) {
				t.Errorf("output_url %v does not push to rtmp with the stream key %v", e.msg["output_url"], e.msg["stream_key"])
			}
		}
	}
	for tenant, want := range map[string][]string{
		"demo-safe":     {"REPLY_COMMAND_FINISH", "RTMP_STREAM_STATE_CHANGE", "SHOOT_SCRIPT_SWITCH"},
		"demo-risky":    {"SHOOT_SCRIPT_SWITCH"},
		"demo-rejected": {"REPLY_COMMAND_FINISH", "RTMP_STREAM_STATE_CHANGE", "SHOOT_SCRIPT_SWITCH"},
	} {
		got := types[tenant]
		slices.Sort(got)
		// The rejected job may not have reached a reply; the others must
		// have sent every type they subscribe to.
		if tenant == "demo-rejected" {
			got = slices.DeleteFunc(got, func(s string) bool { return s == "REPLY_COMMAND_FINISH" })
			want = want[1:]
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s sent %v, want %v", tenant, got, want)
		}
	}
	// The script advances one paragraph at a time and loops.
	for k, ps := range seqs {
		for i, p := range ps {
			if want := float64(i%paragraphs + 1); p != want {
				t.Errorf("%s: paragraphs %v, want 1, 2, … looping after %d", k, ps, paragraphs)
				break
			}
		}
	}
}

func TestRunLiveJobsBadURL(t *testing.T) {
	d, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, u := range []string{"", "127.0.0.1:10037", "ftp://h/", "http://"} {
		err := d.RunLiveJobs(context.Background(), u)
		if want := fmt.Sprintf("demo live jobs: receiver URL %q is not http(s)://host:port", u); err == nil || err.Error() != want {
			t.Errorf("RunLiveJobs(%q) = %v, want %q", u, err, want)
		}
	}
}
