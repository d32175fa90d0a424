package config

import (
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	commoncfg "github.com/prometheus/common/config"

	"github.com/metastudio-exporter/metastudio_exporter/internal/testcert"
)

// tlsFiles writes a CA, a client certificate it signed with its key, and a
// key of another pair into dir, and returns their contents by file name.
func tlsFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	ca := testcert.NewCA(t, "test CA")
	client := ca.Client(t, "exporter")
	files := map[string][]byte{
		"ca.pem":         ca.CertPEM,
		"client.pem":     client.CertPEM,
		"client-key.pem": client.KeyPEM,
		"other-key.pem":  ca.Client(t, "other").KeyPEM,
		"not-pem.txt":    []byte("just text\n"),
	}
	out := map[string]string{}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
		out[name] = strings.TrimRight(string(data), "\n")
	}
	return out
}

const httpClientFile = `credentials:
  main:
    access_key: AK
    secret_key: SK
    http_client:
      proxy_url: http://proxyuser:proxy-Pa55word@proxy.internal:3128
      no_proxy: 10.0.0.0/8,.internal
      proxy_connect_header:
        Proxy-Authorization: Basic c2VjcmV0LWhlYWRlcg==
        X-Trace: [one, two]
      tls_config:
        ca_file: ca.pem
        cert_file: client.pem
        key_file: client-key.pem
        server_name: metastudio.internal
        min_version: TLS12
  other: {access_key: AK2, secret_key: SK2}
defaults:
  http_client: {proxy_from_environment: true}
discovery:
  - {name: by-main, credentials: main, regions: [cn-north-4], http_client: {insecure: x}}
tenants:
  - {name: via-main, project_id: p1, credentials: main}
  - {name: via-defaults, project_id: p2, credentials: other}
  - name: own
    project_id: p3
    credentials: main
    http_client:
      tls_config: {ca_file: ca.pem}
`

func TestHTTPClient(t *testing.T) {
	dir := t.TempDir()
	files := tlsFiles(t, dir)
	data := strings.Replace(httpClientFile, "{name: by-main, credentials: main, regions: [cn-north-4], http_client: {insecure: x}}",
		"{name: by-main, credentials: main, regions: [cn-north-4], http_client: {tls_config: {insecure_skip_verify: true}}}\n"+
			"  - {name: by-other, credentials: other, regions: [cn-east-3], http_client: {tls_config: {insecure_skip_verify: true}}}\n"+
			"  - {name: plain, credentials: other, regions: [cn-south-1]}", 1)
	cfg, err := Parse([]byte(data), "m.yml", dir, testEnv)
	if err != nil {
		t.Fatal(err)
	}
	viaMain, _ := cfg.Tenant("via-main")
	viaDefaults, _ := cfg.Tenant("via-defaults")
	own, _ := cfg.Tenant("own")
	src := cfg.Discovery()
	found := src[0].Settings // what the entry's tenants get

	// The credentials entry's block, read and validated.
	main := viaMain.HTTPClient
	if main == nil {
		t.Fatal("via-main has no http_client")
	}
	c := main.Config
	if c.ProxyURL.String() != "http://proxyuser:proxy-Pa55word@proxy.internal:3128" || c.NoProxy != "10.0.0.0/8,.internal" || c.ProxyFromEnvironment {
		t.Errorf("proxy: %v %q %v", c.ProxyURL.URL, c.NoProxy, c.ProxyFromEnvironment)
	}
	if h := c.ProxyConnectHeader; len(h) != 2 || string(h["Proxy-Authorization"][0]) != "Basic c2VjcmV0LWhlYWRlcg==" || len(h["X-Trace"]) != 2 {
		t.Errorf("proxy_connect_header: %v", h)
	}
	tc := c.TLSConfig
	if tc.CA != files["ca.pem"] || tc.Cert != files["client.pem"] || string(tc.Key) != files["client-key.pem"] {
		t.Error("the files' contents are not in the TLS config's inline fields")
	}
	if tc.CAFile != "" || tc.CertFile != "" || tc.KeyFile != "" {
		t.Errorf("the library would read files later: %q %q %q", tc.CAFile, tc.CertFile, tc.KeyFile)
	}
	if tc.ServerName != "metastudio.internal" || tc.MinVersion != commoncfg.TLSVersion(tls.VersionTLS12) || tc.InsecureSkipVerify {
		t.Errorf("tls_config: %q %v %v", tc.ServerName, tc.MinVersion, tc.InsecureSkipVerify)
	}
	if !c.FollowRedirects || !c.EnableHTTP2 {
		t.Error("the library's defaults are not kept")
	}
	if _, err := commoncfg.NewRoundTripperFromConfig(*c, "test"); err != nil {
		t.Errorf("the library cannot build a transport from it: %v", err)
	}

	// The nearest level that writes a block wins as a whole: the tenant,
	// then its credentials entry, then its discovery entry, then defaults.
	for _, tc := range []struct {
		name string
		got  *HTTPClient
		want func(*HTTPClient) bool
	}{
		{"via-main", viaMain.HTTPClient, func(h *HTTPClient) bool { return h == main }},
		{"own", own.HTTPClient, func(h *HTTPClient) bool {
			return h.Config.TLSConfig.CA == files["ca.pem"] && h.Config.ProxyURL.URL == nil && h.Config.TLSConfig.Cert == ""
		}},
		{"via-defaults", viaDefaults.HTTPClient, func(h *HTTPClient) bool { return h.Config.ProxyFromEnvironment }},
		{"discovery by-main (its credentials' block)", src[0].Settings.HTTPClient, func(h *HTTPClient) bool { return h == main }},
		{"its tenants", found.HTTPClient, func(h *HTTPClient) bool { return h == main }},
		{"discovery by-other (its own block)", src[1].Settings.HTTPClient, func(h *HTTPClient) bool { return h.Config.TLSConfig.InsecureSkipVerify }},
		{"discovery plain (defaults')", src[2].Settings.HTTPClient, func(h *HTTPClient) bool { return h.Config.ProxyFromEnvironment }},
	} {
		if tc.got == nil || !tc.want(tc.got) {
			t.Errorf("%s: wrong block %+v", tc.name, tc.got)
		}
	}
	if viaDefaults.HTTPClient.Digest == main.Digest || own.HTTPClient.Digest == main.Digest {
		t.Error("different blocks share a digest")
	}

	nothing, err := Parse([]byte("tenants:\n  - {name: a, project_id: p1}\n"), "m.yml", dir, testEnv)
	if err != nil {
		t.Fatal(err)
	}
	if h := nothing.Tenants()[0].HTTPClient; h != nil {
		t.Errorf("no block anywhere, yet %+v", h)
	}
}

// TestHTTPClientDigest: blocks that say the same share a digest across
// loads, so transports can be shared; a file's new content changes it.
func TestHTTPClientDigest(t *testing.T) {
	dir := t.TempDir()
	tlsFiles(t, dir)
	data := "tenants:\n  - {name: a, project_id: p1, http_client: {tls_config: {ca_file: ca.pem}}}\n" +
		"  - {name: b, project_id: p2, http_client: {tls_config: {ca_file: ca.pem}}}\n"
	digests := func() (string, string) {
		cfg, err := Parse([]byte(data), "m.yml", dir, testEnv)
		if err != nil {
			t.Fatal(err)
		}
		return cfg.Tenants()[0].HTTPClient.Digest, cfg.Tenants()[1].HTTPClient.Digest
	}
	a, b := digests()
	if a != b || a == "" {
		t.Fatalf("equal blocks: digests %q and %q", a, b)
	}
	if again, _ := digests(); again != a {
		t.Error("the digest differs between two loads")
	}
	tlsFiles(t, dir) // a new CA in the same file
	if rotated, _ := digests(); rotated == a {
		t.Error("a rotated CA file keeps the digest")
	}
}

func TestHTTPClientErrors(t *testing.T) {
	dir := t.TempDir()
	tlsFiles(t, dir)
	data := "tenants:\n  - name: a\n    project_id: p1\n    http_client:\n" +
		"      tls_config:\n        ca_file: missing.pem\n        min_version: TLS9\n        ca: inline\n" + // 5-8
		"  - name: b\n    project_id: p2\n    http_client:\n" +
		"      tls_config: {ca_file: not-pem.txt}\n" + // 12
		"  - name: c\n    project_id: p3\n    http_client:\n" +
		"      tls_config: {cert_file: client.pem, key_file: other-key.pem}\n" + // 16
		"  - name: d\n    project_id: p4\n    http_client:\n" + // 19
		"      proxy_url: http://proxy.internal:3128\n      proxy_from_environment: true\n" +
		"  - name: e\n    project_id: p5\n    http_client:\n" + // 24
		"      no_proxy: .internal\n" +
		"  - name: f\n    project_id: p6\n    http_client:\n" +
		"      proxy_url: 'ftp://proxy-Pa55word@proxy'\n" + // 29
		"      proxy_connect_header: {'Bad Header': x, X-Ok: \"a\\nb\"}\n" + // 30
		"  - name: g\n    project_id: p7\n    http_client:\n" +
		"      tls_config: {cert_file: client.pem}\n" // 34
	want := strings.Join([]string{
		`m.yml:6: tenants[0].http_client.tls_config.ca_file: cannot read "` + filepath.Join(dir, "missing.pem") + `": no such file or directory`,
		"m.yml:7: tenants[0].http_client.tls_config.min_version: must be one of TLS10, TLS11, TLS12, TLS13",
		"m.yml:8: tenants[0].http_client.tls_config.ca: unknown key; did you mean ca_file?",
		`m.yml:12: tenants[1].http_client.tls_config.ca_file: "` + filepath.Join(dir, "not-pem.txt") + `" holds no usable PEM certificate`,
		`m.yml:16: tenants[2].http_client.tls_config.cert_file: "` + filepath.Join(dir, "client.pem") + `" and "` + filepath.Join(dir, "other-key.pem") +
			`" are not a usable certificate and key: tls: private key does not match public key`,
		"m.yml:19: tenants[3].http_client: if proxy_from_environment is configured, proxy_url must not be configured",
		"m.yml:24: tenants[4].http_client: if no_proxy is configured, proxy_url must also be configured",
		"m.yml:29: tenants[5].http_client.proxy_url: must be an absolute http, https or socks5 URL",
		"m.yml:30: tenants[5].http_client.proxy_connect_header.Bad Header: not a valid HTTP header name",
		"m.yml:30: tenants[5].http_client.proxy_connect_header.X-Ok: not a valid HTTP header value",
		"m.yml:34: tenants[6].http_client.tls_config.cert_file: set without key_file; a client certificate needs its key",
	}, "\n")
	if got := parseErr2(t, data, dir); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func parseErr2(t *testing.T, data, dir string) string {
	t.Helper()
	_, err := Parse([]byte(data), "m.yml", dir, testEnv)
	if err == nil {
		return ""
	}
	got := err.Error()
	for _, secret := range []string{"proxy-Pa55word", "BEGIN", "PRIVATE"} {
		if strings.Contains(got, secret) {
			t.Errorf("the error shows %q", secret)
		}
	}
	return got
}

// TestHTTPClientHidesSecrets: /config shows where files are and which
// headers are sent, never the key, the headers' values or the proxy's
// password.
func TestHTTPClientHidesSecrets(t *testing.T) {
	dir := t.TempDir()
	files := tlsFiles(t, dir)
	cfg, err := Parse([]byte(strings.Replace(httpClientFile, ", http_client: {insecure: x}", "", 1)), "m.yml", dir, testEnv)
	if err != nil {
		t.Fatal(err)
	}
	view, err := cfg.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	s := string(view)
	for _, secret := range []string{"proxy-Pa55word", "c2VjcmV0LWhlYWRlcg", "one", files["client-key.pem"][30:60], files["ca.pem"][30:60]} {
		if strings.Contains(s, secret) {
			t.Errorf("/config shows %q:\n%s", secret, s)
		}
	}
	want := `    http_client:
      proxy_url: http://proxyuser:xxxxx@proxy.internal:3128
      no_proxy: 10.0.0.0/8,.internal
      proxy_from_environment: false
      proxy_connect_header:
        Proxy-Authorization: [<secret>]
        X-Trace: [<secret>, <secret>]
      tls_config:
        ca_file: ca.pem
        cert_file: client.pem
        key_file: client-key.pem
        server_name: metastudio.internal
        min_version: TLS12
        insecure_skip_verify: false
`
	if !strings.Contains(s, "credentials:\n  main:\n    access_key: AK\n    secret_key: <secret>\n"+want) {
		t.Errorf("/config:\n%s\nlacks\n%s", s, want)
	}
	// A tenant printed whole, as a log line or a panic might, shows the
	// block's digest only.
	tenant, _ := cfg.Tenant("via-main")
	printed := fmt.Sprintf("%v %+v", tenant, *tenant)
	for _, secret := range []string{"proxy-Pa55word", "c2VjcmV0LWhlYWRlcg", files["client-key.pem"][30:60]} {
		if strings.Contains(printed, secret) {
			t.Errorf("a printed tenant shows %q", secret)
		}
	}
	if !strings.Contains(printed, "http_client "+tenant.HTTPClient.Digest) {
		t.Errorf("a printed tenant does not name its block: %s", printed)
	}
}
