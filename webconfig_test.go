package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/metastudio-exporter/metastudio_exporter/internal/lockedbuffer"
	"github.com/metastudio-exporter/metastudio_exporter/internal/loopback"
	"github.com/metastudio-exporter/metastudio_exporter/internal/testcert"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio/simulator"
)

const (
	webUser     = "prometheus"
	webPassword = "web-SECRET-password"
)

// tlsExporter is the whole program serving TLS with basic auth.
type tlsExporter struct {
	addr   string
	client *http.Client // trusts the test certificate
	logs   *lockedbuffer.Buffer
}

func startTLSExporter(t *testing.T) *tlsExporter {
	t.Helper()
	sim, err := simulator.Start(simulator.Options{},
		simulator.Tenant{ProjectID: "p-shop", AccessKey: "AKWEB", SecretKey: "web-SECRET-sk", Config: []byte(`{"live_exit_config":{"max_live_duration":3}}`)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	dir := t.TempDir()
	cert := testcert.SelfSigned(t, "127.0.0.1")
	writeFile(t, dir, "cert.pem", string(cert.CertPEM))
	writeFile(t, dir, "key.pem", string(cert.KeyPEM))
	hash, err := bcrypt.GenerateFromPassword([]byte(webPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	webConfig := writeFile(t, dir, "web.yml", fmt.Sprintf("tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\nbasic_auth_users:\n  %s: %s\n",
		webUser, hash))
	writeFile(t, dir, "sk", "web-SECRET-sk\n")
	cfg := writeFile(t, dir, "metastudio.yml", fmt.Sprintf(`credentials:
  sim: {access_key: AKWEB, secret_key_file: sk}
tenants:
  - {name: shop, project_id: p-shop, endpoint: %s, credentials: sim}
`, sim.URL))

	e := &tlsExporter{addr: loopback.FreeAddress(t), logs: &lockedbuffer.Buffer{}}
	transport := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: cert.Pool()}}
	e.client = &http.Client{Transport: transport, Timeout: 10 * time.Second}
	t.Cleanup(transport.CloseIdleConnections)
	args := []string{"--config.file=" + cfg, "--web.config.file=" + webConfig, "--web.listen-address=" + e.addr}
	runUntilCleanup(t, args, e.logs, func() bool {
		code, _ := e.do(t, http.MethodGet, "https", "/-/healthy", webUser, webPassword)
		return code == http.StatusOK
	})
	return e
}

// do sends a request over scheme with the given credentials ("" for none)
// and returns the status and body, or 0 and the error text.
func (e *tlsExporter) do(t *testing.T, method, scheme, path, user, password string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, scheme+"://"+e.addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	return send(t, e.client, req)
}

// TestWebConfigProtectsEveryEndpoint: with --web.config.file, every
// endpoint answers only over TLS and only to the configured user.
func TestWebConfigProtectsEveryEndpoint(t *testing.T) {
	e := startTLSExporter(t)
	for _, ep := range []struct {
		method, path, want string
	}{
		{http.MethodGet, "/metrics", `metastudio_up{tenant="shop"} 1`},
		{http.MethodGet, "/probe?tenant=shop", `metastudio_live_max_duration_seconds{tenant="shop"} 10800`},
		{http.MethodGet, "/sd", `"__param_tenant":"shop"`},
		{http.MethodGet, "/config", "secret_key_file: sk"},
		{http.MethodPost, "/-/reload", "config reloaded\n"},
		{http.MethodGet, "/-/ready", "Ready\n"},
		{http.MethodGet, "/", "probe?tenant=shop"},
	} {
		name := ep.method + " " + ep.path
		code, body := e.do(t, ep.method, "https", ep.path, webUser, webPassword)
		if code != http.StatusOK || !strings.Contains(body, ep.want) {
			t.Errorf("%s with the right user: %d, want 200 with %q:\n%.500s", name, code, ep.want, body)
		}
		for _, who := range [][2]string{{"", ""}, {webUser, "wrong-password"}, {"intruder", webPassword}, {strings.ToUpper(webUser), webPassword}} {
			code, body := e.do(t, ep.method, "https", ep.path, who[0], who[1])
			if code != http.StatusUnauthorized || body != "Unauthorized\n" {
				t.Errorf("%s as %q: %d %q, want 401 Unauthorized", name, who[0], code, body)
			}
		}
		code, body = e.do(t, ep.method, "http", ep.path, webUser, webPassword)
		if want := "Client sent an HTTP request to an HTTPS server.\n"; code != http.StatusBadRequest || body != want {
			t.Errorf("%s over plain HTTP: %d %q, want 400 %q", name, code, body, want)
		}
	}
	for _, secret := range []string{webPassword, "web-SECRET-sk"} {
		if strings.Contains(e.logs.String(), secret) {
			t.Errorf("the log shows %q", secret)
		}
	}
}

// TestWebConfigRejectsUntrustedClients: a client that does not trust the
// certificate gets no answer at all, credentials or not.
func TestWebConfigRejectsUntrustedClients(t *testing.T) {
	e := startTLSExporter(t)
	untrusted := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: x509.NewCertPool()}}
	defer untrusted.CloseIdleConnections()
	req, err := http.NewRequest(http.MethodGet, "https://"+e.addr+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(webUser, webPassword)
	resp, err := (&http.Client{Transport: untrusted, Timeout: 10 * time.Second}).Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("an untrusting client got %d", resp.StatusCode)
	}
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Errorf("an untrusting client failed with %v, want an unknown authority", err)
	}
	// net/http reports the failed handshake; it must come out as one of our
	// logfmt lines, not in the standard library's own format.
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(e.logs.String(), "TLS handshake error") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	var handshake string
	for _, line := range strings.Split(e.logs.String(), "\n") {
		if strings.Contains(line, "TLS handshake error") {
			handshake = line
		}
	}
	if !regexp.MustCompile(`^ts=\S+ caller=\S+ level=warn `).MatchString(handshake) || !strings.Contains(handshake, ` msg="http: TLS handshake error from 127.0.0.1:`) {
		t.Errorf("the handshake error is not a logfmt line of ours: %q\nlog:\n%s", handshake, e.logs)
	}
}

// TestBrokenWebConfigStopsTheStart: a web config that cannot be used stops
// the exporter before anything listens, with one line naming the flag, the
// file and the problem. The receiver serves in the background: started
// with such a file it would hold its port open and answer nothing.
func TestBrokenWebConfigStopsTheStart(t *testing.T) {
	dir := t.TempDir()
	missingCert := writeFile(t, dir, "missing-cert.yml", "tls_server_config:\n  cert_file: "+filepath.Join(dir, "none.crt")+"\n  key_file: "+filepath.Join(dir, "none.key")+"\n")
	typo := writeFile(t, dir, "typo.yml", "tls_server_confg: {}\n")
	for _, tc := range []struct{ flag, file, want string }{
		{"--callback.web-config.file", missingCert, `msg=Exiting err="--callback.web-config.file=` + missingCert +
			`: failed to read cert_file (` + filepath.Join(dir, "none.crt") + `): open ` + filepath.Join(dir, "none.crt") + `: no such file or directory"`},
		{"--web.config.file", typo, `msg=Exiting err="--web.config.file=` + typo +
			`: yaml: unmarshal errors:\n  line 1: field tls_server_confg not found in type web.Config"`},
	} {
		web, cb := loopback.FreeAddress(t), loopback.FreeAddress(t)
		code, _, stderr := runWithin(t, "--demo", "--web.listen-address="+web, "--callback.listen-address="+cb, tc.flag+"="+tc.file)
		if code != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr:\n%s\nwant exit 1 and\n%s", tc.flag, code, stderr, tc.want)
		}
		if strings.Contains(stderr, "Receiving live events") || strings.Contains(stderr, "Listening on") {
			t.Errorf("%s: something listened before the web config was checked:\n%s", tc.flag, stderr)
		}
	}
}
