package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/metastudio/simulator"
)

// The seam tests: the whole program, with discovery, reloads and the
// receiver meeting in the tenant set. Each asserts what is served, the
// readiness, and what the state file holds.

// recordingSim is a simulator account behind a proxy that records, for
// every request, its path and the access key it was signed with: where a
// project was called, and with whose credentials.
type recordingSim struct {
	sim   *simulator.Server
	proxy *httptest.Server
	URL   string
	mu    sync.Mutex
	calls []simCall
	held  map[string]chan struct{} // path prefix → closed on release
}

type simCall struct{ path, accessKey string }

var accessKeyRE = regexp.MustCompile(`Access=([^,]+)`)

func startRecordingSim(t *testing.T, tenants ...simulator.Tenant) *recordingSim {
	t.Helper()
	run, err := simulator.Start(simulator.Options{}, tenants...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = run.Close() })
	r := &recordingSim{sim: run.Server, held: map[string]chan struct{}{}}
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var ak string
		if m := accessKeyRE.FindStringSubmatch(req.Header.Get("Authorization")); m != nil {
			ak = m[1]
		}
		r.mu.Lock()
		r.calls = append(r.calls, simCall{req.URL.Path, ak})
		var gate chan struct{}
		for prefix, g := range r.held {
			if strings.HasPrefix(req.URL.Path, prefix) {
				gate = g
			}
		}
		r.mu.Unlock()
		if gate != nil {
			select {
			case <-gate:
			case <-req.Context().Done():
				return
			}
		}
		run.Server.ServeHTTP(w, req)
	}))
	t.Cleanup(proxy.Close)
	r.URL, r.proxy = proxy.URL, proxy
	return r
}

// wantOnlyAccount fails if this account's endpoint was ever called for a
// project that is not its own, or with another access key.
func (r *recordingSim) wantOnlyAccount(t *testing.T, accessKey string, projects ...string) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.calls {
		if c.accessKey != accessKey {
			t.Errorf("%s called with AK %q, want %q", c.path, c.accessKey, accessKey)
		}
		if p, ok := strings.CutPrefix(c.path, "/v1/"); ok {
			if id, _, _ := strings.Cut(p, "/"); !slices.Contains(projects, id) {
				t.Errorf("%s called at the endpoint of another account (%s)", c.path, accessKey)
			}
		}
	}
}

// userConfigCalls counts the calls for a project's user-config.
func (r *recordingSim) userConfigCalls(project string) int {
	return r.callsUnder("/v1/" + project + "/")
}

// projectListPath is IAM's project list, which discovery calls.
const projectListPath = "/v3/auth/projects"

// callsUnder counts the calls whose path starts with prefix, held ones
// included: a call counts from the moment it arrives.
func (r *recordingSim) callsUnder(prefix string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.calls {
		if strings.HasPrefix(c.path, prefix) {
			n++
		}
	}
	return n
}

// waitCalls waits until n calls under prefix have arrived.
func (r *recordingSim) waitCalls(t *testing.T, prefix string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for r.callsUnder(prefix) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d calls under %s within 30s, want %d", r.callsUnder(prefix), prefix, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// hold keeps every call whose path starts with prefix waiting, once
// counted, until release (or until its client goes away): the test decides
// how long a call is in flight, instead of a latency it hopes is long
// enough on a busy machine. The test's end releases what it still holds.
func (r *recordingSim) hold(t *testing.T, prefix string) (release func()) {
	gate := make(chan struct{})
	r.mu.Lock()
	r.held[prefix] = gate
	r.mu.Unlock()
	var once sync.Once
	release = func() {
		once.Do(func() {
			r.mu.Lock()
			if r.held[prefix] == gate {
				delete(r.held, prefix)
			}
			r.mu.Unlock()
			close(gate)
		})
	}
	t.Cleanup(release)
	return release
}

// seedState writes a state file with one connected stream per tenant.
func seedState(t *testing.T, path string, tenants ...string) {
	t.Helper()
	now := time.Now().UnixMilli()
	var streams []string
	for _, tn := range tenants {
		streams = append(streams, fmt.Sprintf(`{"tenant":%q,"room_id":"room","job_id":"job","output_host":"push.example.com","latest":"CONNECTED","states_ms":{"CONNECTED":%d}}`, tn, now))
	}
	if err := os.WriteFile(path, []byte(`{"version":1,"streams":[`+strings.Join(streams, ",")+`],"jobs":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
}

// stateTenants lists the tenants the state file holds streams of, sorted
// and without repeats.
func stateTenants(t *testing.T, path string) []string {
	t.Helper()
	tenants, _ := readState(t, path)
	return tenants
}

// readState returns the tenants the state file holds streams of (sorted,
// without repeats) and the rooms of those streams.
func readState(t *testing.T, path string) (tenants, rooms []string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Streams []struct {
			Tenant string
			RoomID string `json:"room_id"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("%v:\n%s", err, data)
	}
	for _, s := range f.Streams {
		tenants = append(tenants, s.Tenant)
		rooms = append(rooms, s.RoomID)
	}
	slices.Sort(tenants)
	return slices.Compact(tenants), rooms
}

// wantState waits until the state file holds streams of exactly want; the
// file is written at most once a second.
func wantState(t *testing.T, path string, want ...string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := stateTenants(t, path)
		if slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the state file holds streams of %q, want %q", got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// callbackKey signs the live events of the seam tests' tenants.
const callbackKey = "seam-SECRET-callback-key"

// signedCallbackConfig is a user-config whose live events are sent to
// tenant's path on the receiver, signed with MSS_A and callbackKey.
func signedCallbackConfig(tenant string) []byte {
	return []byte(`{"live_exit_config":{"max_live_duration":2},"live_event_callback_config":{"live_event_type_callback_url":"https://mon.example.com/callback/` +
		tenant + `","auth_type":"MSS_A","key":"` + callbackKey + `","callback_event_type":["RTMP_STREAM_STATE_CHANGE"]}}`)
}

// liveEvents sends one tenant's signed live events to a receiver, each
// about a room of its own.
type liveEvents struct {
	receiver string // the receiver's listen address
	tenant   string // a tenant whose user-config is signedCallbackConfig(tenant)
	sent     int
}

// send posts one event and returns its room; the receiver must accept it.
func (l *liveEvents) send(t *testing.T) string {
	t.Helper()
	l.sent++
	room := fmt.Sprintf("room-mark-%d", l.sent)
	sender := &simulator.Sender{Origin: "http://" + l.receiver}
	cb := simulator.Callback{URL: "https://mon.example.com/callback/" + l.tenant, AuthType: "MSS_A", Key: callbackKey}
	d, err := sender.Send(context.Background(), cb, simulator.RTMPStreamStateChange{
		RoomID: room, JobID: "job-mark", OutputURL: "rtmp://push.example.com/live", State: "CONNECTED"})
	if err != nil || d.Status != http.StatusOK {
		t.Fatalf("live event of %s: %d %s, %v", l.tenant, d.Status, d.Body, err)
	}
	return room
}

// wantStateKept checks that the state file holds streams of exactly want
// after everything the test did so far. The file is written on change, so
// a stream that was wrongly dropped would be missing from the next write;
// an event sent now forces that write, and the file is read once it holds
// the event. No interval of the writer is waited out, so a slow machine
// neither fails the check nor lets a wrong drop slip past it.
func wantStateKept(t *testing.T, path string, marker *liveEvents, want ...string) {
	t.Helper()
	room := marker.send(t)
	deadline := time.Now().Add(30 * time.Second)
	for {
		tenants, rooms := readState(t, path)
		if slices.Contains(rooms, room) {
			if !slices.Equal(tenants, want) {
				t.Fatalf("the state file holds streams of %q, want %q", tenants, want)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the state file did not take %s's event within 30s; it holds streams of %q", marker.tenant, tenants)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitUntil(t *testing.T, e *exporter, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen within 30s; log:\n%s", what, e.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (e *exporter) ready(t *testing.T) bool {
	code, _ := e.get(t, "/-/ready")
	return code == http.StatusOK
}

// sdTenants lists the tenants /sd serves, sorted.
func (e *exporter) sdTenants(t *testing.T) []string {
	t.Helper()
	_, body := e.get(t, "/sd")
	var groups []struct{ Labels map[string]string }
	if err := json.Unmarshal([]byte(body), &groups); err != nil {
		t.Fatalf("/sd: %v\n%s", err, body)
	}
	var out []string
	for _, g := range groups {
		out = append(out, g.Labels["__param_tenant"])
	}
	slices.Sort(out)
	return out
}

func wantTenants(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s serves %q, want %q", what, got, want)
	}
}

const (
	akA, skA = "AKACCOUNTA0000000001", "account-a-SECRET-sk"
	akB, skB = "AKACCOUNTB0000000001", "account-b-SECRET-sk"
)

func grepLines(text, substr string) string {
	var out []string
	for line := range strings.Lines(text) {
		if strings.Contains(line, substr) {
			out = append(out, strings.TrimSuffix(line, "\n"))
		}
	}
	return strings.Join(out, "\n")
}
