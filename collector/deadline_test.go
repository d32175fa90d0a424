package collector

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio/simulator"
	"github.com/metastudio-exporter/metastudio_exporter/tenants"
)

// slowFleet starts a simulator whose every call takes latency, with n
// projects, and a config naming them t00, t01, ...
func slowFleet(t *testing.T, n int, latency time.Duration) (*simulator.Running, *config.Config) {
	t.Helper()
	var tenants []simulator.Tenant
	for i := range n {
		tenants = append(tenants, simulator.Tenant{ProjectID: fmt.Sprintf("%032x", i+1), AccessKey: simAK, SecretKey: simSK, Config: []byte(configB)})
	}
	sim, err := simulator.Start(simulator.Options{Latency: latency}, tenants...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	var y strings.Builder
	fmt.Fprintf(&y, "defaults: {credentials: sim, timeout: 1m}\ncredentials:\n  sim: {access_key: %s, secret_key: %s}\ntenants:\n", simAK, simSK)
	for i, st := range tenants {
		fmt.Fprintf(&y, "  - {name: t%02d, project_id: %q, endpoint: %q}\n", i, st.ProjectID, sim.URL)
	}
	return sim, parseConfig(t, y.String())
}

// simCalls is how many user-config GETs reached the simulator.
func simCalls(sim *simulator.Running, cfg *config.Config) int64 {
	var n int64
	for _, tn := range cfg.Tenants() {
		n += sim.Server.Calls(tn.ProjectID)
	}
	return n
}

// countedCalls sums metastudio_exporter_api_requests_total.
func countedCalls(t *testing.T, m *RequestMetrics) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() == "metastudio_exporter_api_requests_total" {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// settle waits until no call is in flight at the simulator, and a little
// longer, so that a call started late would have been seen.
func settle(t *testing.T, sim *simulator.Running, cfg *config.Config, latency time.Duration) int64 {
	t.Helper()
	prev := simCalls(sim, cfg)
	for range 50 {
		time.Sleep(2 * latency)
		n := simCalls(sim, cfg)
		if n == prev {
			return n
		}
		prev = n
	}
	t.Fatal("calls kept arriving at the simulator")
	return 0
}

func upAndReasons(body string) (up int, reasons map[string]int) {
	reasons = map[string]int{}
	for line := range strings.Lines(body) {
		switch {
		case strings.HasPrefix(line, "metastudio_up{") && strings.HasSuffix(line, " 1\n"):
			up++
		case strings.HasPrefix(line, "metastudio_scrape_error_info{"):
			i := strings.Index(line, `reason="`) + len(`reason="`)
			reasons[line[i:i+strings.IndexByte(line[i:], '"')]]++
		}
	}
	return up, reasons
}

// TestNoCallStartsAfterTheDeadline: 40 tenants at 300 ms behind two slots
// cannot all be fetched in the 1 s a 1.5 s scrape leaves. (300 ms keeps
// the deadline away from the moment a round of calls ends and the next
// starts, where a call could be counted as sent yet never arrive.) Once the
// deadline passes nothing new starts: the calls counted are the calls the
// upstream saw, the tenants not reached show up 0 with reason timeout, and
// one line sums them up instead of a warning per tenant.
func TestNoCallStartsAfterTheDeadline(t *testing.T) {
	const n, latency = 40, 300 * time.Millisecond
	sim, cfg := slowFleet(t, n, latency)
	e := newExporter(t, staticSource(cfg), Options{MaxConcurrency: 2})
	code, body, _ := e.get(t, "/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics answered %d", code)
	}
	seen := settle(t, sim, cfg, latency)
	// Two slots for 1 s at 300 ms a call: rounds start at 0, 0.3, 0.6 and
	// 0.9 s at the earliest, so at most 8 calls, however slow the machine.
	if seen > 8 {
		t.Errorf("the simulator saw %d calls; at most 8 can start before the deadline", seen)
	}
	if got := countedCalls(t, e.requests); got != float64(seen) {
		t.Errorf("metastudio_exporter_api_requests_total sums to %v, the simulator saw %d calls", got, seen)
	}
	up, reasons := upAndReasons(body)
	if up+reasons["timeout"] != n || len(reasons) > 1 {
		t.Errorf("%d tenants up and reasons %v; want every other tenant down with reason timeout", up, reasons)
	}
	logs := e.logs.String()
	notReached := n - int(seen)
	want := fmt.Sprintf("not_reached=%d tenants=%d cause=deadline", notReached, n)
	if got := countLines(logs, "Scrape ended before some tenants' calls could start", want); got != 1 {
		t.Errorf("%d summary lines with %q, want 1; log:\n%s", got, want, logs)
	}
	// Only the calls cut at the deadline are the tenants' own failures.
	if got := countLines(logs, "level=warn"); got > 3 {
		t.Errorf("%d warnings, want the summary and at most the 2 calls cut at the deadline:\n%s", got, logs)
	}
}

// TestClientGoneStartsNothingNew: a client without a timeout header that
// hangs up leaves no call starting for the tenants it did not reach; a
// call already in flight may finish for its waiters.
func TestClientGoneStartsNothingNew(t *testing.T) {
	const n, latency = 40, 200 * time.Millisecond
	sim, cfg := slowFleet(t, n, latency)
	e := newExporter(t, staticSource(cfg), Options{MaxConcurrency: 2})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(500*time.Millisecond, cancel)
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil).WithContext(ctx)
	e.serve(t, httptest.NewRecorder(), req)
	seen := settle(t, sim, cfg, latency)
	// Starts at 0, 200 and 400 ms on two slots; the client leaves at 500.
	if seen > 6 {
		t.Errorf("the simulator saw %d calls after a client left at 0.5 s; at most 6 start before", seen)
	}
	if got := countedCalls(t, e.requests); got != float64(seen) {
		t.Errorf("metastudio_exporter_api_requests_total sums to %v, the simulator saw %d calls", got, seen)
	}
	if got := countLines(e.logs.String(), "Scrape ended before some tenants' calls could start", "cause=\"client went away\""); got != 1 {
		t.Errorf("%d summary lines, want 1:\n%s", got, e.logs.String())
	}
}

// TestRemovedTenantStaysForgotten: a reload removes a tenant while its call
// is in flight; when the call ends, its counter series must not come back.
func TestRemovedTenantStaysForgotten(t *testing.T) {
	sim := startSim(t)
	sim.Server.SetFault(projectFaulty, simulator.Fault{Latency: 300 * time.Millisecond})
	dir := t.TempDir()
	path := dir + "/metastudio.yml"
	writeConfigFile(t, path, threeTenantsYAML(sim.URL))
	set := tenants.New(path, tenants.Options{})
	if err := set.Reload(); err != nil {
		t.Fatal(err)
	}
	e := newExporter(t, set, Options{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.get(t, "/metrics")
	}()
	// Reload without faulty while its call is still in flight.
	for sim.Server.Calls(projectFaulty) == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	writeConfigFile(t, path, strings.Split(threeTenantsYAML(sim.URL), "  - {name: faulty")[0])
	if err := set.Reload(); err != nil {
		t.Fatal(err)
	}
	<-done
	reg := prometheus.NewRegistry()
	reg.MustRegister(e.requests)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if labelOf(m, "tenant") == "faulty" {
				t.Errorf("%s came back for the removed tenant after its call ended", mf.GetName())
			}
		}
	}
}

func labelOf(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func threeTenantsYAML(simURL string) string {
	return fmt.Sprintf(`defaults:
  credentials: sim
credentials:
  sim: {access_key: %s, secret_key: %s}
tenants:
  - {name: ok-a, project_id: %s, endpoint: %q}
  - {name: faulty, project_id: %s, endpoint: %q}
`, simAK, simSK, projectA, simURL, projectFaulty, simURL)
}
