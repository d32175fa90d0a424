package receiver

import (
	"context"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-kit/log"

	"github.com/metastudio-exporter/metastudio_exporter/internal/fakeclock"
	"github.com/metastudio-exporter/metastudio_exporter/internal/lockedbuffer"
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
	var logs lockedbuffer.Buffer
	clock := fakeclock.New(t0)
	rc, err := New(Options{Now: clock.Now, AfterFunc: clock.AfterFunc, Logger: log.NewLogfmtLogger(&logs)}, src)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rc.Close() })
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

// JobCallback knows no job: every job runs with its tenant's callback.
func (funcSource) JobCallback(context.Context, string, string, bool) (*JobCallback, error) {
	return nil, nil
}

// TestSettingsMaxAge: a tenant switched from NONE to MSS_A_HEAD stops
// taking token-only requests once its cached settings are older than the
// max age, with no scrape in between; the refetch is made once per 30 s
// however many requests ask, and an API outage keeps the cached settings.
func TestSettingsMaxAge(t *testing.T) {
	h := newHarness(t, Options{SettingsMaxAge: time.Minute})
	h.src.now = h.clock.Now
	h.src.set("none", func(s *TenantSettings) { s.FetchedAt = t0 })
	h.src.rotate("none", func(s *TenantSettings) { s.AuthType, s.Key = "MSS_A_HEAD", testKey })
	body := rtmpBody("room-1", "job-1", "live.example.com", "CONNECTED")
	if a := h.postNone(body); a.status != 200 || a.body != answerJSON("accepted", "") {
		t.Fatalf("within the max age: got %d %s", a.status, a.body)
	}
	h.clock.Advance(time.Minute + time.Second)
	for range 3 {
		if a := h.postNone(body); a.status != 401 || a.body != answerJSON("bad_signature", detailMissingHead) {
			t.Errorf("past the max age: got %d %s, want 401 bad_signature", a.status, a.body)
		}
	}
	if n := h.src.freshCalls(); n != 1 {
		t.Errorf("%d refetches, want 1", n)
	}
	s, hwTime := sign(testKey, "https://mon.example.com:10037/callback/none?token="+urlToken+"&v=2", h.clock.Now())
	if a := h.do(request{path: "/callback/none", header: map[string]string{headerSecret: s, headerTime: hwTime}, body: body}); a.status != 200 {
		t.Errorf("signed with the new settings: got %d %s", a.status, a.body)
	}

	// Old again, and the API is down: the cached settings still verify.
	h.clock.Advance(2 * time.Minute)
	h.src.mu.Lock()
	h.src.freshFails = map[string]bool{"none": true}
	h.src.mu.Unlock()
	s, hwTime = sign(testKey, "https://mon.example.com:10037/callback/none?token="+urlToken+"&v=2", h.clock.Now())
	if a := h.do(request{path: "/callback/none", header: map[string]string{headerSecret: s, headerTime: hwTime}, body: body}); a.status != 200 {
		t.Errorf("old settings with the API down: got %d %s, want 200", a.status, a.body)
	}
	if n := h.src.freshCalls(); n != 2 {
		t.Errorf("%d refetches, want 2", n)
	}
}

// TestMillisecondHWTime: an hwTime of 10^11 or more counts milliseconds;
// the signature is over the hex text as sent.
func TestMillisecondHWTime(t *testing.T) {
	h := newHarness(t, Options{})
	hwTime := strconv.FormatInt(t0.Add(-1500*time.Millisecond).UnixMilli(), 16)
	q := "hwSecret=" + hex.EncodeToString(signature(testKey, mssURL, hwTime)) + "&hwTime=" + hwTime
	body := rtmpBody("r", "j", "h", "CONNECTED")
	if a := h.do(request{path: "/callback/mss", query: q, body: body}); a.status != 200 || a.body != answerJSON("accepted", "") {
		t.Fatalf("got %d %s", a.status, a.body)
	}
	compare(t, h.rc.StreamCollector(), `# HELP metastudio_live_stream_state_timestamp_seconds Time of the last event with this state (hwTime when signed, else receipt); max by over replicas gives the fleet's truth.
# TYPE metastudio_live_stream_state_timestamp_seconds gauge
metastudio_live_stream_state_timestamp_seconds{job_id="j",output_host="h",room_id="r",state="CONNECTED",tenant="mss"} 1795924798.5
`, "metastudio_live_stream_state_timestamp_seconds")
	// Milliseconds outside the skew are expired like seconds.
	old := strconv.FormatInt(t0.Add(-6*time.Minute).UnixMilli(), 16)
	q = "hwSecret=" + hex.EncodeToString(signature(testKey, mssURL, old)) + "&hwTime=" + old
	if a := h.do(request{path: "/callback/mss", query: q, body: body}); a.status != 401 || a.body != answerJSON("expired", detailExpired) {
		t.Errorf("old milliseconds: got %d %s", a.status, a.body)
	}
	// The boundary: just below 10^11 is seconds (far in the future).
	below := strconv.FormatInt(hwTimeMillisFrom-1, 16)
	q = "hwSecret=" + hex.EncodeToString(signature(testKey, mssURL, below)) + "&hwTime=" + below
	if a := h.do(request{path: "/callback/mss", query: q, body: body}); a.status != 401 || a.body != answerJSON("expired", detailExpired) {
		t.Errorf("10^11-1: got %d %s", a.status, a.body)
	}
}

// TestDecimalHWTime: an authentic request whose hwTime is written in decimal
// is expired, as its hex reading is far from now, and the answer says that
// hwTime is hexadecimal; a decimal text that is not a time near now gets
// the plain answer.
func TestDecimalHWTime(t *testing.T) {
	h := newHarness(t, Options{})
	body := switchBody("r", "j", 1)
	post := func(hwTime string) answer {
		q := "hwSecret=" + hex.EncodeToString(signature(testKey, mssURL, hwTime)) + "&hwTime=" + hwTime
		return h.do(request{path: "/callback/mss", query: q, body: body})
	}
	const hint = `{"result":"expired","error":"hwTime is outside the accepted clock skew; it looks like decimal Unix seconds, but hwTime is hexadecimal Unix seconds"}`
	for _, at := range []time.Time{t0, t0.Add(-4 * time.Minute), t0.Add(4 * time.Minute)} {
		decimal := strconv.FormatInt(at.Unix(), 10) // "1795924800"
		if a := post(decimal); a.status != 401 || a.body != hint {
			t.Errorf("hwTime=%s at %s: got %d %s\nwant 401 %s", decimal, t0.Format(time.RFC3339), a.status, a.body, hint)
		}
	}
	for _, hwTime := range []string{
		strconv.FormatInt(t0.Add(-6*time.Minute).Unix(), 10), // decimal, but outside the window too
		"17959248ab", // not decimal
	} {
		if a := post(hwTime); a.status != 401 || a.body != answerJSON("expired", detailExpired) {
			t.Errorf("hwTime=%s: got %d %s, want the plain expired answer", hwTime, a.status, a.body)
		}
	}
}

// TestEmptyQueryIsNoCredentials: a NONE URL whose parameters are all empty
// authenticates nobody.
func TestEmptyQueryIsNoCredentials(t *testing.T) {
	h := newHarness(t, Options{})
	body := switchBody("r", "j", 1)
	for _, u := range []string{"https://mon.example.com/callback/open?token=", "https://mon.example.com/callback/open?token=&v="} {
		h.src.set("open", func(s *TenantSettings) { s.CallbackURL = secret.String(u) })
		for _, q := range []string{"token=", "token=&v=", ""} {
			h.clock.Advance(time.Minute) // a refetch slot for each
			if a := h.do(request{path: "/callback/open", query: q, body: body}); a.status != 401 || a.body != answerJSON("unauthenticated", detailNoURLCreds) {
				t.Errorf("URL %s, query %q: got %d %s, want 401 unauthenticated", u, q, a.status, a.body)
			}
		}
		h.src.set("open", func(s *TenantSettings) { s.AllowUnauthenticated = true })
		if a := h.do(request{path: "/callback/open", body: body}); a.status != 200 {
			t.Errorf("URL %s with allow_unauthenticated: got %d %s", u, a.status, a.body)
		}
		h.src.set("open", func(s *TenantSettings) { s.AllowUnauthenticated = false })
	}
}
