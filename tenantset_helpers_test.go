package main

import (
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
	r := &recordingSim{sim: run.Server}
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var ak string
		if m := accessKeyRE.FindStringSubmatch(req.Header.Get("Authorization")); m != nil {
			ak = m[1]
		}
		r.mu.Lock()
		r.calls = append(r.calls, simCall{req.URL.Path, ak})
		r.mu.Unlock()
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
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.calls {
		if strings.HasPrefix(c.path, "/v1/"+project+"/") {
			n++
		}
	}
	return n
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

// stateTenants lists the tenants the state file holds streams of, sorted.
func stateTenants(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Streams []struct{ Tenant string } `json:"streams"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("%v:\n%s", err, data)
	}
	var out []string
	for _, s := range f.Streams {
		out = append(out, s.Tenant)
	}
	slices.Sort(out)
	return out
}

// wantState waits until the state file holds streams of exactly want; the
// file is written at most once a second.
func wantState(t *testing.T, path string, want ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
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

// wantStateStays checks the state file over a few seconds of writes.
func wantStateStays(t *testing.T, path string, want ...string) {
	t.Helper()
	for range 3 {
		time.Sleep(600 * time.Millisecond) // the writer runs at most once a second
		if got := stateTenants(t, path); !slices.Equal(got, want) {
			t.Fatalf("the state file holds streams of %q, want %q", got, want)
		}
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
