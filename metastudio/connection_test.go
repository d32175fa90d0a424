package metastudio

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	commoncfg "github.com/prometheus/common/config"

	"github.com/metastudio-exporter/metastudio_exporter/internal/conncount"
	"github.com/metastudio-exporter/metastudio_exporter/internal/loopback"
)

func startCounted(t *testing.T, h http.Handler) (*httptest.Server, *conncount.Counter) {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	cc := conncount.Watch(srv.Config)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, cc
}

// directConnection is a block that says nothing but its defaults: a
// transport of its own, straight to the endpoint.
func directConnection(digest string) Connection {
	cfg := commoncfg.DefaultHTTPClientConfig
	return Connection{Config: &cfg, Digest: digest}
}

func userConfigServer(t *testing.T) (*httptest.Server, *conncount.Counter) {
	full := readTestdata(t, "user_config_full.json")
	return startCounted(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(full) }))
}

// TestConnectionsShareOneTransportPerDigest: tenants whose blocks have one
// digest share one pool, whatever copy of the block they hold; another
// digest, and no block, get pools of their own.
func TestConnectionsShareOneTransportPerDigest(t *testing.T) {
	srv, cc := userConfigServer(t)
	c := NewClient(ClientOptions{})
	defer c.CloseIdleConnections()
	at := func(conn Connection) Target {
		tg := akTarget(srv.URL)
		tg.Connection = conn
		return tg
	}
	a1, a2 := at(directConnection("a")), at(directConnection("a")) // two copies of one block
	for _, tg := range []Target{a1, a2, at(directConnection("b")), akTarget(srv.URL), a1, a2} {
		if _, err := c.GetUserConfig(context.Background(), tg); err != nil {
			t.Fatal(err)
		}
	}
	if n := cc.Opened(); n != 3 {
		t.Errorf("6 calls over %d connections, want 3 (digest a, digest b, no block)", n)
	}
}

// TestRetainConnections: a transport whose digest is no longer in use has
// its idle connections closed; a kept one, and the shared one, keep theirs.
func TestRetainConnections(t *testing.T) {
	srv, cc := userConfigServer(t)
	c := NewClient(ClientOptions{})
	call := func(conn Connection) {
		t.Helper()
		tg := akTarget(srv.URL)
		tg.Connection = conn
		if _, err := c.GetUserConfig(context.Background(), tg); err != nil {
			t.Fatal(err)
		}
	}
	a, b := directConnection("a"), directConnection("b")
	call(a)
	call(b)
	call(Connection{})
	c.RetainConnections("a")
	cc.WaitClosed(t, 1)
	call(a)
	call(Connection{})
	if opened, closed := cc.Opened(), cc.Closed(); opened != 3 || closed != 1 {
		t.Errorf("after retaining a: %d connections opened, %d closed; want 3 and 1 (b's)", opened, closed)
	}
	call(b) // used again: built afresh
	if n := cc.Opened(); n != 4 {
		t.Errorf("b's call after it was dropped opened %d connections in all, want 4", n)
	}
	c.CloseIdleConnections()
	cc.WaitClosed(t, 4)
}

// TestConnectionKeepsPerHostBound: a block's transport holds the client's
// bound on connections per host, as the shared one does: a second call
// waits for the first one's connection instead of opening another.
func TestConnectionKeepsPerHostBound(t *testing.T) {
	full := readTestdata(t, "user_config_full.json")
	arrived, release := make(chan struct{}, 2), make(chan struct{})
	var first sync.Once
	srv, cc := startCounted(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		arrived <- struct{}{}
		first.Do(func() { <-release })
		_, _ = w.Write(full)
	}))
	c := NewClient(ClientOptions{MaxConnsPerHost: 1})
	defer c.CloseIdleConnections()
	tg := akTarget(srv.URL)
	tg.Connection = directConnection("a")

	errs := make(chan error, 2)
	go func() { _, err := c.GetUserConfig(context.Background(), tg); errs <- err }()
	<-arrived
	waiting := make(chan struct{})
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		GetConn: func(string) { close(waiting) },
	})
	go func() { _, err := c.GetUserConfig(ctx, tg); errs <- err }()
	<-waiting
	close(release)
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := cc.Opened(); n != 1 {
		t.Errorf("two calls with --scrape.max-concurrency 1 opened %d connections, want 1", n)
	}
}

// TestConnectionTransport: a block's transport is built by prometheus/common
// with its proxy settings, and with the timeouts and bounds of the shared
// one.
func TestConnectionTransport(t *testing.T) {
	proxy, _ := url.Parse("http://proxy.internal:3128")
	cfg := commoncfg.DefaultHTTPClientConfig
	cfg.ProxyURL = commoncfg.URL{URL: proxy}
	cfg.ProxyConnectHeader = commoncfg.ProxyHeader{"X-Proxy-Token": {"t"}}
	tr, err := buildTransport(&cfg, 17)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, "https://metastudio.example/", nil)
	got, err := tr.Proxy(req)
	if err != nil || got.String() != proxy.String() || tr.ProxyConnectHeader.Get("X-Proxy-Token") != "t" {
		t.Errorf("proxy %v (%v), CONNECT header %v", got, err, tr.ProxyConnectHeader)
	}
	if tr.MaxConnsPerHost != 17 || tr.MaxIdleConnsPerHost != 17 || tr.IdleConnTimeout != 90*time.Second ||
		tr.TLSHandshakeTimeout != 5*time.Second || tr.ResponseHeaderTimeout != 0 || tr.DisableKeepAlives {
		t.Errorf("transport = %+v", tr)
	}
}

// TestConnectionErrorsNameTheRoute: a call that got no answer says where it
// was going and through which proxy, never the proxy's password or its
// CONNECT headers, and is a network failure; MetaStudio, IAM's token and
// the project listing alike.
func TestConnectionErrorsNameTheRoute(t *testing.T) {
	var sawHeader atomic.Value
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawHeader.Store(r.Header.Get("X-Proxy-Token") + " " + r.Header.Get("Proxy-Authorization"))
		w.WriteHeader(http.StatusProxyAuthRequired)
	}))
	defer refusing.Close()
	refusingAddr := strings.TrimPrefix(refusing.URL, "http://")
	closedAddr := loopback.FreeAddress(t)
	tlsSrv := httptest.NewTLSServer(http.NotFoundHandler())
	defer tlsSrv.Close()
	tlsAddr := strings.TrimPrefix(tlsSrv.URL, "https://")

	viaProxy := func(proxyAddr string) Connection {
		u, _ := url.Parse("http://proxy-user:pw-SECRET@" + proxyAddr)
		cfg := commoncfg.DefaultHTTPClientConfig
		cfg.ProxyURL = commoncfg.URL{URL: u}
		cfg.ProxyConnectHeader = commoncfg.ProxyHeader{"X-Proxy-Token": {"hdr-SECRET"}}
		return Connection{Config: &cfg, Digest: "via " + proxyAddr}
	}
	c := NewClient(ClientOptions{})
	defer c.CloseIdleConnections()
	iam := &IAMPassword{Endpoint: "https://" + tlsAddr, Domain: "d", User: "u", Password: "password-SECRET"}
	for _, tc := range []struct {
		name string
		conn Connection
		call func(Connection) error
		want string
	}{
		{"proxy refuses", viaProxy(refusingAddr), userConfig(c, tlsSrv.URL),
			"get user config: network: to " + tlsAddr + " through proxy " + refusingAddr + ": Proxy Authentication Required"},
		{"proxy down", viaProxy(closedAddr), userConfig(c, tlsSrv.URL),
			"get user config: network: to " + tlsAddr + " through proxy " + closedAddr + ": proxyconnect tcp: dial tcp " + closedAddr + ": connect: connection refused"},
		{"untrusted certificate", directConnection("direct"), userConfig(c, tlsSrv.URL),
			"get user config: network: to " + tlsAddr + ": tls: failed to verify certificate: x509: certificate signed by unknown authority"},
		{"IAM token", viaProxy(refusingAddr), func(conn Connection) error {
			tg := Target{Endpoint: tlsSrv.URL, ProjectID: testProject, Credentials: Credentials{IAM: iam}, Connection: conn}
			_, err := c.GetUserConfig(context.Background(), tg)
			return err
		}, "get IAM token: network: to " + tlsAddr + " through proxy " + refusingAddr + ": Proxy Authentication Required"},
		{"project listing", viaProxy(refusingAddr), func(conn Connection) error {
			_, err := c.ListProjects(context.Background(), tlsSrv.URL, Credentials{AccessKey: testAK, SecretKey: testSK}, conn)
			return err
		}, "list IAM projects: network: to " + tlsAddr + " through proxy " + refusingAddr + ": Proxy Authentication Required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call(tc.conn)
			if err == nil || err.Error() != tc.want || ReasonOf(err) != ReasonNetwork {
				t.Errorf("err = %v (%s)\nwant %s (network)", err, ReasonOf(err), tc.want)
			}
			assertNoSecret(t, fmt.Sprintf("%v %+v", err, err))
		})
	}
	if got := sawHeader.Load(); got != "hdr-SECRET Basic "+basicAuth("proxy-user", "pw-SECRET") {
		t.Errorf("the proxy got CONNECT headers %q, want the block's header and the proxy URL's user", got)
	}
}

func userConfig(c *Client, endpoint string) func(Connection) error {
	return func(conn Connection) error {
		tg := akTarget(endpoint)
		tg.Connection = conn
		_, err := c.GetUserConfig(context.Background(), tg)
		return err
	}
}

// TestTargetPrintsNoConnectionSecret: the block's inline key and proxy
// header stay out of a printed Target.
func TestTargetPrintsNoConnectionSecret(t *testing.T) {
	cfg := commoncfg.DefaultHTTPClientConfig
	cfg.TLSConfig.Key = "key-SECRET"
	cfg.ProxyConnectHeader = commoncfg.ProxyHeader{"X-Proxy-Token": {"hdr-SECRET"}}
	tg := akTarget("https://metastudio.example")
	tg.Connection = Connection{Config: &cfg, Digest: "d1"}
	for _, printed := range []string{fmt.Sprint(tg), fmt.Sprintf("%+v", tg), fmt.Sprintf("%#v", tg.Connection)} {
		assertNoSecret(t, printed)
	}
	if got := fmt.Sprint(tg.Connection); got != "connection d1" {
		t.Errorf("printed %q", got)
	}
}

func basicAuth(user, password string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
}

// BenchmarkGetUserConfigWithConnection is BenchmarkGetUserConfig for a
// tenant with an http_client block, whose transport is looked up by digest
// on every call.
func BenchmarkGetUserConfigWithConnection(b *testing.B) {
	full := readTestdata(b, "user_config_full.json")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(full) }))
	defer srv.Close()
	c := NewClient(ClientOptions{})
	defer c.CloseIdleConnections()
	tg := akTarget(srv.URL)
	tg.Credentials.SecurityToken = ""
	tg.Connection = directConnection("d")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.GetUserConfig(context.Background(), tg); err != nil {
			b.Fatal(err)
		}
	}
}
