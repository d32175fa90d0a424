package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/internal/loopback"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio/simulator"
)

func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "sk", "checked-secret-key\n")
	good := writeFile(t, dir, "good.yml", `credentials:
  main:
    access_key: AK1
    secret_key_file: sk
tenants:
  - name: shop-a
    project_id: p1
    credentials: main
`)
	bad := writeFile(t, dir, "bad.yml", `credentials:
  main:
    access_key: AK1
    secret_key: inline-secret-value
    secret_key_file: sk
tenants:
  - name: shop-a
    credentials: main
`)
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"--config.check", "--config.file=" + good}, &stdout, &stderr); code != 0 {
		t.Fatalf("good config: exit %d, stderr %q", code, stderr.String())
	}
	if want := good + ": 1 tenant (shop-a), 1 credential (1 AK/SK, 0 IAM password)\n"; stdout.String() != want {
		t.Errorf("good config: stdout %q, want %q", stdout.String(), want)
	}
	stdout.Reset()
	stderr.Reset()
	if code := run(context.Background(), []string{"--config.check", "--config.file=" + bad}, &stdout, &stderr); code != 1 {
		t.Fatalf("bad config: exit %d, want 1", code)
	}
	want := bad + ":5: credentials.main.secret_key_file: set together with secret_key; use only one\n" +
		bad + ":7: tenants[0].project_id: required\n"
	if stderr.String() != want {
		t.Errorf("bad config: stderr\n%s\nwant\n%s", stderr.String(), want)
	}
	if strings.Contains(stderr.String(), "inline-secret-value") {
		t.Error("the error shows the secret")
	}
}

// TestConfigCheckExample: a new user's first command passes on a machine
// with no secret files and no credentials in the environment.
func TestConfigCheckExample(t *testing.T) {
	for _, v := range []string{"HUAWEICLOUD_SDK_AK", "HUAWEICLOUD_SDK_SK", "HUAWEICLOUD_SDK_SECURITY_TOKEN"} {
		t.Setenv(v, "")
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"--config.check", "--config.file=metastudio.example.yml"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	if want := "metastudio.example.yml: 2 tenants (shop-a, shop-b), 2 credentials (1 AK/SK, 1 IAM password)\n"; stdout.String() != want {
		t.Errorf("stdout %q, want %q", stdout.String(), want)
	}
}

// TestStartupConfigErrorLoggedOnce: a config that does not load at start
// is one log line with every problem, and exit 1.
func TestStartupConfigErrorLoggedOnce(t *testing.T) {
	dir := t.TempDir()
	bad := writeFile(t, dir, "bad.yml", `credentials:
  main: {access_key: AK1, secret_key: inline-secret-value, secret_key_file: sk}
tenants:
  - name: shop-a
    credentials: main
`)
	for _, tc := range []struct {
		file, want string
	}{
		{bad, `level=error msg="Error loading config" file=` + bad + ` err="` + bad + `:2: credentials.main.secret_key_file: set together with secret_key; use only one\n` +
			bad + `:4: tenants[0].project_id: required"`},
		{"/nonexistent/metastudio.yml", `level=error msg="Error loading config" file=/nonexistent/metastudio.yml err="reading config file: open /nonexistent/metastudio.yml: no such file or directory"`},
	} {
		code, _, stderr := runWithin(t, "--config.file="+tc.file, "--web.listen-address="+loopback.FreeAddress(t))
		lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
		if code != 1 || len(lines) != 2 || !strings.Contains(lines[0], `msg="Starting metastudio_exporter"`) ||
			!strings.HasSuffix(lines[1], tc.want) || strings.Contains(stderr, "inline-secret-value") {
			t.Errorf("%s: exit %d, stderr:\n%s\nwant exit 1, the start line and one line ending in\n%s", tc.file, code, stderr, tc.want)
		}
	}
}

// TestBareStartWithoutConfigSaysWhatToDo: run bare where there is no
// metastudio.yml, the exporter says how to get one or to try --demo; a
// --config.file given by name gets only the error, as above.
func TestBareStartWithoutConfigSaysWhatToDo(t *testing.T) {
	t.Chdir(t.TempDir())
	code, _, stderr := runWithin(t, "--web.listen-address="+loopback.FreeAddress(t))
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	want := `level=info msg="No metastudio.yml here (the default --config.file): copy metastudio.example.yml to start one, or run with --demo to try the exporter without one"`
	if code != 1 || len(lines) != 3 ||
		!strings.HasSuffix(lines[1], `err="reading config file: open metastudio.yml: no such file or directory"`) ||
		!strings.HasSuffix(lines[2], want) {
		t.Errorf("exit %d, stderr:\n%s\nwant exit 1, the error, then a line ending in\n%s", code, stderr, want)
	}
}

func TestBusyPortExits(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var stderr bytes.Buffer
	code := run(context.Background(), []string{"--demo", "--callback.listen-address=127.0.0.1:0", "--web.listen-address=" + ln.Addr().String()}, io.Discard, &stderr)
	want := fmt.Sprintf("msg=Exiting err=\"serving HTTP: listen tcp %s: bind: address already in use\"", ln.Addr())
	if code != 1 || !strings.Contains(stderr.String(), want) {
		t.Errorf("exit %d, stderr %q; want exit 1 with %q", code, stderr.String(), want)
	}
}

// TestBusyReceiverPortExits: a receiver that cannot listen stops the
// exporter at start with one line naming the flag, instead of running
// without it and losing every event.
func TestBusyReceiverPortExits(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var stderr bytes.Buffer
	code := run(context.Background(), []string{"--demo", "--callback.listen-address=" + ln.Addr().String(), "--web.listen-address=" + loopback.FreeAddress(t)}, io.Discard, &stderr)
	want := fmt.Sprintf("msg=Exiting err=\"--callback.listen-address: listen tcp %s: bind: address already in use\"\n", ln.Addr())
	if code != 1 || !strings.HasSuffix(stderr.String(), want) || strings.Count(stderr.String(), "level=error") != 1 {
		t.Errorf("exit %d, stderr %q; want exit 1 ending with %q", code, stderr.String(), want)
	}
}

func TestDemo(t *testing.T) {
	e := startExporter(t, "--demo")
	first := strings.SplitN(e.logs.String(), "\n", 2)[0]
	if !regexp.MustCompile(`^ts=\S+ caller=main\.go:\d+ level=info msg="DEMO MODE: `).MatchString(first) {
		t.Errorf("first log line does not announce the demo:\n%s", e.logs)
	}
	code, body := e.get(t, "/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d %s", code, body)
	}
	for _, want := range []string{
		`metastudio_up{tenant="demo-safe"} 1`,
		`metastudio_up{tenant="demo-risky"} 1`,
		`metastudio_up{tenant="demo-rejected"} 0`,
		`metastudio_scrape_error_info{error_code="APIGW.0301",reason="auth",tenant="demo-rejected"} 1`,
		`metastudio_live_max_duration_seconds{tenant="demo-risky"} 0`,
		`metastudio_live_max_exception_waiting_seconds{tenant="demo-risky"} 0`,
		`metastudio_live_event_callback_https{tenant="demo-risky"} 0`,
		`metastudio_live_event_callback_auth_type_info{auth_type="NONE",tenant="demo-risky"} 1`,
		`metastudio_live_notify_event_enabled{event="AUTO_EXIT",tenant="demo-risky"} 0`,
		`metastudio_live_max_duration_seconds{tenant="demo-safe"} 43200`,
		// The receiver's lookups of demo-rejected's settings may call too.
		`metastudio_exporter_api_requests_total{code="401",tenant="demo-rejected"} `,
		`metastudio_exporter_config_last_reload_successful 1`,
		"go_goroutines ",
		"process_cpu_seconds_total ",
		`metastudio_exporter_build_info{branch="",goarch=`,
		`version="dev"} 1`,
	} {
		if !strings.Contains(body, want+"\n") && !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	// The demo's live jobs reach its receiver: a stream shows within
	// seconds, routed to the receiver's demo URL.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(body, `metastudio_live_stream_state{job_id="job-steady"`) {
		if time.Now().After(deadline) {
			t.Fatalf("no live stream of the demo within 10s:\n%s", body)
		}
		time.Sleep(50 * time.Millisecond)
		_, body = e.get(t, "/metrics?collect[]=streams")
	}
	if _, body = e.get(t, "/metrics"); !strings.Contains(body, `metastudio_live_event_callback_routed_here{tenant="demo-safe"} 1`+"\n") {
		t.Errorf("demo-safe's callback is not routed to the demo's receiver:\n%s", body)
	}
	code, body = e.get(t, "/")
	for _, want := range []string{"DEMO MODE", "demo-safe", "demo-risky", "demo-rejected", `href="/probe?tenant=demo-risky"`} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("status page (%d) lacks %q", code, want)
		}
	}
	// demo-rejected fails on purpose, when scraped and when its live events
	// make the receiver look up its settings: nothing a user could act on,
	// so no warning.
	if strings.Contains(e.logs.String(), "level=warn") {
		t.Errorf("the demo warned:\n%s", e.logs)
	}
}

func TestProbeAndLifecycleAnswers(t *testing.T) {
	// The receiver off: the demo's live jobs would fetch settings, and this
	// test counts the calls the scrapes make.
	e := startExporter(t, "--demo", "--callback.listen-address=")
	for _, tc := range []struct {
		method, path string
		code         int
		body         string
	}{
		{"GET", "/probe", 400, "tenant parameter is missing\n"},
		{"GET", "/probe?tenant=nope", 400, "unknown tenant \"nope\"\n"},
		{"GET", "/-/healthy", 200, "Healthy\n"},
		{"GET", "/-/ready", 200, "Ready\n"},
		{"GET", "/-/reload", 405, "only POST reloads the config\n"},
	} {
		code, body := e.do(t, tc.method, tc.path, nil)
		if code != tc.code || body != tc.body {
			t.Errorf("%s %s: %d %q, want %d %q", tc.method, tc.path, code, body, tc.code, tc.body)
		}
	}
	// The status page links to the heap profile; the link must work.
	code, body := e.get(t, "/debug/pprof/heap?debug=1")
	if code != 200 || !strings.HasPrefix(body, "heap profile: ") {
		t.Errorf("/debug/pprof/heap: %d %.40q", code, body)
	}
	code, body = e.get(t, "/metrics?collect[]=bogus")
	if want := "collect[]: unknown collector \"bogus\" (known: exporter, jobs, rooms, streams, tenants)\n"; code != 400 || body != want {
		t.Errorf("/metrics?collect[]=bogus: %d %q, want 400 %q", code, body, want)
	}
	// Only the exporter's own metrics, and no upstream call for them.
	code, body = e.get(t, "/metrics?collect[]=exporter")
	if code != 200 || !strings.Contains(body, "metastudio_exporter_build_info{") || !strings.Contains(body, "go_goroutines ") ||
		strings.Contains(body, "metastudio_up{") || strings.Contains(body, "metastudio_exporter_api_requests_total{") {
		t.Errorf("/metrics?collect[]=exporter must hold the exporter's metrics and no tenant, and call no tenant; got %d:\n%s", code, body)
	}
	code, body = e.get(t, "/metrics?collect[]=tenants")
	if code != 200 || !strings.Contains(body, `metastudio_up{tenant="demo-risky"} 1`) || strings.Contains(body, "go_goroutines") {
		t.Errorf("/metrics?collect[]=tenants must hold the tenants only; got %d:\n%s", code, body)
	}
	code, body = e.do(t, "GET", "/probe?tenant=demo-safe", http.Header{"X-Prometheus-Scrape-Timeout-Seconds": {"abc"}})
	if want := "X-Prometheus-Scrape-Timeout-Seconds: \"abc\" is not a number\n"; code != 400 || body != want {
		t.Errorf("bad timeout header: %d %q, want 400 %q", code, body, want)
	}
	code, body = e.get(t, "/probe?tenant=demo-safe")
	if code != 200 || !strings.Contains(body, `metastudio_up{tenant="demo-safe"} 1`) || strings.Contains(body, "demo-risky") ||
		strings.Contains(body, "metastudio_exporter_") || strings.Contains(body, "go_goroutines") {
		t.Errorf("/probe?tenant=demo-safe must hold only that tenant and no exporter metrics; got %d:\n%s", code, body)
	}
}

// TestScrapeDeadline: a hanging tenant must not hold the scrape past
// Prometheus' deadline, nor disturb the other tenant.
func TestScrapeDeadline(t *testing.T) {
	sim, err := simulator.Start(simulator.Options{},
		simulator.Tenant{ProjectID: "p-ok", AccessKey: "AK1", SecretKey: "SK1", Config: []byte(`{"live_exit_config":{"max_live_duration":2}}`)},
		simulator.Tenant{ProjectID: "p-hang", AccessKey: "AK1", SecretKey: "SK1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	sim.Server.SetFault("p-hang", simulator.Fault{Hang: true})
	cfg := writeFile(t, t.TempDir(), "metastudio.yml", fmt.Sprintf(`credentials:
  sim: {access_key: AK1, secret_key: SK1}
tenants:
  - {name: ok, project_id: p-ok, endpoint: %[1]s, credentials: sim}
  - {name: hang, project_id: p-hang, endpoint: %[1]s, credentials: sim, timeout: 1m}
`, sim.URL))
	e := startExporter(t, "--config.file="+cfg, "--scrape.timeout-offset=0.5s")
	start := time.Now()
	code, body := e.do(t, "GET", "/metrics", http.Header{"X-Prometheus-Scrape-Timeout-Seconds": {"2"}})
	elapsed := time.Since(start)
	// The deadline is 2s - 0.5s. Only a scrape that waited for the hanging
	// tenant's own 1m timeout instead could take half of that, however
	// busy the machine.
	t.Logf("the scrape answered after %s", elapsed)
	if elapsed > 30*time.Second {
		t.Errorf("scrape took %s: it waited for the hanging tenant, not for the 2s scrape timeout", elapsed)
	}
	for _, want := range []string{
		`metastudio_up{tenant="ok"} 1`,
		`metastudio_live_max_duration_seconds{tenant="ok"} 7200`,
		`metastudio_up{tenant="hang"} 0`,
		`metastudio_scrape_error_info{error_code="",reason="timeout",tenant="hang"} 1`,
		`metastudio_exporter_api_requests_total{code="timeout",tenant="hang"} 1`,
	} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("/metrics (%d) lacks %q", code, want)
		}
	}
}

// TestExpositionPassesPromtool runs the full /metrics answer through
// `promtool check metrics`, which must print nothing.
func TestExpositionPassesPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool is not installed; .ci/run installs the prometheus package")
		}
		t.Skip("promtool is not installed (apt-get install prometheus)")
	}
	e := startExporter(t, "--demo")
	for _, path := range []string{"/metrics", "/probe?tenant=demo-risky", "/probe?tenant=demo-rejected"} {
		code, body := e.get(t, path)
		if code != 200 {
			t.Fatalf("%s: %d", path, code)
		}
		cmd := exec.Command(promtool, "check", "metrics")
		cmd.Stdin = strings.NewReader(body)
		out, err := cmd.CombinedOutput()
		if err != nil || len(out) != 0 {
			t.Errorf("promtool check metrics on %s: %v\n%s", path, err, out)
		}
	}
}
