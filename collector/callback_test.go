package collector

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/metastudio-exporter/metastudio_exporter/internal/fakeclock"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio/simulator"
)

// TestCallbackAuthSharesTenantState: the receiver's settings come through
// the same per-tenant state as scrapes: a scrape's answer serves them
// without a call, fresh asks the API once, a rotated key shows after a
// fresh call, and a throttled tenant is not called.
func TestCallbackAuthSharesTenantState(t *testing.T) {
	sim := startSim(t)
	cfg := threeTenants(t, sim.URL, sim.URL, "")
	e := newExporter(t, staticSource(cfg), Options{})
	okA, _ := cfg.Tenant("ok-a")
	ctx := context.Background()

	// No answer yet: the first request makes the call.
	got, _, err := e.scraper.CallbackAuth(ctx, okA, false)
	want := metastudio.CallbackAuth{AuthType: "MSS_A", Key: "harness-SECRET-key", URL: "https://hooks.example.com/cb?token=harness-SECRET-token"}
	if err != nil || got != want {
		t.Fatalf("CallbackAuth = %+v, %v; want %+v", got, err, want)
	}
	if n := sim.Server.Calls(projectA); n != 1 {
		t.Fatalf("%d calls, want 1", n)
	}
	// A scrape refreshes them, and their time; asking again costs no call.
	scraped := time.Now()
	e.mustGet(t, "/metrics")
	_, fetchedAt, err := e.scraper.CallbackAuth(ctx, okA, false)
	if err != nil || sim.Server.Calls(projectA) != 2 {
		t.Fatalf("after one scrape and a cached lookup: %d calls (%v), want 2", sim.Server.Calls(projectA), err)
	}
	if fetchedAt.Before(scraped) || fetchedAt.After(time.Now()) {
		t.Errorf("fetched at %s, want the scrape's call, after %s", fetchedAt, scraped)
	}
	// The key is rotated upstream: only a fresh lookup sees it.
	rotated := strings.Replace(configA, "harness-SECRET-key", "harness-SECRET-key2", 1)
	if err := sim.Server.SetConfig(projectA, []byte(rotated)); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := e.scraper.CallbackAuth(ctx, okA, false); got.Key != "harness-SECRET-key" {
		t.Error("a lookup that is not fresh called the API")
	}
	if got, _, err := e.scraper.CallbackAuth(ctx, okA, true); err != nil || got.Key != "harness-SECRET-key2" {
		t.Errorf("fresh lookup after rotation: key changed=%v, %v", got.Key == "harness-SECRET-key2", err)
	}
	if n := sim.Server.Calls(projectA); n != 3 {
		t.Errorf("%d calls, want 3", n)
	}

	// A throttled tenant is left alone, fresh or not.
	faulty, _ := cfg.Tenant("faulty")
	sim.Server.SetFault(projectFaulty, simulator.Fault{Status: 429})
	if _, _, err := e.scraper.CallbackAuth(ctx, faulty, true); metastudio.ReasonOf(err) != metastudio.ReasonThrottled {
		t.Fatalf("throttled tenant: %v", err)
	}
	calls := sim.Server.Calls(projectFaulty)
	if _, _, err := e.scraper.CallbackAuth(ctx, faulty, true); metastudio.ReasonOf(err) != metastudio.ReasonThrottled {
		t.Errorf("inside the backoff window: %v", err)
	}
	if n := sim.Server.Calls(projectFaulty); n != calls {
		t.Errorf("a fresh lookup inside the backoff window called the API (%d → %d)", calls, n)
	}
}

// TestCallbackAuthDeadline: a lookup is bounded by its context like a scrape.
func TestCallbackAuthDeadline(t *testing.T) {
	sim := startSim(t)
	sim.Server.SetFault(projectFaulty, simulator.Fault{Hang: true})
	cfg := threeTenants(t, sim.URL, sim.URL, "")
	e := newExporter(t, staticSource(cfg), Options{})
	faulty, _ := cfg.Tenant("faulty")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, _, err := e.scraper.CallbackAuth(ctx, faulty, true); metastudio.ReasonOf(err) != metastudio.ReasonTimeout {
		t.Errorf("hanging upstream: %v, want a timeout", err)
	}
}

// TestRoutedHere: with --callback.external-url each tenant says whether its
// callback URL, query aside, is this exporter's /callback/{tenant}.
func TestRoutedHere(t *testing.T) {
	f := &stubFetcher{bodies: map[string]string{
		"p-here":  `{"live_event_callback_config":{"live_event_type_callback_url":"https://MON.example.com:10037/callback/here?token=x"}}`,
		"p-other": `{"live_event_callback_config":{"live_event_type_callback_url":"https://mon.example.com:10037/callback/here"}}`,
		"p-none":  `{}`,
	}}
	for _, ext := range []string{"https://mon.example.com:10037", "https://mon.example.com:10037/"} {
		s := NewScraper(f, Options{MaxConcurrency: 1, CallbackExternalURL: ext})
		g := scrapeGatherer(func() *Families {
			return s.Scrape(context.Background(), nil, testTenant("here"), testTenant("other"), testTenant("none"))
		})
		want := `# HELP metastudio_live_event_callback_routed_here 1 if the tenant's live event callback URL, query aside, is this exporter's receiver (--callback.external-url); only with that flag.
# TYPE metastudio_live_event_callback_routed_here gauge
metastudio_live_event_callback_routed_here{tenant="here"} 1
metastudio_live_event_callback_routed_here{tenant="none"} 0
metastudio_live_event_callback_routed_here{tenant="other"} 0
`
		if err := testutil.GatherAndCompare(g, strings.NewReader(want), "metastudio_live_event_callback_routed_here"); err != nil {
			t.Errorf("external URL %q: %v", ext, err)
		}
	}
}

// TestCallbackAuthFailureNotRepeated: while a tenant's settings cannot be
// had, lookups are answered with the last failure for 30 s instead of
// calling again, so requests for it cannot spend its API quota.
func TestCallbackAuthFailureNotRepeated(t *testing.T) {
	sim := startSim(t)
	sim.Server.SetFault(projectFaulty, simulator.Fault{Status: 500})
	cfg := threeTenants(t, sim.URL, sim.URL, "")
	clock := fakeclock.New(t0)
	e := newExporter(t, staticSource(cfg), Options{Now: clock.Now})
	faulty, _ := cfg.Tenant("faulty")
	ctx := context.Background()
	for i := range 50 {
		if _, _, err := e.scraper.CallbackAuth(ctx, faulty, false); metastudio.ReasonOf(err) != metastudio.ReasonServerError {
			t.Fatalf("lookup %d: %v, want the server error", i, err)
		}
	}
	if n := sim.Server.Calls(projectFaulty); n != 1 {
		t.Errorf("50 lookups made %d calls, want 1", n)
	}
	clock.Set(clock.Now().Add(30 * time.Second))
	sim.Server.SetFault(projectFaulty, simulator.Fault{})
	if got, _, err := e.scraper.CallbackAuth(ctx, faulty, false); err != nil || got.AuthType != "NONE" {
		t.Errorf("after 30 s: %+v, %v; want a new call's settings", got, err)
	}
	if n := sim.Server.Calls(projectFaulty); n != 2 {
		t.Errorf("%d calls, want 2", n)
	}
}
