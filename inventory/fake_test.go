package inventory

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/internal/lockedbuffer"
	"github.com/metastudio-exporter/metastudio_exporter/internal/promtext"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

// TestMain fails the package if a test leaves a refresh running.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// The tests run in synctest bubbles: time is the bubble's fake clock, which
// moves only when every goroutine of the bubble is blocked, and
// synctest.Wait is the signal that every refresh has done what it can.
// The API is a scripted fake: scheduling is what these tests are about.
// What the real client reads from the API as the cloud runs it is tested
// on the simulator (sim_test.go).

// Op of each fake call, as the client names them.
const (
	opListLiveJobs = "list live jobs"
	opListRooms    = "list rooms"
	opShowRoom     = "show room"
)

// apiCall is one call the fake API received.
type apiCall struct {
	op, project, room string
	query             metastudio.JobQuery
	at                time.Time
}

// fakeProject is what the fake API answers for one project.
type fakeProject struct {
	rooms   []metastudio.Room
	total   int // the listing's count; 0 means len(rooms)
	details map[string]*metastudio.RoomDetail
	active  []metastudio.LiveJob
	failed  []metastudio.LiveJob
	// errs are the errors the next calls of each op answer, in order;
	// once used up, calls succeed.
	errs map[string][]error
	// hold, when set, keeps each call of the project until a value is
	// received from it or the call's context ends.
	hold chan struct{}
}

// fakeAPI is a scripted API that records every call.
type fakeAPI struct {
	mu       sync.Mutex
	projects map[string]*fakeProject
	calls    []apiCall
	inFlight int
	peak     int // most calls in flight at once
}

func newFakeAPI() *fakeAPI { return &fakeAPI{projects: map[string]*fakeProject{}} }

func (f *fakeAPI) project(id string) *fakeProject {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.projects[id]
	if p == nil {
		p = &fakeProject{details: map[string]*metastudio.RoomDetail{}, errs: map[string][]error{}}
		f.projects[id] = p
	}
	return p
}

// enter records a call and returns its project and scripted error.
func (f *fakeAPI) enter(ctx context.Context, c apiCall) (*fakeProject, error) {
	c.at = time.Now()
	f.mu.Lock()
	f.calls = append(f.calls, c)
	p := f.projects[c.project]
	var err error
	if p != nil && len(p.errs[c.op]) > 0 {
		err, p.errs[c.op] = p.errs[c.op][0], p.errs[c.op][1:]
	}
	f.inFlight++
	f.peak = max(f.peak, f.inFlight)
	var hold chan struct{}
	if p != nil {
		hold = p.hold
	}
	f.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			err = &metastudio.Error{Reason: metastudio.ReasonTimeout, Op: c.op, Err: ctx.Err()}
		}
	}
	f.mu.Lock()
	f.inFlight--
	f.mu.Unlock()
	if p == nil && err == nil {
		err = &metastudio.Error{Reason: metastudio.ReasonClientError, StatusCode: 404, ErrorCode: "MSS.00000004", Op: c.op}
	}
	return p, err
}

func (f *fakeAPI) ListRooms(ctx context.Context, t metastudio.Target, max int) ([]metastudio.Room, int, error) {
	p, err := f.enter(ctx, apiCall{op: opListRooms, project: t.ProjectID})
	if err != nil {
		return nil, 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	total := p.total
	if total == 0 {
		total = len(p.rooms)
	}
	return slices.Clone(p.rooms[:min(max, len(p.rooms))]), total, nil
}

func (f *fakeAPI) GetRoom(ctx context.Context, t metastudio.Target, roomID string) (*metastudio.RoomDetail, error) {
	p, err := f.enter(ctx, apiCall{op: opShowRoom, project: t.ProjectID, room: roomID})
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	d, ok := p.details[roomID]
	if !ok {
		return nil, &metastudio.Error{Reason: metastudio.ReasonClientError, StatusCode: 404, ErrorCode: "MSS.00000004", ErrorMsg: "room not found", Op: opShowRoom}
	}
	return d, nil
}

func (f *fakeAPI) ListLiveJobs(ctx context.Context, t metastudio.Target, q metastudio.JobQuery) ([]metastudio.LiveJob, int, error) {
	p, err := f.enter(ctx, apiCall{op: opListLiveJobs, project: t.ProjectID, query: q})
	if err != nil {
		return nil, 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	jobs := p.active
	if slices.Contains(q.States, metastudio.JobFailed) {
		jobs = p.failed
	}
	return slices.Clone(jobs[:min(q.Max, len(jobs))]), len(jobs), nil
}

// callsOf returns the calls of op (all ops for "") so far.
func (f *fakeAPI) callsOf(op string) []apiCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []apiCall
	for _, c := range f.calls {
		if op == "" || c.op == op {
			out = append(out, c)
		}
	}
	return out
}

// script sets the errors the next calls of op on project answer.
func (f *fakeAPI) script(project, op string, errs ...error) {
	p := f.project(project)
	f.mu.Lock()
	defer f.mu.Unlock()
	p.errs[op] = append(p.errs[op], errs...)
}

// testTenant is a tenant of project p-{name} with every key at its
// default, as a config that sets none loads, then changed by each of with.
func testTenant(name string, with ...func(*config.Settings)) *config.Tenant {
	s := config.BuiltinSettings()
	for _, f := range with {
		f(&s)
	}
	return config.NewTenant(config.Tenant{
		Target: metastudio.Target{
			Name:        name,
			ProjectID:   "p-" + name,
			Endpoint:    "https://metastudio.cn-north-4.myhuaweicloud.com",
			Credentials: metastudio.Credentials{AccessKey: "AK", SecretKey: "SK-not-shown"},
		},
		Settings: s,
	})
}

// Changes of a tenant's rooms: and live_jobs: keys, for testTenant.
func jobsOnly(s *config.Settings)  { s.Rooms.RefreshInterval = 0 }
func roomsOnly(s *config.Settings) { s.LiveJobs.RefreshInterval = 0 }

func roomsEvery(interval time.Duration, maxRooms int) func(*config.Settings) {
	return func(s *config.Settings) { s.Rooms = config.Rooms{RefreshInterval: interval, MaxRooms: maxRooms} }
}

func jobsEvery(interval, failedWindow time.Duration) func(*config.Settings) {
	return func(s *config.Settings) {
		s.LiveJobs = config.LiveJobs{RefreshInterval: interval, FailedWindow: failedWindow}
	}
}

// newTestInventory is an Inventory on api whose log goes to the returned
// buffer.
func newTestInventory(t *testing.T, api API) (*Inventory, *lockedbuffer.Buffer) {
	t.Helper()
	logs := &lockedbuffer.Buffer{}
	inv := New(api, Options{Logger: log.NewLogfmtLogger(logs)})
	t.Cleanup(inv.Close)
	return inv, logs
}

// serve collects kinds of tenants once, as a scrape does, and returns the
// exposition.
func serve(t *testing.T, inv *Inventory, kinds Kinds, tenants ...*config.Tenant) string {
	t.Helper()
	return promtext.Gather(t, inv.Collector(kinds, nil, tenants...))
}

// serveEvery serves tenants every `every` for d, keeping them in demand
// while the refreshes run on the bubble's clock.
func serveEvery(t *testing.T, inv *Inventory, every, d time.Duration, tenants ...*config.Tenant) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); {
		serve(t, inv, Kinds{Rooms: true, Jobs: true}, tenants...)
		time.Sleep(min(every, time.Until(end)))
	}
}

// compare checks the collected series of names against want.
func compare(t *testing.T, inv *Inventory, tenant *config.Tenant, want string, names ...string) {
	t.Helper()
	if err := testutil.CollectAndCompare(inv.Collector(Kinds{Rooms: true, Jobs: true}, nil, tenant), strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
}

// offsets are the calls' times after start.
func offsets(calls []apiCall, start time.Time) []time.Duration {
	out := make([]time.Duration, len(calls))
	for i, c := range calls {
		out[i] = c.at.Sub(start)
	}
	return out
}
