package receiver

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// listen starts the receiver's own listener on a free loopback port.
func listen(t *testing.T, h *harness, opts ServerOptions) *Server {
	t.Helper()
	opts.Address = "127.0.0.1:0"
	s, err := h.rc.Listen(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return s
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// closedWithin reads c until the server closes it, and fails the test if
// that takes longer than limit. It returns what was read and when.
func closedWithin(t *testing.T, c net.Conn, limit time.Duration) (string, time.Duration) {
	t.Helper()
	start := time.Now()
	_ = c.SetReadDeadline(start.Add(limit))
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("not closed within %s: %v (read %q)", limit, err, b)
	}
	return string(b), time.Since(start)
}

// TestServerCutsSlowAndIdleClients: a client that trickles its headers or
// its body, or holds a keep-alive connection idle, is cut off after the
// listener's timeouts; each cut is counted by its reason, and a client
// that closes its own connection is not.
func TestServerCutsSlowAndIdleClients(t *testing.T) {
	h := newHarness(t, Options{})
	const header, read, idle = 300 * time.Millisecond, 600 * time.Millisecond, 400 * time.Millisecond
	opts := ServerOptions{ReadHeaderTimeout: header, ReadTimeout: read, IdleTimeout: idle}
	w := watchConns(&opts)
	s := listen(t, h, opts)
	defer func() {
		compare(t, h.rc.ReceiverCollector(), `# HELP metastudio_exporter_callback_connections_closed_total Connections the receiver closed: idle_at_capacity (the longest idle, to admit a new one at max connections), timeout (header, request or idle timeout) or header_too_large (answered 431).
# TYPE metastudio_exporter_callback_connections_closed_total counter
metastudio_exporter_callback_connections_closed_total{reason="header_too_large"} 1
metastudio_exporter_callback_connections_closed_total{reason="idle_at_capacity"} 0
metastudio_exporter_callback_connections_closed_total{reason="timeout"} 3
# HELP metastudio_exporter_callback_open_connections Connections the receiver holds now.
# TYPE metastudio_exporter_callback_open_connections gauge
metastudio_exporter_callback_open_connections 0
`, "metastudio_exporter_callback_connections_closed_total", "metastudio_exporter_callback_open_connections")
	}()

	t.Run("trickled headers", func(t *testing.T) {
		c := dial(t, s.Addr())
		_, _ = io.WriteString(c, "POST /callback/mss HTTP/1.1\r\nHost: x\r\n")
		if _, took := closedWithin(t, c, 5*time.Second); took < header/2 {
			t.Errorf("closed after %s, before the header timeout", took)
		}
		w.next(t, connEvent{kind: "closed", reason: closedTimeout})
	})
	t.Run("trickled body", func(t *testing.T) {
		c := dial(t, s.Addr())
		_, _ = io.WriteString(c, "POST /callback/openok HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{")
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			for {
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond):
					if _, err := io.WriteString(c, " "); err != nil {
						return
					}
				}
			}
		}()
		got, took := closedWithin(t, c, 5*time.Second)
		if took < read/2 {
			t.Errorf("closed after %s, before the read timeout", took)
		}
		if !strings.HasPrefix(got, "HTTP/1.1 400 ") || !strings.Contains(got, answerJSON("bad_request", detailReadFailed)) {
			t.Errorf("answer %q, want 400 bad_request", got)
		}
		w.next(t, connEvent{kind: "closed", reason: closedTimeout})
	})
	t.Run("idle keep-alive", func(t *testing.T) {
		c := dial(t, s.Addr())
		_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET /: %v", err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		if _, took := closedWithin(t, c, 5*time.Second); took < idle/2 {
			t.Errorf("closed after %s, before the idle timeout", took)
		}
		w.next(t, connEvent{kind: "closed", reason: closedTimeout})
	})
	t.Run("client closes", func(t *testing.T) {
		c := dialClient(t, s.Addr(), nil)
		c.hello(t)
		c.send(t, "POST /callback/openok HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
		if code, _ := c.answer(t); code != 400 {
			t.Errorf("POST: %d, want 400", code)
		}
		_ = c.c.Close()
		w.next(t, connEvent{kind: "closed", reason: ""})
	})
	t.Run("header size", func(t *testing.T) {
		c := dial(t, s.Addr())
		_, _ = io.WriteString(c, "POST /callback/mss HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("a", DefaultMaxHeaderBytes+8192)+"\r\n\r\n")
		// The server answers and closes without reading the rest, so the
		// read may end in a reset: the answer is what counts.
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		got, _ := io.ReadAll(c)
		if !strings.HasPrefix(string(got), "HTTP/1.1 431 ") {
			t.Errorf("answer %.60q, want 431", got)
		}
		w.next(t, connEvent{kind: "closed", reason: closedHeaderTooLarge})
	})
}

// TestServerMaxConnections: past max-connections, with no connection idle
// between requests (these two have sent nothing yet), a new connection
// waits until one is closed, and is then served.
func TestServerMaxConnections(t *testing.T) {
	h := newHarness(t, Options{})
	opts := ServerOptions{MaxConnections: 2}
	w := watchConns(&opts)
	s := listen(t, h, opts)
	held := []net.Conn{dial(t, s.Addr()), dial(t, s.Addr())}
	waiting := dial(t, s.Addr())
	_, _ = io.WriteString(waiting, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	w.next(t, connEvent{kind: "waiting"})
	_ = held[0].Close()
	got, _ := closedWithin(t, waiting, 5*time.Second)
	if !strings.HasPrefix(got, "HTTP/1.1 200 ") || !strings.HasSuffix(got, helloText) {
		t.Errorf("after a slot freed: %q", got)
	}
}

// TestListenBusyPort: a port in use is an error of Listen.
func TestListenBusyPort(t *testing.T) {
	h := newHarness(t, Options{})
	s := listen(t, h, ServerOptions{})
	if _, err := h.rc.Listen(ServerOptions{Address: s.Addr()}); err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("second Listen on %s: %v", s.Addr(), err)
	}
}

// TestListenRefusesNegativeLimits: the error names every limit and its
// value, and nothing is left listening.
func TestListenRefusesNegativeLimits(t *testing.T) {
	h := newHarness(t, Options{})
	_, err := h.rc.Listen(ServerOptions{Address: "127.0.0.1:0", ReadTimeout: -time.Second})
	const want = "receiver: max connections (0), read header timeout (0s), read timeout (-1s), idle timeout (0s) and max header bytes (0) must not be negative"
	if err == nil || err.Error() != want {
		t.Errorf("Listen error = %v\nwant %s", err, want)
	}
}

// TestServeFailureIsReported: a listener that fails after start closes
// Done and says why, so that the program can stop rather than run on with
// a receiver that answers nothing.
func TestServeFailureIsReported(t *testing.T) {
	h := newHarness(t, Options{})
	s, err := h.rc.Listen(ServerOptions{Address: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.Done():
		t.Fatalf("Done before anything failed: %v", s.Err())
	default:
	}
	_ = s.ln.Close()
	select {
	case <-s.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed 5s after the listener failed")
	}
	if err := s.Err(); err == nil || !strings.Contains(err.Error(), "use of closed network connection") {
		t.Errorf("Err() = %v, want the listener's error", err)
	}
}

// TestShutdownIsNotAFailure: after Shutdown, Done is closed and Err is nil.
func TestShutdownIsNotAFailure(t *testing.T) {
	h := newHarness(t, Options{})
	s, err := h.rc.Listen(ServerOptions{Address: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	<-s.Done()
	if err := s.Err(); err != nil {
		t.Errorf("Err() after Shutdown = %v, want nil", err)
	}
}
