package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/metastudio-exporter/metastudio_exporter/internal/lockedbuffer"
	"github.com/metastudio-exporter/metastudio_exporter/internal/loopback"
)

// runningExporter is the whole program in-process, which the test stops
// when it wants to look at what is left.
type runningExporter struct {
	url  string
	logs *lockedbuffer.Buffer
	// client keeps no connection to the exporter, so that none outlives it.
	client *http.Client
	stop   func()
}

func startStoppable(t *testing.T, args ...string) *runningExporter {
	t.Helper()
	addr := loopback.FreeAddress(t)
	e := &runningExporter{url: "http://" + addr, logs: &lockedbuffer.Buffer{}, client: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}}
	ctx, cancel := context.WithCancel(context.Background())
	exited := make(chan int, 1)
	go func() { exited <- run(ctx, append(args, "--web.listen-address="+addr), io.Discard, e.logs) }()
	stopped := false
	e.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case code := <-exited:
			if code != 0 {
				t.Errorf("exit %d:\n%s", code, e.logs)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the exporter did not stop within 10s")
		}
	}
	t.Cleanup(e.stop)
	e.waitFor(t, "the exporter to serve", func() bool { code, _ := e.request(t, http.MethodGet, "/-/healthy"); return code == 200 })
	return e
}

func (e *runningExporter) request(t *testing.T, method, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, e.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return send(t, e.client, req)
}

func (e *runningExporter) waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 30s for %s; log:\n%s", what, e.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestReloadWithBadCAFileKeepsServing: a reload whose ca_file holds no
// certificate fails naming file, line and key, and the tenant keeps being
// served through the connection of the config before. A reload that
// leaves the block as it was keeps its connection; one that changes the
// block moves the tenant to a new transport and closes the old one's
// connection. Once the exporter stops, no connection of it is left.
func TestReloadWithBadCAFileKeepsServing(t *testing.T) {
	pki := newTestPKI(t)
	sim := upstreamSim(t, "p-shop")
	s := startTLSSim(t, sim, pki, tlsSimOptions{})
	ignore := goleak.IgnoreCurrent()
	configWith := func(tlsConfig string) string {
		return fmt.Sprintf(`credentials:
  ak: {access_key: %s, secret_key: %s}
tenants:
  - name: shop
    project_id: p-shop
    endpoint: %q
    credentials: ak
    http_client:
      tls_config: %s
`, upAK, upSK, s.url, tlsConfig)
	}
	path := writeFile(t, pki.dir, "metastudio.yml", configWith("{ca_file: ca.pem}"))
	e := startStoppable(t, "--config.file="+path)
	// The tenants' settings only: no rooms or jobs are watched, so the
	// user config is the tenant's only call and one connection serves
	// every scrape.
	wantScrape := func(what, series string) {
		t.Helper()
		if code, body := e.request(t, http.MethodGet, "/metrics?collect[]=tenants"); code != 200 || !strings.Contains(body, series+"\n") {
			t.Errorf("%s: /metrics answered %d without %s:\n%s", what, code, series, body)
		}
	}
	reload := func(what string, wantCode int) string {
		t.Helper()
		code, body := e.request(t, http.MethodPost, "/-/reload")
		if code != wantCode {
			t.Errorf("%s: reload answered %d, want %d: %s", what, code, wantCode, body)
		}
		return body
	}
	wantScrape("at start", `metastudio_live_max_duration_seconds{tenant="shop"} 10800`)

	goodCA, err := os.ReadFile(pki.path("ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, pki.dir, "ca.pem", "not a certificate\n")
	wantErr := fmt.Sprintf(`%s:9: tenants[0].http_client.tls_config.ca_file: %q holds no usable PEM certificate`, path, pki.path("ca.pem"))
	if body := reload("a bad CA file", 500); !strings.Contains(body, wantErr) {
		t.Errorf("the reload's answer does not say why it failed: %s\nwant %s", body, wantErr)
	}
	if !strings.Contains(e.logs.String(), strings.ReplaceAll(wantErr, `"`, `\"`)) { // as logfmt quotes it
		t.Errorf("the log does not say why the reload failed:\n%s", e.logs)
	}
	// A new answer, so that the probe shows a call made after the failed
	// reload, through the connection loaded before it.
	if err := sim.SetConfig("p-shop", []byte(`{"live_exit_config":{"max_live_duration":5}}`)); err != nil {
		t.Fatal(err)
	}
	wantScrape("after the failed reload", `metastudio_live_max_duration_seconds{tenant="shop"} 18000`)

	writeFile(t, pki.dir, "ca.pem", string(goodCA))
	reload("the CA file restored", 200)
	wantScrape("after the CA file was restored", `metastudio_live_max_duration_seconds{tenant="shop"} 18000`)
	if opened, closed := s.conns.Opened(), s.conns.Closed(); opened != 1 || closed != 0 {
		t.Errorf("%d connections opened and %d closed after reloads that left the block as it was, want 1 and 0", opened, closed)
	}

	writeFile(t, pki.dir, "metastudio.yml", configWith("{ca_file: ca.pem, server_name: metastudio.test}"))
	reload("a changed block", 200)
	wantScrape("after the block changed", `metastudio_live_max_duration_seconds{tenant="shop"} 18000`)
	s.conns.WaitClosed(t, 1)
	if n := s.conns.Opened(); n != 2 {
		t.Errorf("%d connections opened after the block changed, want 2", n)
	}
	e.stop()
	goleak.VerifyNone(t, ignore)
}

// TestDiscoveryThroughProxy: a discovery entry's http_client carries its
// IAM token and project listing, and every call of the tenants it finds,
// through the proxy: the simulator receives no call but from the proxy.
func TestDiscoveryThroughProxy(t *testing.T) {
	pki := newTestPKI(t)
	sim := upstreamSim(t, "p-shop1", "p-shop2")
	var proxied, direct atomic.Int64
	s := startTLSSim(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if host, _, _ := net.SplitHostPort(r.RemoteAddr); host == tinyproxyOutbound {
			proxied.Add(1)
		} else {
			direct.Add(1)
		}
		sim.ServeHTTP(w, r)
	}), pki, tlsSimOptions{})
	proxy := startTinyproxy(t, "", s.port)
	path := writeFile(t, pki.dir, "metastudio.yml", fmt.Sprintf(`credentials:
  iam:
    iam_password: {domain: %s, user: %s, password: %s, endpoint: %[4]q}
discovery:
  - name: fleet
    credentials: iam
    regions: [cn-north-4]
    iam_endpoint: %[4]q
    endpoint: %[4]q
    http_client: {proxy_url: %[5]q, tls_config: {ca_file: ca.pem}}
`, upDomain, upUser, upPassword, s.url, "http://"+proxy.addr))
	e := startStoppable(t, "--config.file="+path)
	e.waitFor(t, "both projects to be found", func() bool {
		_, sd := e.request(t, http.MethodGet, "/sd")
		return strings.Contains(sd, `"cn-north-4_p-shop1"`) && strings.Contains(sd, `"cn-north-4_p-shop2"`)
	})
	// A token for the domain and the listing.
	if n := proxied.Load(); n < 2 {
		t.Errorf("the proxy carried %d calls by the time the projects were listed, want 2 or more", n)
	}
	listed := proxied.Load()
	if code, body := e.request(t, http.MethodGet, "/probe?tenant=cn-north-4_p-shop1"); code != 200 ||
		!strings.Contains(body, `metastudio_live_max_duration_seconds{tenant="cn-north-4_p-shop1"} 10800`+"\n") {
		t.Errorf("/probe of a discovered tenant: %d\n%s", code, body)
	}
	if proxied.Load() <= listed {
		t.Errorf("the discovered tenant's calls did not go through the proxy")
	}
	e.stop()
	if n := direct.Load(); n != 0 {
		t.Errorf("%d calls reached the simulator without the proxy", n)
	}
	for _, r := range proxy.requests(t) {
		if r != "CONNECT "+s.addr {
			t.Errorf("the proxy carried %q", r)
		}
	}
}

// TestUpstreamSecretsStayHidden: the proxy's password, the CONNECT header
// and the client key appear in no answer and no log line, at debug level,
// when the proxy lets a tenant through and when it refuses one.
func TestUpstreamSecretsStayHidden(t *testing.T) {
	const proxyUser, proxyPassword, wrongPassword = "monitor", "proxy-password-SECRET", "wrong-password-SECRET"
	pki := newTestPKI(t)
	sim := upstreamSim(t, "p-good", "p-refused")
	s := startTLSSim(t, sim, pki, tlsSimOptions{clientCert: true})
	proxy := startTinyproxy(t, proxyUser+" "+proxyPassword, s.port)
	basic := func(pw string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(proxyUser+":"+pw))
	}
	key, err := os.ReadFile(pki.path("client-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string]string{
		"proxy password": proxyPassword, "wrong proxy password": wrongPassword,
		"CONNECT header": basic(proxyPassword), "wrong CONNECT header": basic(wrongPassword),
		"client key": strings.Split(string(key), "\n")[1],
	}
	path := writeFile(t, pki.dir, "metastudio.yml", fmt.Sprintf(`defaults:
  credentials: ak
  http_client:
    proxy_url: %[2]q
    proxy_connect_header: {Proxy-Authorization: %[3]q}
    tls_config: {ca_file: ca.pem, cert_file: client.pem, key_file: client-key.pem}
credentials:
  ak: {access_key: %[4]s, secret_key: %[5]s}
tenants:
  - {name: good, project_id: p-good, endpoint: %[1]q}
  - name: refused
    project_id: p-refused
    endpoint: %[1]q
    http_client:
      proxy_url: %[6]q
      proxy_connect_header: {Proxy-Authorization: %[7]q}
      tls_config: {ca_file: ca.pem, cert_file: client.pem, key_file: client-key.pem}
`, s.url, "http://"+proxy.addr, basic(proxyPassword), upAK, upSK,
		"http://"+proxyUser+":"+wrongPassword+"@"+proxy.addr, basic(wrongPassword)))
	e := startStoppable(t, "--config.file="+path, "--log.level=debug")

	var seen strings.Builder
	for _, p := range []string{"/metrics", "/probe?tenant=good", "/probe?tenant=refused", "/config", "/", "/sd"} {
		code, body := e.request(t, http.MethodGet, p)
		fmt.Fprintf(&seen, "GET %s -> %d\n%s\n", p, code, body)
	}
	out := seen.String()
	for _, want := range []string{`metastudio_up{tenant="good"} 1`, `metastudio_up{tenant="refused"} 0`, "proxy_connect_header"} {
		if !strings.Contains(out, want) {
			t.Errorf("the answers lack %q; the test would prove nothing:\n%s", want, out)
		}
	}
	if want := "through proxy " + proxy.addr + ": Unauthorized"; !strings.Contains(e.logs.String(), want) {
		t.Errorf("the log lacks %q; the test would prove nothing:\n%s", want, e.logs)
	}
	for what, value := range secrets {
		if strings.Contains(out, value) {
			t.Errorf("the %s appears in an HTTP answer", what)
		}
		if strings.Contains(e.logs.String(), value) {
			t.Errorf("the %s appears in the log", what)
		}
	}
}
