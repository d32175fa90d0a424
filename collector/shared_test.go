package collector

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/internal/fakeclock"
	"github.com/metastudio-exporter/metastudio_exporter/internal/lockedbuffer"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio/simulator"
)

// gateFetcher holds every call until the test hands it an outcome, so
// tests decide exactly when a call ends. A nil outcome delegates to next
// (or answers an empty config without one).
type gateFetcher struct {
	next    Fetcher
	calls   atomic.Int64
	entered chan context.Context
	outcome chan error
}

func newGate(next Fetcher) *gateFetcher {
	return &gateFetcher{next: next, entered: make(chan context.Context, 16), outcome: make(chan error)}
}

func (g *gateFetcher) GetUserConfig(ctx context.Context, t metastudio.Target) (*metastudio.UserConfig, error) {
	g.calls.Add(1)
	g.entered <- ctx
	if err := <-g.outcome; err != nil {
		return nil, err
	}
	if g.next != nil {
		return g.next.GetUserConfig(ctx, t)
	}
	return &metastudio.UserConfig{}, nil
}

var errTimedOut = &metastudio.Error{Reason: metastudio.ReasonTimeout, Op: metastudio.OpGetUserConfig, Err: context.DeadlineExceeded}

// await receives from ch, failing the test instead of hanging when a step
// it waits for never happens.
func await[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("gave up waiting for %s", what)
		panic("unreachable")
	}
}

// joinSignal makes s report every scrape that starts waiting for another's
// call.
func joinSignal(s *Scraper) chan string {
	joined := make(chan string, 16)
	s.onJoin = func(tenant string) { joined <- tenant }
	return joined
}

// scrapeAsync runs one scrape of tenant with ctx and delivers its result.
func scrapeAsync(s *Scraper, ctx context.Context, tenant *config.Tenant) <-chan result {
	out := make(chan result, 1)
	go func() { out <- s.fetch(ctx, tenant, true) }()
	return out
}

func TestConcurrentScrapesShareOneCall(t *testing.T) {
	g := newGate(nil)
	logs := &lockedbuffer.Buffer{}
	s := newTestScraper(g, fakeclock.New(t0), logs)
	joined := joinSignal(s)
	tenant := testTenant("shared")

	for _, outcome := range []error{nil, serverError} {
		leader := scrapeAsync(s, context.Background(), tenant)
		await(t, g.entered, "a call")
		var followers []<-chan result
		for range 4 {
			followers = append(followers, scrapeAsync(s, context.Background(), tenant))
			await(t, joined, "a scrape to join the call")
		}
		g.outcome <- outcome
		for i, ch := range append(followers, leader) {
			if r := await(t, ch, "a scrape"); r.err != outcome {
				t.Errorf("scrape %d: %v, want %v", i, r.err, outcome)
			}
		}
	}
	if g.calls.Load() != 2 {
		t.Errorf("%d calls for two rounds of five scrapes, want 2", g.calls.Load())
	}
	if n := countLines(logs.String(), "Fetching tenant config failed"); n != 1 {
		t.Errorf("the failed shared call was logged %d times, want once:\n%s", n, logs)
	}
}

// TestWaiterOutlivesShortLeaderDeadline: the call ended at the leader's
// short scrape deadline; a waiter with more time calls again.
func TestWaiterOutlivesShortLeaderDeadline(t *testing.T) {
	g := newGate(nil)
	s := newTestScraper(g, fakeclock.New(t0), nil)
	joined := joinSignal(s)
	tenant := testTenant("short-leader")
	tenant.Timeout = 3 * time.Hour
	now := time.Now()
	leaderCtx, cancelLeader := context.WithDeadline(context.Background(), now.Add(time.Hour))
	defer cancelLeader()
	followerCtx, cancelFollower := context.WithDeadline(context.Background(), now.Add(2*time.Hour))
	defer cancelFollower()

	leader := scrapeAsync(s, leaderCtx, tenant)
	callCtx := await(t, g.entered, "a call")
	if d, _ := callCtx.Deadline(); !d.Equal(now.Add(time.Hour)) {
		t.Errorf("the call's deadline is %s, want the leader's %s", d, now.Add(time.Hour))
	}
	follower := scrapeAsync(s, followerCtx, tenant)
	await(t, joined, "a scrape to join the call")
	g.outcome <- errTimedOut
	if r := await(t, leader, "a scrape"); metastudio.ReasonOf(r.err) != metastudio.ReasonTimeout {
		t.Errorf("leader: %v, want a timeout", r.err)
	}
	callCtx = await(t, g.entered, "a call")
	if d, _ := callCtx.Deadline(); !d.Equal(now.Add(2 * time.Hour)) {
		t.Errorf("the second call's deadline is %s, want the follower's %s", d, now.Add(2*time.Hour))
	}
	g.outcome <- nil
	if r := await(t, follower, "a scrape"); r.err != nil {
		t.Errorf("follower: %v, want its own call's answer", r.err)
	}
	if g.calls.Load() != 2 {
		t.Errorf("%d calls, want 2", g.calls.Load())
	}
}

// TestWaiterKeepsTenantTimeoutVerdict: when the tenant's own timeout ended
// the call, a waiter with more time does not call again.
func TestWaiterKeepsTenantTimeoutVerdict(t *testing.T) {
	g := newGate(nil)
	s := newTestScraper(g, fakeclock.New(t0), nil)
	joined := joinSignal(s)
	tenant := testTenant("slow-tenant")
	tenant.Timeout = time.Hour
	leaderCtx, cancelLeader := context.WithTimeout(context.Background(), 2*time.Hour)
	defer cancelLeader()
	leader := scrapeAsync(s, leaderCtx, tenant)
	await(t, g.entered, "a call")
	follower := scrapeAsync(s, context.Background(), tenant)
	await(t, joined, "a scrape to join the call")
	g.outcome <- errTimedOut
	for name, ch := range map[string]<-chan result{"leader": leader, "follower": follower} {
		if r := await(t, ch, "a scrape"); r.err != errTimedOut {
			t.Errorf("%s: %v, want the shared call's timeout", name, r.err)
		}
	}
	if g.calls.Load() != 1 {
		t.Errorf("%d calls, want 1", g.calls.Load())
	}
}

// TestWaiterStopsAtOwnDeadline: a waiter with less time than the call
// answers at its own deadline; the call goes on for the leader.
func TestWaiterStopsAtOwnDeadline(t *testing.T) {
	g := newGate(nil)
	s := newTestScraper(g, fakeclock.New(t0), nil)
	joined := joinSignal(s)
	tenant := testTenant("impatient")
	leader := scrapeAsync(s, context.Background(), tenant)
	await(t, g.entered, "a call")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	follower := scrapeAsync(s, ctx, tenant)
	await(t, joined, "a scrape to join the call")
	r := await(t, follower, "a scrape")
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the waiter answered after %s, long past its 50ms deadline", took)
	}
	want := "get user config: timeout: scrape ended while waiting for the tenant's upstream call"
	if r.err == nil || r.err.Error() != want || metastudio.ReasonOf(r.err) != metastudio.ReasonTimeout {
		t.Errorf("waiter: %v, want %q", r.err, want)
	}
	g.outcome <- nil
	if r := await(t, leader, "a scrape"); r.err != nil {
		t.Errorf("leader: %v", r.err)
	}
}

// TestLeaderGoneKeepsSharedCall: the leader's client going away (its
// context cancelled, not its deadline) does not cancel the call others
// wait for.
func TestLeaderGoneKeepsSharedCall(t *testing.T) {
	g := newGate(nil)
	s := newTestScraper(g, fakeclock.New(t0), nil)
	joined := joinSignal(s)
	tenant := testTenant("abandoned")
	leaderCtx, leaderGone := context.WithCancel(context.Background())
	leader := scrapeAsync(s, leaderCtx, tenant)
	callCtx := await(t, g.entered, "a call")
	follower := scrapeAsync(s, context.Background(), tenant)
	await(t, joined, "a scrape to join the call")
	leaderGone()
	if r := await(t, leader, "a scrape"); metastudio.ReasonOf(r.err) != metastudio.ReasonTimeout {
		t.Errorf("leader: %v, want a timeout", r.err)
	}
	if callCtx.Err() != nil {
		t.Errorf("the shared call was cancelled with its leader: %v", callCtx.Err())
	}
	g.outcome <- nil
	if r := await(t, follower, "a scrape"); r.err != nil {
		t.Errorf("follower: %v", r.err)
	}
}

// oneTenant is a config of one tenant on the simulator; extra is added to
// its entry.
func oneTenant(t *testing.T, simURL, extra string) *config.Config {
	t.Helper()
	return parseConfig(t, fmt.Sprintf(`credentials:
  sim: {access_key: %s, secret_key: %s}
tenants:
  - {name: ok-a, project_id: %s, endpoint: %q, credentials: sim%s}
`, simAK, simSK, projectA, simURL, extra))
}

// TestMetricsAndProbeShareCall: /metrics and /probe of the same tenant at
// the same time make one upstream call, and both show its answer.
func TestMetricsAndProbeShareCall(t *testing.T) {
	sim := startSim(t)
	cfg := oneTenant(t, sim.URL, "")
	e := newExporter(t, staticSource(cfg), Options{})
	g := newGate(e.scraper.fetcher)
	e.scraper.fetcher = g
	joined := joinSignal(e.scraper)

	bodies := make(chan string, 2)
	var wg sync.WaitGroup
	for _, path := range []string{"/metrics", "/probe?tenant=ok-a"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, body, _ := e.get(t, path)
			bodies <- body
		}()
		if path == "/metrics" {
			await(t, g.entered, "a call")
		} else {
			await(t, joined, "a scrape to join the call")
		}
	}
	g.outcome <- nil
	wg.Wait()
	close(bodies)
	for body := range bodies {
		for _, want := range []string{`metastudio_up{tenant="ok-a"} 1`, `metastudio_live_max_duration_seconds{tenant="ok-a"} 43200`, `metastudio_data_age_seconds{tenant="ok-a"} 0`} {
			if !strings.Contains(body, want+"\n") {
				t.Errorf("answer lacks %q:\n%s", want, body)
			}
		}
	}
	if n := sim.Server.Calls(projectA); n != 1 {
		t.Errorf("the simulator got %d calls, want 1", n)
	}
}

// TestCacheSharedByMetricsAndProbe: with max_cache_age, /probe is served
// the answer /metrics fetched, and data_age_seconds says how old it is.
func TestCacheSharedByMetricsAndProbe(t *testing.T) {
	sim := startSim(t)
	clock := fakeclock.New(t0)
	e := newExporter(t, staticSource(oneTenant(t, sim.URL, ", max_cache_age: 1m")), Options{Now: clock.Now})
	start := clock.Now()
	for _, tc := range []struct {
		at    time.Duration
		path  string
		age   string
		calls int64
	}{
		{0, "/metrics", "0", 1},
		{10 * time.Second, "/probe?tenant=ok-a", "10", 1},
		{60 * time.Second, "/metrics", "60", 1},
		{61 * time.Second, "/probe?tenant=ok-a", "0", 2},
		{90 * time.Second, "/metrics", "29", 2},
	} {
		clock.Set(start.Add(tc.at))
		body := e.mustGet(t, tc.path)
		want := fmt.Sprintf(`metastudio_data_age_seconds{tenant="ok-a"} %s`, tc.age)
		if !strings.Contains(body, want+"\n") || !strings.Contains(body, `metastudio_up{tenant="ok-a"} 1`) {
			t.Errorf("+%s %s: want %q and up 1 in\n%s", tc.at, tc.path, want, body)
		}
		if n := sim.Server.Calls(projectA); n != tc.calls {
			t.Errorf("+%s %s: %d calls so far, want %d", tc.at, tc.path, n, tc.calls)
		}
	}
	// Past the age a failing upstream shows as down, not as the old answer.
	sim.Server.SetFault(projectA, simulator.Fault{Status: 500})
	clock.Set(start.Add(3 * time.Minute))
	body := e.mustGet(t, "/probe?tenant=ok-a")
	if got, want := tenantLines(body, "ok-a"), failedLines("ok-a", projectA, "server_error", "MSS.00000001"); !slices.Equal(got, want) {
		t.Errorf("past max_cache_age with a failing upstream:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestThrottledTenantAnswersWithoutCalling: after a 429 the tenant reports
// throttled without calls until the window ends, and with one upstream slot
// the other tenants are not slowed: were the throttled tenant called, its
// hanging upstream would hold the only slot until the deadline.
func TestThrottledTenantAnswersWithoutCalling(t *testing.T) {
	sim := startSim(t)
	clock := fakeclock.New(t0)
	e := newExporter(t, staticSource(threeTenants(t, sim.URL, sim.URL, "")), Options{MaxConcurrency: 1, Now: clock.Now, Rand: func() float64 { return 0.5 }})
	start := clock.Now()
	throttledLines := failedLines("faulty", projectFaulty, "throttled", "APIGW.0308")
	// check scrapes at +at; wantFaulty nil means faulty is up.
	check := func(at time.Duration, wantFaulty []string, wantCalls int64) {
		t.Helper()
		clock.Set(start.Add(at))
		body := e.mustGet(t, "/metrics")
		got := tenantLines(body, "faulty")
		if wantFaulty == nil && !slices.Contains(got, `metastudio_up{tenant="faulty"} 1`) ||
			wantFaulty != nil && !slices.Equal(got, wantFaulty) {
			t.Errorf("+%s: faulty shows\n%s\nwant\n%s", at, strings.Join(got, "\n"), strings.Join(wantFaulty, "\n"))
		}
		for _, ok := range []string{"ok-a", "ok-b"} {
			if !strings.Contains(body, `metastudio_up{tenant="`+ok+`"} 1`) {
				t.Errorf("+%s: %s is not up:\n%s", at, ok, body)
			}
		}
		if n := sim.Server.Calls(projectFaulty); n != wantCalls {
			t.Errorf("+%s: faulty got %d calls, want %d", at, n, wantCalls)
		}
	}

	sim.Server.SetFault(projectFaulty, simulator.Fault{Status: 429})
	check(0, throttledLines, 1)
	sim.Server.SetFault(projectFaulty, simulator.Fault{Hang: true})
	check(time.Second, throttledLines, 1)
	check(29*time.Second, throttledLines, 1)

	sim.Server.SetFault(projectFaulty, simulator.Fault{Status: 429, RetryAfter: "120"})
	check(30*time.Second, throttledLines, 2)
	sim.Server.SetFault(projectFaulty, simulator.Fault{Hang: true})
	check(149*time.Second, throttledLines, 2)

	sim.Server.SetFault(projectFaulty, simulator.Fault{})
	check(150*time.Second, nil, 3)
	if !strings.Contains(e.mustGet(t, "/metrics"), `metastudio_exporter_api_requests_total{code="429",tenant="faulty"} 2`+"\n") {
		t.Error("the request counter does not show exactly the two throttled calls")
	}
}

// TestProbeDuringBackoffMakesNoCall: probes in the window answer without
// a call, and the one throttled call is logged once, with the Retry-After
// capped, its status, code and request id.
func TestProbeDuringBackoffMakesNoCall(t *testing.T) {
	sim := startSim(t)
	sim.Server.SetFault(projectA, simulator.Fault{Status: 429, RetryAfter: "3600"})
	e := newExporter(t, staticSource(oneTenant(t, sim.URL, "")), Options{})
	for range 3 {
		body := e.mustGet(t, "/probe?tenant=ok-a")
		if !strings.Contains(body, `metastudio_scrape_error_info{error_code="APIGW.0308",reason="throttled",tenant="ok-a"} 1`) {
			t.Errorf("probe is not throttled:\n%s", body)
		}
	}
	if n := sim.Server.Calls(projectA); n != 1 {
		t.Errorf("three probes made %d calls, want 1", n)
	}
	if n := countLines(e.logs.String(), "reason=throttled", "backoff=10m0s", "status=429", "error_code=APIGW.0308", "request_id="); n != 1 {
		t.Errorf("want one warning with the capped Retry-After, status, code and request id:\n%s", e.logs)
	}
}

// deadlineFetcher answers only when its call's context ends, as the real
// client does with a hanging upstream, and says so in its error. It takes
// 20ms to notice, as a transport tearing down a connection may, which is
// well within callEndGrace.
type deadlineFetcher struct{ calls atomic.Int64 }

var errClientDeadline = &metastudio.Error{Reason: metastudio.ReasonTimeout, Op: metastudio.OpGetUserConfig, Err: errors.New("the client saw the deadline")}

func (f *deadlineFetcher) GetUserConfig(ctx context.Context, _ metastudio.Target) (*metastudio.UserConfig, error) {
	f.calls.Add(1)
	<-ctx.Done()
	time.Sleep(20 * time.Millisecond)
	return nil, errClientDeadline
}

// TestScrapeReportsItsCallAtTheDeadline: when the scrape's deadline ends
// its own call, the scrape reports the call's outcome (which the request
// metrics, gathered after the tenants, have then counted), not merely that
// it stopped waiting.
func TestScrapeReportsItsCallAtTheDeadline(t *testing.T) {
	f := &deadlineFetcher{}
	s := newTestScraper(f, fakeclock.New(t0), nil)
	tenant := testTenant("hanging")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if r := s.fetch(ctx, tenant, true); r.err != errClientDeadline {
		t.Errorf("the scrape reported %v, want its call's %v", r.err, errClientDeadline)
	}
	if f.calls.Load() != 1 {
		t.Errorf("%d calls, want 1", f.calls.Load())
	}
}
