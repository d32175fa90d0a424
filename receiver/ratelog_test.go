package receiver

import (
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

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
// reason; at warn, one line per tenant and result per minute says how many.
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
	want := []string{
		`level=warn msg="Callbacks rejected" tenant=mss result=bad_signature reason="the signature does not match" count=1`,
		`level=warn msg="Callbacks rejected" tenant=open result=unauthenticated reason="the tenant's callback URL carries no credentials in its query (no parameter with a value)" count=1`,
		`level=warn msg="Callbacks rejected" tenant= result=unknown_tenant reason="no such tenant; the path is /callback/{tenant}" count=1`,
	}
	if got := warnLines(logs, "Callbacks rejected"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warn lines in the first minute:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	h.clock.Advance(time.Second)
	forged()
	got := warnLines(h.logBuf.String(), "Callbacks rejected")
	if last := got[len(got)-1]; len(got) != 4 || last != `level=warn msg="Callbacks rejected" tenant=mss result=bad_signature reason="the signature does not match" count=51` {
		t.Errorf("after a minute: %d lines, last %s; want 4, the last counting 51", len(got), last)
	}
	assertNoSecret(t, "log", h.logBuf.String())
}

// TestExpectedRejectionsLogAtDebug: the rejections of a tenant whose
// failures are expected (the demo's) log at debug only; another tenant's
// still warn.
func TestExpectedRejectionsLogAtDebug(t *testing.T) {
	h := newHarness(t, Options{ExpectedFailure: func(tenant string) bool { return tenant == "mss" }})
	for range 3 {
		h.do(request{path: "/callback/mss", query: signedQuery("forged", mssURL, h.clock.Now()), body: switchBody("r", "j", 1)})
		h.do(request{path: "/callback/open", body: switchBody("r", "j", 1)})
	}
	logs := h.logBuf.String()
	if n := strings.Count(logs, `level=debug msg=Callback result=bad_signature tenant=mss`); n != 3 {
		t.Errorf("%d debug lines for the expected tenant's rejections, want 3", n)
	}
	want := `level=warn msg="Callbacks rejected" tenant=open result=unauthenticated reason="the tenant's callback URL carries no credentials in its query (no parameter with a value)" count=1`
	if got := warnLines(logs, "Callbacks rejected"); len(got) != 1 || got[0] != want {
		t.Errorf("warn lines:\n%s\nwant only\n%s", strings.Join(got, "\n"), want)
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
	host := strings.TrimPrefix(a.srv.URL, "http://")
	want := []string{
		`level=warn msg="Relaying live events failed" tenant=none forward_host=` + host + ` code=503 count=1`,
		`level=warn msg="Relaying live events failed" tenant=none forward_host=` + host + ` code=503 count=20`,
	}
	if got := warnLines(h.logBuf.String(), "Relaying live events failed"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warn lines:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestHTTPErrorLogRateLimited: 2,000 TLS handshake errors from net/http make
// one warn line a minute, with the count.
func TestHTTPErrorLogRateLimited(t *testing.T) {
	h := newHarness(t, Options{})
	w := httpErrorLog{newRateLog(levelWarn(h), h.clock.Now)}
	for i := range 2000 {
		if i == 1500 {
			h.clock.Advance(time.Minute)
		}
		_, _ = w.Write([]byte("http: TLS handshake error from 127.0.0.1:5000: client sent an HTTP request to an HTTPS server\n"))
	}
	_, _ = w.Write([]byte("http: Accept error: too many open files; retrying in 5ms\n"))
	want := []string{
		`level=warn msg="TLS handshake errors on the receiver's listener (plain HTTP, scanners or bad certificates)" err="http: TLS handshake error from 127.0.0.1:5000: client sent an HTTP request to an HTTPS server" count=1`,
		`level=warn msg="TLS handshake errors on the receiver's listener (plain HTTP, scanners or bad certificates)" err="http: TLS handshake error from 127.0.0.1:5000: client sent an HTTP request to an HTTPS server" count=1500`,
		`level=warn msg="HTTP errors on the receiver's listener" err="http: Accept error: too many open files; retrying in 5ms" count=1`,
	}
	if got := warnLines(h.logBuf.String(), "listener"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warn lines:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func levelWarn(h *harness) log.Logger { return level.Warn(h.rc.logger) }
