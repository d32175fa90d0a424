package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

// Go never sends a call to 127.0.0.1 or "localhost" through a proxy chosen
// by NO_PROXY rules (proxy_from_environment, or proxy_url with no_proxy),
// so tests of those rules call the simulator as "LocalHost": Go compares
// "localhost" case-sensitively and proxies it, tinyproxy resolves it like
// localhost, and the simulator's certificate names localhost.
const proxiedLocalhost = "LocalHost"

// TestUpstreamProxy: every call of a tenant with proxy_url, MetaStudio's
// and its IAM token's, goes through tinyproxy, and no call of a tenant
// without one does; no_proxy bypasses the proxy for the hosts it names.
func TestUpstreamProxy(t *testing.T) {
	pki := newTestPKI(t)
	sim := upstreamSim(t, "p-via", "p-via-iam", "p-direct", "p-bypass", "p-no-bypass")
	s := startTLSSim(t, sim, pki, tlsSimOptions{noKeepAlive: true})
	proxy := startTinyproxy(t, "", s.port)
	byName := "https://" + proxiedLocalhost + ":" + s.port
	cfg, client := loadUpstreamConfig(t, pki.dir, fmt.Sprintf(upCredentials+`defaults: {credentials: ak}
tenants:
  - {name: via, project_id: p-via, endpoint: %[2]q, http_client: {proxy_url: %[3]q, tls_config: {ca_file: ca.pem}}}
  - {name: via-iam, project_id: p-via-iam, endpoint: %[2]q, credentials: iam, http_client: {proxy_url: %[3]q, tls_config: {ca_file: ca.pem}}}
  - {name: direct, project_id: p-direct, endpoint: %[2]q, http_client: {tls_config: {ca_file: ca.pem}}}
  - {name: bypass, project_id: p-bypass, endpoint: %[4]q, http_client: {proxy_url: %[3]q, no_proxy: localhost, tls_config: {ca_file: ca.pem}}}
  - {name: no-bypass, project_id: p-no-bypass, endpoint: %[4]q, http_client: {proxy_url: %[3]q, no_proxy: metastudio.example, tls_config: {ca_file: ca.pem}}}
`, s.url, s.url, "http://"+proxy.addr, byName))
	viaSim := "CONNECT " + s.addr

	via, _ := cfg.Tenant("via")
	_ = checkUserConfig(t, cfg, client, "via", "")
	if _, _, err := client.ListRooms(context.Background(), via.Target, 10); err != nil {
		t.Errorf("rooms: %v", err)
	}
	if _, _, err := client.ListLiveJobs(context.Background(), via.Target, metastudio.JobQuery{Max: 10}); err != nil {
		t.Errorf("live jobs: %v", err)
	}
	proxy.wantRequests(t, "user config, rooms and live jobs", repeat(3, viaSim)...)

	_ = checkUserConfig(t, cfg, client, "via-iam", "")
	proxy.wantRequests(t, "an IAM token and a user config", repeat(5, viaSim)...)

	_ = checkUserConfig(t, cfg, client, "direct", "")
	_ = checkUserConfig(t, cfg, client, "bypass", "")
	proxy.wantRequests(t, "tenants without a proxy, or whose no_proxy names the endpoint", repeat(5, viaSim)...)

	_ = checkUserConfig(t, cfg, client, "no-bypass", "")
	proxy.wantRequests(t, "a tenant whose no_proxy names another host", append(repeat(5, viaSim), "CONNECT "+proxiedLocalhost+":"+s.port)...)
}

// TestUpstreamProxyFromEnvironment: proxy_from_environment takes
// HTTPS_PROXY from the process' environment; a block without it does not.
func TestUpstreamProxyFromEnvironment(t *testing.T) {
	// net/http reads the environment's proxy once per process, for the
	// shared transport of tenants without a block: read it before this
	// test sets HTTPS_PROXY, so that no later test takes the test's proxy.
	_, _ = http.ProxyFromEnvironment(&http.Request{URL: &url.URL{Scheme: "https", Host: "metastudio.example"}})

	pki := newTestPKI(t)
	sim := upstreamSim(t, "p-env", "p-no-env")
	s := startTLSSim(t, sim, pki, tlsSimOptions{noKeepAlive: true})
	proxy := startTinyproxy(t, "", s.port)
	t.Setenv("HTTPS_PROXY", "http://"+proxy.addr)
	for _, v := range []string{"https_proxy", "NO_PROXY", "no_proxy"} {
		t.Setenv(v, "")
	}
	byName := "https://" + proxiedLocalhost + ":" + s.port
	cfg, client := loadUpstreamConfig(t, pki.dir, fmt.Sprintf(upCredentials+`defaults: {credentials: ak}
tenants:
  - {name: env, project_id: p-env, endpoint: %[2]q, http_client: {proxy_from_environment: true, tls_config: {ca_file: ca.pem}}}
  - {name: no-env, project_id: p-no-env, endpoint: %[2]q, http_client: {tls_config: {ca_file: ca.pem}}}
`, s.url, byName))
	_ = checkUserConfig(t, cfg, client, "no-env", "")
	proxy.wantRequests(t, "a block without proxy_from_environment")
	_ = checkUserConfig(t, cfg, client, "env", "")
	proxy.wantRequests(t, "proxy_from_environment", "CONNECT "+proxiedLocalhost+":"+s.port)
}

// TestUpstreamProxyAuthentication: proxy_connect_header reaches the proxy
// (tinyproxy with BasicAuth lets a CONNECT through only with the right
// Proxy-Authorization header), as does the user info of proxy_url; a
// refused CONNECT is a network error naming the proxy, and neither the
// header nor the password.
func TestUpstreamProxyAuthentication(t *testing.T) {
	const user, password, wrong = "monitor", "proxy-password-SECRET", "wrong-SECRET"
	pki := newTestPKI(t)
	sim := upstreamSim(t, "p-header", "p-userinfo", "p-none", "p-wrong-header", "p-wrong-userinfo")
	s := startTLSSim(t, sim, pki, tlsSimOptions{noKeepAlive: true})
	proxy := startTinyproxy(t, user+" "+password, s.port)
	basic := func(pw string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pw)) }
	withUser := func(pw string) string { return "http://" + user + ":" + pw + "@" + proxy.addr }
	cfg, client := loadUpstreamConfig(t, pki.dir, fmt.Sprintf(upCredentials+`defaults: {credentials: ak}
tenants:
  - {name: header, project_id: p-header, endpoint: %[2]q, http_client: {proxy_url: %[3]q, proxy_connect_header: {Proxy-Authorization: %[4]q}, tls_config: {ca_file: ca.pem}}}
  - {name: userinfo, project_id: p-userinfo, endpoint: %[2]q, http_client: {proxy_url: %[5]q, tls_config: {ca_file: ca.pem}}}
  - {name: none, project_id: p-none, endpoint: %[2]q, http_client: {proxy_url: %[3]q, tls_config: {ca_file: ca.pem}}}
  - {name: wrong-header, project_id: p-wrong-header, endpoint: %[2]q, http_client: {proxy_url: %[3]q, proxy_connect_header: {Proxy-Authorization: [%[6]q]}, tls_config: {ca_file: ca.pem}}}
  - {name: wrong-userinfo, project_id: p-wrong-userinfo, endpoint: %[2]q, http_client: {proxy_url: %[7]q, tls_config: {ca_file: ca.pem}}}
`, s.url, s.url, "http://"+proxy.addr, basic(password), withUser(password), basic(wrong), withUser(wrong)))

	// tinyproxy's own words: 407 without credentials, 401 for wrong ones.
	refused := "get user config: network: to " + s.addr + " through proxy " + proxy.addr + ": "
	missing, wrongOnes := refused+"Proxy Authentication Required", refused+"Unauthorized"
	var errs strings.Builder
	for _, tc := range []struct{ tenant, want string }{
		{"header", ""},
		{"userinfo", ""},
		{"none", missing},
		{"wrong-header", wrongOnes},
		{"wrong-userinfo", wrongOnes},
	} {
		if err := checkUserConfig(t, cfg, client, tc.tenant, tc.want); err != nil {
			fmt.Fprintf(&errs, "%v %+v\n", err, err)
		}
	}
	for _, secret := range []string{basic(password), basic(wrong), password, wrong} {
		if strings.Contains(errs.String(), secret) {
			t.Errorf("%q shows in the errors:\n%s", secret, errs.String())
		}
	}
	proxy.wantRequests(t, "five tenants' calls", repeat(5, "CONNECT "+s.addr)...)
}
