package metastudio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/internal/conncount"
	"github.com/metastudio-exporter/metastudio_exporter/secret"
)

const (
	testProject = "26f065244f754b3aa853b649a21aaf66"
	testAK      = "AKTESTTESTTEST"
	testSK      = "sk-SECRET-value"
	testSecTok  = "sectoken-SECRET-value"
	userCfgPath = "/v1/" + testProject + "/smart-live-configs/user-config"
)

func akTarget(endpoint string) Target {
	return Target{
		Name:        "shop-a",
		Endpoint:    endpoint,
		ProjectID:   testProject,
		Credentials: Credentials{AccessKey: testAK, SecretKey: testSK, SecurityToken: testSecTok},
	}
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// assertNoSecret fails if any credential used by these tests shows up in s.
func assertNoSecret(t *testing.T, s string) {
	t.Helper()
	for _, sec := range []string{testSK, testSecTok, "SECRET"} {
		if strings.Contains(s, sec) {
			t.Errorf("secret %q leaked into %q", sec, s)
		}
	}
}

func TestGetUserConfigSuccess(t *testing.T) {
	full := readTestdata(t, "user_config_full.json")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method != http.MethodGet || r.URL.Path != userCfgPath:
			http.Error(w, "wrong route "+r.Method+" "+r.URL.Path, http.StatusNotFound)
		case r.Header.Get("X-Project-Id") != testProject:
			http.Error(w, "missing X-Project-Id", http.StatusBadRequest)
		case r.Header.Get("Content-Type") != "":
			http.Error(w, "GET with Content-Type", http.StatusBadRequest)
		case r.Header.Get("X-Security-Token") != testSecTok:
			http.Error(w, "missing security token", http.StatusBadRequest)
		case !verifySignature(r, nil, map[string]string{testAK: testSK}):
			http.Error(w, "bad signature", http.StatusUnauthorized)
		default:
			_, _ = w.Write(full)
		}
	}))
	defer srv.Close()
	var obs ObserveLog
	c := NewClient(ClientOptions{Observe: obs.Observe})

	uc, err := c.GetUserConfig(context.Background(), akTarget(srv.URL+"/"))
	if err != nil {
		t.Fatal(err)
	}
	s := uc.Effective()
	if s.MaxLiveDurationHours != 24 || s.AutoStopMode != "SEGMENT_END" || s.MaxExceptionWaitingMinutes != 10 ||
		!s.CallbackConfigured || !s.CallbackHTTPS || s.CallbackAuthType != "MSS_A_HEAD" || !s.CallbackKeyConfigured ||
		strings.Join(s.CallbackEvents, ",") != "NEW_EVENT_TYPE,RTMP_STREAM_STATE_CHANGE,SHOOT_SCRIPT_SWITCH" ||
		strings.Join(s.NotifyEvents, ",") != "AUTO_EXIT" {
		t.Errorf("settings = %+v", s)
	}
	if got := uc.LiveEventCallbackConfig.Key.Reveal(); got != "cb-SECRET-key" {
		t.Errorf("key = %q", got)
	}
	if got := obs.Codes(); got != "200" {
		t.Errorf("observed %q, want 200", got)
	}
}

func TestGetUserConfigErrors(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	tooBig := `{"live_exit_config":{}}` + strings.Repeat(" ", DefaultMaxBodyBytes)
	cases := []struct {
		name       string
		status     int
		header     map[string]string
		body       string
		wantErr    string
		wantReason Reason
		wantCode   string
		retryAfter time.Duration
		requestID  string
	}{
		{"401", 401, map[string]string{"X-Request-Id": "req-401"},
			`{"error_code":"APIGW.0301","error_msg":"Incorrect IAM authentication information: verify aksk signature fail"}`,
			"get user config: HTTP 401 APIGW.0301: Incorrect IAM authentication information: verify aksk signature fail",
			ReasonAuth, "APIGW.0301", 0, "req-401"},
		{"403", 403, map[string]string{"X-Request-Id": "req-403"},
			`{"error_code":"MSS.00000003","error_msg":"Forbidden"}`,
			"get user config: HTTP 403 MSS.00000003: Forbidden", ReasonForbidden, "MSS.00000003", 0, "req-403"},
		{"404", 404, nil, `{"error_code":"APIGW.0101","error_msg":"The API does not exist or has not been published in the environment"}`,
			"get user config: HTTP 404 APIGW.0101: The API does not exist or has not been published in the environment",
			ReasonClientError, "APIGW.0101", 0, ""},
		{"429 retry seconds", 429, map[string]string{"Retry-After": "7", "X-Request-Id": "req-429"},
			`{"error_code":"MSS.00000429","error_msg":"Too many requests"}`,
			"get user config: HTTP 429 MSS.00000429: Too many requests", ReasonThrottled, "MSS.00000429", 7 * time.Second, "req-429"},
		{"APIGW.0308 as 400 retry date", 400, map[string]string{"Retry-After": now.Add(30 * time.Second).Format(http.TimeFormat)},
			`{"error_code":"APIGW.0308","error_msg":"The throttling threshold has been reached: policy user over ratelimit,limit:5,time:1 second"}`,
			"get user config: HTTP 400 APIGW.0308: The throttling threshold has been reached: policy user over ratelimit,limit:5,time:1 second",
			ReasonThrottled, "APIGW.0308", 30 * time.Second, ""},
		{"500", 500, map[string]string{"X-Request-Id": "req-500"}, `{"error_code":"MSS.00000001","error_msg":"Internal error"}`,
			"get user config: HTTP 500 MSS.00000001: Internal error", ReasonServerError, "MSS.00000001", 0, "req-500"},
		{"502 HTML body", 502, map[string]string{"Retry-After": "soon"}, "<html><body>Bad Gateway</body></html>",
			"get user config: HTTP 502", ReasonServerError, "", 0, ""},
		{"302 not followed", 302, map[string]string{"Location": "http://127.0.0.1:1/elsewhere"}, "",
			"get user config: HTTP 302", ReasonClientError, "", 0, ""},
		{"malformed JSON", 200, map[string]string{"X-Request-Id": "req-bad"}, `{"live_exit_config":`,
			"get user config: decode: unexpected end of JSON input", ReasonDecode, "", 0, "req-bad"},
		{"wrong types", 200, nil, `{"live_exit_config":{"max_live_duration":"24"}}`,
			"get user config: decode: json: cannot unmarshal string into Go struct field LiveExitConfig.live_exit_config.max_live_duration of type int",
			ReasonDecode, "", 0, ""},
		{"null body", 200, nil, " null\n",
			"get user config: decode: response body is not a JSON object", ReasonDecode, "", 0, ""},
		{"list body", 200, nil, `[{"live_exit_config":{}}]`,
			"get user config: decode: response body is not a JSON object", ReasonDecode, "", 0, ""},
		{"body over 1 MiB", 200, nil, tooBig,
			"get user config: decode: response body exceeds 1048576 bytes", ReasonDecode, "", 0, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			var obs ObserveLog
			c := NewClient(ClientOptions{Observe: obs.Observe, Now: func() time.Time { return now }})

			uc, err := c.GetUserConfig(context.Background(), akTarget(srv.URL))
			if uc != nil || err == nil {
				t.Fatalf("got %+v, %v; want an error", uc, err)
			}
			if err.Error() != tc.wantErr {
				t.Errorf("error =\n%s\nwant\n%s", err, tc.wantErr)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error is %T, want *Error", err)
			}
			if e.Reason != tc.wantReason || e.ErrorCode != tc.wantCode || e.RetryAfter != tc.retryAfter || e.RequestID != tc.requestID {
				t.Errorf("reason %q code %q retry %v request id %q; want %q %q %v %q",
					e.Reason, e.ErrorCode, e.RetryAfter, e.RequestID, tc.wantReason, tc.wantCode, tc.retryAfter, tc.requestID)
			}
			if e.Op != "get user config" {
				t.Errorf("Op = %q", e.Op)
			}
			if got := obs.Codes(); got != fmt.Sprint(tc.status) {
				t.Errorf("observed %q, want %d", got, tc.status)
			}
			assertNoSecret(t, err.Error())
			assertNoSecret(t, fmt.Sprintf("%+v %#v", e, e))
		})
	}
}

func TestGetUserConfigBodyAtLimit(t *testing.T) {
	body := `{"live_exit_config":{"max_live_duration":5}}`
	body += strings.Repeat(" ", 2048-len(body))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, body)
	}))
	defer srv.Close()

	uc, err := NewClient(ClientOptions{MaxBodyBytes: 2048}).GetUserConfig(context.Background(), akTarget(srv.URL))
	if err != nil || *uc.LiveExitConfig.MaxLiveDuration != 5 {
		t.Fatalf("body of exactly the limit: %v", err)
	}
	_, err = NewClient(ClientOptions{MaxBodyBytes: 2047}).GetUserConfig(context.Background(), akTarget(srv.URL))
	if err == nil || err.Error() != "get user config: decode: response body exceeds 2047 bytes" {
		t.Errorf("one byte over: %v", err)
	}
}

func TestGetUserConfigTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	var obs ObserveLog
	c := NewClient(ClientOptions{Observe: obs.Observe})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()

	_, err := c.GetUserConfig(ctx, akTarget(srv.URL))
	if err == nil || err.Error() != "get user config: timeout: context deadline exceeded" {
		t.Fatalf("err = %v", err)
	}
	if ReasonOf(err) != ReasonTimeout || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("reason %q, Is(DeadlineExceeded) = %v", ReasonOf(err), errors.Is(err, context.DeadlineExceeded))
	}
	if got := obs.Codes(); got != "timeout" {
		t.Errorf("observed %q", got)
	}
}

func TestGetUserConfigConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var obs ObserveLog
	c := NewClient(ClientOptions{Observe: obs.Observe})

	_, err = c.GetUserConfig(context.Background(), akTarget("http://"+addr+"/"))
	want := "get user config: network: dial tcp " + addr + ": connect: connection refused"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
	if ReasonOf(err) != ReasonNetwork || obs.Codes() != "network" {
		t.Errorf("reason %q, observed %q", ReasonOf(err), obs.Codes())
	}
	if strings.Contains(err.Error(), "smart-live-configs") {
		t.Error("error text carries the URL")
	}
}

func TestGetUserConfigNoCredentials(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer srv.Close()
	var obs ObserveLog
	c := NewClient(ClientOptions{Observe: obs.Observe})
	for _, creds := range []Credentials{{}, {AccessKey: testAK}, {SecretKey: testSK}} {
		tg := akTarget(srv.URL)
		tg.Credentials = creds
		_, err := c.GetUserConfig(context.Background(), tg)
		if err == nil || err.Error() != "get user config: credentials: no access key and secret key, and no IAM password" {
			t.Errorf("err = %v", err)
		}
		if ReasonOf(err) != ReasonCredentials {
			t.Errorf("reason = %q", ReasonOf(err))
		}
		assertNoSecret(t, err.Error())
	}
	if hits.Load() != 0 || obs.Codes() != "" {
		t.Errorf("%d requests sent, observed %q; want none", hits.Load(), obs.Codes())
	}
}

func TestInvalidEndpoint(t *testing.T) {
	tg := akTarget("http://user:pw-SECRET@[::1")
	_, err := NewClient(ClientOptions{}).GetUserConfig(context.Background(), tg)
	if err == nil || err.Error() != "get user config: network: invalid endpoint URL" {
		t.Errorf("err = %v", err)
	}
}

func TestConnectionsReused(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1)%2 == 0 {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, `{"error_code":"MSS.00000001","error_msg":"x"}`)
			return
		}
		_, _ = w.Write(readTestdata(t, "user_config_full.json"))
	}))
	conns := conncount.Watch(srv.Config)
	srv.Start()
	defer srv.Close()
	c := NewClient(ClientOptions{})
	for range 4 {
		_, _ = c.GetUserConfig(context.Background(), akTarget(srv.URL))
	}
	if calls.Load() != 4 || conns.Opened() != 1 {
		t.Errorf("%d calls over %d connections, want 4 over 1", calls.Load(), conns.Opened())
	}
}

func TestPutUserConfig(t *testing.T) {
	body := []byte(`{"live_exit_config":{"max_live_duration":2,"auto_stop_mode":"SCENE_END"}}`)
	var got []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = io.ReadAll(r.Body)
		switch {
		case r.Method != http.MethodPut || r.URL.Path != userCfgPath:
			w.WriteHeader(http.StatusNotFound)
		case r.Header.Get("Content-Type") != "application/json":
			w.WriteHeader(http.StatusBadRequest)
		case !strings.Contains(r.Header.Get("Authorization"), "SignedHeaders=content-type;host;x-project-id;x-sdk-date;x-security-token,"),
			!verifySignature(r, got, map[string]string{testAK: testSK}):
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"error_code":"APIGW.0301","error_msg":"bad signature"}`)
		default:
			_, _ = io.WriteString(w, `{}`)
		}
	}))
	defer srv.Close()
	c := NewClient(ClientOptions{})

	if err := c.PutUserConfig(context.Background(), akTarget(srv.URL), body); err != nil {
		t.Fatal(err)
	}
	if string(got) != string(body) {
		t.Errorf("server got body %q", got)
	}
	tg := akTarget(srv.URL)
	tg.Credentials.SecretKey = "sk-wrong"
	err := c.PutUserConfig(context.Background(), tg, body)
	if err == nil || err.Error() != "update user config: HTTP 401 APIGW.0301: bad signature" {
		t.Errorf("err = %v", err)
	}
}

func TestNewTransport(t *testing.T) {
	tr := NewTransport(17)
	if tr.MaxConnsPerHost != 17 || tr.MaxIdleConnsPerHost != 17 || tr.IdleConnTimeout != 90*time.Second || tr.TLSHandshakeTimeout != 5*time.Second ||
		tr.ResponseHeaderTimeout != 0 || !tr.ForceAttemptHTTP2 || tr.Proxy == nil || tr.DisableKeepAlives {
		t.Errorf("transport = %+v", tr)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"":    0,
		"0":   0,
		"-3":  0,
		"120": 2 * time.Minute,
		" 5 ": 5 * time.Second,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Minute).Format(http.TimeFormat):     0,
		"tomorrow": 0,
	} {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestStatusErrorTruncatesMessage(t *testing.T) {
	msg := strings.Repeat("é", 400) // 800 bytes of two-byte runes
	body, _ := json.Marshal(map[string]string{"error_code": "MSS.1", "error_msg": "x" + msg})
	e := statusError("op", &http.Response{StatusCode: 500, Header: http.Header{}}, body, time.Now())
	if len(e.ErrorMsg) != 511 || e.ErrorMsg != "x"+msg[:510] {
		t.Errorf("ErrorMsg has %d bytes; want 511 ending on a whole rune", len(e.ErrorMsg))
	}
}

func BenchmarkDecodeUserConfig(b *testing.B) {
	full := readTestdata(b, "user_config_full.json")
	b.ReportAllocs()
	b.SetBytes(int64(len(full)))
	for b.Loop() {
		var uc UserConfig
		if err := json.Unmarshal(full, &uc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGetUserConfig(b *testing.B) {
	full := readTestdata(b, "user_config_full.json")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(full) }))
	defer srv.Close()
	c := NewClient(ClientOptions{})
	tg := akTarget(srv.URL)
	tg.Credentials.SecurityToken = secret.String("")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.GetUserConfig(context.Background(), tg); err != nil {
			b.Fatal(err)
		}
	}
}
