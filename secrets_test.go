package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/metastudio-exporter/metastudio_exporter/metastudio/simulator"
)

// tokenRecorder sits between the exporter and the simulator's IAM and keeps
// every token IAM hands out, so the test can look for them in the output.
type tokenRecorder struct {
	mu     sync.Mutex
	tokens []string
}

func (r *tokenRecorder) proxy(t *testing.T, target string) *httptest.Server {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := httputil.NewSingleHostReverseProxy(u)
	p.ModifyResponse = func(resp *http.Response) error {
		if tok := resp.Header.Get("X-Subject-Token"); tok != "" {
			r.mu.Lock()
			r.tokens = append(r.tokens, tok)
			r.mu.Unlock()
		}
		return nil
	}
	s := httptest.NewServer(p)
	t.Cleanup(s.Close)
	return s
}

// TestNoSecretInAnyOutput drives every endpoint, every error path and a
// failed reload with debug logging, then looks for each secret everywhere.
func TestNoSecretInAnyOutput(t *testing.T) {
	secrets := map[string]string{
		"secret key":        "sk-temp-SECRET-1",
		"security token":    "st-SECRET-2",
		"callback key":      "cbkey-SECRET-3",
		"callback URL cred": "urltoken-SECRET-4",
		"IAM password":      "pw-SECRET-5",
		"rejected SK":       "sk-wrong-SECRET-6",
		"bad reload value":  "sk-bad-SECRET-7",
	}
	callback := `{"live_event_callback_config":{"live_event_type_callback_url":"https://hooks.example.com/cb?access_token=` +
		secrets["callback URL cred"] + `","auth_type":"MSS_A","key":"` + secrets["callback key"] + `"}}`
	sim, err := simulator.Start(simulator.Options{},
		simulator.Tenant{ProjectID: "p-temp", AccessKey: "AKTEMP", SecretKey: secrets["secret key"],
			SecurityToken: secrets["security token"], Config: []byte(callback)},
		simulator.Tenant{ProjectID: "p-iam", IAMDomain: "acme", IAMUser: "monitor", IAMPassword: secrets["IAM password"],
			Config: []byte(callback)},
		simulator.Tenant{ProjectID: "p-rejected", AccessKey: "AKREJ", SecretKey: "the-right-one"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	iam := &tokenRecorder{}
	iamProxy := iam.proxy(t, sim.URL)

	dir := t.TempDir()
	writeFile(t, dir, "sk", secrets["secret key"]+"\n")
	writeFile(t, dir, "token", secrets["security token"])
	writeFile(t, dir, "pw", secrets["IAM password"])
	good := fmt.Sprintf(`credentials:
  temp: {access_key: AKTEMP, secret_key_file: sk, security_token_file: token}
  ops:
    iam_password: {domain: acme, user: monitor, password_file: pw, endpoint: %[2]s}
  rejected: {access_key: AKREJ, secret_key: %[3]s}
tenants:
  - {name: temp, project_id: p-temp, endpoint: %[1]s, credentials: temp}
  - {name: iam, project_id: p-iam, endpoint: %[1]s, credentials: ops}
  - {name: rejected, project_id: p-rejected, endpoint: %[1]s, credentials: rejected}
`, sim.URL, iamProxy.URL, secrets["rejected SK"])
	cfg := writeFile(t, dir, "metastudio.yml", good)
	e := startExporter(t, "--config.file="+cfg, "--log.level=debug")

	var seen strings.Builder
	record := func(method, path string) {
		code, body := e.do(t, method, path, nil)
		fmt.Fprintf(&seen, "%s %s -> %d\n%s\n", method, path, code, body)
	}
	record("GET", "/metrics")
	for _, tenant := range []string{"temp", "iam", "rejected", "missing"} {
		record("GET", "/probe?tenant="+tenant)
	}
	for _, path := range []string{"/", "/config", "/sd", "/probe", "/-/reload"} {
		record("GET", path)
	}
	// A reload whose file puts a secret where a mapping belongs must fail
	// without echoing the value.
	if err := os.WriteFile(cfg, []byte(strings.Replace(good, "secret_key: "+secrets["rejected SK"],
		"secret_key: ["+secrets["bad reload value"]+"]", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	record("POST", "/-/reload")
	record("GET", "/metrics")
	record("GET", "/") // the page's banner shows the reload's error

	out := seen.String()
	for _, want := range []string{
		`metastudio_up{tenant="temp"} 1`, `metastudio_up{tenant="iam"} 1`, `metastudio_up{tenant="rejected"} 0`,
		`metastudio_live_event_callback_key_configured{tenant="iam"} 1`,
		"POST /-/reload -> 500", "metastudio_exporter_config_last_reload_successful 0", "The last config reload failed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q; the test would prove nothing:\n%s", want, out)
		}
	}
	if !strings.Contains(e.logs.String(), "level=debug") {
		t.Error("no debug line was logged; the test would prove nothing")
	}
	iam.mu.Lock()
	for i, tok := range iam.tokens {
		secrets[fmt.Sprintf("IAM token %d", i)] = tok
	}
	iam.mu.Unlock()
	if _, ok := secrets["IAM token 0"]; !ok {
		t.Fatal("no IAM token was issued; the test would prove nothing")
	}
	secrets["callback host"] = "hooks.example.com"
	for what, value := range secrets {
		if strings.Contains(out, value) {
			t.Errorf("the %s appears in an HTTP answer", what)
		}
		if strings.Contains(e.logs.String(), value) {
			t.Errorf("the %s appears in the log", what)
		}
	}
	if t.Failed() {
		t.Logf("answers:\n%s\nlog:\n%s", out, e.logs)
	}
}
