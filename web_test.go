package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/metastudio/simulator"
)

// simExporter is the exporter serving one tenant, "shop" (project p-shop),
// of a simulator whose calls the tests count.
type simExporter struct {
	*exporter
	sim *simulator.Running
}

func startSimExporter(t *testing.T, flags ...string) *simExporter {
	t.Helper()
	sim, err := simulator.Start(simulator.Options{},
		simulator.Tenant{ProjectID: "p-shop", AccessKey: "AK1", SecretKey: "SK1", Config: []byte(`{"live_exit_config":{"max_live_duration":2}}`)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	cfg := writeFile(t, t.TempDir(), "metastudio.yml", fmt.Sprintf(`credentials:
  sim: {access_key: AK1, secret_key: SK1}
tenants:
  - {name: shop, project_id: p-shop, endpoint: %s, credentials: sim, timeout: 1m}
`, sim.URL))
	return &simExporter{exporter: startExporter(t, append(flags, "--config.file="+cfg)...), sim: sim}
}

func (e *simExporter) calls() int64 { return e.sim.Server.Calls("p-shop") }

// TestScrapeEndpointsAreGetOnly: anything but GET and HEAD on the scrape
// and read-only endpoints is 405 and calls no tenant.
func TestScrapeEndpointsAreGetOnly(t *testing.T) {
	e := startSimExporter(t)
	for _, path := range []string{"/metrics", "/probe?tenant=shop", "/sd", "/config"} {
		for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
			req, err := http.NewRequest(method, e.url+path, strings.NewReader("x=1"))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusMethodNotAllowed || string(body) != "only GET and HEAD are allowed\n" || resp.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("%s %s: %d %q Allow %q; want 405, Allow GET, HEAD", method, path, resp.StatusCode, body, resp.Header.Get("Allow"))
			}
		}
	}
	if n := e.calls(); n != 0 {
		t.Errorf("the simulator saw %d calls, want 0", n)
	}
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		if code, _ := e.do(t, method, "/probe?tenant=shop", nil); code != http.StatusOK {
			t.Errorf("%s /probe: %d", method, code)
		}
	}
	if n := e.calls(); n != 2 {
		t.Errorf("GET and HEAD made %d calls, want 2", n)
	}
}

// TestUnknownTenantEchoIsBounded: the 400 for an unknown tenant quotes at
// most 64 bytes of the name, cut at a character boundary.
func TestUnknownTenantEchoIsBounded(t *testing.T) {
	e := startSimExporter(t)
	for _, tc := range []struct{ name, want string }{
		{"nope", `unknown tenant "nope"` + "\n"},
		{strings.Repeat("a", 100<<10), `unknown tenant "` + strings.Repeat("a", 64) + `"…` + "\n"},
		// 63 bytes, then a two-byte character that would straddle the cut.
		{strings.Repeat("b", 63) + strings.Repeat("é", 100), `unknown tenant "` + strings.Repeat("b", 63) + `"…` + "\n"},
		{"line\nbreak", `unknown tenant "line\nbreak"` + "\n"},
	} {
		code, body := e.get(t, "/probe?tenant="+url.QueryEscape(tc.name))
		if code != http.StatusBadRequest || body != tc.want {
			t.Errorf("%.20q: %d %.200q, want 400 %q", tc.name, code, body, tc.want)
		}
	}
	if n := e.calls(); n != 0 {
		t.Errorf("the simulator saw %d calls, want 0", n)
	}
}

// TestBadScrapeTimeoutHeader: a timeout that is not a finite positive
// number of seconds is a 400 that says why, and calls no tenant.
func TestBadScrapeTimeoutHeader(t *testing.T) {
	e := startSimExporter(t)
	const h = "X-Prometheus-Scrape-Timeout-Seconds: "
	for _, tc := range []struct{ value, want string }{
		{"NaN", h + `"NaN" is not a finite number of seconds`},
		{"Inf", h + `"Inf" is not a finite number of seconds`},
		{"+Inf", h + `"+Inf" is not a finite number of seconds`},
		{"-Inf", h + `"-Inf" is not a finite number of seconds`},
		{"1e400", h + `"1e400" is not a finite number of seconds`},
		{"-1", h + `"-1" is not a positive number of seconds`},
		{"0", h + `"0" is not a positive number of seconds`},
		{"-0", h + `"-0" is not a positive number of seconds`},
		{"abc", h + `"abc" is not a number`},
		{"10s", h + `"10s" is not a number`},
		{strings.Repeat("9", 1000) + "x", h + `"` + strings.Repeat("9", 64) + `"… is not a number`},
	} {
		for _, path := range []string{"/metrics", "/probe?tenant=shop"} {
			code, body := e.do(t, http.MethodGet, path, http.Header{"X-Prometheus-Scrape-Timeout-Seconds": {tc.value}})
			if code != http.StatusBadRequest || body != tc.want+"\n" {
				t.Errorf("%s with %.20q: %d %q, want 400 %q", path, tc.value, code, body, tc.want)
			}
		}
	}
	if n := e.calls(); n != 0 {
		t.Errorf("the simulator saw %d calls, want 0", n)
	}
	// A timeout too long for a time.Duration is no bound, not an overflow
	// into the past.
	code, body := e.do(t, http.MethodGet, "/probe?tenant=shop", http.Header{"X-Prometheus-Scrape-Timeout-Seconds": {"1e300"}})
	if code != http.StatusOK || !strings.Contains(body, `metastudio_up{tenant="shop"} 1`) {
		t.Errorf("timeout 1e300: %d\n%s", code, body)
	}
}

// TestMaxRequests: with --web.max-requests=2, two /metrics requests held by
// a hanging tenant leave the third a 503, which the handler metrics count;
// /probe is not bound by the flag.
func TestMaxRequests(t *testing.T) {
	e := startSimExporter(t, "--web.max-requests=2")
	e.sim.Server.SetFault("p-shop", simulator.Fault{Hang: true})
	ctx, cancel := context.WithCancel(context.Background())
	var held sync.WaitGroup
	for range 2 {
		held.Add(1)
		go func() {
			defer held.Done()
			// Until it is in, this one may meet the bound itself.
			for ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.url+"/metrics", nil)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusServiceUnavailable {
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
		}()
	}
	// Until both are in, a quick request of the exporter's own metrics
	// gets through; then the next one is the third and is refused.
	want := "Limit of concurrent requests reached (2), try again later.\n"
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := e.get(t, "/metrics?collect[]=exporter")
		if code == http.StatusServiceUnavailable {
			if body != want {
				t.Errorf("503 body %q, want %q", body, want)
			}
			break
		}
		if code != http.StatusOK || time.Now().After(deadline) {
			t.Fatalf("no 503 within 10s; last answer %d:\n%s", code, body)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// /probe waits on the same hanging tenant, but the bound is not its.
	probeCtx, probeCancel := context.WithTimeout(context.Background(), 10*time.Second)
	req, _ := http.NewRequestWithContext(probeCtx, http.MethodGet, e.url+"/probe?tenant=shop", nil)
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "1")
	resp, err := http.DefaultClient.Do(req)
	probeCancel()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("/probe past the /metrics bound: %v %v", err, resp)
	}
	if err == nil {
		resp.Body.Close()
	}
	cancel()
	held.Wait()
	e.sim.Server.SetFault("p-shop", simulator.Fault{})
	// The held requests take a moment to leave once their client went.
	deadline = time.Now().Add(10 * time.Second)
	for {
		code, body := e.get(t, "/metrics?collect[]=exporter")
		if code == http.StatusOK && strings.Contains(body, "promhttp_metric_handler_requests_in_flight 1\n") {
			if !regexp.MustCompile(`(?m)^promhttp_metric_handler_requests_total\{code="503"\} [1-9]`).MatchString(body) {
				t.Errorf("the 503s are not counted:\n%s", body)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the held requests did not leave within 10s: %d %s", code, body)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestMaxRequestsZeroIsNoLimit: --web.max-requests=0 lets every request in.
func TestMaxRequestsZeroIsNoLimit(t *testing.T) {
	e := startSimExporter(t, "--web.max-requests=0")
	e.sim.Server.SetFault("p-shop", simulator.Fault{Hang: true})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var held sync.WaitGroup
	defer held.Wait()
	defer cancel()
	for range 50 {
		held.Add(1)
		go func() {
			defer held.Done()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.url+"/metrics", nil)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
	}
	inFlight := regexp.MustCompile(`(?m)^promhttp_metric_handler_requests_in_flight (\d+)$`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := e.get(t, "/metrics?collect[]=exporter")
		if code != http.StatusOK {
			t.Fatalf("%d %s", code, body)
		}
		// 50 held and this one.
		if m := inFlight.FindStringSubmatch(body); m != nil && m[1] == "51" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("never 51 requests in flight:\n%s", body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDemoReloadRefused: demo mode has no file; a reload says so with 409
// and one log line, and the sample tenants keep serving.
func TestDemoReloadRefused(t *testing.T) {
	e := startExporter(t, "--demo")
	code, body := e.do(t, http.MethodPost, "/-/reload", nil)
	if want := "demo mode has no config file to reload\n"; code != http.StatusConflict || body != want {
		t.Errorf("POST /-/reload: %d %q, want 409 %q", code, body, want)
	}
	lines := regexp.MustCompile(`(?m)^ts=\S+ caller=main\.go:\d+ level=warn msg="Not reloading" err="demo mode has no config file to reload"$`).
		FindAllString(e.logs.String(), -1)
	if len(lines) != 1 {
		t.Errorf("%d reload lines in the log, want 1:\n%s", len(lines), e.logs)
	}
	if code, body := e.get(t, "/probe?tenant=demo-safe"); code != http.StatusOK || !strings.Contains(body, `metastudio_up{tenant="demo-safe"} 1`) {
		t.Errorf("after the refused reload /probe answers %d:\n%s", code, body)
	}
}

// TestSIGHUPReloads: SIGHUP reloads the file; in demo mode it is refused
// with one line.
func TestSIGHUPReloads(t *testing.T) {
	dir := t.TempDir()
	tenants := func(names ...string) string {
		s := "credentials:\n  main: {access_key: AK1, secret_key: SK1}\ntenants:\n"
		for _, n := range names {
			s += "  - {name: " + n + ", project_id: p-" + n + ", credentials: main}\n"
		}
		return s
	}
	cfg := writeFile(t, dir, "metastudio.yml", tenants("one"))
	e := startExporter(t, "--config.file="+cfg)
	writeFile(t, dir, "metastudio.yml", tenants("one", "two"))
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, body := e.get(t, "/sd")
		if strings.Contains(body, `"__param_tenant":"two"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("SIGHUP did not reload within 10s; /sd:\n%s\nlog:\n%s", body, e.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}

	demo := startExporter(t, "--demo")
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(10 * time.Second)
	refused := regexp.MustCompile(`(?m)^ts=\S+ caller=main\.go:\d+ level=warn msg="Not reloading" err="demo mode has no config file to reload"$`)
	for len(refused.FindAllString(demo.logs.String(), -1)) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("no refusal line within 10s:\n%s", demo.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestServiceDiscovery: one target group per tenant, pointing at the host
// the request used.
func TestServiceDiscovery(t *testing.T) {
	e := startExporter(t, "--demo")
	code, body := e.get(t, "/sd")
	host := strings.TrimPrefix(e.url, "http://")
	group := func(tenant, project, region string) string {
		return `{"targets":["` + host + `"],"labels":{"__meta_metastudio_project_id":"` + project + `","__meta_metastudio_region":"` + region + `",` +
			`"__meta_metastudio_tenant":"` + tenant + `","__param_tenant":"` + tenant + `"}}`
	}
	want := "[" + group("demo-safe", "5f2c1e9a7b3d4c6e8f0a1b2c3d4e5f60", "cn-north-4") + "," +
		group("demo-risky", "a1b2c3d4e5f60718293a4b5c6d7e8f90", "ap-southeast-1") + "," +
		group("demo-rejected", "0f1e2d3c4b5a69788796a5b4c3d2e1f0", "cn-north-4") + "]\n"
	if code != http.StatusOK || body != want {
		t.Errorf("/sd: %d\n%s\nwant\n%s", code, body, want)
	}
}

// TestCustomTelemetryPath: metrics move to the path given, and the status
// page links there.
func TestCustomTelemetryPath(t *testing.T) {
	e := startExporter(t, "--demo", "--web.telemetry-path=/exporter/metrics")
	if code, body := e.get(t, "/exporter/metrics"); code != http.StatusOK || !strings.Contains(body, `metastudio_up{tenant="demo-safe"} 1`) ||
		!strings.Contains(body, `promhttp_metric_handler_requests_total{code="200"} 0`) {
		t.Errorf("/exporter/metrics: %d\n%s", code, body)
	}
	if code, body := e.get(t, "/"); code != http.StatusOK || !strings.Contains(body, `href="/exporter/metrics"`) {
		t.Errorf("the status page (%d) does not link to the metrics:\n%s", code, body)
	}
}
