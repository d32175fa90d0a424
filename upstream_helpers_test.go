package main

// The real parts of the upstream connection tests: a CA of the test's own
// with a server and a client certificate, the simulator served over TLS
// with them, and Debian's tinyproxy as the CONNECT proxy.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/internal/lockedbuffer"
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
	p := &testPKI{dir: t.TempDir(), pool: x509.NewCertPool()}
	now := time.Now()
	caKey := newKey(t)
	caTemplate := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "metastudio_exporter test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	p.pool.AddCert(ca)
	p.write(t, "ca.pem", "CERTIFICATE", caDER)

	issue := func(serial int64, usage x509.ExtKeyUsage, tmpl *x509.Certificate) ([]byte, *ecdsa.PrivateKey) {
		key := newKey(t)
		tmpl.SerialNumber = big.NewInt(serial)
		tmpl.NotBefore, tmpl.NotAfter = now.Add(-time.Hour), now.Add(time.Hour)
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{usage}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, key
	}
	serverDER, serverKey := issue(2, x509.ExtKeyUsageServerAuth, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "metastudio.test"},
		DNSNames:    []string{"metastudio.test", "localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	})
	p.server = tls.Certificate{Certificate: [][]byte{serverDER}, PrivateKey: serverKey}
	clientDER, clientKey := issue(3, x509.ExtKeyUsageClientAuth, &x509.Certificate{Subject: pkix.Name{CommonName: "metastudio_exporter"}})
	p.write(t, "client.pem", "CERTIFICATE", clientDER)
	keyDER, err := x509.MarshalPKCS8PrivateKey(clientKey)
	if err != nil {
		t.Fatal(err)
	}
	p.write(t, "client-key.pem", "PRIVATE KEY", keyDER)
	return p
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func (p *testPKI) write(t *testing.T, name, kind string, der []byte) {
	t.Helper()
	writeFile(t, p.dir, name, string(pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der})))
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
	// opened and closed count the server's connections; closes is told of
	// each close.
	opened, closed atomic.Int32
	closes         chan struct{}
}

// waitClosed waits until n of the server's connections have closed.
func (s *tlsSim) waitClosed(t *testing.T, n int32) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for s.closed.Load() < n {
		select {
		case <-s.closes:
		case <-deadline:
			t.Fatalf("%d of %d connections closed after 10s", s.closed.Load(), n)
		}
	}
}

func startTLSSim(t *testing.T, h http.Handler, pki *testPKI, opts tlsSimOptions) *tlsSim {
	t.Helper()
	s := &tlsSim{handshakeErrors: &lockedbuffer.Buffer{}, closes: make(chan struct{}, 64)}
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		switch state {
		case http.StateNew:
			s.opened.Add(1)
		case http.StateClosed:
			s.closed.Add(1)
			select {
			case s.closes <- struct{}{}:
			default: // nobody waits: the count says it
			}
		}
	}
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
	p := &tinyproxy{addr: freeAddress(t), log: filepath.Join(dir, "tinyproxy.log")}
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
