package collector

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/internal/fakeclock"
	"github.com/metastudio-exporter/metastudio_exporter/internal/lockedbuffer"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

// t0 is where the clock a Scraper and its test share starts.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// answer is one scripted upstream outcome.
type answer struct {
	maxLiveHours int
	err          error
}

// scriptFetcher answers calls from a script, in order, and counts them.
type scriptFetcher struct {
	t      *testing.T
	mu     sync.Mutex
	script []answer
	calls  int
}

func (f *scriptFetcher) GetUserConfig(_ context.Context, _ metastudio.Target) (*metastudio.UserConfig, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if len(f.script) == 0 {
		f.t.Errorf("call %d was not expected", f.calls)
		return nil, &metastudio.Error{Reason: metastudio.ReasonServerError, Op: metastudio.OpGetUserConfig}
	}
	a := f.script[0]
	f.script = f.script[1:]
	if a.err != nil {
		return nil, a.err
	}
	h := a.maxLiveHours
	return &metastudio.UserConfig{LiveExitConfig: &metastudio.LiveExitConfig{MaxLiveDuration: &h}}, nil
}

func (f *scriptFetcher) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func throttled(code string, retryAfter time.Duration) error {
	return &metastudio.Error{Reason: metastudio.ReasonThrottled, StatusCode: 429, ErrorCode: code, RetryAfter: retryAfter, Op: metastudio.OpGetUserConfig}
}

var serverError = &metastudio.Error{Reason: metastudio.ReasonServerError, StatusCode: 500, ErrorCode: "MSS.00000001", Op: metastudio.OpGetUserConfig}

// step scrapes tenant at the clock's time at and checks the outcome: a
// settings value and data age, or an error reason and code, and the call
// count so far.
type step struct {
	at        time.Duration
	hours     int
	age       time.Duration
	reason    metastudio.Reason
	code      string
	callsThen int
}

func runSteps(t *testing.T, s *Scraper, clock *fakeclock.Clock, f *scriptFetcher, tenant *config.Tenant, steps []step) {
	t.Helper()
	start := clock.Now()
	for _, st := range steps {
		clock.Set(start.Add(st.at))
		r := s.fetch(context.Background(), tenant, true)
		where := fmt.Sprintf("at +%s", st.at)
		switch {
		case st.reason == "" && r.err != nil:
			t.Errorf("%s: %v, want settings", where, r.err)
		case st.reason == "" && (r.settings.MaxLiveDurationHours != st.hours || r.age != st.age):
			t.Errorf("%s: %dh aged %s, want %dh aged %s", where, r.settings.MaxLiveDurationHours, r.age, st.hours, st.age)
		case st.reason != "" && (metastudio.ReasonOf(r.err) != st.reason || metastudio.ErrorCodeOf(r.err) != st.code):
			t.Errorf("%s: %v, want reason %s code %q", where, r.err, st.reason, st.code)
		}
		if got := f.callCount(); got != st.callsThen {
			t.Errorf("%s: %d calls so far, want %d", where, got, st.callsThen)
		}
	}
}

func newTestScraper(f Fetcher, clock *fakeclock.Clock, logs *lockedbuffer.Buffer) *Scraper {
	opts := Options{MaxConcurrency: 4, Now: clock.Now, Rand: func() float64 { return 0.5 }}
	if logs != nil {
		opts.Logger = log.NewLogfmtLogger(logs)
	}
	return NewScraper(f, opts)
}

func TestCacheServesWithinMaxAgeOnly(t *testing.T) {
	f := &scriptFetcher{t: t, script: []answer{{maxLiveHours: 1}, {err: serverError}, {err: serverError}, {maxLiveHours: 2}}}
	clock := fakeclock.New(t0)
	tenant := testTenant("cached")
	tenant.MaxCacheAge = time.Minute
	runSteps(t, newTestScraper(f, clock, nil), clock, f, tenant, []step{
		{at: 0, hours: 1, callsThen: 1},
		{at: 30 * time.Second, hours: 1, age: 30 * time.Second, callsThen: 1},
		{at: time.Minute, hours: 1, age: time.Minute, callsThen: 1},
		// Past the age: the failure shows; the old answer is not served.
		{at: time.Minute + time.Millisecond, reason: metastudio.ReasonServerError, code: "MSS.00000001", callsThen: 2},
		{at: time.Minute + 2*time.Millisecond, reason: metastudio.ReasonServerError, code: "MSS.00000001", callsThen: 3},
		{at: 2 * time.Minute, hours: 2, callsThen: 4},
		{at: 2*time.Minute + time.Second, hours: 2, age: time.Second, callsThen: 4},
	})
}

func TestNoCacheWhenMaxAgeIsZero(t *testing.T) {
	f := &scriptFetcher{t: t, script: []answer{{maxLiveHours: 1}, {maxLiveHours: 2}, {maxLiveHours: 3}}}
	clock := fakeclock.New(t0)
	runSteps(t, newTestScraper(f, clock, nil), clock, f, testTenant("uncached"), []step{
		{at: 0, hours: 1, callsThen: 1},
		{at: 0, hours: 2, callsThen: 2},
		{at: time.Second, hours: 3, callsThen: 3},
	})
}

// TestCacheKeyedByIdentity: an answer is served only to the tenant it was
// fetched for; a reload that changes the project, endpoint or a secret of a
// tenant of the same name calls again.
func TestCacheKeyedByIdentity(t *testing.T) {
	f := &scriptFetcher{t: t, script: []answer{{maxLiveHours: 1}, {maxLiveHours: 2}, {maxLiveHours: 3}}}
	clock := fakeclock.New(t0)
	s := newTestScraper(f, clock, nil)
	tenant := testTenant("same-name")
	tenant.MaxCacheAge = time.Hour
	rotated := with(tenant, func(t *config.Tenant) { t.Credentials.SecretKey = "SK-rotated" })
	moved := with(tenant, func(t *config.Tenant) { t.ProjectID = "p-other" })
	for i, tc := range []struct {
		tenant *config.Tenant
		hours  int
	}{{tenant, 1}, {rotated, 2}, {moved, 3}, {tenant, 1}, {rotated, 2}} {
		if r := s.fetch(context.Background(), tc.tenant, true); r.err != nil || r.settings.MaxLiveDurationHours != tc.hours {
			t.Errorf("scrape %d: %dh (%v), want %dh", i, r.settings.MaxLiveDurationHours, r.err, tc.hours)
		}
	}
	if f.callCount() != 3 {
		t.Errorf("%d calls, want 3", f.callCount())
	}
	// The reload keeps only the rotated tenant: the others' answers go.
	s.Retain([]*config.Tenant{rotated})
	if n := s.states.len(); n != 1 {
		t.Errorf("%d states after Retain, want 1", n)
	}
	f.script = append(f.script, answer{maxLiveHours: 4})
	if r := s.fetch(context.Background(), tenant, true); r.settings.MaxLiveDurationHours != 4 {
		t.Errorf("the pruned tenant was served %dh, want a new call's 4h", r.settings.MaxLiveDurationHours)
	}
}

// TestStateKeyCoversIdentityOnly: the config package proves that every
// field of the client's target enters the key; here, that the settings
// which do not decide whose data an answer is keep the state.
func TestStateKeyCoversIdentityOnly(t *testing.T) {
	base := testTenant("k")
	same := with(base, func(t *config.Tenant) {
		t.Timeout, t.MaxCacheAge, t.Region = time.Second, time.Hour, "ap-southeast-1"
		t.Policy = config.Policy{MaxLiveDuration: time.Hour}
		t.CredentialsName = "renamed"
	})
	if same.Key() != base.Key() {
		t.Error("settings that do not decide whose data an answer is change the state key")
	}
	if with(base, func(t *config.Tenant) { t.Name += "x" }).Key() == base.Key() {
		t.Error("a renamed tenant keeps the state key")
	}
}

func TestBackoffWindow(t *testing.T) {
	for _, tc := range []struct {
		throttles  int
		retryAfter time.Duration
		r          float64
		want       time.Duration
	}{
		{1, 0, 0.5, 30 * time.Second},
		{2, 0, 0.5, time.Minute},
		{3, 0, 0.5, 2 * time.Minute},
		{5, 0, 0.5, 8 * time.Minute},
		{6, 0, 0.5, 10 * time.Minute},
		{1000, 0, 0.5, 10 * time.Minute},
		{1, 0, 0, 24 * time.Second},
		{1, 0, 0.75, 33 * time.Second},
		{6, 0, 0, 8 * time.Minute},
		{6, 0, 0.999999, 12*time.Minute - 240*time.Microsecond},
		{3, 7 * time.Second, 0.9, 7 * time.Second},
		{1, 24 * time.Hour, 0.5, 10 * time.Minute},
	} {
		if got := backoffWindow(tc.throttles, tc.retryAfter, tc.r); got != tc.want {
			t.Errorf("backoffWindow(%d, %s, %v) = %s, want %s", tc.throttles, tc.retryAfter, tc.r, got, tc.want)
		}
	}
}

// TestBackoffSkipsCallsUntilWindowEnds: throttled answers open a growing
// window in which scrapes report throttled with the last code and make no
// call; Retry-After sets the window; a good answer ends the backoff.
func TestBackoffSkipsCallsUntilWindowEnds(t *testing.T) {
	f := &scriptFetcher{t: t, script: []answer{
		{err: throttled("APIGW.0308", 0)},
		{err: throttled("MSS.00000010", 0)},
		{maxLiveHours: 1},
		{err: throttled("APIGW.0308", 100*time.Second)},
		{err: serverError},
		{err: throttled("APIGW.0308", 0)},
	}}
	clock := fakeclock.New(t0)
	logs := &lockedbuffer.Buffer{}
	tenant := testTenant("busy")
	thr := metastudio.ReasonThrottled
	runSteps(t, newTestScraper(f, clock, logs), clock, f, tenant, []step{
		{at: 0, reason: thr, code: "APIGW.0308", callsThen: 1},                  // window 30s
		{at: 29 * time.Second, reason: thr, code: "APIGW.0308", callsThen: 1},   // inside: no call
		{at: 30 * time.Second, reason: thr, code: "MSS.00000010", callsThen: 2}, // window 60s
		{at: 89 * time.Second, reason: thr, code: "MSS.00000010", callsThen: 2},
		{at: 90 * time.Second, hours: 1, callsThen: 3},                        // clears the backoff
		{at: 90 * time.Second, reason: thr, code: "APIGW.0308", callsThen: 4}, // Retry-After: 100s
		{at: 189 * time.Second, reason: thr, code: "APIGW.0308", callsThen: 4},
		// Other failures neither open nor reset a window...
		{at: 190 * time.Second, reason: metastudio.ReasonServerError, code: "MSS.00000001", callsThen: 5},
		// ...so this is the second throttle in a row since the good answer.
		{at: 191 * time.Second, reason: thr, code: "APIGW.0308", callsThen: 6},
		{at: 250 * time.Second, reason: thr, code: "APIGW.0308", callsThen: 6},
	})
	for want, count := range map[string]int{"backoff=30s": 1, "backoff=1m0s": 2, "backoff=1m40s": 1} {
		if n := countLines(logs.String(), "Fetching tenant config failed", "reason=throttled", want); n != count {
			t.Errorf("%d log lines with %s, want %d:\n%s", n, want, count, logs)
		}
	}
	// One warning per streak or change of reason (faillog.go): the second
	// throttle in a row is at debug; the server error and the throttle
	// after it change the reason.
	if n := countLines(logs.String(), "level=warn"); n != 4 {
		t.Errorf("%d warnings for 5 failed calls, want 4:\n%s", n, logs)
	}
}

func TestBackoffErrorText(t *testing.T) {
	f := &scriptFetcher{t: t, script: []answer{{err: throttled("APIGW.0308", 0)}}}
	clock := fakeclock.New(t0)
	s := newTestScraper(f, clock, nil)
	tenant := testTenant("busy")
	s.fetch(context.Background(), tenant, true)
	r := s.fetch(context.Background(), tenant, true)
	want := "get user config: throttled: the API throttled this tenant; not calling it again before 2030-01-02T03:04:35Z"
	if r.err == nil || r.err.Error() != want {
		t.Errorf("error %v, want %q", r.err, want)
	}
}

// TestStateTableBoundedUnderChurn: tenants come and go with every reload;
// the table holds only the current config's tenants, and a scrape still
// running on an old config adds nothing lasting.
func TestStateTableBoundedUnderChurn(t *testing.T) {
	f := &countingFetcher{}
	s := NewScraper(f, Options{MaxConcurrency: 8})
	var old []*config.Tenant
	for gen := range 20 {
		tenants := make([]*config.Tenant, 50)
		for i := range tenants {
			tenants[i] = testTenant(fmt.Sprintf("gen%02d-t%02d", gen, i))
		}
		s.Retain(tenants)
		s.scrapeAll(context.Background(), tenants)
		if old != nil {
			s.scrapeAll(context.Background(), old)
		}
		if n := s.states.len(); n != 50 {
			t.Fatalf("generation %d: %d states, want 50", gen, n)
		}
		old = tenants
	}
	if f.calls.Load() != 20*50+19*50 {
		t.Errorf("%d calls, want %d", f.calls.Load(), 20*50+19*50)
	}
}

// countingFetcher answers every call with an empty config.
type countingFetcher struct{ calls atomic.Int64 }

func (f *countingFetcher) GetUserConfig(context.Context, metastudio.Target) (*metastudio.UserConfig, error) {
	f.calls.Add(1)
	return &metastudio.UserConfig{}, nil
}
