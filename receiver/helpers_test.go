package receiver

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/metastudio-exporter/metastudio_exporter/internal/fakeclock"
	"github.com/metastudio-exporter/metastudio_exporter/internal/lockedbuffer"
)

// Secrets the tests plant; none may show up in any answer, metric, log line
// or state file.
const (
	testKey       = "cb-key-Zq81"
	rotatedKey    = "cb-key-rotated-Pw33"
	urlPassword   = "url-pass-Hn27"
	urlToken      = "url-token-Ty55"
	streamKeyText = "stream-key-Kd92"
	outputPath    = "live-app-Vb40"
	outputQuery   = "auth-Qx71"
	forwardSecret = "fwd-secret-Lm66"
)

// t0 is the tests' clock start: a whole second, so that hwTime round-trips.
var t0 = time.Date(2026, 11, 29, 4, 0, 0, 0, time.UTC)

// fakeSource serves settings per tenant as a cache would: cached answers
// until a fresh fetch, which takes the "API's" current settings.
type fakeSource struct {
	mu      sync.Mutex
	cached  map[string]TenantSettings
	api     map[string]TenantSettings
	failing map[string]bool
	calls   map[bool]int // by fresh
	// freshFails makes refetches, and listings of live jobs, fail while
	// cached settings are served.
	freshFails map[string]bool
	// now, when set, stamps FetchedAt on what a fresh fetch caches.
	now func() time.Time
	// afterSettings, when set, runs after each Settings answer, outside
	// the source's lock: a test's hook for what happens meanwhile.
	afterSettings func(tenant string)
	// jobs are the jobs with a callback of their own "running" by tenant
	// and job id, listedJobs those the last listing found; a job with a
	// nil callback runs with its tenant's. jobListings counts listings.
	jobs, listedJobs map[string]map[string]*JobCallback
	jobListings      map[string]int
}

func newSource(tenants map[string]TenantSettings) *fakeSource {
	s := &fakeSource{cached: map[string]TenantSettings{}, api: map[string]TenantSettings{}, failing: map[string]bool{}, calls: map[bool]int{},
		jobs: map[string]map[string]*JobCallback{}, listedJobs: map[string]map[string]*JobCallback{}, jobListings: map[string]int{}}
	for n, ts := range tenants {
		s.cached[n], s.api[n] = ts, ts
	}
	return s
}

var errAPIDown = errors.New("API down")

func (s *fakeSource) Settings(_ context.Context, tenant string, fresh bool) (TenantSettings, error) {
	s.mu.Lock()
	hook := s.afterSettings
	ts, err := s.settings(tenant, fresh)
	s.mu.Unlock()
	if hook != nil {
		hook(tenant)
	}
	return ts, err
}

func (s *fakeSource) settings(tenant string, fresh bool) (TenantSettings, error) {
	s.calls[fresh]++
	if s.failing[tenant] || fresh && s.freshFails[tenant] {
		return TenantSettings{}, errAPIDown
	}
	ts, ok := s.api[tenant]
	if !ok {
		return TenantSettings{}, ErrUnknownTenant
	}
	if fresh {
		if s.now != nil {
			ts.FetchedAt = s.now()
		}
		s.cached[tenant] = ts
	}
	return s.cached[tenant], nil
}

func (s *fakeSource) JobCallback(_ context.Context, tenant, jobID string, refresh bool) (*JobCallback, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.api[tenant]; !ok {
		return nil, ErrUnknownTenant
	}
	if refresh {
		s.jobListings[tenant]++
		if s.failing[tenant] || s.freshFails[tenant] {
			return nil, errAPIDown
		}
		s.listedJobs[tenant] = maps.Clone(s.jobs[tenant])
	}
	cb, ok := s.listedJobs[tenant][jobID]
	if !ok {
		return nil, ErrUnknownJob
	}
	return cb, nil
}

// startJob makes a job of tenant run with cb (nil: the tenant's callback),
// known to the source's listings from the next one on.
func (s *fakeSource) startJob(tenant, jobID string, cb *JobCallback) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.jobs[tenant] == nil {
		s.jobs[tenant] = map[string]*JobCallback{}
	}
	s.jobs[tenant][jobID] = cb
}

func (s *fakeSource) listings(tenant string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.jobListings[tenant]
}

// Serves is the tenant set: the tenants the "API" knows.
func (s *fakeSource) Serves(tenant string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.api[tenant]
	return ok
}

// remove takes tenant out of the tenant set.
func (s *fakeSource) remove(tenant string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.api, tenant)
	delete(s.cached, tenant)
}

// rotate changes a tenant's settings at the "API" only.
func (s *fakeSource) rotate(tenant string, f func(*TenantSettings)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ts := s.api[tenant]
	f(&ts)
	s.api[tenant] = ts
}

func (s *fakeSource) freshCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[true]
}

// The tests' tenants.
const (
	mssURL  = "https://cb:" + urlPassword + "@mon.example.com:10037/callback/mss"
	mssPath = "/callback/mss"
	noneURL = "https://mon.example.com:10037/callback/none?token=" + urlToken + "&v=2"
)

func testTenants() map[string]TenantSettings {
	return map[string]TenantSettings{
		"mss":     {AuthType: "MSS_A", Key: testKey, CallbackURL: mssURL},
		"head":    {AuthType: "MSS_A_HEAD", Key: testKey, CallbackURL: "https://mon.example.com/callback/head"},
		"none":    {AuthType: "NONE", CallbackURL: noneURL},
		"open":    {AuthType: "NONE", CallbackURL: "https://mon.example.com/callback/open"},
		"openok":  {AuthType: "", CallbackURL: "https://mon.example.com/callback/openok", AllowUnauthenticated: true},
		"nokey":   {AuthType: "MSS_A", CallbackURL: "https://mon.example.com/callback/nokey"},
		"meituan": {AuthType: "MEITUAN_DEFAULT", Key: testKey, CallbackURL: "https://mon.example.com/callback/meituan"},
		"weird":   {AuthType: "FANCY_AUTH", Key: testKey, CallbackURL: "https://mon.example.com/callback/weird"},
		"down":    {AuthType: "MSS_A", Key: testKey},
	}
}

type harness struct {
	rc     *Receiver
	src    *fakeSource
	clock  *fakeclock.Clock
	logBuf *lockedbuffer.Buffer
}

// newHarness builds a receiver over testTenants with a debug logger into a
// buffer and a fake clock.
func newHarness(t testing.TB, opts Options) *harness {
	t.Helper()
	h := &harness{src: newSource(testTenants()), clock: fakeclock.New(t0), logBuf: &lockedbuffer.Buffer{}}
	h.src.failing["down"] = true
	opts.Logger = log.NewLogfmtLogger(h.logBuf) // every level, debug included
	opts.Now = h.clock.Now
	opts.AfterFunc = h.clock.AfterFunc
	rc, err := New(opts, h.src)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rc.Close() })
	h.rc = rc
	return h
}

// sign is the test's own MSS_A signature, written apart from the package's.
func sign(key, u string, at time.Time) (hwSecret, hwTime string) {
	hwTime = strconv.FormatInt(at.Unix(), 16)
	m := hmac.New(sha256.New, []byte(key))
	io.WriteString(m, u+hwTime)
	return hex.EncodeToString(m.Sum(nil)), hwTime
}

func signedQuery(key, u string, at time.Time) string {
	s, tm := sign(key, u, at)
	return "hwSecret=" + s + "&hwTime=" + tm
}

// request is one callback as a test sends it.
type request struct {
	method string
	path   string
	query  string
	header map[string]string
	body   string
}

type answer struct {
	status int
	body   string
	header http.Header
}

func (h *harness) do(r request) answer {
	if r.method == "" {
		r.method = http.MethodPost
	}
	target := r.path
	if r.query != "" {
		target += "?" + r.query
	}
	req := httptest.NewRequest(r.method, target, strings.NewReader(r.body))
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.rc.Handler().ServeHTTP(w, req)
	return answer{status: w.Code, body: w.Body.String(), header: w.Header()}
}

// postMSS posts body to tenant mss signed at the clock's now.
func (h *harness) postMSS(body string) answer {
	return h.do(request{path: "/callback/mss", query: signedQuery(testKey, mssURL, h.clock.Now()), body: body})
}

// postNone posts body to tenant none with its URL credentials.
func (h *harness) postNone(body string) answer {
	return h.do(request{path: "/callback/none", query: "token=" + urlToken + "&v=2", body: body})
}

// eventBody builds a request body whose message is a JSON-encoded string.
func eventBody(eventType string, msg map[string]any) string {
	m, _ := json.Marshal(msg)
	b, _ := json.Marshal(map[string]string{"event_type": eventType, "message": string(m)})
	return string(b)
}

func rtmpBody(room, job, host, state string) string {
	return eventBody("RTMP_STREAM_STATE_CHANGE", map[string]any{
		"room_id": room, "job_id": job, "state": state,
		"output_url": "rtmp://" + host + "/" + outputPath + "/" + streamKeyText + "?" + outputQuery + "=1",
		"stream_key": streamKeyText,
	})
}

func switchBody(room, job string, seq int) string {
	return eventBody("SHOOT_SCRIPT_SWITCH", map[string]any{
		"room_id": room, "job_id": job, "scene_script_name": "scene", "shoot_script_sequence_no": seq, "shoot_script_title": "t",
	})
}

func answerJSON(res, detail string) string {
	if detail == "" {
		return `{"result":"` + res + `"}`
	}
	return `{"result":"` + res + `","error":"` + detail + `"}`
}

func compare(t testing.TB, c prometheus.Collector, want string, names ...string) {
	t.Helper()
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
}

// doChunked sends r as a body of unknown length.
func (h *harness) doChunked(r request) answer {
	req := httptest.NewRequest(http.MethodPost, r.path+"?"+r.query, io.NopCloser(strings.NewReader(r.body)))
	req.ContentLength = -1
	w := httptest.NewRecorder()
	h.rc.Handler().ServeHTTP(w, req)
	return answer{status: w.Code, body: w.Body.String(), header: w.Header()}
}

// plantedSecrets are the values that must never leave the receiver.
var plantedSecrets = []string{testKey, rotatedKey, roomKey, urlPassword, urlToken, streamKeyText, outputPath, outputQuery, forwardSecret}

func assertNoSecret(t testing.TB, where, text string) {
	t.Helper()
	for _, s := range plantedSecrets {
		if strings.Contains(text, s) {
			t.Errorf("%s holds the secret %q:\n%s", where, s, text)
		}
	}
}
