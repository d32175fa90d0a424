package receiver

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/internal/testcert"
)

// connWatch hears the listener's connection events.
type connWatch struct{ events chan connEvent }

// watchConns makes opts report to the returned watch.
func watchConns(opts *ServerOptions) *connWatch {
	w := &connWatch{events: make(chan connEvent, 4096)}
	opts.onConn = func(e connEvent) { w.events <- e }
	return w
}

// next waits for the event want, skipping others; it fails the test if
// none comes within a generous 10 s.
func (w *connWatch) next(t *testing.T, want connEvent) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case e := <-w.events:
			if e == want {
				return
			}
		case <-deadline:
			t.Fatalf("no %+v event within 10s", want)
		}
	}
}

// client is one keep-alive connection of a test, plain or TLS.
type client struct {
	c  net.Conn
	br *bufio.Reader
}

func dialClient(t *testing.T, addr string, tlsConfig *tls.Config) *client {
	t.Helper()
	var c net.Conn
	var err error
	if tlsConfig != nil {
		c, err = tls.Dial("tcp", addr, tlsConfig)
	} else {
		c, err = net.Dial("tcp", addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &client{c: c, br: bufio.NewReader(c)}
}

// send writes raw request text.
func (k *client) send(t *testing.T, text string) {
	t.Helper()
	if _, err := io.WriteString(k.c, text); err != nil {
		t.Fatal(err)
	}
}

// answer reads one answer, within a generous 10 s.
func (k *client) answer(t *testing.T) (int, string) {
	t.Helper()
	_ = k.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(k.br, nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, string(b)
}

// hello is GET / on the keep-alive connection.
func (k *client) hello(t *testing.T) {
	t.Helper()
	k.send(t, "GET / HTTP/1.1\r\nHost: receiver\r\n\r\n")
	if code, body := k.answer(t); code != 200 || body != helloText {
		t.Fatalf("GET /: %d %q", code, body)
	}
}

// closedByServer reads until the server closes the connection.
func (k *client) closedByServer(t *testing.T) {
	t.Helper()
	_ = k.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if b, err := io.ReadAll(k.br); err != nil && !strings.Contains(err.Error(), "reset") {
		t.Fatalf("not closed by the server: %v (read %q)", err, b)
	}
}

const (
	capacityLine = `level=warn msg="Callback receiver at --callback.max-connections: closed its longest-idle keep-alive connections to admit new ones" max_connections=4 count=`
	waitingLine  = `level=warn msg="Callback receiver at --callback.max-connections with every connection in a request: new connections wait" max_connections=2 count=`
)

// TestAtCapacityClosesLongestIdle: at max connections, a new connection is
// admitted by closing the keep-alive connection idle the longest; the
// others keep working. It is counted, shows in the gauges and is logged
// once a minute with how many.
func TestAtCapacityClosesLongestIdle(t *testing.T) {
	h := newHarness(t, Options{})
	opts := ServerOptions{MaxConnections: 4}
	w := watchConns(&opts)
	s := listen(t, h, opts)
	held := make([]*client, 4)
	for i := range held {
		held[i] = dialClient(t, s.Addr(), nil)
		held[i].hello(t)
		w.next(t, connEvent{kind: "idle"}) // so that they are idle in this order
	}
	fifth := dialClient(t, s.Addr(), nil)
	fifth.hello(t)
	w.next(t, connEvent{kind: "idle"})
	held[0].closedByServer(t)
	for _, c := range held[1:] {
		c.hello(t) // still served on the same connection
		w.next(t, connEvent{kind: "idle"})
	}
	compare(t, h.rc.ReceiverCollector(), `# HELP metastudio_exporter_callback_connections_closed_total Connections the receiver closed: idle_at_capacity (the longest idle, to admit a new one at max connections), timeout (header, request or idle timeout) or header_too_large (answered 431).
# TYPE metastudio_exporter_callback_connections_closed_total counter
metastudio_exporter_callback_connections_closed_total{reason="header_too_large"} 0
metastudio_exporter_callback_connections_closed_total{reason="idle_at_capacity"} 1
metastudio_exporter_callback_connections_closed_total{reason="timeout"} 0
# HELP metastudio_exporter_callback_max_connections Connections the receiver holds at most (--callback.max-connections); at it, the longest-idle keep-alive connection is closed to admit a new one.
# TYPE metastudio_exporter_callback_max_connections gauge
metastudio_exporter_callback_max_connections 4
# HELP metastudio_exporter_callback_open_connections Connections the receiver holds now.
# TYPE metastudio_exporter_callback_open_connections gauge
metastudio_exporter_callback_open_connections 4
`, "metastudio_exporter_callback_connections_closed_total", "metastudio_exporter_callback_max_connections", "metastudio_exporter_callback_open_connections")

	// The one that was closed comes back, and the longest idle now (the
	// fifth, as the others were used since) makes room.
	back := dialClient(t, s.Addr(), nil)
	back.hello(t)
	fifth.closedByServer(t)
	checkWarnLines(t, "after two closes", h.logBuf.String(), "max-connections", []string{capacityLine + "1"})
	h.clock.Advance(time.Minute)
	checkWarnLines(t, "a minute later", h.logBuf.String(), "max-connections", []string{capacityLine + "1", capacityLine + "1"})
}

// TestAtCapacityNeverCutsARequest: a connection in a request is never
// closed to admit another: with every connection in one, a new connection
// waits, and is admitted when one of them finishes and goes idle, after
// its answer.
func TestAtCapacityNeverCutsARequest(t *testing.T) {
	h := newHarness(t, Options{})
	opts := ServerOptions{MaxConnections: 2}
	w := watchConns(&opts)
	s := listen(t, h, opts)
	body := switchBody("r", "j", 1)
	head := "POST /callback/openok HTTP/1.1\r\nHost: receiver\r\nContent-Length: " + itoa(int64(len(body))) + "\r\n\r\n"
	busy := []*client{dialClient(t, s.Addr(), nil), dialClient(t, s.Addr(), nil)}
	for _, c := range busy {
		c.send(t, head+body[:10]) // headers and a part of the body
	}
	third := dialClient(t, s.Addr(), nil)
	third.send(t, "GET / HTTP/1.1\r\nHost: receiver\r\n\r\n")
	w.next(t, connEvent{kind: "waiting"})

	busy[0].send(t, body[10:])
	if code, got := busy[0].answer(t); code != 200 || got != answerJSON("accepted", "") {
		t.Errorf("the first request: %d %s", code, got)
	}
	if code, got := third.answer(t); code != 200 || got != helloText {
		t.Errorf("the waiting connection: %d %q", code, got)
	}
	busy[0].closedByServer(t) // idle after its answer, then closed for the third
	busy[1].send(t, body[10:])
	if code, got := busy[1].answer(t); code != 200 || got != answerJSON("accepted", "") {
		t.Errorf("the second request: %d %s", code, got)
	}
	checkWarnLines(t, "", h.logBuf.String(), "max-connections", []string{
		waitingLine + "1",
		strings.ReplaceAll(capacityLine, "max_connections=4", "max_connections=2") + "1",
	})
}

// TestAtCapacityNextRequestBegun: a keep-alive connection whose next
// request has begun (its first bytes read, the headers not yet complete)
// is in a request, though net/http still calls it idle: it is not closed
// to admit another, and its request is answered.
func TestAtCapacityNextRequestBegun(t *testing.T) {
	h := newHarness(t, Options{})
	opts := ServerOptions{MaxConnections: 1}
	w := watchConns(&opts)
	s := listen(t, h, opts)
	first := dialClient(t, s.Addr(), nil)
	first.hello(t)
	w.next(t, connEvent{kind: "idle"})
	first.send(t, "GET / HTTP/1.1\r\n")
	w.next(t, connEvent{kind: "reading"})
	second := dialClient(t, s.Addr(), nil)
	second.send(t, "GET / HTTP/1.1\r\nHost: receiver\r\n\r\n")
	w.next(t, connEvent{kind: "waiting"})
	first.send(t, "Host: receiver\r\n\r\n")
	if code, got := first.answer(t); code != 200 || got != helloText {
		t.Errorf("the begun request: %d %q", code, got)
	}
	if code, got := second.answer(t); code != 200 || got != helloText {
		t.Errorf("the waiting connection: %d %q", code, got)
	}
	first.closedByServer(t)
}

// TestAtCapacityOverTLS: the same holds when the receiver serves TLS,
// where net/http sees the TLS connection around the tracked one.
func TestAtCapacityOverTLS(t *testing.T) {
	h := newHarness(t, Options{})
	cfg, tlsConfig := tlsWebConfig(t)
	opts := ServerOptions{MaxConnections: 2, WebConfigFile: cfg}
	w := watchConns(&opts)
	s := listen(t, h, opts)
	held := []*client{dialClient(t, s.Addr(), tlsConfig), dialClient(t, s.Addr(), tlsConfig)}
	for _, c := range held {
		c.hello(t)
		w.next(t, connEvent{kind: "idle"})
	}
	third := dialClient(t, s.Addr(), tlsConfig)
	third.hello(t)
	held[0].closedByServer(t)
	held[1].hello(t)
}

// tlsWebConfig writes a self-signed certificate for 127.0.0.1 and a web
// config that serves it, and returns the config's path and a client config
// that trusts the certificate.
func tlsWebConfig(t *testing.T) (string, *tls.Config) {
	t.Helper()
	dir := t.TempDir()
	cert := testcert.SelfSigned(t, "127.0.0.1")
	files := map[string][]byte{
		"cert.pem": cert.CertPEM,
		"key.pem":  cert.KeyPEM,
		"web.yml":  []byte("tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n"),
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "web.yml"), &tls.Config{RootCAs: cert.Pool(), ServerName: "127.0.0.1"}
}
