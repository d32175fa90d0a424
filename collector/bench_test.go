package collector

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio/simulator"
	"github.com/metastudio-exporter/metastudio_exporter/tenants"
)

// benchBody is a tenant with every object and field set, so that a benchmark
// pays for the largest ordinary answer and every series a tenant can have.
const benchBody = `{"live_exit_config":{"max_live_duration":12,"auto_stop_mode":"SEGMENT_END","max_exception_waiting_duration":5},` +
	`"live_event_callback_config":{"live_event_type_callback_url":"https://hooks.example.com/metastudio/events?token=bench-token",` +
	`"auth_type":"MSS_A_HEAD","key":"bench-callback-key","callback_event_type":["SHOOT_SCRIPT_SWITCH","RTMP_STREAM_STATE_CHANGE","REPLY_COMMAND_FINISH"]},` +
	`"live_notify_config":{"notify_events":["AUTO_EXIT"]}}`

const (
	benchAK = "BENCHACCESSKEY000001"
	benchSK = "bench-secret-key-not-a-real-one"
	// benchEndpoint never resolves: every request goes through memTransport.
	benchEndpoint = "http://metastudio.bench.invalid"
)

// BenchmarkTenantMetrics is the per-tenant work between the wire and the
// registry: decoding one answer, applying defaults and hashing, and building
// the tenant's const metrics, family by family.
func BenchmarkTenantMetrics(b *testing.B) {
	body := []byte(benchBody)
	tenant := testTenant("bench")
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		var uc metastudio.UserConfig
		if err := json.Unmarshal(body, &uc); err != nil {
			b.Fatal(err)
		}
		r := result{settings: uc.Effective(), duration: 50 * time.Millisecond}
		n := 0
		descs := tenantDescs.For(nil)
		for i := range tenantFamilies {
			f := &tenantFamilies[i]
			e := tenantEmitter{desc: descs[i], t: tenant, r: &r}
			f.series(&e)
			n += len(e.metrics)
		}
		if n != 18 {
			b.Fatalf("tenant built %d metrics, want 18", n)
		}
	}
}

// memTransport hands every request to an http.Handler in memory, so that a
// scrape benchmark measures the exporter and not the loopback network.
type memTransport struct{ h http.Handler }

func (m memTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	m.h.ServeHTTP(rec, req)
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}

// cannedUpstream answers every call with benchBody without checking the
// signature: the difference between it and the simulator is the cost of the
// simulator, which a real exporter never pays.
type cannedUpstream struct{}

func (cannedUpstream) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header()["Content-Type"] = []string{"application/json;charset=UTF-8"}
	w.Header()["X-Request-Id"] = []string{"0123456789abcdef0123456789abcdef"}
	_, _ = w.Write([]byte(benchBody))
}

// benchConfig is a config file of n AK/SK tenants behind one endpoint,
// each with the labels: labels(i) gives it (none for "").
func benchConfig(tb testing.TB, n int, labels func(i int) string) *config.Config {
	tb.Helper()
	var y strings.Builder
	fmt.Fprintf(&y, "defaults:\n  credentials: main\ncredentials:\n  main:\n    access_key: %s\n    secret_key: %s\ntenants:\n", benchAK, benchSK)
	for i := range n {
		fmt.Fprintf(&y, "  - name: tenant-%05d\n    project_id: %s\n    endpoint: %s\n", i, benchProject(i), benchEndpoint)
		if labels != nil {
			if l := labels(i); l != "" {
				fmt.Fprintf(&y, "    labels: %s\n", l)
			}
		}
	}
	cfg, err := config.Parse([]byte(y.String()), "bench.yml", "", func(string) (string, bool) { return "", false })
	if err != nil {
		tb.Fatal(err)
	}
	return cfg
}

func benchProject(i int) string { return fmt.Sprintf("%032x", i+1) }

func benchSimulator(tb testing.TB, n int) *simulator.Server {
	tb.Helper()
	sim := simulator.New(simulator.Options{})
	for i := range n {
		if err := sim.AddTenant(simulator.Tenant{ProjectID: benchProject(i), AccessKey: benchAK, SecretKey: benchSK, Config: []byte(benchBody)}); err != nil {
			tb.Fatal(err)
		}
	}
	return sim
}

// benchMetricsHandler serves /metrics the way the web layer does (the
// Scraper's families, then the exporter's own metrics merged in as they are
// encoded), with upstream answering in memory; the tenants have the labels
// labels gives them (see benchConfig).
func benchMetricsHandler(tb testing.TB, n int, labels func(i int) string, upstream http.Handler) http.Handler {
	tb.Helper()
	set := tenants.NewStatic(benchConfig(tb, n, labels), tenants.Options{})
	requests := NewRequestMetrics()
	exporter := prometheus.NewRegistry()
	exporter.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		set,
		requests,
	)
	client := metastudio.NewClient(metastudio.ClientOptions{Transport: memTransport{upstream}, Observe: requests.Observe})
	scraper := NewScraper(client, Options{MaxConcurrency: 32, Logger: log.NewNopLogger()})
	FollowTenants(set, scraper, requests) // as main wires them: the counters get the tenants' labels
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// As Prometheus' 120s timeout header less the default 0.5s offset.
		ctx, cancel := context.WithTimeout(r.Context(), 120*time.Second-500*time.Millisecond)
		defer cancel()
		snap := set.Snapshot()
		serveExposition(tb, w, r, scraper.Scrape(ctx, snap.LabelNames(), snap.Tenants()...), exporter)
	})
}

func scrapeOnce(tb testing.TB, h http.Handler) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "120")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		tb.Fatalf("/metrics answered %d: %.200s", rec.Code, rec.Body)
	}
	return rec
}

// discardWriter keeps only the status and the size of an answer, so that a
// benchmark does not count a recorder's growing buffer as the exporter's.
type discardWriter struct {
	header http.Header
	code   int
	n      int
}

func (w *discardWriter) Header() http.Header { return w.header }
func (w *discardWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *discardWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.n += len(p)
	return len(p), nil
}

// scrapeGzip scrapes as Prometheus does, asking for gzip, and throws the
// answer away.
func scrapeGzip(tb testing.TB, h http.Handler) {
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "120")
	req.Header.Set("Accept-Encoding", "gzip")
	w := &discardWriter{header: http.Header{}}
	h.ServeHTTP(w, req)
	if w.code != http.StatusOK || w.n == 0 {
		tb.Fatalf("/metrics answered %d with %d bytes", w.code, w.n)
	}
}

// BenchmarkScrape is a whole /metrics scrape: config snapshot, fan-out,
// signing, the upstream answer, decoding, tenant metrics, the exporter's own
// metrics, text encoding and the gzip Prometheus asks for. "simulator"
// verifies every signature, as the cloud does, inside the measured process;
// "canned" skips it, which leaves the exporter's own cost. Per-tenant
// figures are reported alongside.
func BenchmarkScrape(b *testing.B) {
	for _, n := range []int{100, 1000, 5000} {
		for _, up := range []string{"simulator", "canned"} {
			b.Run("tenants="+strconv.Itoa(n)+"/upstream="+up, func(b *testing.B) {
				var upstream http.Handler = cannedUpstream{}
				if up == "simulator" {
					upstream = benchSimulator(b, n)
				}
				h := benchMetricsHandler(b, n, nil, upstream)
				if up := upTenants(scrapeOnce(b, h).Body.String()); up != n {
					b.Fatalf("%d of %d tenants are up", up, n)
				}
				benchLoop(b, n, func() { scrapeGzip(b, h) })
			})
		}
	}
}

// BenchmarkScrapeWithLabels is BenchmarkScrape's canned scrape of tenants
// with fixed labels: "2" gives every tenant team and env, "mixed" gives
// half of them team and env and the other half team and owner, so that
// every series carries the union of three names and a third is "". Set
// against BenchmarkScrape, it is what the labels cost.
func BenchmarkScrapeWithLabels(b *testing.B) {
	for _, n := range []int{1000, 5000} {
		for name, labels := range map[string]func(i int) string{
			"2": func(i int) string { return fmt.Sprintf("{team: team-%d, env: prod}", i%10) },
			"mixed": func(i int) string {
				if i%2 == 0 {
					return fmt.Sprintf("{team: team-%d, env: prod}", i%10)
				}
				return fmt.Sprintf("{team: team-%d, owner: owner-%d}", i%10, i%7)
			},
		} {
			b.Run("tenants="+strconv.Itoa(n)+"/labels="+name, func(b *testing.B) {
				h := benchMetricsHandler(b, n, labels, cannedUpstream{})
				body := scrapeOnce(b, h).Body.String()
				if up := strings.Count(body, `team="team-`); up < n*18 {
					b.Fatalf("%d series carry a team label, want at least %d", up, n*18)
				}
				benchLoop(b, n, func() { scrapeGzip(b, h) })
			})
		}
	}
}

// BenchmarkProbe is a /probe of one tenant as sharded Prometheus servers
// make one per tenant: the fetch, the tenant's families and their text
// encoding, gzipped, without the exporter's own metrics.
func BenchmarkProbe(b *testing.B) {
	set := tenants.NewStatic(benchConfig(b, 1, nil), tenants.Options{})
	client := metastudio.NewClient(metastudio.ClientOptions{Transport: memTransport{cannedUpstream{}}})
	scraper := NewScraper(client, Options{MaxConcurrency: 32, Logger: log.NewNopLogger()})
	tenant := set.Snapshot().Tenants()[0]
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		serveExposition(b, w, r, scraper.Scrape(r.Context(), tenant.Labels.Names(), tenant), nil)
	})
	if up := upTenants(scrapeOnce(b, h).Body.String()); up != 1 {
		b.Fatal("the tenant is not up")
	}
	benchLoop(b, 1, func() { scrapeGzip(b, h) })
}

// benchLoop runs f under b.Loop and reports time, bytes and allocations per
// tenant, the figures that must stay flat as the tenant count grows.
func benchLoop(b *testing.B, tenants int, f func()) {
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	cpuBefore, cpuOK := processCPU()
	start := time.Now()
	iters := 0
	for b.Loop() {
		f()
		iters++
	}
	elapsed := time.Since(start)
	cpuAfter, cpuAfterOK := processCPU()
	runtime.ReadMemStats(&after)
	fetches := float64(iters * tenants)
	b.ReportMetric(float64(elapsed.Nanoseconds())/fetches, "ns/tenant")
	if cpuOK && cpuAfterOK {
		// ns/op is wall time spread over every core; this is what a tenant
		// costs in CPU, which is what the 100 µs target is about.
		b.ReportMetric(float64((cpuAfter-cpuBefore).Nanoseconds())/fetches, "cpu-ns/tenant")
	}
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/fetches, "B/tenant")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/fetches, "allocs/tenant")
}

// processCPU is this process's user+system CPU time from /proc/self/stat,
// in clock ticks of 10 ms (USER_HZ is 100 on every Linux ABI Go supports).
// It includes the garbage collector's background workers, which b.N-based
// figures hide. ok is false where there is no /proc.
func processCPU() (cpu time.Duration, ok bool) {
	raw, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, false
	}
	// The command name may hold spaces; the fields after its ')' do not.
	_, rest, found := strings.Cut(string(raw), ") ")
	fields := strings.Fields(rest)
	if !found || len(fields) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, true
}

// TestMemTransportScrapeMatchesSimulator guards the benchmark's wiring: every
// tenant is signed, verified and decoded through the in-memory transport,
// and the simulator sees exactly one call per tenant per scrape.
func TestMemTransportScrapeMatchesSimulator(t *testing.T) {
	const n = 40
	sim := benchSimulator(t, n)
	h := benchMetricsHandler(t, n, nil, sim)
	body := scrapeOnce(t, h).Body.String()
	for i := range n {
		want := fmt.Sprintf("metastudio_up{tenant=\"tenant-%05d\"} 1\n", i)
		if !strings.Contains(body, want) {
			t.Fatalf("exposition lacks %q", want)
		}
		if c := sim.Calls(benchProject(i)); c != 1 {
			t.Fatalf("project %d got %d calls, want 1", i, c)
		}
	}
	if strings.Contains(body, benchSK) || strings.Contains(body, "bench-callback-key") || strings.Contains(body, "bench-token") {
		t.Fatal("a secret reached the exposition")
	}
	if up := upTenants(body); up != n {
		t.Fatalf("%d of %d tenants are up", up, n)
	}
	// The simulator must really check signatures through memTransport, or
	// the benchmark would not pay for verification.
	unsigned := httptest.NewRequestWithContext(context.Background(), http.MethodGet, benchEndpoint+"/v1/"+benchProject(0)+"/smart-live-configs/user-config", nil)
	resp, err := memTransport{sim}.RoundTrip(unsigned)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unsigned request answered %d, want 401", resp.StatusCode)
	}
}

// upTenants counts metastudio_up series with the value 1.
func upTenants(exposition string) int {
	n := 0
	for line := range strings.Lines(exposition) {
		if strings.HasPrefix(line, "metastudio_up{") && strings.HasSuffix(line, "} 1\n") {
			n++
		}
	}
	return n
}
