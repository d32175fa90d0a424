package collector

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/internal/fakeclock"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio/simulator"
)

// TestStatus: the status page's view of a tenant follows its scrapes: not
// called before the first, up with the time of its last success and the
// cache's age, down with the reason and error code of
// metastudio_scrape_error_info (and the last success kept), and where its
// callback URL points without the URL's credentials.
func TestStatus(t *testing.T) {
	sim := startSim(t)
	clock := fakeclock.New(t0)
	cfg := threeTenants(t, sim.URL, sim.URL, ", max_cache_age: 1m")
	e := newExporter(t, staticSource(cfg), Options{Now: clock.Now, CallbackExternalURL: "https://hooks.example.com/"})
	okA, _ := cfg.Tenant("ok-a")
	faulty, _ := cfg.Tenant("faulty")
	start := clock.Now()

	if got := e.scraper.Status(okA); got != (TenantStatus{}) {
		t.Errorf("before any scrape: %+v, want the zero status", got)
	}
	e.mustGet(t, "/metrics")
	clock.Set(start.Add(40 * time.Second))
	wantA := TenantStatus{Called: true, Up: true, LastSuccess: start, CallbackRoute: "https://hooks.example.com/cb", CallbackKnown: true}
	gotA := e.scraper.Status(okA)
	if gotA.Settings == nil || gotA.Settings.MaxLiveDurationHours != 12 || gotA.Settings.CallbackAuthType != "MSS_A" || !gotA.Settings.CallbackKeyConfigured {
		t.Errorf("ok-a: settings %+v, want those of its answer (12 h, MSS_A with a key)", gotA.Settings)
	}
	if gotA.Settings = nil; gotA != wantA {
		t.Errorf("ok-a:\n got %+v\nwant %+v", gotA, wantA)
	}
	wantFaulty := TenantStatus{Called: true, Up: true, LastSuccess: start, Cached: true, CacheAge: 40 * time.Second, CallbackKnown: true}
	gotFaulty := e.scraper.Status(faulty)
	good := gotFaulty.Settings
	if good == nil || good.MaxLiveDurationHours != 6 {
		t.Errorf("faulty, cached: settings %+v, want those of its answer (6 h)", good)
	}
	if gotFaulty.Settings = nil; gotFaulty != wantFaulty {
		t.Errorf("faulty, cached:\n got %+v\nwant %+v", gotFaulty, wantFaulty)
	}

	// Past its max_cache_age the next scrape calls, and the call fails.
	sim.Server.SetFault(projectFaulty, simulator.Fault{Status: 403, ErrorCode: "MSS.00000003", ErrorMsg: "no permission"})
	clock.Set(start.Add(2 * time.Minute))
	e.mustGet(t, "/metrics")
	got := e.scraper.Status(faulty)
	// The failed call leaves the settings of the last good answer in view,
	// as last_over_time keeps the settings alerts.
	if got.Settings == nil || got.Settings.Hash != good.Hash {
		t.Errorf("faulty, failing: settings %+v, want those of its last good answer %+v", got.Settings, good)
	}
	wantFaulty = TenantStatus{Called: true, Reason: "forbidden", ErrorCode: "MSS.00000003", Error: got.Error, LastSuccess: start, CallbackKnown: true}
	if got.Settings = nil; got != wantFaulty || !strings.Contains(got.Error, "HTTP 403 MSS.00000003: no permission") {
		t.Errorf("faulty, failing:\n got %+v\nwant %+v", got, wantFaulty)
	}
	for _, s := range []TenantStatus{e.scraper.Status(okA), got} {
		if text := fmt.Sprintf("%+v", s); strings.Contains(text, "SECRET") {
			t.Errorf("a status holds a secret: %s", text)
		}
	}
}

// TestStatusRoutedHere: with the receiver's external URL, a tenant whose
// callback URL (query aside) is {external-url}/callback/{tenant} is routed
// here, as metastudio_live_event_callback_routed_here says.
func TestStatusRoutedHere(t *testing.T) {
	sim := startSim(t)
	cfg := threeTenants(t, sim.URL, sim.URL, "")
	okA, _ := cfg.Tenant("ok-a")
	okB, _ := cfg.Tenant("ok-b")
	renamed := strings.Replace(configA, "https://hooks.example.com/cb?", "https://hooks.example.com/callback/ok-a?", 1)
	if err := sim.Server.SetConfig(projectA, []byte(renamed)); err != nil {
		t.Fatal(err)
	}
	// Without the flag nothing is routed here, even a URL of this very form.
	e := newExporter(t, staticSource(cfg), Options{})
	e.mustGet(t, "/metrics")
	if got := e.scraper.Status(okA); got.RoutedHere || !got.CallbackKnown {
		t.Errorf("no external URL: %+v", got)
	}
	e = newExporter(t, staticSource(cfg), Options{CallbackExternalURL: "https://Hooks.example.com"})
	e.mustGet(t, "/metrics")
	if got := e.scraper.Status(okA); !got.RoutedHere || got.CallbackRoute != "https://hooks.example.com/callback/ok-a" {
		t.Errorf("ok-a points here: %+v", got)
	}
	if got := e.scraper.Status(okB); got.RoutedHere || got.CallbackRoute != "" || !got.CallbackKnown {
		t.Errorf("ok-b has no callback URL: %+v", got)
	}
}
