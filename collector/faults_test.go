package collector

import (
	"bytes"
	"fmt"
	"io"
	stdlog "log"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/metastudio-exporter/metastudio_exporter/internal/loopback"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio/simulator"
)

// faultCase is one way the faulty tenant's upstream misbehaves.
type faultCase struct {
	name  string
	fault simulator.Fault
	// upstream, if set, replaces the simulator as faulty's endpoint; it is
	// started inside the case, so the leak check covers it too.
	upstream func(t *testing.T, simURL string) (endpoint string, stop func())
	// reason and code are the expected scrape_error_info labels; an empty
	// reason means faulty must be up, showing want.
	reason, code string
	want         []string
}

// maxLogLine bounds a log line, whatever the upstream sends.
const maxLogLine = 2048

// maxScrapeAlloc bounds what one scrape may allocate, in the whole process
// (simulator included), whatever the upstream sends.
const maxScrapeAlloc = 32 << 20

// TestFaultMatrix makes one tenant's upstream fail in every way the issue
// names, and more, and checks for each: the reason shown, that the other
// tenants' metrics are exactly as without the fault, that the scrape
// answered before Prometheus' timeout, what the scrape allocated, and that
// no goroutine outlives the case.
func TestFaultMatrix(t *testing.T) {
	sim := startSim(t)
	baseline := newExporter(t, staticSource(threeTenants(t, sim.URL, sim.URL, "")), Options{}).mustGet(t, "/metrics")
	healthy := map[string][]string{"ok-a": tenantLines(baseline, "ok-a"), "ok-b": tenantLines(baseline, "ok-b")}
	faultyUp := tenantLines(baseline, "faulty")
	if len(healthy["ok-a"]) != 17 || len(healthy["ok-b"]) != 17 || len(faultyUp) != 17 {
		t.Fatalf("baseline scrape is incomplete:\n%s", baseline)
	}

	var cases []faultCase
	cases = append(cases, timingFaults(faultyUp)...)
	cases = append(cases, statusFaults()...)
	cases = append(cases, bodyFaults()...)
	cases = append(cases, connectionFaults()...)
	var worst uint64
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ignore := goleak.IgnoreCurrent()
			sim.Server.SetFault(projectFaulty, tc.fault)
			defer sim.Server.SetFault(projectFaulty, simulator.Fault{})
			endpoint, stop := sim.URL, func() {}
			if tc.upstream != nil {
				endpoint, stop = tc.upstream(t, sim.URL)
			}
			e := newExporter(t, staticSource(threeTenants(t, sim.URL, endpoint, "")), Options{})

			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			body := e.mustGet(t, "/metrics")
			runtime.ReadMemStats(&after)

			alloc := after.TotalAlloc - before.TotalAlloc
			worst = max(worst, alloc)
			t.Logf("the scrape allocated %.2f MiB", float64(alloc)/(1<<20))
			if alloc > maxScrapeAlloc {
				t.Errorf("the scrape allocated %d MiB, over the %d MiB bound", alloc>>20, maxScrapeAlloc>>20)
			}
			got := tenantLines(body, "faulty")
			if tc.reason != "" {
				want := failedLines("faulty", projectFaulty, tc.reason, tc.code)
				if !slices.Equal(got, want) {
					t.Errorf("faulty shows\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
			} else {
				// Known series plus at most maxUnknownValues made-up ones.
				if len(got) > len(faultyUp)+maxUnknownValues {
					t.Errorf("faulty shows %d series, more than %d", len(got), len(faultyUp)+maxUnknownValues)
				}
				for _, w := range tc.want {
					if !slices.Contains(got, w) {
						t.Errorf("faulty lacks %q; it shows\n%s", w, strings.Join(got, "\n"))
					}
				}
			}
			for name, want := range healthy {
				if got := tenantLines(body, name); !slices.Equal(got, want) {
					t.Errorf("%s changed under faulty's fault:\n%s\nwant\n%s", name, strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
			}
			for line := range strings.Lines(e.logs.String()) {
				if len(line) > maxLogLine {
					t.Errorf("a %d-byte log line: %.200s…", len(line), line)
				}
			}
			for _, secret := range []string{simSK, "harness-SECRET"} {
				if strings.Contains(body, secret) || strings.Contains(e.logs.String(), secret) {
					t.Errorf("a secret reached the answer or the log")
				}
			}
			stop()
			e.transport.CloseIdleConnections()
			goleak.VerifyNone(t, ignore)
		})
	}
	t.Logf("largest allocation by one scrape: %.1f MiB", float64(worst)/(1<<20))
}

// timingFaults: hanging, too slow and slow-but-in-time upstreams. The
// tenants' timeout is a minute, so the scrape deadline (1s) is the bound.
func timingFaults(faultyUp []string) []faultCase {
	return []faultCase{
		{name: "hang", fault: simulator.Fault{Hang: true}, reason: "timeout"},
		{name: "slower_than_deadline", fault: simulator.Fault{Latency: time.Minute}, reason: "timeout"},
		{name: "slow_within_deadline", fault: simulator.Fault{Latency: 200 * time.Millisecond}, want: faultyUp},
		{name: "body_trickle", upstream: trickleUpstream, reason: "timeout"},
		{name: "tls_handshake_stall", upstream: func(t *testing.T, _ string) (string, func()) {
			return rawUpstream(t, "https", func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
		}, reason: "timeout"},
	}
}

// statusFaults: every error status with a MetaStudio and a gateway error
// body, and throttling signalled by the error code alone.
func statusFaults() []faultCase {
	var cases []faultCase
	for _, s := range []struct {
		status   int
		mss, gw  string
		reason   string
		statusIs string
	}{
		{400, "MSS.00000003", "APIGW.0211", "client_error", ""},
		{401, "MSS.00000002", "APIGW.0301", "auth", ""},
		{403, "MSS.00000005", "APIGW.0302", "forbidden", ""},
		{404, "MSS.00000004", "APIGW.0101", "client_error", ""},
		{429, "MSS.00000010", "APIGW.0308", "throttled", ""},
		{500, "MSS.00000001", "APIGW.0203", "server_error", ""},
		{502, "MSS.00000001", "APIGW.0202", "server_error", ""},
		{503, "MSS.00000001", "APIGW.0202", "server_error", ""},
	} {
		for _, code := range []string{s.mss, s.gw} {
			cases = append(cases, faultCase{
				name:   fmt.Sprintf("status_%d_%s", s.status, code),
				fault:  simulator.Fault{Status: s.status, ErrorCode: code, ErrorMsg: "injected by the fault matrix"},
				reason: s.reason, code: code,
			})
		}
	}
	return append(cases,
		faultCase{name: "status_403_APIGW.0308", fault: simulator.Fault{Status: 403, ErrorCode: "APIGW.0308"}, reason: "throttled", code: "APIGW.0308"},
		faultCase{name: "status_429_retry_after_date", fault: simulator.Fault{Status: 429, RetryAfter: "Wed, 21 Oct 2099 07:28:00 GMT"}, reason: "throttled", code: "APIGW.0308"},
		faultCase{name: "status_302_bare", fault: simulator.Fault{Status: 302}, reason: "client_error"},
		faultCase{name: "status_500_error_msg_512KiB", fault: simulator.Fault{Status: 500, ErrorMsg: strings.Repeat("m", 512<<10)}, reason: "server_error", code: "MSS.00000001"},
		faultCase{name: "status_500_error_code_10k", fault: simulator.Fault{Status: 500, ErrorCode: strings.Repeat("X", 10000)}, reason: "server_error", code: strings.Repeat("X", 64)},
		faultCase{name: "status_502_html_page", upstream: func(t *testing.T, _ string) (string, func()) {
			return httpUpstream(t, func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(http.StatusBadGateway)
				_, _ = io.WriteString(w, "<html><body><h1>502 Bad Gateway</h1></body></html>")
			})
		}, reason: "server_error"},
	)
}

// bodyFaults: 200 answers whose body is not a user config, or is hostile.
func bodyFaults() []faultCase {
	flood := make([]string, 10000)
	for i := range flood {
		flood[i] = fmt.Sprintf("%q", fmt.Sprintf("NEW_EVENT_%05d", i))
	}
	return []faultCase{
		{name: "malformed_json", fault: simulator.Fault{Body: []byte(`{"live_exit_config":{"max_live_duration":`)}, reason: "decode"},
		{name: "wrong_type_number_as_string", fault: simulator.Fault{Body: []byte(`{"live_exit_config":{"max_live_duration":"12"}}`)}, reason: "decode"},
		{name: "wrong_type_string_for_list", fault: simulator.Fault{Body: []byte(`{"live_notify_config":{"notify_events":"AUTO_EXIT"}}`)}, reason: "decode"},
		{name: "wrong_type_array_for_object", fault: simulator.Fault{Body: []byte(`[{"live_exit_config":{}}]`)}, reason: "decode"},
		{name: "wrong_type_fraction", fault: simulator.Fault{Body: []byte(`{"live_exit_config":{"max_live_duration":1.5}}`)}, reason: "decode"},
		{name: "null_200", fault: simulator.Fault{Body: []byte("null")}, reason: "decode"},
		{name: "empty_200", fault: simulator.Fault{Body: []byte{}}, reason: "decode"},
		{name: "status_204", fault: simulator.Fault{Status: 204}, reason: "decode"},
		{name: "nested_200k_deep", fault: simulator.Fault{Body: bytes.Repeat([]byte("["), 200000)}, reason: "decode"},
		{name: "body_100MB", fault: simulator.Fault{BodySize: 100 << 20}, reason: "decode"},
		{name: "body_limit_plus_1", fault: simulator.Fault{BodySize: 1<<20 + 1}, reason: "decode"},
		{name: "body_exactly_limit", fault: simulator.Fault{BodySize: 1 << 20}, want: []string{`metastudio_up{tenant="faulty"} 1`}},
		{name: "unknown_enum_flood", fault: simulator.Fault{Body: []byte(`{"live_event_callback_config":{"callback_event_type":[` + strings.Join(flood, ",") + `]}}`)},
			want: []string{`metastudio_up{tenant="faulty"} 1`, `metastudio_live_event_callback_event_enabled{event_type="NEW_EVENT_00007",tenant="faulty"} 1`}},
		{name: "invalid_utf8_enum", fault: simulator.Fault{Body: []byte("{\"live_exit_config\":{\"auto_stop_mode\":\"\xff\xfe\"}}")},
			want: []string{"metastudio_live_auto_stop_mode_info{mode=\"\uFFFD\uFFFD\",tenant=\"faulty\"} 1"}},
	}
}

// connectionFaults: failures below HTTP.
func connectionFaults() []faultCase {
	return []faultCase{
		{name: "reset_mid_body", fault: simulator.Fault{ResetMidBody: true, BodySize: 64 << 10}, reason: "network"},
		{name: "reset_mid_stored_body", fault: simulator.Fault{ResetMidBody: true}, reason: "network"},
		{name: "connection_refused", upstream: func(t *testing.T, _ string) (string, func()) {
			return "http://" + loopback.FreeAddress(t), func() {}
		}, reason: "network"},
		{name: "tls_to_plain_http", upstream: func(_ *testing.T, simURL string) (string, func()) {
			return "https://" + strings.TrimPrefix(simURL, "http://"), func() {}
		}, reason: "network"},
		{name: "tls_self_signed", upstream: func(t *testing.T, _ string) (string, func()) {
			srv := httptest.NewTLSServer(http.NotFoundHandler())
			srv.Config.ErrorLog = discardLog()
			return srv.URL, srv.Close
		}, reason: "network"},
		{name: "closed_before_answer", upstream: func(t *testing.T, _ string) (string, func()) {
			return rawUpstream(t, "http", func(c net.Conn) {})
		}, reason: "network"},
		{name: "not_http", upstream: func(t *testing.T, _ string) (string, func()) {
			return rawUpstream(t, "http", func(c net.Conn) {
				if _, err := c.Read(make([]byte, 1)); err == nil {
					_, _ = io.WriteString(c, "SSH-2.0-OpenSSH_9.6\r\n")
				}
			})
		}, reason: "network"},
	}
}

// rawUpstream accepts TCP connections on 127.0.0.1 and hands each to serve,
// closing it afterwards. stop closes the listener and every connection and
// waits for the handlers.
func rawUpstream(t *testing.T, scheme string, serve func(net.Conn)) (string, func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				serve(c)
			}()
		}
	}()
	return scheme + "://" + ln.Addr().String(), func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}
}

// discardLog silences a test server's complaints about the handshakes the
// client aborts, which are the point of the case.
func discardLog() *stdlog.Logger { return stdlog.New(io.Discard, "", 0) }

// httpUpstream serves h on a loopback port.
func httpUpstream(t *testing.T, h http.HandlerFunc) (string, func()) {
	t.Helper()
	srv := httptest.NewServer(h)
	return srv.URL, srv.Close
}

// trickleUpstream promises a body and sends it a byte every 20ms, each
// within any read timeout a client might have, until the client leaves.
func trickleUpstream(t *testing.T, _ string) (string, func()) {
	return httpUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100000")
		w.WriteHeader(http.StatusOK)
		rc := http.NewResponseController(w)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			if _, err := w.Write([]byte(" ")); err != nil || rc.Flush() != nil {
				return
			}
			select {
			case <-tick.C:
			case <-r.Context().Done():
				return
			}
		}
	})
}

// TestIAMFaults: a tenant with IAM password credentials whose IAM endpoint
// misbehaves fails alone, with its own reason.
func TestIAMFaults(t *testing.T) {
	sim := startSim(t)
	for _, tc := range []struct {
		name         string
		iam          func(t *testing.T) (string, func())
		reason, code string
	}{
		{"iam_hangs", func(t *testing.T) (string, func()) {
			return rawUpstream(t, "http", func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
		}, "timeout", ""},
		{"iam_refused", func(t *testing.T) (string, func()) { return "http://" + loopback.FreeAddress(t), func() {} }, "network", ""},
		{"iam_wrong_password", func(*testing.T) (string, func()) { return sim.URL, func() {} }, "credentials", "401"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ignore := goleak.IgnoreCurrent()
			iamURL, stop := tc.iam(t)
			cfg := parseConfig(t, fmt.Sprintf(`credentials:
  sim: {access_key: %s, secret_key: %s}
  iam:
    iam_password: {domain: acme, user: monitor, password: iam-SECRET-password, endpoint: %q}
tenants:
  - {name: ok-a, project_id: %s, endpoint: %q, credentials: sim}
  - {name: faulty, project_id: %s, endpoint: %q, credentials: iam}
`, simAK, simSK, iamURL, projectA, sim.URL, projectFaulty, sim.URL))
			e := newExporter(t, staticSource(cfg), Options{})
			body := e.mustGet(t, "/metrics")
			if got, want := tenantLines(body, "faulty"), failedLines("faulty", projectFaulty, tc.reason, tc.code); !slices.Equal(got, want) {
				t.Errorf("faulty shows\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if !strings.Contains(body, `metastudio_up{tenant="ok-a"} 1`) {
				t.Errorf("ok-a is not up:\n%s", body)
			}
			if strings.Contains(e.logs.String(), "iam-SECRET") || strings.Contains(body, "iam-SECRET") {
				t.Error("the IAM password reached the answer or the log")
			}
			stop()
			e.transport.CloseIdleConnections()
			goleak.VerifyNone(t, ignore)
		})
	}
}
