package collector

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/internal/lockedbuffer"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio/simulator"
	"github.com/metastudio-exporter/metastudio_exporter/tenants"
)

// The integration tests run the real client against the simulator, with the
// upstream on 127.0.0.1, and serve the answers as the web layer does.

const (
	simAK = "AKHARNESS0000000001"
	simSK = "harness-SECRET-sk"
	// Projects behind the simulator: two that always answer, one that the
	// tests make misbehave.
	projectA      = "0a0a0a0a0a0a4a0a8a0a0a0a0a0a0a0a"
	projectB      = "0b0b0b0b0b0b4b0b8b0b0b0b0b0b0b0b"
	projectFaulty = "0f0f0f0f0f0f4f0f8f0f0f0f0f0f0f0f"
	configA       = `{"live_exit_config":{"max_live_duration":12,"auto_stop_mode":"SEGMENT_END","max_exception_waiting_duration":5},` +
		`"live_event_callback_config":{"live_event_type_callback_url":"https://hooks.example.com/cb?token=harness-SECRET-token",` +
		`"auth_type":"MSS_A","key":"harness-SECRET-key","callback_event_type":["SHOOT_SCRIPT_SWITCH"]},` +
		`"live_notify_config":{"notify_events":["AUTO_EXIT"]}}`
	configB      = `{"live_exit_config":{"max_live_duration":2}}`
	configFaulty = `{"live_exit_config":{"max_live_duration":6}}`
)

// startSim runs the simulator with the three projects.
func startSim(t *testing.T) *simulator.Running {
	t.Helper()
	sim, err := simulator.Start(simulator.Options{},
		simulator.Tenant{ProjectID: projectA, AccessKey: simAK, SecretKey: simSK, Config: []byte(configA)},
		simulator.Tenant{ProjectID: projectB, AccessKey: simAK, SecretKey: simSK, Config: []byte(configB)},
		simulator.Tenant{ProjectID: projectFaulty, AccessKey: simAK, SecretKey: simSK, Config: []byte(configFaulty)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := sim.Close(); err != nil {
			t.Error(err)
		}
	})
	return sim
}

// threeTenants is a config with ok-a and ok-b on the simulator and faulty
// at faultyEndpoint; extra is appended to faulty's entry (e.g. a timeout).
func threeTenants(t *testing.T, simURL, faultyEndpoint, extra string) *config.Config {
	t.Helper()
	return parseConfig(t, fmt.Sprintf(`defaults:
  credentials: sim
  timeout: 1m
credentials:
  sim: {access_key: %s, secret_key: %s}
tenants:
  - {name: ok-a, project_id: %s, endpoint: %q}
  - {name: ok-b, project_id: %s, endpoint: %q}
  - {name: faulty, project_id: %s, endpoint: %q%s}
`, simAK, simSK, projectA, simURL, projectB, simURL, projectFaulty, faultyEndpoint, extra))
}

func parseConfig(t *testing.T, yaml string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml), "test.yml", t.TempDir(), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("%v\n%s", err, yaml)
	}
	return cfg
}

// staticSource is a tenant set that serves cfg for good.
func staticSource(cfg *config.Config) *tenants.Set { return tenants.NewStatic(cfg, tenants.Options{}) }

// exporterUnderTest is a Scraper with a real client, its own transport and
// request metrics, and a log, served over /metrics and /probe the way the
// web layer (web/scrape.go) serves it.
type exporterUnderTest struct {
	source    *tenants.Set
	scraper   *Scraper
	exporter  prometheus.Gatherer
	transport *http.Transport
	requests  *RequestMetrics
	logs      *lockedbuffer.Buffer
}

func newExporter(t *testing.T, src *tenants.Set, opts Options) *exporterUnderTest {
	t.Helper()
	e := &exporterUnderTest{
		source:    src,
		transport: metastudio.NewTransport(8),
		requests:  NewRequestMetrics(),
		logs:      &lockedbuffer.Buffer{},
	}
	client := metastudio.NewClient(metastudio.ClientOptions{Transport: e.transport, Observe: e.requests.Observe})
	logger := log.NewLogfmtLogger(e.logs)
	if opts.MaxConcurrency == 0 {
		opts.MaxConcurrency = 8
	}
	opts.Logger = logger
	e.scraper = NewScraper(client, opts)
	FollowTenants(src, e.scraper, e.requests) // as main wires it
	reg := prometheus.NewRegistry()
	reg.MustRegister(e.requests)
	e.exporter = reg
	t.Cleanup(e.transport.CloseIdleConnections)
	return e
}

// scrapeTimeout is what Prometheus would send as
// X-Prometheus-Scrape-Timeout-Seconds; less the web layer's default 0.5s
// offset, tenants get 1s.
const (
	scrapeTimeout  = 1500 * time.Millisecond
	tenantsTimeout = scrapeTimeout - 500*time.Millisecond
)

// get serves path (/metrics or /probe?tenant=NAME) as the web layer does,
// with Prometheus' timeout header, and returns the status, the body and how
// long the answer took.
func (e *exporterUnderTest) get(t *testing.T, path string) (int, string, time.Duration) {
	t.Helper()
	start := time.Now()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", fmt.Sprint(scrapeTimeout.Seconds()))
	rec := httptest.NewRecorder()
	e.serve(t, rec, req)
	return rec.Code, rec.Body.String(), time.Since(start)
}

// serve answers req as the web layer does: the tenants get the request's
// context, less the offset from its timeout header if it has one, and
// /metrics adds the exporter's own metrics.
func (e *exporterUnderTest) serve(t *testing.T, w http.ResponseWriter, req *http.Request) {
	t.Helper()
	ctx, cancel := context.WithCancel(req.Context())
	if req.Header.Get("X-Prometheus-Scrape-Timeout-Seconds") != "" {
		ctx, cancel = context.WithTimeout(req.Context(), tenantsTimeout)
	}
	defer cancel()
	cfg := e.source.Snapshot()
	if name, ok := strings.CutPrefix(req.URL.RequestURI(), "/probe?tenant="); ok {
		tenant, found := cfg.Tenant(name)
		if !found {
			t.Fatalf("%s: unknown tenant", req.URL)
		}
		serveExposition(t, w, req, e.scraper.Scrape(ctx, tenant.Labels.Names(), tenant), nil)
		return
	}
	// Tenants first: their calls update the request metrics.
	serveExposition(t, w, req, e.scraper.Scrape(ctx, cfg.LabelNames(), cfg.Tenants()...), e.exporter)
}

// mustGet is get for a 200 answered before Prometheus' scrape timeout.
func (e *exporterUnderTest) mustGet(t *testing.T, path string) string {
	t.Helper()
	code, body, took := e.get(t, path)
	if code != http.StatusOK {
		t.Fatalf("%s answered %d: %s", path, code, body)
	}
	if took >= scrapeTimeout {
		t.Errorf("%s took %s, not within the %s scrape timeout", path, took, scrapeTimeout)
	}
	return body
}

// tenantLines returns the tenant's series lines from an exposition, sorted,
// leaving out scrape_duration_seconds, which varies from scrape to scrape,
// and the exporter's own metrics.
func tenantLines(exposition, tenant string) []string {
	var out []string
	label := `tenant="` + tenant + `"`
	for line := range strings.Lines(exposition) {
		if strings.HasPrefix(line, "#") || !strings.Contains(line, label) ||
			strings.HasPrefix(line, "metastudio_scrape_duration_seconds") || strings.HasPrefix(line, "metastudio_exporter_") {
			continue
		}
		out = append(out, strings.TrimSuffix(line, "\n"))
	}
	slices.Sort(out)
	return out
}

// failedLines is what a failed tenant shows besides its duration.
func failedLines(tenant, projectID, reason, code string) []string {
	l := fmt.Sprintf
	return []string{
		l(`metastudio_policy_max_exception_waiting_seconds{tenant=%q} 1800`, tenant),
		l(`metastudio_policy_max_live_duration_seconds{tenant=%q} 0`, tenant),
		l(`metastudio_scrape_error_info{error_code=%q,reason=%q,tenant=%q} 1`, code, reason, tenant),
		l(`metastudio_tenant_info{project_id=%q,region="cn-north-4",tenant=%q} 1`, projectID, tenant),
		l(`metastudio_up{tenant=%q} 0`, tenant),
	}
}

// countLines counts log lines holding every one of parts.
func countLines(logs string, parts ...string) int {
	n := 0
	for line := range strings.Lines(logs) {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			n++
		}
	}
	return n
}
