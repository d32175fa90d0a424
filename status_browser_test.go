package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/prometheus/common/version"

	"github.com/metastudio-exporter/metastudio_exporter/internal/loopback"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio/simulator"
)

// TestStatusPageInBrowser loads / from the whole program in headless
// Chromium and checks what a person sees: each tenant's state, reason and
// findings (a risky tenant's in red and amber, its rooms' and jobs'
// included, a safe one's "no findings" in green), its rooms and jobs and
// how they are refreshed, the callback URL to paste per tenant, the
// streams and recent callbacks, the version line, a failed reload's banner
// at the top, and no secret anywhere on the page (keys, URL credentials
// and stream keys, the rooms' own too). It takes a screenshot, kept with
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
		roomKey    = "roomkey-SECRET-G"
		roomToken  = "roomtok-SECRET-H"
		roomStream = "roomstream-SECRET-I"
	)
	callbackURL := func(tenant string) string {
		return "https://mon.example.com/callback/" + tenant + "?token=" + urlToken
	}
	// The simulator's clock stands still, so that the jobs' durations
	// are exact.
	simNow := time.Now().Truncate(time.Second)
	sim, err := simulator.Start(simulator.Options{Now: func() time.Time { return simNow }},
		// shop is safe; risky meets most of the bundled alerts' conditions.
		simulator.Tenant{ProjectID: "p-shop", AccessKey: ak, SecretKey: goodSK, Config: []byte(
			`{"live_exit_config":{"max_live_duration":12,"max_exception_waiting_duration":5},` +
				`"live_event_callback_config":{"live_event_type_callback_url":"` + callbackURL("shop") + `","auth_type":"MSS_A","key":"` + key +
				`","callback_event_type":["RTMP_STREAM_STATE_CHANGE"]},"live_notify_config":{"notify_events":["AUTO_EXIT"]}}`)},
		simulator.Tenant{ProjectID: "p-risky", AccessKey: ak, SecretKey: goodSK, Config: []byte(
			`{"live_exit_config":{"max_live_duration":0,"max_exception_waiting_duration":0},` +
				`"live_event_callback_config":{"live_event_type_callback_url":"http://mon.example.com/callback/risky?token=` + urlToken +
				`","auth_type":"NONE","callback_event_type":["SHOOT_SCRIPT_SWITCH"]}}`)},
		simulator.Tenant{ProjectID: "p-broken", AccessKey: ak, SecretKey: goodSK},
		simulator.Tenant{ProjectID: "p-found", ProjectName: "cn-north-4_found", AccessKey: discAK, SecretKey: discSK})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	// One room each, so that its settings are read right after the
	// listing. shop's has settings of its own and a signed callback whose
	// URL carries a token, and its job is 1h30m from the room's limit;
	// risky's repeats for ever under a tenant without a limit and sends
	// its events unsigned over http, and a job in it failed 3 minutes ago.
	for _, err := range []error{
		sim.Server.AddRoom("p-shop", simulator.Room{ID: "room-own", Name: "Own", RepeatCount: new(3), Exit: &simulator.LiveExit{MaxLiveDuration: new(2)},
			Callback:   &simulator.Callback{URL: "https://hooks.example.com/shop?token=" + roomToken, AuthType: "MSS_A_HEAD", Key: roomKey},
			OutputURLs: []string{"rtmp://push.example.com/live/"}, StreamKeys: []string{roomStream}}),
		sim.Server.AddLiveJob("p-shop", simulator.LiveJob{ID: "job-own", RoomID: "room-own", StartTime: simNow.Add(-30 * time.Minute)}),
		sim.Server.AddRoom("p-risky", simulator.Room{ID: "room-loop", Name: "Loop", RepeatCount: new(-1),
			Callback: &simulator.Callback{URL: "http://hooks.example.com/risky", AuthType: "NONE"}}),
		sim.Server.AddLiveJob("p-risky", simulator.LiveJob{ID: "job-loop", RoomID: "room-loop", StartTime: simNow.Add(-26 * time.Hour)}),
		sim.Server.AddLiveJob("p-risky", simulator.LiveJob{ID: "job-failed", RoomID: "room-loop", State: "FAILED", ErrorCode: "MSS.00000201",
			StartTime: simNow.Add(-10 * time.Minute), EndTime: simNow.Add(-3 * time.Minute)}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}

	dir := t.TempDir()
	writeFile(t, dir, "disc-sk", discSK)
	cfg := writeFile(t, dir, "metastudio.yml", fmt.Sprintf(`defaults:
  rooms: {refresh_interval: 1m}
credentials:
  good: {access_key: %[1]s, secret_key: %[3]s}
  wrong: {access_key: %[1]s, secret_key: not-the-sk}
  disc: {access_key: %[2]s, secret_key_file: disc-sk}
tenants:
  - {name: shop, project_id: p-shop, endpoint: %[4]q, credentials: good}
  - {name: risky, project_id: p-risky, endpoint: %[4]q, credentials: good}
  - {name: broken, project_id: p-broken, endpoint: %[4]q, credentials: wrong}
discovery:
  - {credentials: disc, iam_endpoint: %[4]q, endpoint: %[4]q, regions: [cn-north-4]}
`, ak, discAK, goodSK, sim.URL))
	callbackAddr := loopback.FreeAddress(t)
	e := startExporter(t, "--config.file="+cfg, "--callback.listen-address="+callbackAddr,
		"--callback.external-url=https://mon.example.com")
	waitReady(t, e)
	awaitInventory(t, e) // every tenant gets an outcome, its rooms and jobs read

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
	secrets := []string{urlToken, key, streamKey, goodSK, discSK, forgedKey, roomKey, roomToken, roomStream, "SECRET", "hooks.example.com"}
	rows, text := loadStatusPage(t, ctx, e.url, secrets)
	for _, want := range []string{
		"shop | up | no findings | | AGE ago | fetched at every scrape | config file | p-shop cn-north-4 | probe",
		"risky | up | 2 critical, 8 warning | | AGE ago | fetched at every scrape | config file | p-risky cn-north-4 | probe",
		"broken | down | unknown: its settings could not be fetched | auth (APIGW.0301) get user config: HTTP 401 APIGW.0301: Incorrect IAM authentication information: signature mismatch | never | none: up is 0 | config file | p-broken cn-north-4 | probe",
		"cn-north-4_found | up | 2 warning, 1 info | | AGE ago | fetched at every scrape | discovery entry 0 | p-found cn-north-4 | probe",
		"shop | no findings",
		"broken | unknown: its settings could not be fetched",
		"discovery entry 0 | ok | AGE ago | 1 | 1 | 1 | 0 |",
		"shop | https://mon.example.com/callback/shop | yes | AGE ago",
		"risky | https://mon.example.com/callback/risky | no: it points to http://mon.example.com/callback/risky | never",
		"broken | https://mon.example.com/callback/broken | unknown: its settings could not be fetched | never",
		"cn-north-4_found | https://mon.example.com/callback/cn-north-4_found | no: no callback URL is set | never",
		"shop | room-1 | job-1 | push.example.com | CONNECTED | DATE (AGE ago)",
		"shop | 1 room, 1 with their settings read; refreshed every 1m, last AGE ago | 1 running, 0 failed or blocked in the failed window; refreshed every 1m, last AGE ago",
		"risky | 1 room, 1 with their settings read; refreshed every 1m, last AGE ago | 1 running, 1 failed or blocked in the failed window; refreshed every 1m, last AGE ago",
		"broken | refreshing fails: never listed | refreshing fails: never listed",
		"cn-north-4_found | 0 rooms, 0 with their settings read; refreshed every 1m, last AGE ago | 0 running, 0 failed or blocked in the failed window; refreshed every 1m, last AGE ago",
		"shop | job-own | room-own | PROCESSING | 30m | 30m | 1h30m of 2h | MSS_A_HEAD over https",
		"risky | job-loop | room-loop | PROCESSING | 1d2h | 1d2h | no limit | NONE over http",
		"shop | room-own | Own | 3 | 2h | the tenant's | MSS_A_HEAD, over https",
		"risky | room-loop | Loop | until stopped (-1) | the tenant's | the tenant's | NONE, over http, no credentials in the URL",
	} {
		if !contains(rows, want) {
			t.Errorf("no row %q", want)
		}
	}
	// The callbacks, newest first; their times are the test's own.
	var recent []string
	for _, r := range rows {
		if rest, ok := strings.CutPrefix(r, "DATE (AGE ago) | "); ok {
			recent = append(recent, rest)
		}
	}
	if got, want := strings.Join(recent, "\n"), "unknown | | unknown_tenant\nshop | | bad_signature\nshop | RTMP_STREAM_STATE_CHANGE | accepted"; got != want {
		t.Errorf("recent callbacks:\n%s\nwant:\n%s", got, want)
	}
	for _, want := range []string{"Tenants: 3 of 4 up", "Listening on " + callbackAddr + "; MetaStudio reaches it at https://mon.example.com."} {
		if !strings.Contains(text, want) {
			t.Errorf("the page does not say %q", want)
		}
	}

	// A risky tenant's findings read red (critical) and amber (warning),
	// as its row's summary does; a safe tenant's "no findings" green.
	const red, amber, blue, green = "rgb(199, 0, 11)", "rgb(161, 92, 0)", "rgb(47, 95, 143)", "rgb(26, 127, 55)"
	const redBack, amberBack, blueBack = "rgb(253, 236, 234)", "rgb(255, 244, 224)", "rgb(238, 243, 249)"
	findings := browse(t, ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("tr[id^=findings-] li")).map(li =>
		[li.closest("tr").cells[0].innerText, li.dataset.alert, li.querySelector(".severity").innerText,
		 getComputedStyle(li.querySelector(".severity")).color, getComputedStyle(li).backgroundColor].join(" | "))`))
	critical := func(tenant, alert string) string {
		return tenant + " | " + alert + " | CRITICAL | " + red + " | " + redBack
	}
	warning := func(tenant, alert string) string {
		return tenant + " | " + alert + " | WARNING | " + amber + " | " + amberBack
	}
	wantFindings := []string{
		critical("risky", "MetaStudioExceptionWaitingUnlimited"), critical("risky", "MetaStudioCallbackNotHttps"),
		warning("risky", "MetaStudioLiveDurationUnlimited"), warning("risky", "MetaStudioCallbackUnsigned"),
		warning("risky", "MetaStudioStreamStateEventsDisabled"), warning("risky", "MetaStudioInterruptionNotifyDisabled"),
		warning("risky", "MetaStudioCallbackNotRoutedHere"),
		warning("risky", "MetaStudioRoomRunsForever"), warning("risky", "MetaStudioRoomCallbackUnsafe"), warning("risky", "MetaStudioLiveJobFailed"),
		warning("cn-north-4_found", "MetaStudioLiveDurationUnlimited"), warning("cn-north-4_found", "MetaStudioInterruptionNotifyDisabled"),
		"cn-north-4_found | MetaStudioEventCallbackMissing | INFO | " + blue + " | " + blueBack,
	}
	if got := strings.Join(findings, "\n"); got != strings.Join(wantFindings, "\n") {
		t.Errorf("findings as shown:\n%s\nwant:\n%s", got, strings.Join(wantFindings, "\n"))
	}
	colours := browse(t, ctx, chromedp.Evaluate[[]string](`[
		document.querySelector("#findings-shop td:nth-child(2) span").innerText, getComputedStyle(document.querySelector("#findings-shop td:nth-child(2) span")).color,
		getComputedStyle(document.querySelector("a[href='#findings-risky']")).color]`))
	if want := []string{"no findings", green, red}; !slices.Equal(colours, want) {
		t.Errorf("shop's no findings and risky's summary: %q, want %q", colours, want)
	}
	// An unsafe room's callback reads amber, a safe one's green.
	cells := browse(t, ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#rooms + table tr td:last-child")).map(td =>
		td.innerText + " | " + getComputedStyle(td).color)`))
	if want := []string{"MSS_A_HEAD, over https | " + green, "NONE, over http, no credentials in the URL | " + amber}; !slices.Equal(cells, want) {
		t.Errorf("the rooms' own callbacks as shown: %q, want %q", cells, want)
	}
	wantBuild := "version dev, "
	if rev := version.GetRevision(); rev != "unknown" {
		wantBuild += "revision " + rev + ", "
	}
	wantBuild += runtime.Version() + " · page built "
	if build := browse(t, ctx, chromedp.Evaluate[string](`document.querySelector("#build").innerText`)); !strings.HasPrefix(build, wantBuild) {
		t.Errorf("version line %q, want it to start %q", build, wantBuild)
	}
	if strings.Contains(text, "reload failed") || strings.Contains(text, "branch") {
		t.Errorf("the page shows a reload failure or an empty branch:\n%s", text)
	}

	// A reload that fails puts its error at the top of the page, in red.
	writeFile(t, dir, "metastudio.yml", "tenants:\n  - {name: shop, projectid: p-shop}\n")
	code, body := e.do(t, http.MethodPost, "/-/reload", nil)
	reloadErr, ok := strings.CutPrefix(strings.TrimSpace(body), "failed to reload config, the previous config is still in use:\n")
	if code != http.StatusInternalServerError || !ok || !strings.Contains(reloadErr, cfg+":2: tenants[0].projectid: unknown key") {
		t.Fatalf("POST /-/reload of a bad file: %d %s", code, body)
	}
	_, text = loadStatusPage(t, ctx, e.url, secrets)
	banner := browse(t, ctx, chromedp.Evaluate[[]string](`(() => { const b = document.querySelector("main").firstElementChild;
		return [b.id, b.innerText, getComputedStyle(b).borderLeftColor, String(b.getBoundingClientRect().top < 200)]; })()`))
	wantText := "The last config reload failed AGE ago (DATE): the exporter keeps serving the config it loaded before. Fix the file and reload again (SIGHUP or POST /-/reload).\n" +
		reloadErr
	if len(banner) != 4 {
		t.Fatalf("banner: %q", banner)
	}
	if got := ageRE.ReplaceAllString(dateRE.ReplaceAllString(banner[1], "DATE"), "AGE ago"); banner[0] != "reload-failed" || got != wantText || banner[2] != red || banner[3] != "true" {
		t.Errorf("the top of the page: %q, text:\n%s\nwant #reload-failed at the top, in red, saying:\n%s", banner, got, wantText)
	}
	if !strings.Contains(text, "Tenants: 3 of 4 up") {
		t.Error("after the failed reload the page does not show the tenants still served")
	}
}

// loadStatusPage loads / in the browser and returns what a person reads:
// each table row's cells as rendered (ages and dates made fixed), and the
// page's text; no secret may be in it, nor in its markup. It leaves a
// screenshot behind.
func loadStatusPage(t *testing.T, ctx context.Context, base string, secrets []string) ([]string, string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible("#tenants")); err != nil {
		t.Fatal(err)
	}
	rows := browse(t, ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("tr")).map(r => Array.from(r.cells).map(c => c.innerText.replace(/\s+/g, " ").trim()).join(" | "))`))
	for i, r := range rows { // ages depend on the machine's speed
		rows[i] = strings.Join(strings.Fields(ageRE.ReplaceAllString(dateRE.ReplaceAllString(r, "DATE"), "AGE ago")), " ")
	}
	text := browse(t, ctx, chromedp.Text("body"))
	html := browse(t, ctx, chromedp.OuterHTML("html"))
	shot := browse(t, ctx, chromedp.FullScreenshot(100))
	path := filepath.Join(t.ArtifactDir(), "status-page.png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
	for _, secret := range secrets {
		if strings.Contains(html, secret) || strings.Contains(text, secret) {
			t.Errorf("the page shows the secret %q", secret)
		}
	}
	if t.Failed() {
		t.Logf("rows:\n%s", strings.Join(rows, "\n"))
	}
	return rows, text
}

var dateRE = regexp.MustCompile(`\b\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ`)

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
