package simulator

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/metastudio-exporter/metastudio_exporter/internal/fakeclock"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// t0 is the simulator clock in most tests.
var t0 = time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)

const (
	projA = "0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a"
	projB = "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b"
	projT = "0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c" // temporary AK/SK
	projU = "0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d" // same IAM user as projA

	akA, skA = "AKA0000000000001", "secret-key-of-tenant-a"
	akB, skB = "AKB0000000000002", "secret-key-of-tenant-b"
	akT, skT = "AKT0000000000003", "temporary-secret-key"
	stT      = "security-token-value-of-t"

	iamDomain, iamName, iamPass = "acme", "monitor", "iam-password-a"
)

func testTenants() []Tenant {
	return []Tenant{
		{ProjectID: projA, AccessKey: akA, SecretKey: skA, IAMDomain: iamDomain, IAMUser: iamName, IAMPassword: iamPass},
		{ProjectID: projB, AccessKey: akB, SecretKey: skB, Config: []byte(`{"live_exit_config":{"max_live_duration":2}}`)},
		{ProjectID: projT, AccessKey: akT, SecretKey: skT, SecurityToken: stT},
		{ProjectID: projU, IAMDomain: iamDomain, IAMUser: iamName, IAMPassword: iamPass},
	}
}

// newTestServer returns a server on a settable clock holding testTenants.
func newTestServer(t testing.TB, opts Options) (*Server, *fakeclock.Clock) {
	t.Helper()
	c := fakeclock.New(t0)
	if opts.Now == nil {
		opts.Now = c.Now
	}
	s := New(opts)
	for _, tn := range testTenants() {
		if err := s.AddTenant(tn); err != nil {
			t.Fatalf("AddTenant(%s): %v", tn.ProjectID, err)
		}
	}
	return s, c
}

func userConfigURL(project string) string {
	return "http://metastudio.cn-north-4.myhuaweicloud.com/v1/" + project + "/smart-live-configs/user-config"
}

// newRequest builds a request for project carrying X-Sdk-Date and
// X-Project-Id, not yet signed.
func newRequest(method, project string, body []byte, date time.Time) *http.Request {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	r := httptest.NewRequest(method, userConfigURL(project), rd)
	r.Header.Set("X-Sdk-Date", date.UTC().Format("20060102T150405Z"))
	r.Header.Set("X-Project-Id", project)
	return r
}

// testSign is an independent, deliberately plain signer written from the
// algorithm text, used to produce valid requests for the verifier.
func testSign(r *http.Request, ak, sk string, body []byte, signed ...string) string {
	if len(signed) == 0 {
		signed = []string{"host", "x-project-id", "x-sdk-date"}
		if r.Header.Get("X-Security-Token") != "" {
			signed = append(signed, "x-security-token")
		}
	}
	sort.Strings(signed)
	esc := func(s string) string {
		var out strings.Builder
		for _, c := range []byte(s) {
			if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_.~", c) >= 0 {
				out.WriteByte(c)
			} else {
				fmt.Fprintf(&out, "%%%02X", c)
			}
		}
		return out.String()
	}
	segs := strings.Split(r.URL.Path, "/")
	for i := range segs {
		segs[i] = esc(segs[i])
	}
	uri := strings.Join(segs, "/")
	if !strings.HasSuffix(uri, "/") {
		uri += "/"
	}
	var pairs []string
	for k, vs := range r.URL.Query() {
		for _, v := range vs {
			pairs = append(pairs, esc(k)+"="+esc(v))
		}
	}
	sort.Strings(pairs)
	var hdrs string
	for _, h := range signed {
		v := r.Header.Get(h)
		if h == "host" {
			v = r.Host
		}
		hdrs += h + ":" + strings.TrimSpace(v) + "\n"
	}
	bodySum := sha256.Sum256(body)
	creq := strings.Join([]string{r.Method, uri, strings.Join(pairs, "&"), hdrs, strings.Join(signed, ";"), hex.EncodeToString(bodySum[:])}, "\n")
	creqSum := sha256.Sum256([]byte(creq))
	mac := hmac.New(sha256.New, []byte(sk))
	mac.Write([]byte("SDK-HMAC-SHA256\n" + r.Header.Get("X-Sdk-Date") + "\n" + hex.EncodeToString(creqSum[:])))
	sig := hex.EncodeToString(mac.Sum(nil))
	r.Header.Set("Authorization", "SDK-HMAC-SHA256 Access="+ak+", SignedHeaders="+strings.Join(signed, ";")+", Signature="+sig)
	return sig
}

// signedGet is a GET for project signed with ak/sk at the server clock t0.
func signedGet(project, ak, sk string) *http.Request {
	r := newRequest(http.MethodGet, project, nil, t0)
	testSign(r, ak, sk, nil)
	return r
}

func serve(s *Server, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, r)
	return rec
}

// wantError asserts an error answer with the exact status, code and message.
func wantError(t *testing.T, rec *httptest.ResponseRecorder, status int, code, msg string) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status = %d, want %d; body %s", rec.Code, status, rec.Body)
	}
	var got struct {
		ErrorCode string `json:"error_code"`
		ErrorMsg  string `json:"error_msg"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatalf("error body %q: %v", rec.Body, err)
	}
	if got.ErrorCode != code || got.ErrorMsg != msg {
		t.Fatalf("error = %q %q, want %q %q", got.ErrorCode, got.ErrorMsg, code, msg)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json;charset=UTF-8" {
		t.Fatalf("Content-Type = %q", ct)
	}
}

func wantOK(t *testing.T, rec *httptest.ResponseRecorder, body string) {
	t.Helper()
	if rec.Code != http.StatusOK || rec.Body.String() != body {
		t.Fatalf("answer = %d %s, want 200 %s", rec.Code, rec.Body, body)
	}
}

// liveGet is a GET signed at the wall clock for a Running simulator.
func liveGet(t *testing.T, run *Running, project, ak, sk string) *http.Request {
	t.Helper()
	r, err := http.NewRequest(http.MethodGet, run.URL+"/v1/"+project+"/smart-live-configs/user-config", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("X-Sdk-Date", time.Now().UTC().Format("20060102T150405Z"))
	r.Header.Set("X-Project-Id", project)
	testSign(r, ak, sk, nil)
	return r
}
