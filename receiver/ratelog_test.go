package receiver

import (
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/metastudio-exporter/metastudio_exporter/internal/lockedbuffer"
	"github.com/metastudio-exporter/metastudio_exporter/secret"
)

// warnLines are the log's warn lines holding msg.
func warnLines(logs, msg string) []string {
	var out []string
	for _, l := range strings.Split(logs, "\n") {
		if strings.HasPrefix(l, "level=warn ") && strings.Contains(l, msg) {
			out = append(out, l)
		}
	}
	return out
}

// TestRejectionsWarnOncePerMinute: every refusal logs at debug with its
// reason; at warn, one line per tenant and result per minute says how many:
// the first at once, the rest a minute after the previous line.
func TestRejectionsWarnOncePerMinute(t *testing.T) {
	h := newHarness(t, Options{})
	forged := func() {
		h.do(request{path: "/callback/mss", query: signedQuery("forged", mssURL, h.clock.Now()), body: switchBody("r", "j", 1)})
	}
	for range 50 {
		forged()
		h.do(request{path: "/callback/open", body: switchBody("r", "j", 1)})
		h.do(request{path: "/callback/nope"})
	}
	h.clock.Advance(59 * time.Second)
	forged()
	logs := h.logBuf.String()
	if n := strings.Count(logs, `level=debug msg=Callback result=bad_signature tenant=mss reason="the signature does not match"`); n != 51 {
		t.Errorf("%d debug lines for bad_signature, want 51", n)
	}
	const (
		mssLine     = `level=warn msg="Callbacks rejected" tenant=mss result=bad_signature reason="the signature does not match" count=`
		openLine    = `level=warn msg="Callbacks rejected" tenant=open result=unauthenticated reason="the tenant's callback URL carries no credentials in its query (no parameter with a value)" count=`
		unknownLine = `level=warn msg="Callbacks rejected" tenant= result=unknown_tenant reason="no such tenant; the path is /callback/{tenant}" count=`
	)
	want := []string{mssLine + "1", openLine + "1", unknownLine + "1"}
	checkWarnLines(t, "in the first minute", h.logBuf.String(), "Callbacks rejected", want)

	// A minute after the first lines, the timer writes the rest, in the
	// order of tenant and result.
	h.clock.Advance(time.Second)
	want = append(want, unknownLine+"49", mssLine+"50", openLine+"49")
	checkWarnLines(t, "after a minute", h.logBuf.String(), "Callbacks rejected", want)

	forged()
	h.clock.Advance(59 * time.Second)
	checkWarnLines(t, "59s after the second lines", h.logBuf.String(), "Callbacks rejected", want)
	h.clock.Advance(time.Second)
	want = append(want, mssLine+"1")
	checkWarnLines(t, "a minute after the second lines", h.logBuf.String(), "Callbacks rejected", want)
	if n := h.clock.PendingTimers(); n != 0 {
		t.Errorf("%d timers armed with nothing left to write", n)
	}
	assertNoSecret(t, "log", h.logBuf.String())
}

// TestBurstCountFlushedByTimer: a burst that stops is logged in full within
// a minute, with no request after it to trigger the line: 200,006
// unknown_tenant requests were once logged as count=1 and, much later,
// count=6.
func TestBurstCountFlushedByTimer(t *testing.T) {
	h := newHarness(t, Options{})
	const line = `level=warn msg="Callbacks rejected" tenant= result=unknown_tenant reason="no such tenant; the path is /callback/{tenant}" count=`
	for i := range 20_006 {
		if i == 10_000 {
			h.clock.Advance(30 * time.Second)
		}
		h.do(request{path: "/callback/nope"})
	}
	want := []string{line + "1"}
	checkWarnLines(t, "during the burst", h.logBuf.String(), "Callbacks rejected", want)
	h.clock.Advance(29 * time.Second)
	checkWarnLines(t, "59s after the first line", h.logBuf.String(), "Callbacks rejected", want)
	h.clock.Advance(time.Second)
	want = append(want, line+"20005")
	checkWarnLines(t, "a minute after the first line", h.logBuf.String(), "Callbacks rejected", want)
	h.clock.Advance(time.Hour)
	checkWarnLines(t, "an hour later", h.logBuf.String(), "Callbacks rejected", want)
}

// TestCloseWritesCountsAndStopsTimer: Close writes what the warn lines
// still count and stops their timer; nothing fires after it.
func TestCloseWritesCountsAndStopsTimer(t *testing.T) {
	h := newHarness(t, Options{})
	for range 3 {
		h.do(request{path: "/callback/open", body: switchBody("r", "j", 1)})
	}
	if n := h.clock.PendingTimers(); n != 1 {
		t.Fatalf("%d timers armed, want 1", n)
	}
	if err := h.rc.Close(); err != nil {
		t.Fatal(err)
	}
	if n := h.clock.PendingTimers(); n != 0 {
		t.Errorf("%d timers armed after Close, want 0", n)
	}
	const line = `level=warn msg="Callbacks rejected" tenant=open result=unauthenticated reason="the tenant's callback URL carries no credentials in its query (no parameter with a value)" count=`
	want := []string{line + "1", line + "2"}
	checkWarnLines(t, "after Close", h.logBuf.String(), "Callbacks rejected", want)
	h.clock.Advance(time.Hour)
	checkWarnLines(t, "an hour after Close", h.logBuf.String(), "Callbacks rejected", want)
}

// TestRateLogRealTimerStops: with the real clock, Close stops the armed
// time.AfterFunc timer, so no flush runs after it.
func TestRateLogRealTimerStops(t *testing.T) {
	logs := &lockedbuffer.Buffer{}
	l := newRateLog(log.NewLogfmtLogger(logs), time.Now, timeAfterFunc)
	l.log("k", "msg", "x")
	l.log("k", "msg", "x")
	l.mu.Lock()
	armed := l.stop != nil
	l.mu.Unlock()
	if !armed {
		t.Fatal("no timer armed for a pending count")
	}
	l.close()
	l.mu.Lock()
	armed = l.stop != nil
	l.mu.Unlock()
	if armed || logs.String() != "msg=x count=1\nmsg=x count=1\n" {
		t.Errorf("after close: timer armed %v, log %q", armed, logs.String())
	}
}

func checkWarnLines(t *testing.T, when, logs, msg string, want []string) {
	t.Helper()
	if got := warnLines(logs, msg); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warn lines %s:\n%s\nwant\n%s", when, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestRelayFailuresWarnOncePerMinute: a down app logs one warn line a minute
// per tenant and code, with the count.
func TestRelayFailuresWarnOncePerMinute(t *testing.T) {
	h := newHarness(t, Options{})
	a := newApp(t, "NONE")
	a.statuses = make([]int, 30)
	for i := range a.statuses {
		a.statuses[i] = 503
	}
	h.src.set("none", func(s *TenantSettings) { s.ForwardURL = secret.String(a.url) })
	for i := range 30 {
		if i == 20 {
			h.clock.Advance(time.Minute)
		}
		if ans := h.postNone(switchBody("r", "j", i)); ans.status != 502 {
			t.Fatalf("got %d %s", ans.status, ans.body)
		}
	}
	line := `level=warn msg="Relaying live events failed" tenant=none forward_host=` + strings.TrimPrefix(a.srv.URL, "http://") + ` code=503 count=`
	want := []string{line + "1", line + "19"}
	checkWarnLines(t, "after a minute", h.logBuf.String(), "Relaying live events failed", want)
	h.clock.Advance(time.Minute)
	checkWarnLines(t, "after two minutes", h.logBuf.String(), "Relaying live events failed", append(want, line+"10"))
}

// TestHTTPErrorLogRateLimited: 2,000 TLS handshake errors from net/http make
// one warn line a minute, with the count.
func TestHTTPErrorLogRateLimited(t *testing.T) {
	h := newHarness(t, Options{})
	w := httpErrorLog{newRateLog(levelWarn(h), h.clock.Now, h.clock.AfterFunc)}
	for i := range 2000 {
		if i == 1500 {
			h.clock.Advance(time.Minute)
		}
		_, _ = w.Write([]byte("http: TLS handshake error from 127.0.0.1:5000: client sent an HTTP request to an HTTPS server\n"))
	}
	_, _ = w.Write([]byte("http: Accept error: too many open files; retrying in 5ms\n"))
	const tls = `level=warn msg="TLS handshake errors on the receiver's listener (plain HTTP, scanners or bad certificates)" err="http: TLS handshake error from 127.0.0.1:5000: client sent an HTTP request to an HTTPS server" count=`
	want := []string{
		tls + "1",
		tls + "1499",
		`level=warn msg="HTTP errors on the receiver's listener" err="http: Accept error: too many open files; retrying in 5ms" count=1`,
	}
	checkWarnLines(t, "after a minute", h.logBuf.String(), "listener", want)
	h.clock.Advance(time.Minute)
	checkWarnLines(t, "after two minutes", h.logBuf.String(), "listener", append(want, tls+"500"))
}

func levelWarn(h *harness) log.Logger { return level.Warn(h.rc.logger) }
