package simulator

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestFaultStatusDefaults(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	for _, tc := range []struct {
		status    int
		code, msg string
	}{
		{400, CodeBadParameter, "Invalid parameter"},
		{401, CodeAuthFailed, "Incorrect IAM authentication information"},
		{403, CodeForbidden, "The IAM user is not authorized to access the API"},
		{404, CodeProjectNotFound, "The project does not exist"},
		{409, CodeBadParameter, "Invalid parameter"},
		{429, CodeThrottled, "The throttling threshold has been reached: policy user over ratelimit"},
		{500, CodeInternal, "Internal error"},
		{502, CodeBackendDown, "Backend unavailable"},
		{503, CodeBackendDown, "Backend unavailable"},
		{504, CodeBackendTimeout, "Backend timeout"},
	} {
		s.SetFault(projA, Fault{Status: tc.status})
		rec := serve(s, signedGet(projA, akA, skA))
		wantError(t, rec, tc.status, tc.code, tc.msg)
		if rec.Header().Get("Retry-After") != "" {
			t.Fatalf("%d: unexpected Retry-After", tc.status)
		}
	}

	s.SetFault(projA, Fault{Status: 429, ErrorCode: "APIGW.0309", ErrorMsg: "custom", RetryAfter: "7"})
	rec := serve(s, signedGet(projA, akA, skA))
	wantError(t, rec, 429, "APIGW.0309", "custom")
	if got := rec.Header().Get("Retry-After"); got != "7" {
		t.Fatalf("Retry-After = %q, want 7", got)
	}

	s.SetFault(projA, Fault{Status: http.StatusNoContent})
	if rec := serve(s, signedGet(projA, akA, skA)); rec.Code != http.StatusNoContent || rec.Body.Len() != 0 {
		t.Fatalf("204 fault = %d %q", rec.Code, rec.Body)
	}

	s.SetFault(projA, Fault{})
	wantOK(t, serve(s, signedGet(projA, akA, skA)), "{}")
}

func TestFaultAppliesAfterAuth(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	s.SetFault(projA, Fault{Status: 500})
	wantError(t, serve(s, newRequest(http.MethodGet, projA, nil, t0)), 401, CodeAuthFailed,
		"Incorrect IAM authentication information: Authorization header missing")
	wantError(t, serve(s, signedGet(projA, akA, skA)), 500, CodeInternal, "Internal error")
	if n := s.Calls(projA); n != 2 {
		t.Fatalf("Calls = %d, want 2", n)
	}
	// Faults are for GETs; the tenant can still be reconfigured.
	body := []byte(`{"live_notify_config":{"notify_events":["AUTO_EXIT"]}}`)
	r := newRequest(http.MethodPut, projA, body, t0)
	testSign(r, akA, skA, body)
	wantOK(t, serve(s, r), string(body))
}

func TestFaultBody(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	s.SetFault(projB, Fault{Body: []byte(`{"live_exit_config":{"max_live_duration":"two"}`)})
	wantOK(t, serve(s, signedGet(projB, akB, skB)), `{"live_exit_config":{"max_live_duration":"two"}`)
	cfg, _ := s.Config(projB)
	if string(cfg) != `{"live_exit_config":{"max_live_duration":2}}` {
		t.Fatalf("Body fault changed the stored config: %s", cfg)
	}
}

// countingWriter records the size and both ends of a body without holding it.
type countingWriter struct {
	header     http.Header
	status     int
	n          int64
	head, tail []byte
}

func (c *countingWriter) Header() http.Header { return c.header }
func (c *countingWriter) WriteHeader(s int)   { c.status = s }
func (c *countingWriter) Write(p []byte) (int, error) {
	if len(c.head) < 16 {
		c.head = append(c.head, p[:min(len(p), 16-len(c.head))]...)
	}
	c.tail = append(c.tail, p...)
	if len(c.tail) > 16 {
		c.tail = append([]byte(nil), c.tail[len(c.tail)-16:]...)
	}
	c.n += int64(len(p))
	return len(p), nil
}

func TestFaultBodySize(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	const size = 3<<20 + 5
	s.SetFault(projA, Fault{BodySize: size})
	cw := &countingWriter{header: http.Header{}}
	s.ServeHTTP(cw, signedGet(projA, akA, skA))
	if cw.status != 200 || cw.n != size || cw.header.Get("Content-Length") != "3145733" {
		t.Fatalf("streamed %d bytes, status %d, Content-Length %q", cw.n, cw.status, cw.header.Get("Content-Length"))
	}
	if string(cw.head) != `{"padding":"xxxx` || string(cw.tail) != `xxxxxxxxxxxxxx"}` {
		t.Fatalf("body starts %q, ends %q", cw.head, cw.tail)
	}

	s.SetFault(projA, Fault{BodySize: 20})
	wantOK(t, serve(s, signedGet(projA, akA, skA)), `{"padding":"xxxxxx"}`)
	s.SetFault(projA, Fault{BodySize: 5})
	wantOK(t, serve(s, signedGet(projA, akA, skA)), `{"pad`)
}

// A cancelled request must end the delay: the handler returns without
// answering instead of sleeping out the hour.
func TestFaultLatencyCancelled(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	s.SetFault(projA, Fault{Latency: time.Hour, Status: 500})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec := serve(s, signedGet(projA, akA, skA).WithContext(ctx))
	if rec.Body.Len() != 0 || rec.Header().Get("Content-Type") != "" {
		t.Fatalf("cancelled request answered: %d %s", rec.Code, rec.Body)
	}

	s.SetFault(projA, Fault{Latency: time.Millisecond, Status: 500})
	wantError(t, serve(s, signedGet(projA, akA, skA)), 500, CodeInternal, "Internal error")
}

func TestFaultHangReleasedWhenClientGoes(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	s.SetFault(projA, Fault{Hang: true})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan *httptest.ResponseRecorder)
	go func() { done <- serve(s, signedGet(projA, akA, skA).WithContext(ctx)) }()
	select {
	case rec := <-done:
		t.Fatalf("hanging fault answered: %d %s", rec.Code, rec.Body)
	case <-time.After(50 * time.Millisecond):
	}
	cancel()
	rec := <-done
	if rec.Body.Len() != 0 {
		t.Fatalf("hanging fault wrote %q", rec.Body)
	}
}

// Over a real connection: the client times out, and Close still returns
// because the hung handler is released with its connection.
func TestRunningHangAndLatency(t *testing.T) {
	run, err := Start(Options{}, testTenants()...)
	if err != nil {
		t.Fatal(err)
	}
	run.Server.SetFault(projA, Fault{Hang: true})
	run.Server.SetFault(projB, Fault{Latency: time.Hour})
	for _, p := range []struct{ project, ak, sk string }{{projA, akA, skA}, {projB, akB, skB}} {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		resp, err := http.DefaultClient.Do(liveGet(t, run, p.project, p.ak, p.sk).WithContext(ctx))
		cancel()
		if err == nil {
			resp.Body.Close()
			t.Fatalf("%s: answered %d", p.project, resp.StatusCode)
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("%s: err = %v, want deadline exceeded", p.project, err)
		}
	}
	if err := run.Close(); err != nil {
		t.Fatal(err)
	}
	if err := run.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	http.DefaultClient.CloseIdleConnections()
}

func TestFaultResetMidBody(t *testing.T) {
	run, err := Start(Options{}, testTenants()...)
	if err != nil {
		t.Fatal(err)
	}
	defer run.Close()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	stored := `{"live_exit_config":{"max_live_duration":2}}`
	for _, tc := range []struct {
		fault    Fault
		length   int64
		received string
	}{
		{Fault{ResetMidBody: true}, int64(len(stored)), stored[:len(stored)/2]},
		{Fault{ResetMidBody: true, Body: []byte(`[1,2,3,4]`)}, 9, `[1,2`},
		{Fault{ResetMidBody: true, BodySize: 1 << 20}, 1 << 20, `{"padding":"` + strings.Repeat("x", 1<<19-12)},
	} {
		run.Server.SetFault(projB, tc.fault)
		resp, err := client.Do(liveGet(t, run, projB, akB, skB))
		if err != nil {
			t.Fatalf("headers should arrive before the reset: %v", err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.ContentLength != tc.length {
			t.Fatalf("status %d, length %d, want 200 %d", resp.StatusCode, resp.ContentLength, tc.length)
		}
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("read error = %v, want unexpected EOF", err)
		}
		if string(got) != tc.received {
			t.Fatalf("received %d bytes %.40q, want %d bytes", len(got), got, len(tc.received))
		}
	}
}
