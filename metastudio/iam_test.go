package metastudio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/internal/fakeclock"
)

const (
	testIAMPassword = "pw-SECRET-value"
	wantAuthBody    = `{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"monitor","password":"pw-SECRET-value","domain":{"name":"acme"}}}},"scope":{"project":{"id":"` + testProject + `"}}}}`
)

// fakeIAM issues tokens "tok-SECRET-1", "tok-SECRET-2", ... and tells the
// fake MetaStudio which ones are valid.
type fakeIAM struct {
	t       *testing.T
	clock   *fakeclock.Clock
	life    time.Duration
	block   chan struct{} // when set, token answers wait for it
	fail    func(w http.ResponseWriter) bool
	issued  atomic.Int32
	asked   atomic.Int32
	mu      sync.Mutex
	revoked map[string]bool
}

func (f *fakeIAM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.asked.Add(1)
	if r.Method != http.MethodPost || r.URL.Path != "/v3/auth/tokens" || r.URL.Query().Get("nocatalog") != "true" {
		f.t.Errorf("IAM got %s %s", r.Method, r.URL)
	}
	if string(body) != wantAuthBody {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"error":{"code":"1101","message":"The username or password is wrong."}}`)
		return
	}
	if f.block != nil {
		<-f.block
	}
	if f.fail != nil && f.fail(w) {
		return
	}
	n := f.issued.Add(1)
	w.Header().Set("X-Subject-Token", fmt.Sprintf("tok-SECRET-%d", n))
	w.WriteHeader(http.StatusCreated)
	expires := f.clock.Now().Add(f.life).UTC().Format("2006-01-02T15:04:05.000000Z")
	_, _ = fmt.Fprintf(w, `{"token":{"expires_at":%q,"issued_at":"x","methods":["password"]}}`, expires)
}

func (f *fakeIAM) revoke(tok string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.revoked == nil {
		f.revoked = map[string]bool{}
	}
	f.revoked[tok] = true
}

// metaStudio answers 200 for a token fakeIAM issued and did not revoke.
func (f *fakeIAM) metaStudio(calls *atomic.Int32) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		tok := r.Header.Get("X-Auth-Token")
		f.mu.Lock()
		bad := f.revoked[tok] || !strings.HasPrefix(tok, "tok-SECRET-") || r.Header.Get("Authorization") != ""
		f.mu.Unlock()
		if bad || r.Header.Get("X-Project-Id") != testProject {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"error_code":"APIGW.0301","error_msg":"Incorrect IAM authentication information: token invalid"}`)
			return
		}
		_, _ = io.WriteString(w, `{"live_exit_config":{"max_live_duration":1}}`)
	})
}

type iamFixture struct {
	iam   *fakeIAM
	calls atomic.Int32
	obs   ObserveLog
	c     *Client
	tg    Target
}

func newIAMFixture(t *testing.T, life time.Duration) *iamFixture {
	clock := fakeclock.New(time.Date(2026, 11, 27, 16, 0, 0, 0, time.UTC))
	fx := &iamFixture{iam: &fakeIAM{t: t, clock: clock, life: life}}
	iamSrv := httptest.NewServer(fx.iam)
	t.Cleanup(iamSrv.Close)
	msSrv := httptest.NewServer(fx.iam.metaStudio(&fx.calls))
	t.Cleanup(msSrv.Close)
	fx.c = NewClient(ClientOptions{Now: clock.Now, Observe: fx.obs.Observe})
	fx.tg = Target{Name: "shop-a", Endpoint: msSrv.URL, ProjectID: testProject, Credentials: Credentials{
		IAM: &IAMPassword{Endpoint: iamSrv.URL + "/", Domain: "acme", User: "monitor", Password: testIAMPassword},
	}}
	return fx
}

func (fx *iamFixture) get(t *testing.T) {
	t.Helper()
	if _, err := fx.c.GetUserConfig(context.Background(), fx.tg); err != nil {
		t.Fatalf("GetUserConfig: %v", err)
	}
}

func TestIAMTokenCached(t *testing.T) {
	fx := newIAMFixture(t, 24*time.Hour)
	for range 3 {
		fx.get(t)
	}
	if n := fx.iam.issued.Load(); n != 1 {
		t.Errorf("IAM asked %d times for 3 calls, want 1", n)
	}
	// IAM calls are not MetaStudio calls: only the three GETs are observed.
	if got := fx.obs.Codes(); got != "200,200,200" {
		t.Errorf("observed %q", got)
	}
	// A changed password must not reuse the old password's token.
	fx.tg.Credentials.IAM = &IAMPassword{Endpoint: fx.tg.Credentials.IAM.Endpoint, Domain: "acme", User: "monitor", Password: "pw-SECRET-other"}
	_, err := fx.c.GetUserConfig(context.Background(), fx.tg)
	if n := fx.iam.asked.Load(); n != 2 || ReasonOf(err) != ReasonCredentials {
		t.Errorf("after password change: IAM asked %d times, err %v; want a second, refused request", n, err)
	}
}

func TestIAMTokenRefreshedBeforeExpiry(t *testing.T) {
	for _, tc := range []struct {
		life, stillCached, refreshed time.Duration
	}{
		{24 * time.Hour, 22*time.Hour + 59*time.Minute, 23*time.Hour + time.Second},
		{time.Hour, 29 * time.Minute, 31 * time.Minute},
	} {
		t.Run(tc.life.String(), func(t *testing.T) {
			fx := newIAMFixture(t, tc.life)
			start := fx.iam.clock.Now()
			fx.get(t)
			fx.iam.clock.Set(start.Add(tc.stillCached))
			fx.get(t)
			if n := fx.iam.issued.Load(); n != 1 {
				t.Fatalf("refetched after %v: %d tokens", tc.stillCached, n)
			}
			fx.iam.clock.Set(start.Add(tc.refreshed))
			fx.get(t)
			if n := fx.iam.issued.Load(); n != 2 {
				t.Errorf("after %v: %d tokens, want 2", tc.refreshed, n)
			}
		})
	}
}

func TestIAMTokenSharedByConcurrentCallers(t *testing.T) {
	fx := newIAMFixture(t, 24*time.Hour)
	fx.iam.block = make(chan struct{})
	const callers = 8
	var waiting sync.WaitGroup
	waiting.Add(callers)
	fx.c.onTokenWait = waiting.Done
	errs := make(chan error, callers)
	for range callers {
		go func() {
			_, err := fx.c.GetUserConfig(context.Background(), fx.tg)
			errs <- err
		}()
	}
	waiting.Wait() // every caller waits on the one blocked fetch
	close(fx.iam.block)
	for range callers {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if n := fx.iam.issued.Load(); n != 1 {
		t.Errorf("%d IAM requests for %d concurrent callers, want 1", n, callers)
	}
}

func TestIAMTokenOutlivesImpatientCaller(t *testing.T) {
	fx := newIAMFixture(t, 24*time.Hour)
	fx.iam.block = make(chan struct{})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := fx.c.GetUserConfig(ctx, fx.tg)
	if err == nil || err.Error() != "get IAM token: timeout: context deadline exceeded" || ReasonOf(err) != ReasonTimeout {
		t.Fatalf("err = %v", err)
	}
	// The abandoned fetch still completes and fills the cache, so the next
	// caller needs no IAM request of its own.
	close(fx.iam.block)
	fx.get(t)
	if n := fx.iam.asked.Load(); n != 1 {
		t.Errorf("IAM asked %d times, want 1", n)
	}
}

func TestIAMTokenDroppedOn401(t *testing.T) {
	fx := newIAMFixture(t, 24*time.Hour)
	fx.get(t)
	fx.iam.revoke("tok-SECRET-1")
	fx.get(t)
	if n, calls := fx.iam.issued.Load(), fx.calls.Load(); n != 2 || calls != 3 {
		t.Errorf("%d tokens, %d MetaStudio calls; want 2 and 3", n, calls)
	}
	if got := fx.obs.Codes(); got != "200,401,200" {
		t.Errorf("observed %q", got)
	}
	fx.get(t) // the new token is cached
	if n := fx.iam.issued.Load(); n != 2 {
		t.Errorf("%d tokens after a third call, want 2", n)
	}
}

func TestIAMTokenRetriedOnlyOnce(t *testing.T) {
	fx := newIAMFixture(t, 24*time.Hour)
	fx.get(t)
	fx.iam.revoke("tok-SECRET-1")
	fx.iam.revoke("tok-SECRET-2")
	_, err := fx.c.GetUserConfig(context.Background(), fx.tg)
	want := "get user config: HTTP 401 APIGW.0301: Incorrect IAM authentication information: token invalid"
	if err == nil || err.Error() != want || ReasonOf(err) != ReasonAuth {
		t.Fatalf("err = %v", err)
	}
	if n, calls := fx.iam.issued.Load(), fx.calls.Load(); n != 2 || calls != 3 {
		t.Errorf("%d tokens, %d MetaStudio calls; want 2 and 3", n, calls)
	}
	assertNoSecret(t, err.Error())
}

func TestIAMErrors(t *testing.T) {
	respond := func(status int, body string, hdr ...string) func(w http.ResponseWriter) bool {
		return func(w http.ResponseWriter) bool {
			for i := 0; i+1 < len(hdr); i += 2 {
				w.Header().Set(hdr[i], hdr[i+1])
			}
			w.WriteHeader(status)
			_, _ = io.WriteString(w, body)
			return true
		}
	}
	cases := []struct {
		name      string
		fail      func(w http.ResponseWriter) bool
		want      string
		reason    Reason
		requestID string
	}{
		{"wrong password", respond(401, `{"error":{"code":"1101","message":"The username or password is wrong.","title":"Unauthorized"}}`, "X-Request-Id", "iam-req-1"),
			"get IAM token: HTTP 401 1101: The username or password is wrong.", ReasonCredentials, "iam-req-1"},
		{"numeric keystone code", respond(404, `{"error":{"code":404,"message":"Could not find project."}}`),
			"get IAM token: HTTP 404 404: Could not find project.", ReasonCredentials, ""},
		{"flat error body", respond(400, `{"error_code":"IAM.0007","error_msg":"Request parameter error."}`),
			"get IAM token: HTTP 400 IAM.0007: Request parameter error.", ReasonCredentials, ""},
		{"throttled", respond(429, `{"error_code":"IAM.0010","error_msg":"Too many requests."}`),
			"get IAM token: HTTP 429 IAM.0010: Too many requests.", ReasonThrottled, ""},
		{"server error", respond(503, `<html>down</html>`),
			"get IAM token: HTTP 503", ReasonServerError, ""},
		{"no subject token", respond(201, `{"token":{"expires_at":"2026-11-28T16:00:00.000000Z"}}`, "X-Request-Id", "iam-req-2"),
			"get IAM token: decode: no X-Subject-Token header in the answer", ReasonDecode, "iam-req-2"},
		{"bad expiry", respond(201, `{"token":{"expires_at":"tok-SECRET-tomorrow"}}`, "X-Subject-Token", "tok-SECRET-x"),
			"get IAM token: decode: token.expires_at is not an RFC 3339 time", ReasonDecode, ""},
		{"malformed body", respond(200, `{"token":`, "X-Subject-Token", "tok-SECRET-x"),
			"get IAM token: decode: unexpected end of JSON input", ReasonDecode, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fx := newIAMFixture(t, 24*time.Hour)
			fx.iam.fail = tc.fail
			_, err := fx.c.GetUserConfig(context.Background(), fx.tg)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("err = %v\nwant %s", err, tc.want)
			}
			var e *Error
			if !errors.As(err, &e) || e.Reason != tc.reason || e.RequestID != tc.requestID || e.Op != "get IAM token" {
				t.Errorf("error %+v; want reason %q request id %q", e, tc.reason, tc.requestID)
			}
			if fx.calls.Load() != 0 || fx.obs.Codes() != "" {
				t.Errorf("MetaStudio called without a token")
			}
			assertNoSecret(t, err.Error())
			assertNoSecret(t, fmt.Sprintf("%+v", e))
		})
	}
}

func TestIAMUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	fx := newIAMFixture(t, time.Hour)
	fx.tg.Credentials.IAM.Endpoint = "http://" + addr
	_, err = fx.c.GetUserConfig(context.Background(), fx.tg)
	want := "get IAM token: network: dial tcp " + addr + ": connect: connection refused"
	if err == nil || err.Error() != want || ReasonOf(err) != ReasonNetwork {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

func TestRefreshTime(t *testing.T) {
	now := time.Date(2026, 11, 27, 16, 0, 0, 0, time.UTC)
	for life, want := range map[time.Duration]time.Duration{
		24 * time.Hour:   23 * time.Hour,
		2 * time.Hour:    time.Hour,
		90 * time.Minute: 45 * time.Minute,
		-time.Minute:     -30 * time.Second,
	} {
		if got := refreshTime(now, now.Add(life)).Sub(now); got != want {
			t.Errorf("life %v: refresh after %v, want %v", life, got, want)
		}
	}
}
