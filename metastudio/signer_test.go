package metastudio

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/secret"
)

// Known-answer vector of the public Huawei Cloud "API Request Signing Guide",
// section "AK/SK Signing and Authentication Algorithm": pages
// support.huaweicloud.com/eu/devg-apisign/api-sign-algorithm-002.html
// (Constructing a Standard Request), -003 (Creating a To-Be-Signed String),
// -004 (Calculating the Signature, with the full SK) and -005 (the final
// Authorization header). Both hashes were also recomputed independently:
//
//	printf 'GET\n/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs/\n...' | sha256sum
//	printf 'SDK-HMAC-SHA256\n20191115T033655Z\nb25362e6...' | openssl dgst -sha256 -hmac MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc
const (
	katURL       = "https://service.region.example.com/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs?limit=2&marker=13551d6b-755d-4757-b956-536f674975c0"
	katAK        = "QTWAOYTTINDUT2QVKYUC"
	katSK        = "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc"
	katCanonical = "GET\n" +
		"/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs/\n" +
		"limit=2&marker=13551d6b-755d-4757-b956-536f674975c0\n" +
		"content-type:application/json\n" +
		"host:service.region.example.com\n" +
		"x-sdk-date:20191115T033655Z\n" +
		"\n" +
		"content-type;host;x-sdk-date\n" +
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	katStringToSign = "SDK-HMAC-SHA256\n20191115T033655Z\nb25362e603ee30f4f25e7858e8a7160fd36e803bb2dfe206278659d71a9bcd7a"
	katSignature    = "7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe"
)

var katTime = time.Date(2019, 11, 15, 3, 36, 55, 0, time.UTC)

func katRequest(t testing.TB) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, katURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	return req
}

func TestSignerKnownAnswer(t *testing.T) {
	req := katRequest(t)
	req.Header.Set(headerSdkDate, "20191115T033655Z")

	cr, signed := appendCanonicalRequest(nil, req, emptyBodySHA256)
	if string(cr) != katCanonical {
		t.Errorf("canonical request:\n%q\nwant\n%q", cr, katCanonical)
	}
	if signed != "content-type;host;x-sdk-date" {
		t.Errorf("signed headers = %q", signed)
	}
	sts := appendStringToSign(nil, "20191115T033655Z", []byte(katCanonical))
	if string(sts) != katStringToSign {
		t.Errorf("string to sign:\n%q\nwant\n%q", sts, katStringToSign)
	}
	if got := string(appendSignature(nil, katSK, []byte(katStringToSign))); got != katSignature {
		t.Errorf("signature = %s, want %s", got, katSignature)
	}
}

func TestSignRequestKnownAnswer(t *testing.T) {
	req := katRequest(t)
	if err := SignRequest(req, nil, katAK, katSK, "", katTime.In(time.FixedZone("CST", 8*3600))); err != nil {
		t.Fatal(err)
	}
	if got := req.Header.Get("X-Sdk-Date"); got != "20191115T033655Z" {
		t.Errorf("X-Sdk-Date = %q (the date must be UTC)", got)
	}
	want := "SDK-HMAC-SHA256 Access=QTWAOYTTINDUT2QVKYUC, SignedHeaders=content-type;host;x-sdk-date, Signature=" + katSignature
	if got := req.Header.Get("Authorization"); got != want {
		t.Errorf("Authorization =\n%s\nwant\n%s", got, want)
	}
	if _, ok := req.Header["X-Security-Token"]; ok {
		t.Error("X-Security-Token set without a token")
	}
}

func TestSignRequestHeaders(t *testing.T) {
	req, _ := http.NewRequest(http.MethodPut, "http://127.0.0.1:8080/v1/p/x", nil)
	req.Header.Set("X-Project-Id", "p")
	req.Header.Set("X-Unsigned", "ignored")
	err := SignRequest(req, []byte(`{"a":1}`), "AK1", "sk", "tmp-token", katTime)
	if err != nil {
		t.Fatal(err)
	}
	if got := req.Header.Get("X-Security-Token"); got != "tmp-token" {
		t.Errorf("X-Security-Token = %q", got)
	}
	auth := req.Header.Get("Authorization")
	if !strings.Contains(auth, ", SignedHeaders=host;x-project-id;x-sdk-date;x-security-token, ") {
		t.Errorf("Authorization = %q, want host, project, date and token signed", auth)
	}
	if !strings.HasPrefix(auth, "SDK-HMAC-SHA256 Access=AK1, ") {
		t.Errorf("Authorization = %q", auth)
	}
}

func TestSignRequestNeedsKeys(t *testing.T) {
	for _, tc := range []struct{ ak, sk string }{{"", "sk"}, {"AK", ""}} {
		req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1/", nil)
		err := SignRequest(req, nil, tc.ak, secret.String(tc.sk), "", katTime)
		if err == nil || err.Error() != "sign request: access key and secret key are required" {
			t.Errorf("ak=%q: err = %v", tc.ak, err)
		}
		if req.Header.Get("Authorization") != "" {
			t.Error("Authorization set after a failed signature")
		}
	}
}

func TestCanonicalURI(t *testing.T) {
	for in, want := range map[string]string{
		"":                       "/",
		"/":                      "/",
		"/v1/p/vpcs":             "/v1/p/vpcs/",
		"/v1/p/vpcs/":            "/v1/p/vpcs/",
		"/a%20b/%C3%BC":          "/a%20b/%C3%BC/",
		"/a%2Fb/c":               "/a%2Fb/c/",
		"/a~b-c_d.e":             "/a~b-c_d.e/",
		"/x:y@z!$&'()*+,;=":      "/x%3Ay%40z%21%24%26%27%28%29%2A%2B%2C%3B%3D/",
		"/bad%zzescape":          "/bad%25zzescape/",
		"/v1//double":            "/v1//double/",
		"/smart-live-configs/uc": "/smart-live-configs/uc/",
	} {
		if got := string(appendCanonicalURI(nil, in)); got != want {
			t.Errorf("canonicalURI(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCanonicalQuery(t *testing.T) {
	for in, want := range map[string]string{
		"":                   "",
		"limit=2&marker=m":   "limit=2&marker=m",
		"b=2&a=1&a=0":        "a=0&a=1&b=2",
		"q=a+b":              "q=a%20b",
		"q=a%20b&p=%2F~":     "p=%2F~&q=a%20b",
		"flag":               "flag=",
		"k%C3%BC=v&K=1&k=2":  "K=1&k=2&k%C3%BC=v",
		"x=*&y=%27&z=%E4%B8": "x=%2A&y=%27&z=%E4%B8",
	} {
		if got := string(appendCanonicalQuery(nil, in)); got != want {
			t.Errorf("canonicalQuery(%q) = %q, want %q", in, got, want)
		}
	}
}

var authHeaderRE = regexp.MustCompile(`^SDK-HMAC-SHA256 Access=([^,]+), SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$`)

// verifySignature is an independent verifier written from the spec, the way
// the gateway checks a request on arrival: a second implementation that
// shares no code with the signer.
func verifySignature(r *http.Request, body []byte, secretKeys map[string]string) bool {
	m := authHeaderRE.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		return false
	}
	sk, ok := secretKeys[m[1]]
	if !ok {
		return false
	}
	enc := func(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }
	segs := strings.Split(r.URL.Path, "/")
	for i := range segs {
		segs[i] = enc(segs[i])
	}
	uri := strings.Join(segs, "/")
	if !strings.HasSuffix(uri, "/") {
		uri += "/"
	}
	var pairs []string
	for k, vs := range r.URL.Query() {
		for _, v := range vs {
			pairs = append(pairs, enc(k)+"="+enc(v))
		}
	}
	sort.Strings(pairs)
	var headers string
	for _, h := range strings.Split(m[2], ";") {
		v := r.Header.Get(h)
		if h == "host" {
			v = r.Host
		}
		headers += h + ":" + strings.TrimSpace(v) + "\n"
	}
	bodySum := sha256.Sum256(body)
	canonical := strings.Join([]string{r.Method, uri, strings.Join(pairs, "&"), headers, m[2], hex.EncodeToString(bodySum[:])}, "\n")
	crSum := sha256.Sum256([]byte(canonical))
	mac := hmac.New(sha256.New, []byte(sk))
	io.WriteString(mac, "SDK-HMAC-SHA256\n"+r.Header.Get("X-Sdk-Date")+"\n"+hex.EncodeToString(crSum[:]))
	return hmac.Equal([]byte(hex.EncodeToString(mac.Sum(nil))), []byte(m[3]))
}

func TestSignRequestVerifiesIndependently(t *testing.T) {
	keys := map[string]string{"AKGOOD": "the-secret-key"}
	var signedWith string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		signedWith = authHeaderRE.FindStringSubmatch(r.Header.Get("Authorization"))[2]
		if !verifySignature(r, body, keys) {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer srv.Close()

	cases := []struct {
		name, sk, token string
		body            []byte
		want            int
		wantSigned      string
	}{
		{"plain GET", "the-secret-key", "", nil, 200, "host;x-project-id;x-sdk-date"},
		{"PUT with body and token", "the-secret-key", "temp", []byte(`{"live_exit_config":{"max_live_duration":2}}`), 200, "content-type;host;x-project-id;x-sdk-date;x-security-token"},
		{"wrong secret key", "not-the-key", "", nil, 401, "host;x-project-id;x-sdk-date"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			method := http.MethodGet
			if tc.body != nil {
				method = http.MethodPut
			}
			u := srv.URL + "/v1/" + url.PathEscape("proj id~ü") + "/smart-live-configs/user-config?b=2&a=x+y&a=%2A"
			req, _ := http.NewRequest(method, u, bytes.NewReader(tc.body))
			req.Header.Set("X-Project-Id", "proj")
			if tc.body != nil {
				req.Header.Set("Content-Type", "application/json")
			}
			if err := SignRequest(req, tc.body, "AKGOOD", secret.String(tc.sk), secret.String(tc.token), time.Now()); err != nil {
				t.Fatal(err)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("status = %d, want %d", resp.StatusCode, tc.want)
			}
			if signedWith != tc.wantSigned {
				t.Errorf("signed headers = %q, want %q", signedWith, tc.wantSigned)
			}
		})
	}
}

func BenchmarkSignRequest(b *testing.B) {
	req, _ := http.NewRequest(http.MethodGet, "https://metastudio.cn-north-4.myhuaweicloud.com/v1/26f065244f754b3aa853b649a21aaf66/smart-live-configs/user-config", nil)
	req.Header.Set("X-Project-Id", "26f065244f754b3aa853b649a21aaf66")
	b.ReportAllocs()
	for b.Loop() {
		if err := SignRequest(req, nil, katAK, katSK, "", katTime); err != nil {
			b.Fatal(err)
		}
	}
}

func TestAppendSdkDateMatchesFormat(t *testing.T) {
	zones := []*time.Location{time.UTC, time.FixedZone("CST", 8*3600), time.FixedZone("west", -9*3600-1800)}
	start := time.Date(1999, 12, 31, 23, 59, 59, 999999999, time.UTC)
	for i := range 2000 {
		// Steps of a prime number of seconds walk through every field's
		// digits, month and year ends included.
		at := start.Add(time.Duration(i) * 7919 * 3607 * time.Second).In(zones[i%len(zones)])
		if got, want := string(appendSdkDate(nil, at)), at.UTC().Format(sdkDateLayout); got != want {
			t.Fatalf("appendSdkDate(%v) = %s, want %s", at, got, want)
		}
	}
}

// TestSignatureWithAlternatingKeys guards the pool of keyed HMACs: a pooled
// HMAC keyed with one secret must never sign for another.
func TestSignatureWithAlternatingKeys(t *testing.T) {
	keys := []secret.String{"first-secret", "second-secret", secret.String(strings.Repeat("k", 100)), "first-secret"}
	msg := []byte(katStringToSign)
	for round := range 3 {
		for _, k := range keys {
			mac := hmac.New(sha256.New, []byte(k.Reveal()))
			mac.Write(msg)
			want := hex.EncodeToString(mac.Sum(nil))
			if got := string(appendSignature([]byte("prefix:"), k, msg)); got != "prefix:"+want {
				t.Fatalf("round %d, key of %d bytes: signature %s, want prefix:%s", round, len(k), got, want)
			}
		}
	}
}
