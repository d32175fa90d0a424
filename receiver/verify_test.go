package receiver

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/metastudio-exporter/metastudio_exporter/secret"
)

// TestKeyRotation: the first verification fails with the cached old key,
// the refetch brings the new one, and the event is accepted.
func TestKeyRotation(t *testing.T) {
	h := newHarness(t, Options{})
	h.src.rotate("mss", func(s *TenantSettings) { s.Key = rotatedKey })
	q := signedQuery(rotatedKey, mssURL, h.clock.Now())
	body := rtmpBody("room-1", "job-1", "live.example.com", "CONNECTED")
	if a := h.do(request{path: "/callback/mss", query: q, body: body}); a.status != 200 || a.body != answerJSON("accepted", "") {
		t.Fatalf("got %d %s", a.status, a.body)
	}
	if n := h.src.freshCalls(); n != 1 {
		t.Errorf("%d refetches, want 1", n)
	}
	// The refetched key is now what the source hands out: no more refetch.
	h.clock.Advance(time.Second)
	q = signedQuery(rotatedKey, mssURL, h.clock.Now())
	if a := h.do(request{path: "/callback/mss", query: q, body: body}); a.status != 200 {
		t.Fatalf("second event: got %d %s", a.status, a.body)
	}
	if n := h.src.freshCalls(); n != 1 {
		t.Errorf("%d refetches after the second event, want 1", n)
	}
}

// TestURLCredentialRotation: auth_type NONE whose URL token changed.
func TestURLCredentialRotation(t *testing.T) {
	h := newHarness(t, Options{})
	h.src.rotate("none", func(s *TenantSettings) { s.CallbackURL = "https://mon.example.com/callback/none?token=new" })
	if a := h.do(request{path: "/callback/none", query: "token=new", body: switchBody("r", "j", 1)}); a.status != 200 {
		t.Fatalf("got %d %s", a.status, a.body)
	}
	if n := h.src.freshCalls(); n != 1 {
		t.Errorf("%d refetches, want 1", n)
	}
}

// TestForgedFloodRefetchLimited: forged requests cost at most one refetch
// per tenant per 30 s, however many there are.
func TestForgedFloodRefetchLimited(t *testing.T) {
	h := newHarness(t, Options{})
	body := rtmpBody("room-1", "job-1", "live.example.com", "CONNECTED")
	flood := func(n int) {
		for i := range n {
			q := signedQuery("forged-"+string(rune('a'+i%26)), mssURL, h.clock.Now())
			if a := h.do(request{path: "/callback/mss", query: q, body: body}); a.status != 401 {
				t.Fatalf("forged request answered %d %s", a.status, a.body)
			}
			// Another tenant's failures have a slot of their own.
			if a := h.do(request{path: "/callback/none", query: "token=x", body: body}); a.status != 401 {
				t.Fatalf("forged NONE request answered %d %s", a.status, a.body)
			}
		}
	}
	steps := []struct {
		advance time.Duration
		want    int // refetches so far, both tenants
	}{
		{0, 2},
		{10 * time.Second, 2},
		{19 * time.Second, 2}, // 29 s after the first
		{time.Second, 4},      // 30 s: one more slot each
		{29 * time.Second, 4},
		{31 * time.Second, 6},
	}
	for i, s := range steps {
		h.clock.Advance(s.advance)
		flood(200)
		if n := h.src.freshCalls(); n != s.want {
			t.Errorf("step %d: %d refetches, want %d", i, n, s.want)
		}
	}
	compare(t, h.rc.ReceiverCollector(), `# HELP metastudio_exporter_callback_requests_total Callback requests by result; tenant is empty when the request names no tenant.
# TYPE metastudio_exporter_callback_requests_total counter
metastudio_exporter_callback_requests_total{result="bad_signature",tenant="mss"} 1200
metastudio_exporter_callback_requests_total{result="bad_signature",tenant="none"} 1200
`, "metastudio_exporter_callback_requests_total")
}

// TestExpiredDoesNotRefetch: a stale hwTime is not something new settings
// could fix.
func TestExpiredDoesNotRefetch(t *testing.T) {
	h := newHarness(t, Options{MaxClockSkew: time.Minute})
	q := signedQuery(testKey, mssURL, h.clock.Now().Add(-61*time.Second))
	if a := h.do(request{path: "/callback/mss", query: q, body: switchBody("r", "j", 1)}); a.status != 401 || a.body != answerJSON("expired", detailExpired) {
		t.Fatalf("got %d %s", a.status, a.body)
	}
	if n := h.src.freshCalls(); n != 0 {
		t.Errorf("%d refetches, want 0", n)
	}
}

func TestURLPath(t *testing.T) {
	for in, want := range map[string]string{
		"https://u:p@h.example.com:8443/callback/t?x=1#f": "/callback/t",
		"https://h.example.com":                           "",
		"https://h.example.com?x=1":                       "",
		"/callback/t?x=1":                                 "/callback/t",
		"":                                                "",
	} {
		if got := urlPath(in); got != want {
			t.Errorf("urlPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseHWTime(t *testing.T) {
	for in, want := range map[string]int64{"692a7f00": 0x692a7f00, "692A7F00": 0x692a7f00, "0": 0} {
		if got, ok := parseHWTime(in); !ok || got != want {
			t.Errorf("parseHWTime(%q) = %d, %v", in, got, ok)
		}
	}
	for _, in := range []string{"", "-1", "+1", "0x10", "1 ", "g", "1000000000000000"} {
		if _, ok := parseHWTime(in); ok {
			t.Errorf("parseHWTime(%q) accepted", in)
		}
	}
}

// TestSettingsDoNotPrint: the settings a source hands over print no secret.
func TestSettingsDoNotPrint(t *testing.T) {
	s := TenantSettings{AuthType: "MSS_A", Key: testKey, CallbackURL: mssURL, ForwardURL: secret.String("https://app/?s=" + forwardSecret)}
	assertNoSecret(t, "printed settings", fmt.Sprintf("%+v %v %#v", s, s, s))
}

// TestRefetchFailureKeepsVerdict: when the refetch itself fails, the first
// verdict stands.
func TestRefetchFailureKeepsVerdict(t *testing.T) {
	var fresh int
	src := funcSource(func(_ context.Context, tenant string, f bool) (TenantSettings, error) {
		if tenant != "mss" {
			return TenantSettings{}, fmt.Errorf("looking up %q: %w", tenant, ErrUnknownTenant)
		}
		if f {
			fresh++
			return TenantSettings{}, errAPIDown
		}
		return testTenants()["mss"], nil
	})
	var logs syncBuffer
	rc, err := New(Options{Now: newClock().Now, Logger: log.NewLogfmtLogger(&logs)}, src)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{rc: rc}
	a := h.do(request{path: "/callback/mss", query: signedQuery(rotatedKey, mssURL, t0), body: switchBody("r", "j", 1)})
	if a.status != 401 || a.body != answerJSON("bad_signature", detailMismatch) || fresh != 1 {
		t.Errorf("got %d %s after %d refetches", a.status, a.body, fresh)
	}
	if !strings.Contains(logs.String(), `msg="Cannot refetch settings after a failed verification" tenant=mss err="API down"`) {
		t.Errorf("log:\n%s", logs.String())
	}
	// A wrapped ErrUnknownTenant is an unknown tenant too.
	if a := h.do(request{path: "/callback/other"}); a.status != 404 {
		t.Errorf("wrapped ErrUnknownTenant: got %d %s", a.status, a.body)
	}
}

func TestLabelValue(t *testing.T) {
	for in, want := range map[string]string{
		"job-1":                        "job-1",
		"a\xffb":                       "a\uFFFDb",
		strings.Repeat("a", 127) + "é": strings.Repeat("a", 127), // é would cross 128 bytes
		strings.Repeat("x", 200):       strings.Repeat("x", 128),
		strings.Repeat("\xff", 100):    "\uFFFD", // a run of invalid bytes becomes one
	} {
		if got := labelValue(in); got != want {
			t.Errorf("labelValue(%q) = %q, want %q", in, got, want)
		}
	}
}

// funcSource is a SettingsSource of one function, serving every tenant.
type funcSource func(ctx context.Context, tenant string, fresh bool) (TenantSettings, error)

func (f funcSource) Settings(ctx context.Context, tenant string, fresh bool) (TenantSettings, error) {
	return f(ctx, tenant, fresh)
}

func (funcSource) Serves(string) bool { return true }
