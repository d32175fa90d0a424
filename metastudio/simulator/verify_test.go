package simulator

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestKnownAnswer pins the verifier to the published algorithm rather than
// to the test signer. The signature was computed once in a shell:
//
//	P=0f1e2d3c4b5a69788796a5b4c3d2e1f0; D=20261128T080000Z
//	printf 'GET\n/v1/%s/smart-live-configs/user-config/\na=x%%20y&b=2\nhost:metastudio.cn-north-4.myhuaweicloud.com\nx-project-id:%s\nx-sdk-date:%s\n\nhost;x-project-id;x-sdk-date\n%s' \
//	  $P $P $D $(printf '' | openssl dgst -sha256 -r | cut -d' ' -f1) > creq.txt
//	H=$(openssl dgst -sha256 -r creq.txt | cut -d' ' -f1)   # 9002e118abf5a827f493878ec31e313b69c775aa44f3720563b887a81a8fe8f3
//	printf 'SDK-HMAC-SHA256\n%s\n%s' $D $H | openssl dgst -sha256 -hmac 'kat-secret-key-0001' -r
//	# 2d435e72e89bdb31ce97109ea3be90bc0abb6e72fda341b838e518686e259ba8
func TestKnownAnswer(t *testing.T) {
	const project = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
	s := New(Options{Now: func() time.Time { return t0 }})
	if err := s.AddTenant(Tenant{ProjectID: project, AccessKey: "KATACCESSKEY0001", SecretKey: "kat-secret-key-0001"}); err != nil {
		t.Fatal(err)
	}
	build := func(query string) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "https://metastudio.cn-north-4.myhuaweicloud.com/v1/"+project+"/smart-live-configs/user-config?"+query, nil)
		r.Header.Set("X-Sdk-Date", "20261128T080000Z")
		r.Header.Set("X-Project-Id", project)
		r.Header.Set("Authorization", "SDK-HMAC-SHA256 Access=KATACCESSKEY0001, SignedHeaders=host;x-project-id;x-sdk-date, Signature=2d435e72e89bdb31ce97109ea3be90bc0abb6e72fda341b838e518686e259ba8")
		return r
	}
	// The query arrives unsorted and with "+" for space: the canonical form
	// must sort it and re-encode the space as %20.
	wantOK(t, serve(s, build("b=2&a=x+y")), "{}")
	wantError(t, serve(s, build("b=3&a=x+y")), http.StatusUnauthorized, CodeAuthFailed,
		"Incorrect IAM authentication information: signature mismatch")
}

func TestSignedRequestsAccepted(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	wantOK(t, serve(s, signedGet(projA, akA, skA)), "{}")
	wantOK(t, serve(s, signedGet(projB, akB, skB)), `{"live_exit_config":{"max_live_duration":2}}`)

	// Extra signed headers, a multi-valued query and mixed-case SignedHeaders.
	r := httptest.NewRequest(http.MethodGet, userConfigURL(projA)+"?z=1&a=%2F%2B&a=b", nil)
	r.Header.Set("X-Sdk-Date", t0.Format("20060102T150405Z"))
	r.Header.Set("X-Project-Id", projA)
	r.Header.Set("Content-Type", "  application/json  ")
	testSign(r, akA, skA, nil, "content-type", "host", "x-project-id", "x-sdk-date")
	r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "content-type;host", "Content-Type;HOST", 1))
	wantOK(t, serve(s, r), "{}")
}

// TestSignedAsTheSDKSigns: the official SDK signs every header it sends
// but Host, so a GET of it signs user-agent;x-project-id;x-sdk-date. The
// gateway requires only X-Sdk-Date to be signed; what is signed is
// covered, what is not (Host here) is not checked.
func TestSignedAsTheSDKSigns(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	sdkStyle := func() *http.Request {
		r := newRequest(http.MethodGet, projA, nil, t0)
		r.Header.Set("User-Agent", "huaweicloud-usdk-go/3.0")
		r.Header.Set("Content-Type", "application/json")
		testSign(r, akA, skA, nil, "user-agent", "x-project-id", "x-sdk-date")
		return r
	}
	wantOK(t, serve(s, sdkStyle()), "{}")
	if a := sdkStyle().Header.Get("Authorization"); !strings.Contains(a, "SignedHeaders=user-agent;x-project-id;x-sdk-date,") {
		t.Fatalf("Authorization = %q", a)
	}
	moved := sdkStyle()
	moved.Host = "elsewhere.example"
	wantOK(t, serve(s, moved), "{}")

	// X-Sdk-Date alone is enough, with X-Project-Id sent unsigned.
	r := newRequest(http.MethodGet, projA, nil, t0)
	testSign(r, akA, skA, nil, "x-sdk-date")
	wantOK(t, serve(s, r), "{}")
}

func TestSignatureRejections(t *testing.T) {
	const prefix = "Incorrect IAM authentication information: "
	unsigned := func(p string) *http.Request { return newRequest(http.MethodGet, p, nil, t0) }
	cases := []struct {
		name   string
		req    func() *http.Request
		status int
		code   string
		msg    string
	}{
		{"no authorization", func() *http.Request { return unsigned(projA) },
			401, CodeAuthFailed, prefix + "Authorization header missing"},
		{"other algorithm", func() *http.Request {
			r := signedGet(projA, akA, skA)
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "SDK-HMAC-SHA256", "SDK-HMAC-SHA1", 1))
			return r
		}, 401, CodeAuthFailed, prefix + "malformed Authorization header"},
		{"no signature part", func() *http.Request {
			r := unsigned(projA)
			r.Header.Set("Authorization", "SDK-HMAC-SHA256 Access="+akA+", SignedHeaders=host;x-project-id;x-sdk-date")
			return r
		}, 401, CodeAuthFailed, prefix + "malformed Authorization header"},
		{"unknown part", func() *http.Request {
			r := signedGet(projA, akA, skA)
			r.Header.Set("Authorization", r.Header.Get("Authorization")+", Region=x")
			return r
		}, 401, CodeAuthFailed, prefix + "malformed Authorization header"},
		{"date unsigned", func() *http.Request {
			r := unsigned(projA)
			testSign(r, akA, skA, nil, "host", "x-project-id")
			return r
		}, 401, CodeAuthFailed, prefix + "x-sdk-date is not a signed header"},
		{"project id missing, unsigned", func() *http.Request {
			r := unsigned(projA)
			r.Header.Del("X-Project-Id")
			testSign(r, akA, skA, nil, "host", "x-sdk-date")
			return r
		}, 401, CodeAuthFailed, prefix + "X-Project-Id does not match the project in the path"},
		{"tampered signed user-agent", func() *http.Request {
			r := unsigned(projA)
			r.Header.Set("User-Agent", "huaweicloud-usdk-go/3.0")
			testSign(r, akA, skA, nil, "user-agent", "x-project-id", "x-sdk-date")
			r.Header.Set("User-Agent", "curl/8")
			return r
		}, 401, CodeAuthFailed, prefix + "signature mismatch"},
		{"malformed date", func() *http.Request {
			r := unsigned(projA)
			r.Header.Set("X-Sdk-Date", "2026-11-28T08:00:00Z")
			testSign(r, akA, skA, nil)
			return r
		}, 401, CodeAuthFailed, prefix + "X-Sdk-Date missing or malformed"},
		{"project header mismatch", func() *http.Request {
			r := unsigned(projA)
			r.Header.Set("X-Project-Id", projB)
			testSign(r, akA, skA, nil)
			return r
		}, 401, CodeAuthFailed, prefix + "X-Project-Id does not match the project in the path"},
		{"unknown access key", func() *http.Request { return signedGet(projA, "AKUNKNOWN", skA) },
			401, CodeAuthFailed, prefix + "unknown access key"},
		{"wrong secret key", func() *http.Request { return signedGet(projA, akA, skB) },
			401, CodeAuthFailed, prefix + "signature mismatch"},
		{"signature not hex", func() *http.Request {
			r := unsigned(projA)
			r.Header.Set("Authorization", "SDK-HMAC-SHA256 Access="+akA+", SignedHeaders=host;x-project-id;x-sdk-date, Signature=zz")
			return r
		}, 401, CodeAuthFailed, prefix + "signature mismatch"},
		{"tampered query", func() *http.Request {
			r := signedGet(projA, akA, skA)
			r.URL.RawQuery = "limit=1"
			return r
		}, 401, CodeAuthFailed, prefix + "signature mismatch"},
		{"tampered host", func() *http.Request {
			r := signedGet(projA, akA, skA)
			r.Host = "evil.example"
			return r
		}, 401, CodeAuthFailed, prefix + "signature mismatch"},
		{"signed header absent", func() *http.Request {
			r := unsigned(projA)
			testSign(r, akA, skA, nil, "content-type", "host", "x-project-id", "x-sdk-date")
			return r
		}, 401, CodeAuthFailed, prefix + "signed header content-type missing from the request"},
		{"key of another project", func() *http.Request { return signedGet(projA, akB, skB) },
			403, CodeForbidden, "The IAM user is not authorized to access the API: access key has no permission on this project"},
		{"unknown project, valid key", func() *http.Request { return signedGet("ffffffffffffffffffffffffffffffff", akA, skA) },
			404, CodeProjectNotFound, "The project does not exist"},
		{"unknown project, bad signature", func() *http.Request { return signedGet("ffffffffffffffffffffffffffffffff", akA, skB) },
			401, CodeAuthFailed, prefix + "signature mismatch"},
	}
	s, _ := newTestServer(t, Options{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := serve(s, tc.req())
			wantError(t, rec, tc.status, tc.code, tc.msg)
			for _, secret := range []string{skA, skB, stT} {
				if strings.Contains(rec.Body.String(), secret) {
					t.Fatalf("answer leaks a secret: %s", rec.Body)
				}
			}
		})
	}
}

func TestBadSignatureAnswerHidesExpected(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	good := newRequest(http.MethodGet, projA, nil, t0)
	expected := testSign(good, akA, skA, nil)
	bad := signedGet(projA, akA, "wrong-secret")
	rec := serve(s, bad)
	if rec.Code != http.StatusUnauthorized || strings.Contains(rec.Body.String(), expected) {
		t.Fatalf("answer %d %s reveals the expected signature", rec.Code, rec.Body)
	}
}

func TestClockSkew(t *testing.T) {
	for _, tc := range []struct {
		maxSkew time.Duration
		offset  time.Duration
		ok      bool
		msg     string
	}{
		{0, -15 * time.Minute, true, ""},
		{0, 15 * time.Minute, true, ""},
		{0, -15*time.Minute - time.Second, false, "X-Sdk-Date is more than 15m0s away from the server clock"},
		{0, 15*time.Minute + time.Second, false, "X-Sdk-Date is more than 15m0s away from the server clock"},
		{time.Minute, time.Minute, true, ""},
		{time.Minute, -time.Minute - time.Second, false, "X-Sdk-Date is more than 1m0s away from the server clock"},
	} {
		s, _ := newTestServer(t, Options{MaxSkew: tc.maxSkew})
		r := newRequest(http.MethodGet, projA, nil, t0.Add(tc.offset))
		testSign(r, akA, skA, nil)
		rec := serve(s, r)
		if tc.ok {
			wantOK(t, rec, "{}")
			continue
		}
		wantError(t, rec, http.StatusUnauthorized, CodeAuthFailed, "Incorrect IAM authentication information: "+tc.msg)
	}
}

func TestSecurityToken(t *testing.T) {
	const prefix = "Incorrect IAM authentication information: "
	s, _ := newTestServer(t, Options{})
	withToken := func(tok string, signed ...string) *http.Request {
		r := newRequest(http.MethodGet, projT, nil, t0)
		if tok != "" {
			r.Header.Set("X-Security-Token", tok)
		}
		testSign(r, akT, skT, nil, signed...)
		return r
	}
	wantOK(t, serve(s, withToken(stT)), "{}")
	// The token must come along; signing it is up to the client.
	wantOK(t, serve(s, withToken(stT, "host", "x-project-id", "x-sdk-date")), "{}")
	wantError(t, serve(s, withToken("")), 401, CodeAuthFailed, prefix+"X-Security-Token missing")
	wantError(t, serve(s, withToken("", "host", "x-project-id", "x-sdk-date", "x-security-token")), 401, CodeAuthFailed, prefix+"X-Security-Token missing")
	rec := serve(s, withToken("security-token-stolen"))
	wantError(t, rec, 401, CodeAuthFailed, prefix+"X-Security-Token invalid")

	// A permanent key ignores a stray token header, signed or not.
	r := newRequest(http.MethodGet, projA, nil, t0)
	r.Header.Set("X-Security-Token", "whatever")
	testSign(r, akA, skA, nil)
	wantOK(t, serve(s, r), "{}")
}
