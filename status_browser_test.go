package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/metastudio-exporter/metastudio_exporter/metastudio/simulator"
)

// TestStatusPageInBrowser loads / from the whole program in headless
// Chromium and checks what a person sees: each tenant's state and reason,
// the callback URL to paste per tenant, the recent callbacks, and no
// secret anywhere on the page. It takes a screenshot, kept with
// go test -artifacts (see T.ArtifactDir).
func TestStatusPageInBrowser(t *testing.T) {
	browser := findChromium(t)
	const (
		ak, discAK = "AKPAGE0000000000001", "AKPAGEDISC000000001"
		urlToken   = "urltok-SECRET-A"
		key        = "cbkey-SECRET-B"
		streamKey  = "streamkey-SECRET-C"
		goodSK     = "page-sk-SECRET-D"
		discSK     = "disc-sk-SECRET-E"
		forgedKey  = "forged-SECRET-F"
	)
	callbackURL := func(tenant string) string {
		return "https://mon.example.com/callback/" + tenant + "?token=" + urlToken
	}
	sim, err := simulator.Start(simulator.Options{},
		simulator.Tenant{ProjectID: "p-shop", AccessKey: ak, SecretKey: goodSK, Config: []byte(
			`{"live_event_callback_config":{"live_event_type_callback_url":"` + callbackURL("shop") + `","auth_type":"MSS_A","key":"` + key + `"}}`)},
		simulator.Tenant{ProjectID: "p-broken", AccessKey: ak, SecretKey: goodSK},
		simulator.Tenant{ProjectID: "p-found", ProjectName: "cn-north-4_found", AccessKey: discAK, SecretKey: discSK})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })

	dir := t.TempDir()
	writeFile(t, dir, "disc-sk", discSK)
	cfg := writeFile(t, dir, "metastudio.yml", fmt.Sprintf(`credentials:
  good: {access_key: %[1]s, secret_key: %[3]s}
  wrong: {access_key: %[1]s, secret_key: not-the-sk}
  disc: {access_key: %[2]s, secret_key_file: disc-sk}
tenants:
  - {name: shop, project_id: p-shop, endpoint: %[4]q, credentials: good}
  - {name: broken, project_id: p-broken, endpoint: %[4]q, credentials: wrong}
discovery:
  - {credentials: disc, iam_endpoint: %[4]q, endpoint: %[4]q, regions: [cn-north-4]}
`, ak, discAK, goodSK, sim.URL))
	callbackAddr := freeAddress(t)
	e := startExporter(t, "--config.file="+cfg, "--callback.listen-address="+callbackAddr,
		"--callback.external-url=https://mon.example.com")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if code, _ := e.get(t, "/-/ready"); code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready within 10s:\n%s", e.logs)
		}
	}
	e.get(t, "/metrics") // every tenant gets an outcome

	sender := &simulator.Sender{Origin: "http://" + callbackAddr}
	send := func(tenant, key string, want int) {
		d, err := sender.Send(context.Background(),
			simulator.Callback{URL: callbackURL(tenant), AuthType: "MSS_A", Key: key},
			simulator.RTMPStreamStateChange{RoomID: "room-1", JobID: "job-1", State: "CONNECTED", StreamKey: streamKey,
				OutputURL: "rtmp://push.example.com/live/" + streamKey})
		if err != nil || d.Status != want {
			t.Fatalf("callback for %s: %d %s, %v; want %d", tenant, d.Status, d.Body, err, want)
		}
	}
	send("shop", key, 200)
	send("shop", forgedKey, 401)
	send("nobody", key, 404)

	ctx := newBrowser(t, browser)
	if err := chromedp.Do(ctx, chromedp.Navigate(e.url+"/"), chromedp.WaitVisible("#callbacks")); err != nil {
		t.Fatal(err)
	}
	// What a person reads: each table row's cells as rendered, then the
	// whole page's text and markup, where no secret may be.
	rows := browse(t, ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("tr")).map(r => Array.from(r.cells).map(c => c.innerText.replace(/\s+/g, " ").trim()).join(" | "))`))
	for i, r := range rows { // ages depend on the machine's speed
		rows[i] = strings.Join(strings.Fields(ageRE.ReplaceAllString(r, "AGE ago")), " ")
	}
	text := browse(t, ctx, chromedp.Text("body"))
	html := browse(t, ctx, chromedp.OuterHTML("html"))
	shot := browse(t, ctx, chromedp.FullScreenshot(100))
	path := filepath.Join(t.ArtifactDir(), "status-page.png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)

	for _, want := range []string{
		"shop | up | | AGE ago | fetched at every scrape | config file | p-shop cn-north-4 | probe",
		"broken | down | auth (APIGW.0301) get user config: HTTP 401 APIGW.0301: Incorrect IAM authentication information: signature mismatch | never | none: up is 0 | config file | p-broken cn-north-4 | probe",
		"cn-north-4_found | up | | AGE ago | fetched at every scrape | discovery entry 0 | p-found cn-north-4 | probe",
		"discovery entry 0 | ok | AGE ago | 1 | 1 | 1 | 0 |",
		"shop | https://mon.example.com/callback/shop | yes | AGE ago",
		"broken | https://mon.example.com/callback/broken | unknown: its settings could not be fetched | never",
		"cn-north-4_found | https://mon.example.com/callback/cn-north-4_found | no: no callback URL is set | never",
	} {
		if !contains(rows, want) {
			t.Errorf("no row %q", want)
		}
	}
	// The callbacks, newest first; their times are the test's own.
	var recent []string
	for _, r := range rows {
		if _, rest, ok := strings.Cut(r, "(AGE ago) | "); ok {
			recent = append(recent, rest)
		}
	}
	if got, want := strings.Join(recent, "\n"), "unknown | | unknown_tenant\nshop | | bad_signature\nshop | RTMP_STREAM_STATE_CHANGE | accepted"; got != want {
		t.Errorf("recent callbacks:\n%s\nwant:\n%s", got, want)
	}
	for _, want := range []string{"Tenants: 2 of 3 up", "Listening on " + callbackAddr + "; MetaStudio reaches it at https://mon.example.com."} {
		if !strings.Contains(text, want) {
			t.Errorf("the page does not say %q", want)
		}
	}
	for _, secret := range []string{urlToken, key, streamKey, goodSK, discSK, forgedKey, "SECRET"} {
		if strings.Contains(html, secret) || strings.Contains(text, secret) {
			t.Errorf("the page shows the secret %q", secret)
		}
	}
	if t.Failed() {
		t.Logf("rows:\n%s", strings.Join(rows, "\n"))
	}
}

var ageRE = regexp.MustCompile(`\b[0-9][0-9smhd]* ago`)

// findChromium returns the browser to drive. CI must have one (.ci/run
// installs Debian's chromium); elsewhere the test is skipped without.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no chromium on PATH; CI must run the browser test (apt-get install chromium)")
	}
	t.Skip("no chromium on PATH: the status page's browser test needs it (apt-get install chromium)")
	return ""
}

// newBrowser starts headless Chromium for the test's duration. The flags
// keep it off the network (it only talks to 127.0.0.1) and let it run as
// root in a container. Everything it writes stays in the test's temporary
// directory: its profile, and through HOME, XDG_* and TMPDIR its crash
// reports, caches and singleton socket, which would otherwise land in the
// user's home and in /tmp and outlive the test.
func newBrowser(t *testing.T, path string) context.Context {
	t.Helper()
	home := t.TempDir()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.Env("HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
			"XDG_CACHE_HOME="+filepath.Join(home, ".cache"), "XDG_RUNTIME_DIR="+home, "TMPDIR="+home),
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.NoSandbox,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() {
		cancelTimeout()
		cancelBrowser()
		cancelAlloc()
	})
	return ctx
}

// browse runs one action in the browser and returns what it read.
func browse[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
