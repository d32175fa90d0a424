package metastudio

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/metastudio-exporter/metastudio_exporter/metastudio/simulator"
)

// The fuzz targets run their seeds (testdata/fuzz and f.Add) in every
// ordinary `go test`; CI also fuzzes each for a few seconds.

// canned answers every request with one response, in memory: the fuzzers
// go through the client's real read, limit and decode path with no network.
type canned struct {
	status int
	header http.Header
	body   []byte
}

func (c canned) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{
		StatusCode: c.status,
		Header:     c.header,
		Body:       io.NopCloser(bytes.NewReader(c.body)),
		Request:    req,
	}, nil
}

// fuzzBodyLimit is small so that the fuzzer reaches the limit.
const fuzzBodyLimit = 4096

var fuzzTarget = Target{
	Name:        "fuzz",
	Endpoint:    "https://metastudio.fuzz.invalid",
	ProjectID:   "0123456789abcdef0123456789abcdef",
	Credentials: Credentials{AccessKey: "AKFUZZ", SecretKey: "fuzz-SECRET-sk"},
}

func fuzzClient(c canned) *Client {
	cl := NewClient(ClientOptions{Transport: c, MaxBodyBytes: fuzzBodyLimit})
	cl.maxProjectList = fuzzBodyLimit
	return cl
}

// FuzzDecodeUserConfig feeds any 200 body to the client's decode path and
// to Effective: it must never panic, accept only valid JSON within the
// limit, and reduce what it accepts to well-formed settings.
func FuzzDecodeUserConfig(f *testing.F) {
	for _, seed := range []string{
		`{}`, `null`, `[]`, `{"live_exit_config":{"max_live_duration":"12"}}`,
		`{"live_exit_config":{"max_live_duration":12,"auto_stop_mode":"SEGMENT_END","max_exception_waiting_duration":5},` +
			`"live_event_callback_config":{"live_event_type_callback_url":"https://h.example/cb?token=t","auth_type":"MSS_A",` +
			`"key":"k","callback_event_type":["SHOOT_SCRIPT_SWITCH","NEW","NEW"]},"live_notify_config":{"notify_events":["AUTO_EXIT","X"]}}`,
		strings.Repeat(" ", fuzzBodyLimit+1),
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		uc, err := fuzzClient(canned{status: 200, header: http.Header{}, body: body}).GetUserConfig(context.Background(), fuzzTarget)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Reason != ReasonDecode || e.Op != OpGetUserConfig {
				t.Fatalf("a 200 answer failed with %#v, want a decode *Error", err)
			}
			if len(body) > fuzzBodyLimit && e.Err.Error() != "response body exceeds 4096 bytes" {
				t.Fatalf("a %d-byte body failed with %v, want the size limit", len(body), err)
			}
			return
		}
		if len(body) > fuzzBodyLimit || !json.Valid(body) {
			t.Fatalf("accepted a body that is over the limit or not JSON: %q", body)
		}
		s := uc.Effective()
		if again := uc.Effective(); again.Hash != s.Hash {
			t.Fatalf("Effective is not deterministic: %d then %d", s.Hash, again.Hash)
		}
		if s.Hash >= 1<<53 {
			t.Fatalf("hash %d does not fit a float64 exactly", s.Hash)
		}
		for _, v := range append([]string{s.AutoStopMode, s.CallbackAuthType}, append(s.CallbackEvents, s.NotifyEvents...)...) {
			if !utf8.ValidString(v) {
				t.Fatalf("setting %q is not valid UTF-8", v)
			}
		}
		for _, list := range [][]string{s.CallbackEvents, s.NotifyEvents} {
			if !slices.IsSorted(list) || len(slices.Compact(slices.Clone(list))) != len(list) {
				t.Fatalf("event list %q is not sorted and unique", list)
			}
		}
		if s.CallbackHTTPS && !s.CallbackConfigured {
			t.Fatal("an https callback that is not configured")
		}
	})
}

// FuzzErrorAnswer feeds any error status, body and Retry-After to the
// client: the error must carry the status, the reason the contract gives
// it, bounded valid-UTF-8 code and message, and a non-negative Retry-After.
func FuzzErrorAnswer(f *testing.F) {
	f.Add(429, []byte(`{"error_code":"APIGW.0308","error_msg":"The throttling threshold has been reached"}`), "30")
	f.Add(401, []byte(`{"error":{"code":401,"message":"The username or password is wrong.","title":"Unauthorized"}}`), "")
	f.Add(403, []byte(`{"error_code":"APIGW.0308","error_msg":"x"}`), "Wed, 21 Oct 2099 07:28:00 GMT")
	f.Add(502, []byte(`<html>Bad Gateway</html>`), "-5")
	f.Add(400, []byte(`{"error_code":"`+strings.Repeat("\u00e9", 100)+`","error_msg":"`+strings.Repeat("\u4e2d", 400)+`"}`), "")
	f.Fuzz(func(t *testing.T, status int, body []byte, retryAfter string) {
		status = 300 + int(uint(status)%300)
		header := http.Header{"X-Request-Id": {"rid-fuzz"}, "Retry-After": {retryAfter}}
		_, err := fuzzClient(canned{status: status, header: header, body: body}).GetUserConfig(context.Background(), fuzzTarget)
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("status %d failed with %#v, want an *Error", status, err)
		}
		if len(body) > fuzzBodyLimit {
			if e.Reason != ReasonDecode {
				t.Fatalf("an over-limit error body gave reason %s, want decode", e.Reason)
			}
			return
		}
		if e.StatusCode != status || e.RequestID != "rid-fuzz" || e.RetryAfter < 0 {
			t.Fatalf("status %d gave %#v", status, e)
		}
		want := ReasonClientError
		switch {
		case status == 429 || e.ErrorCode == ErrorCodeThrottled:
			want = ReasonThrottled
		case status == 401:
			want = ReasonAuth
		case status == 403:
			want = ReasonForbidden
		case status >= 500:
			want = ReasonServerError
		}
		if e.Reason != want {
			t.Fatalf("status %d code %q gave reason %s, want %s", status, e.ErrorCode, e.Reason, want)
		}
		if len(e.ErrorCode) > 64 || len(e.ErrorMsg) > maxErrorMsgBytes || !utf8.ValidString(e.ErrorCode) || !utf8.ValidString(e.ErrorMsg) {
			t.Fatalf("code %q or message %q is too long or not UTF-8", e.ErrorCode, e.ErrorMsg)
		}
		if strings.Contains(err.Error(), "fuzz-SECRET") {
			t.Fatal("the error shows the secret key")
		}
	})
}

// FuzzCanonicalRequest checks the signer's canonical forms on any path and
// query, and checks signatures against the simulator's verifier, which was
// written apart from the signer: any project id and query that the client
// could send must verify.
func FuzzCanonicalRequest(f *testing.F) {
	f.Add("/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs", "limit=2&marker=13551d6b-755d-4757-b956-536f674975c0", "77b6a44cba5143ab91d13ab9a8ff44fd")
	f.Add("", "", "p")
	f.Add("/a%2Fb//c d/", "b=2&a=1&a=0&c&=x&k=v+w&%zz=1&;=2", "p q")
	f.Add("/%E4%B8%AD/~/", "x=%E4%B8%AD&x=~&x=%7E", "中文-project_id.~")
	f.Add("/", "a=1", "0123456789abcdef0123456789abcdef")
	sim := simulator.New(simulator.Options{})
	const knownProject = "0123456789abcdef0123456789abcdef"
	if err := sim.AddTenant(simulator.Tenant{ProjectID: knownProject, AccessKey: "AKFUZZ", SecretKey: "fuzz-SECRET-sk"}); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, path, rawQuery, project string) {
		uri := string(appendCanonicalURI(nil, path))
		if !strings.HasSuffix(uri, "/") {
			t.Fatalf("canonical URI %q of %q does not end with '/'", uri, path)
		}
		checkEscaped(t, strings.ReplaceAll(uri, "/", ""))
		if again := string(appendCanonicalURI(nil, uri)); again != uri {
			t.Fatalf("canonical URI %q is not canonical: it becomes %q", uri, again)
		}
		checkCanonicalQuery(t, rawQuery)
		if project != "" && !strings.Contains(project, "/") {
			checkAgainstSimulator(t, sim, project, rawQuery, project == knownProject)
		}
	})
}

// checkEscaped: only unreserved characters and upper-case %XX escapes.
func checkEscaped(t *testing.T, s string) {
	t.Helper()
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '~':
		case c == '%' && i+2 < len(s) && isUpperHex(s[i+1]) && isUpperHex(s[i+2]):
			i += 2
		default:
			t.Fatalf("%q holds %q outside the unreserved set and not as an upper-case escape", s, c)
		}
	}
}

func isUpperHex(c byte) bool { return '0' <= c && c <= '9' || 'A' <= c && c <= 'F' }

// checkCanonicalQuery: escaped pairs that decode to the same parameters as
// the raw query, sorted by key and then value.
func checkCanonicalQuery(t *testing.T, rawQuery string) {
	t.Helper()
	canon := string(appendCanonicalQuery(nil, rawQuery))
	want, _ := url.ParseQuery(rawQuery)
	var pairs [][2]string
	if canon != "" {
		for p := range strings.SplitSeq(canon, "&") {
			k, v, ok := strings.Cut(p, "=")
			if !ok {
				t.Fatalf("canonical query %q has a pair without '='", canon)
			}
			checkEscaped(t, k)
			checkEscaped(t, v)
			dk, err1 := url.QueryUnescape(k)
			dv, err2 := url.QueryUnescape(v)
			if err1 != nil || err2 != nil {
				t.Fatalf("canonical query %q does not unescape", canon)
			}
			pairs = append(pairs, [2]string{dk, dv})
		}
	}
	if !slices.IsSortedFunc(pairs, comparePairs) {
		t.Fatalf("canonical query %q is not sorted by key, then value", canon)
	}
	got := url.Values{}
	for _, p := range pairs {
		got[p[0]] = append(got[p[0]], p[1])
	}
	for k := range want {
		slices.Sort(want[k])
	}
	if len(got) != len(want) {
		t.Fatalf("canonical query %q has other parameters than %q", canon, rawQuery)
	}
	for k, vs := range want {
		if !slices.Equal(got[k], vs) {
			t.Fatalf("canonical query %q has %q=%q, the raw query %q", canon, k, got[k], vs)
		}
	}
}

func comparePairs(a, b [2]string) int {
	if c := strings.Compare(a[0], b[0]); c != 0 {
		return c
	}
	return strings.Compare(a[1], b[1])
}

// checkAgainstSimulator signs a user-config GET for project the way the
// client does, twice, and has the simulator verify it.
func checkAgainstSimulator(t *testing.T, sim *simulator.Server, project, rawQuery string, known bool) {
	t.Helper()
	target := "http://127.0.0.1:1/v1/" + url.PathEscape(project) + "/smart-live-configs/user-config"
	if rawQuery != "" {
		target += "?" + rawQuery
	}
	now := time.Now()
	var auth [2]string
	var req *http.Request
	for i := range auth {
		var err error
		req, err = http.NewRequest(http.MethodGet, target, nil)
		if err != nil {
			return // not a URL the client could send
		}
		req.Header.Set(headerProject, project)
		if err := SignRequest(req, nil, "AKFUZZ", "fuzz-SECRET-sk", "", now); err != nil {
			t.Fatal(err)
		}
		auth[i] = req.Header.Get("Authorization")
	}
	if auth[0] != auth[1] {
		t.Fatalf("signing twice gave %q and %q", auth[0], auth[1])
	}
	rec := httptest.NewRecorder()
	sim.ServeHTTP(rec, req)
	want := http.StatusNotFound
	if known {
		want = http.StatusOK
	}
	if rec.Code != want {
		t.Fatalf("project %q, query %q: the simulator answered %s %s, want %d", project, rawQuery, strconv.Itoa(rec.Code), rec.Body, want)
	}
}
