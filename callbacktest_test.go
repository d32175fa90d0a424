package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/internal/loopback"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio/simulator"
)

// Secrets of the callback-test tests: none may be printed.
const (
	ctAK, ctSK        = "AKCBTEST00000000001", "cbtest-sk-SECRET-1"
	ctDiscAK, ctDiscK = "AKCBTESTDISC0000001", "cbtest-disc-sk-SECRET-2"
	ctKey             = "cbtest-key-SECRET-3"
	ctToken           = "cbtest-token-SECRET-4"
	ctWrongKey        = "cbtest-wrong-SECRET-5"
)

// callbackTestSetup is the whole program with its receiver on, behind
// which the simulator's tenants point their callback URLs, and a config
// file for callback-test to read.
type callbackTestSetup struct {
	exporter     *exporter
	receiverAddr string
	simURL       string
	config       string
	dir          string
}

func newCallbackTestSetup(t *testing.T) *callbackTestSetup {
	t.Helper()
	s := &callbackTestSetup{receiverAddr: loopback.FreeAddress(t), dir: t.TempDir()}
	here := "http://" + s.receiverAddr + "/callback/"
	cb := func(url, auth, key string) []byte {
		return []byte(`{"live_event_callback_config":{"live_event_type_callback_url":"` + url + `","auth_type":"` + auth +
			`","key":"` + key + `","callback_event_type":["RTMP_STREAM_STATE_CHANGE"]}}`)
	}
	tenant := func(id, name string, config []byte) simulator.Tenant {
		return simulator.Tenant{ProjectID: id, ProjectName: name, AccessKey: ctAK, SecretKey: ctSK, Config: config}
	}
	found := tenant("p-found", "cn-north-4_found", cb(here+"cn-north-4_found", "MSS_A", ctKey))
	found.AccessKey, found.SecretKey = ctDiscAK, ctDiscK
	sim, err := simulator.Start(simulator.Options{},
		tenant("p-shop", "", cb(here+"shop", "MSS_A", ctKey)),
		tenant("p-head", "", cb(here+"head", "MSS_A_HEAD", ctKey)),
		tenant("p-open", "", cb(here+"open?token="+ctToken, "NONE", "")),
		tenant("p-meituan", "", cb(here+"meituan", "MEITUAN_DEFAULT", ctKey)),
		tenant("p-nourl", "", []byte(`{"live_exit_config":{"max_live_duration":2}}`)),
		tenant("p-broken", "", cb(here+"broken", "MSS_A", ctKey)),
		found)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	s.simURL = sim.URL
	s.config = s.writeConfig(t, "metastudio.yml", "")
	s.exporter = startExporter(t, "--config.file="+s.config, "--callback.listen-address="+s.receiverAddr)
	waitReady(t, s.exporter)
	return s
}

// writeConfig writes the tenants' config; shopExtra is added to shop's entry.
func (s *callbackTestSetup) writeConfig(t *testing.T, name, shopExtra string) string {
	t.Helper()
	return writeFile(t, s.dir, name, fmt.Sprintf(`defaults:
  credentials: sim
credentials:
  sim: {access_key: %[1]s, secret_key: %[2]s}
  wrong: {access_key: %[1]s, secret_key: not-the-sk}
  disc: {access_key: %[3]s, secret_key: %[4]s}
tenants:
  - {name: shop, project_id: p-shop, endpoint: %[5]q%[6]s}
  - {name: head, project_id: p-head, endpoint: %[5]q}
  - {name: open, project_id: p-open, endpoint: %[5]q}
  - {name: meituan, project_id: p-meituan, endpoint: %[5]q}
  - {name: nourl, project_id: p-nourl, endpoint: %[5]q}
  - {name: broken, project_id: p-broken, endpoint: %[5]q, credentials: wrong}
discovery:
  - {credentials: disc, iam_endpoint: %[5]q, endpoint: %[5]q, regions: [cn-north-4]}
`, ctAK, ctSK, ctDiscAK, ctDiscK, s.simURL, shopExtra))
}

// waitReady waits until discovery has listed, so that every tenant is
// served.
func waitReady(t *testing.T, e *exporter) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if code, _ := e.get(t, "/-/ready"); code == 200 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready within 10s:\n%s", e.logs)
		}
	}
}

// runCallbackTest runs the command and returns its exit code and output,
// with the run's varying parts (addresses, hwTime) made fixed.
func (s *callbackTestSetup) runCallbackTest(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"callback-test"}, args...), &stdout, &stderr)
	out, errs := stdout.String(), stderr.String()
	for _, secret := range []string{ctSK, ctDiscK, ctKey, ctToken, ctWrongKey, "SECRET"} {
		if strings.Contains(out+errs, secret) {
			t.Errorf("callback-test %s printed the secret %q:\n%s%s", strings.Join(args, " "), secret, out, errs)
		}
	}
	return code, s.fixed(out), s.fixed(errs)
}

var hwTimeRE = regexp.MustCompile(`(hwTime=|x-hw-mss-time: )[0-9a-f]{8,}`)

func (s *callbackTestSetup) fixed(text string) string {
	text = strings.ReplaceAll(text, s.simURL, "SIM")
	text = strings.ReplaceAll(text, s.receiverAddr, "RECEIVER")
	text = strings.ReplaceAll(text, s.config, "CONFIG")
	return hwTimeRE.ReplaceAllString(text, "${1}HWTIME")
}

// TestCallbackTest: callback-test against the exporter's real receiver, in
// each auth type it signs, for a configured and a discovered tenant: the
// receiver accepts, and the event shows on the status page.
func TestCallbackTest(t *testing.T) {
	s := newCallbackTestSetup(t)
	code, out, errs := s.runCallbackTest(t, "--config.file="+s.config, "--tenant=shop")
	want := `Tenant shop: project p-shop in cn-north-4, from CONFIG
Live settings fetched from SIM:
  callback URL  http://RECEIVER/callback/shop (from its live settings)
  auth type     MSS_A: hwSecret and hwTime appended to the URL's query
  key           <secret>, from the tenant's live settings
Sending POST http://RECEIVER/callback/shop?<secret>
  signature     hwTime=HWTIME, hwSecret=<secret> in the query
  event_type    RTMP_STREAM_STATE_CHANGE
  message       {"room_id":"callback-test","job_id":"callback-test","output_url":"rtmp://callback-test.invalid/","state":"END"}
Answer: 200 OK
  body          {"result":"accepted"}
  result        accepted
OK: the callback URL took the event. With the exporter's receiver behind it, the event is in the status page's recent callbacks, and its stream callback-test/callback-test (END) goes after --callback.end-retention.
`
	if code != 0 || out != want || errs != "" {
		t.Errorf("shop: exit %d, stdout:\n%s\nstderr:\n%s\nwant exit 0, stdout:\n%s", code, out, errs, want)
	}

	for _, tc := range []struct{ tenant, from, signature, url string }{
		{"head", "from CONFIG", "  signature     x-hw-mss-time: HWTIME, x-hw-mss-secret: <secret>\n", "http://RECEIVER/callback/head"},
		{"open", "from CONFIG", "", "http://RECEIVER/callback/open?<secret>"},
		{"cn-north-4_found", "found by discovery entry 0 of CONFIG", "  signature     hwTime=HWTIME, hwSecret=<secret> in the query\n",
			"http://RECEIVER/callback/cn-north-4_found?<secret>"},
	} {
		code, out, errs := s.runCallbackTest(t, "--config.file="+s.config, "--tenant="+tc.tenant)
		if code != 0 || !strings.HasPrefix(out, "Tenant "+tc.tenant+": project p-") || !strings.Contains(out, ", "+tc.from+"\n") ||
			!strings.Contains(out, "Sending POST "+tc.url+"\n"+tc.signature+"  event_type") ||
			!strings.HasSuffix(out, "  result        accepted\nOK: the callback URL took the event. With the exporter's receiver behind it, the event is in the status page's recent callbacks, and its stream callback-test/callback-test (END) goes after --callback.end-retention.\n") {
			t.Errorf("%s: exit %d, stdout:\n%s\nstderr:\n%s", tc.tenant, code, out, errs)
		}
	}

	// What a person sees: the four callbacks, newest first, and the test
	// stream of each tenant in END.
	_, page := s.exporter.get(t, "/")
	var recent, streams []string
	for _, r := range rows(page) {
		if _, rest, ok := strings.Cut(r, " ago) | "); ok {
			recent = append(recent, rest)
		}
		if strings.Contains(r, "| callback-test | callback-test | callback-test.invalid | END |") {
			streams = append(streams, strings.Fields(r)[0])
		}
	}
	wantRecent := []string{
		"cn-north-4_found | RTMP_STREAM_STATE_CHANGE | accepted",
		"open | RTMP_STREAM_STATE_CHANGE | accepted", "head | RTMP_STREAM_STATE_CHANGE | accepted", "shop | RTMP_STREAM_STATE_CHANGE | accepted",
	}
	if strings.Join(recent, "\n") != strings.Join(wantRecent, "\n") {
		t.Errorf("recent callbacks on the page:\n%s\nwant:\n%s", strings.Join(recent, "\n"), strings.Join(wantRecent, "\n"))
	}
	if got := strings.Join(streams, " "); got != "shop head open cn-north-4_found" {
		t.Errorf("test streams on the page: %q", got)
	}
}

// rows returns the table rows of a page as text: cells joined by " | ".
func rows(html string) []string {
	var out []string
	tags := regexp.MustCompile(`<[^>]*>`)
	for _, row := range regexp.MustCompile(`(?s)<tr[^>]*>(.*?)</tr>`).FindAllStringSubmatch(html, -1) {
		var cells []string
		for _, c := range regexp.MustCompile(`(?s)<t[dh][^>]*>(.*?)</t[dh]>`).FindAllStringSubmatch(row[1], -1) {
			cells = append(cells, strings.Join(strings.Fields(tags.ReplaceAllString(c[1], "")), " "))
		}
		out = append(out, strings.Join(cells, " | "))
	}
	return out
}

// TestCallbackTestRefusals: what the receiver refuses, and what cannot be
// tested at all, each said clearly with the right exit code.
func TestCallbackTestRefusals(t *testing.T) {
	s := newCallbackTestSetup(t)
	wrongKey := s.writeConfig(t, "wrong-key.yml", ", callback: {key: "+ctWrongKey+"}")
	code, out, errs := s.runCallbackTest(t, "--config.file="+wrongKey, "--tenant=shop")
	if want := "  key           <secret>, from callback.key in " + s.dir + "/wrong-key.yml\n"; !strings.Contains(out, want) {
		t.Errorf("wrong key: the key in force is not named:\n%s", out)
	}
	wantAnswer := `Answer: 401 Unauthorized
  body          {"result":"bad_signature","error":"the signature does not match"}
  result        bad_signature
  reason        the signature does not match
FAILED: 401 Unauthorized: the receiver verifies with another key or URL than this test signed with: the key in force (callback.key, else the live settings') and the callback URL it holds must be those of MetaStudio's console
`
	if code != 1 || !strings.HasSuffix(out, wantAnswer) || errs != "" {
		t.Errorf("wrong key: exit %d, stdout:\n%s\nstderr:\n%s\nwant exit 1 and the answer:\n%s", code, out, errs, wantAnswer)
	}

	closed := loopback.FreeAddress(t) // nothing listens there
	for _, tc := range []struct {
		name string
		args []string
		code int
		err  string
	}{
		{"unreachable", []string{"--tenant=shop", "--url=http://" + closed + "/callback/shop?token=" + ctToken}, 1,
			"cannot connect to " + closed + ": dial tcp " + closed + ": connect: connection refused"},
		{"unknown tenant", []string{"--tenant=nobody"}, 2,
			`error: unknown tenant "nobody": neither CONFIG's tenants (shop, head, open, meituan, nourl, broken) nor the projects its 1 discovery entries list have that name`},
		{"settings not fetchable", []string{"--tenant=broken"}, 1,
			"the live settings of tenant broken cannot be fetched from SIM: get user config: HTTP 401 APIGW.0301: Incorrect IAM authentication information: signature mismatch (X-Request-Id "},
		{"no callback URL", []string{"--tenant=nourl"}, 1,
			"tenant nourl has no live event callback URL in its live settings: set one in the MetaStudio console, or give --url to test one first"},
		{"auth type it cannot sign", []string{"--tenant=meituan"}, 1,
			`tenant meituan signs its callbacks with auth_type "MEITUAN_DEFAULT", which callback-test cannot sign (it signs MSS_A, MSS_A_HEAD and NONE) and the exporter's receiver does not verify`},
		{"no tenant", nil, 2, "error: required flag(s) '--tenant' not provided, try --help"},
	} {
		code, _, errs := s.runCallbackTest(t, append([]string{"--config.file=" + s.config}, tc.args...)...)
		if code != tc.code || !strings.HasPrefix(errs, "metastudio_exporter callback-test: "+tc.err) {
			t.Errorf("%s: exit %d, stderr:\n%s\nwant exit %d and\nmetastudio_exporter callback-test: %s", tc.name, code, errs, tc.code, tc.err)
		}
	}
}

// TestCallbackTestURL: with --url the event goes there, signed for that
// URL (U = --url) as an independent verifier computes it, with the body
// MetaStudio sends; an answer that echoes the request shows no secret.
func TestCallbackTestURL(t *testing.T) {
	s := newCallbackTestSetup(t)
	var mu sync.Mutex
	var got struct {
		secret, time, token, body string
	}
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		q := r.URL.Query()
		mu.Lock()
		got.secret, got.time, got.token, got.body = q.Get("hwSecret"), q.Get("hwTime"), q.Get("token"), string(body)
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprintf(w, "took %s %s\n", r.URL.RequestURI(), r.Header.Get("Content-Type"))
	}))
	t.Cleanup(app.Close)
	target := app.URL + "/hook?token=" + ctToken
	code, out, errs := s.runCallbackTest(t, "--config.file="+s.config, "--tenant=shop", "--url="+target)
	mu.Lock()
	defer mu.Unlock()
	if want := simulator.HWSecret(ctKey, target, got.time); got.secret != want || got.token != ctToken {
		t.Errorf("the app got hwSecret %q for hwTime %q and token %q; want hwSecret %q over --url", got.secret, got.time, got.token, want)
	}
	if want := `{"event_type":"RTMP_STREAM_STATE_CHANGE","message":"{\"room_id\":\"callback-test\",\"job_id\":\"callback-test\",\"output_url\":\"rtmp://callback-test.invalid/\",\"state\":\"END\"}"}`; got.body != want {
		t.Errorf("body %s\nwant %s", got.body, want)
	}
	appHost := strings.TrimPrefix(app.URL, "http://")
	for _, want := range []string{
		"  callback URL  http://" + appHost + "/hook?<secret> (from --url)\n",
		"Answer: 202 Accepted\n  body          took /hook?token=<secret>&hwSecret=<secret>&hwTime=",
		"application/json\nOK: the callback URL took the event.",
	} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("exit %d, stdout lacks %q:\n%s\nstderr:\n%s", code, want, out, errs)
		}
	}
	if strings.Contains(out, got.secret) {
		t.Errorf("stdout shows hwSecret:\n%s", out)
	}

	tlsApp := httptest.NewUnstartedServer(http.NotFoundHandler())
	tlsApp.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is the point
	tlsApp.StartTLS()
	t.Cleanup(tlsApp.Close)
	tlsHost := strings.TrimPrefix(tlsApp.URL, "https://")
	code, _, errs = s.runCallbackTest(t, "--config.file="+s.config, "--tenant=shop", "--url="+tlsApp.URL+"/callback/shop")
	if want := "metastudio_exporter callback-test: TLS with " + tlsHost + " failed, its certificate is not accepted: tls: failed to verify certificate: x509: certificate signed by unknown authority\n"; code != 1 || errs != want {
		t.Errorf("TLS: exit %d, stderr %q, want 1 and %q", code, errs, want)
	}
	plain := strings.Replace(app.URL, "http://", "https://", 1)
	code, _, errs = s.runCallbackTest(t, "--config.file="+s.config, "--tenant=shop", "--url="+plain+"/hook")
	if want := "metastudio_exporter callback-test: sending to " + appHost + " failed: http: server gave HTTP response to HTTPS client\n"; code != 1 || errs != want {
		t.Errorf("https to plain HTTP: exit %d, stderr %q, want 1 and %q", code, errs, want)
	}
}
