package main

// The real parts of the upstream connection tests: a CA of the test's own
// with a server and a client certificate, the simulator served over TLS
// with them, and Debian's tinyproxy as the CONNECT proxy.

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/internal/conncount"
	"github.com/metastudio-exporter/metastudio_exporter/internal/lockedbuffer"
	"github.com/metastudio-exporter/metastudio_exporter/internal/loopback"
	"github.com/metastudio-exporter/metastudio_exporter/internal/testcert"
)

// testPKI is a CA of the test's own, with a server certificate for the
// simulator (metastudio.test, localhost and 127.0.0.1) and a client
// certificate. ca.pem, client.pem and client-key.pem are in dir, for
// http_client blocks to name.
type testPKI struct {
	dir    string
	server tls.Certificate
	pool   *x509.CertPool
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	ca := testcert.NewCA(t, "metastudio_exporter test CA")
	client := ca.Client(t, "metastudio_exporter")
	p := &testPKI{dir: t.TempDir(), pool: ca.Pool(), server: ca.Server(t, "metastudio.test", "localhost", "127.0.0.1").TLS()}
	writeFile(t, p.dir, "ca.pem", string(ca.CertPEM))
	writeFile(t, p.dir, "client.pem", string(client.CertPEM))
	writeFile(t, p.dir, "client-key.pem", string(client.KeyPEM))
	return p
}

// path is a file of the PKI, as an http_client block names it.
func (p *testPKI) path(name string) string { return filepath.Join(p.dir, name) }

// tlsSimOptions say how the simulator's TLS server behaves.
type tlsSimOptions struct {
	clientCert bool   // require a client certificate of the CA
	maxVersion uint16 // 0: Go's highest
	// noKeepAlive closes every connection after its answer, so that each
	// call through a proxy makes a CONNECT of its own, which the proxy
	// logs: the proxy's count of CONNECTs is then the count of calls.
	noKeepAlive bool
}

// tlsSim is the simulator's handler served with TLS on 127.0.0.1.
type tlsSim struct {
	url, addr, port string
	// handshakeErrors is what the server said of failed handshakes.
	handshakeErrors *lockedbuffer.Buffer
	conns           *conncount.Counter
}

func startTLSSim(t *testing.T, h http.Handler, pki *testPKI, opts tlsSimOptions) *tlsSim {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	s := &tlsSim{handshakeErrors: &lockedbuffer.Buffer{}, conns: conncount.Watch(srv.Config)}
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pki.server}, MaxVersion: opts.maxVersion}
	if opts.clientCert {
		srv.TLS.ClientAuth, srv.TLS.ClientCAs = tls.RequireAndVerifyClientCert, pki.pool
	}
	srv.Config.ErrorLog = log.New(s.handshakeErrors, "", 0)
	srv.Config.SetKeepAlivesEnabled(!opts.noKeepAlive)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	s.url = srv.URL
	s.addr = strings.TrimPrefix(srv.URL, "https://")
	_, s.port, _ = net.SplitHostPort(s.addr)
	return s
}

// tinyproxyOutbound is the loopback address tinyproxy connects from (its
// Bind), so that a server can tell a call the proxy carried from one that
// came straight from the exporter (from 127.0.0.1).
const tinyproxyOutbound = "127.0.0.2"

// tinyproxy is Debian's tinyproxy, running in the foreground for one test
// on a free port with a config and a log in the test's directory.
type tinyproxy struct {
	addr string
	log  string
}

// startTinyproxy runs tinyproxy allowing CONNECT to the ports given, and
// with basicAuth ("user password") requiring Proxy-Authorization. Without
// tinyproxy the test is skipped, unless CI is set.
func startTinyproxy(t *testing.T, basicAuth string, connectPorts ...string) *tinyproxy {
	t.Helper()
	bin, err := exec.LookPath("tinyproxy")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("tinyproxy is not installed; CI installs it (apt-get install tinyproxy)")
		}
		t.Skip("tinyproxy is not installed (apt-get install tinyproxy); CI runs this test")
	}
	dir := t.TempDir()
	p := &tinyproxy{addr: loopback.FreeAddress(t), log: filepath.Join(dir, "tinyproxy.log")}
	_, port, _ := net.SplitHostPort(p.addr)
	var conf strings.Builder
	fmt.Fprintf(&conf, "Listen 127.0.0.1\nPort %s\nAllow 127.0.0.1\nBind %s\nTimeout 30\nMaxClients 50\nLogFile %q\nLogLevel Connect\n",
		port, tinyproxyOutbound, p.log)
	for _, cp := range connectPorts {
		fmt.Fprintf(&conf, "ConnectPort %s\n", cp)
	}
	if basicAuth != "" {
		fmt.Fprintf(&conf, "BasicAuth %s\n", basicAuth)
	}
	confPath := writeFile(t, dir, "tinyproxy.conf", conf.String())
	out := &lockedbuffer.Buffer{}
	cmd := exec.Command(bin, "-d", "-c", confPath)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.Dial("tcp", p.addr)
		if err == nil {
			conn.Close()
			return p
		}
		select {
		case <-exited:
			t.Fatalf("tinyproxy exited before listening:\n%s%s", out, p.logText(t))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("tinyproxy did not listen on %s within 10s:\n%s%s", p.addr, out, p.logText(t))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *tinyproxy) logText(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(p.log)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(b)
}

var tinyproxyRequest = regexp.MustCompile(`Request \(file descriptor \d+\): (\S+ \S+) HTTP/`)

// requests are the requests the proxy has read, in order, as "CONNECT
// host:port". tinyproxy logs a request as soon as it has read it, before it
// answers, so a call that has returned is in the log.
func (p *tinyproxy) requests(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, m := range tinyproxyRequest.FindAllStringSubmatch(p.logText(t), -1) {
		out = append(out, m[1])
	}
	return out
}

// wantRequests checks that the proxy has read exactly want since it
// started.
func (p *tinyproxy) wantRequests(t *testing.T, what string, want ...string) {
	t.Helper()
	got := p.requests(t)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s: the proxy read %d requests, want %d:\n got  %q\n want %q", what, len(got), len(want), got, want)
	}
}

// repeat is n copies of s.
func repeat(n int, s string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}
