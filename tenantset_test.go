// The seam tests: the whole program, with discovery, reloads and the
// receiver meeting in the tenant set. Each asserts what is served, the
// readiness, and what the state file holds.

package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/metastudio-exporter/metastudio_exporter/internal/lockedbuffer"
	"github.com/metastudio-exporter/metastudio_exporter/internal/loopback"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio/simulator"
)

// TestFirstListingFailsThenSucceeds: an IAM failure at start neither
// empties the exporter nor wipes its memory. The file's tenants are served,
// the replica is not ready, the streams read from the state file for the
// discovered tenants are kept; the listing is retried (after
// --discovery.retry-base, 10 s unless a test shortens it) and once it
// succeeds the set is whole.
func TestFirstListingFailsThenSucceeds(t *testing.T) {
	body := []byte(`{"live_exit_config":{"max_live_duration":2}}`)
	a := startRecordingSim(t,
		simulator.Tenant{ProjectID: "pstatic", AccessKey: akA, SecretKey: skA, Config: signedCallbackConfig("static")},
		simulator.Tenant{ProjectID: "pshop1", ProjectName: "cn-north-4_shop1", AccessKey: akA, SecretKey: skA, Config: body})
	a.sim.SetProjectsFault(simulator.Fault{Status: 403})
	dir := t.TempDir()
	state := filepath.Join(dir, "streams.json")
	seedState(t, state, "cn-north-4_shop1", "static")
	cfg := writeFile(t, dir, "metastudio.yml", fmt.Sprintf(`credentials:
  a: {access_key: %s, secret_key: %s}
tenants:
  - {name: static, project_id: pstatic, endpoint: %q, credentials: a}
discovery:
  - {credentials: a, iam_endpoint: %q, endpoint: %q, regions: [cn-north-4]}
`, akA, skA, a.URL, a.URL, a.URL))
	callbackAddr := loopback.FreeAddress(t)
	e := startExporter(t, "--config.file="+cfg, "--callback.listen-address="+callbackAddr, "--callback.state-file="+state,
		"--discovery.retry-base=100ms")
	static := &liveEvents{receiver: callbackAddr, tenant: "static"}

	// The retries come 100 ms apart and more: one failure or several.
	failures := regexp.MustCompile(`(?m)^metastudio_exporter_discovery_errors_total\{source="0"\} [1-9]\d*$`)
	waitUntil(t, e, "the failed listing", func() bool {
		_, m := e.get(t, "/metrics?collect[]=exporter")
		return failures.MatchString(m)
	})
	if code, body := e.get(t, "/-/ready"); code != http.StatusServiceUnavailable || body != "Project discovery has not listed the projects yet\n" {
		t.Fatalf("/-/ready after a failed first listing: %d %q", code, body)
	}
	wantTenants(t, "/sd", e.sdTenants(t), "static")
	if _, metrics := e.get(t, "/metrics"); !strings.Contains(metrics, `metastudio_up{tenant="static"} 1`+"\n") ||
		!strings.Contains(metrics, `metastudio_exporter_discovery_last_success_timestamp_seconds{source="0"} 0`+"\n") {
		t.Fatalf("/metrics while the listing fails:\n%s", metrics)
	}
	if logs := e.logs.String(); !strings.Contains(logs, `reason=forbidden status=403`) || !strings.Contains(logs, "retry_in=100ms") {
		t.Fatalf("the failure does not say why or when it is retried:\n%s", logs)
	}
	wantStateKept(t, state, static, "cn-north-4_shop1", "static")

	a.sim.SetProjectsFault(simulator.Fault{})
	// The set's metrics are read under the lock its subscribers are told
	// under: once they show the success, the receiver has followed it.
	listed := regexp.MustCompile(`(?m)^metastudio_exporter_discovery_last_success_timestamp_seconds\{source="0"\} [1-9]`)
	waitUntil(t, e, "the listing after IAM came back", func() bool {
		_, m := e.get(t, "/metrics?collect[]=exporter")
		return listed.MatchString(m)
	})
	if !e.ready(t) {
		t.Fatal("not ready after the entry listed")
	}
	wantTenants(t, "/sd", e.sdTenants(t), "cn-north-4_shop1", "static")
	// The kept stream is exposed now that its tenant is served, and the
	// success dropped no stream from the table the state file is written
	// from.
	_, streams := e.get(t, "/metrics?collect[]=streams")
	for _, tenant := range []string{"cn-north-4_shop1", "static"} {
		if !strings.Contains(streams, `room_id="room",state="CONNECTED",tenant="`+tenant+`"} 1`) {
			t.Errorf("the stream of %s read from the state file is not exposed once the entry listed:\n%s", tenant, streams)
		}
	}
	a.wantOnlyAccount(t, akA, "pstatic", "pshop1")
}

// TestReloadNeverServesAnotherAccountsProjects: a reload that removes,
// reorders and changes discovery entries never has a project called with
// another entry's credentials or at its endpoint, not even until the next
// listing; an unchanged entry does not list again.
func TestReloadNeverServesAnotherAccountsProjects(t *testing.T) {
	body := []byte(`{"live_exit_config":{"max_live_duration":2}}`)
	a := startRecordingSim(t,
		simulator.Tenant{ProjectID: "pstatica", AccessKey: akA, SecretKey: skA, Config: signedCallbackConfig("static-a")},
		simulator.Tenant{ProjectID: "pa1", ProjectName: "cn-north-4_a1", AccessKey: akA, SecretKey: skA, Config: body})
	b := startRecordingSim(t,
		simulator.Tenant{ProjectID: "pb1", ProjectName: "cn-north-4_b1", AccessKey: akB, SecretKey: skB, Config: body})
	dir := t.TempDir()
	state := filepath.Join(dir, "streams.json")
	seedState(t, state, "cn-north-4_a1", "cn-north-4_b1", "gone", "static-a")
	entryA := fmt.Sprintf("  - {credentials: a, iam_endpoint: %q, endpoint: %q, regions: [cn-north-4]}\n", a.URL, a.URL)
	entryB := func(extra string) string {
		return fmt.Sprintf("  - {%scredentials: b, iam_endpoint: %q, endpoint: %q, regions: [cn-north-4]}\n", extra, b.URL, b.URL)
	}
	config := func(entries ...string) string {
		return fmt.Sprintf(`credentials:
  a: {access_key: %s, secret_key: %s}
  b: {access_key: %s, secret_key: %s}
tenants:
  - {name: static-a, project_id: pstatica, endpoint: %q, credentials: a}
discovery:
`, akA, skA, akB, skB, a.URL) + strings.Join(entries, "")
	}
	cfg := writeFile(t, dir, "metastudio.yml", config(entryA, entryB("")))
	callbackAddr := loopback.FreeAddress(t)
	e := startExporter(t, "--config.file="+cfg, "--callback.listen-address="+callbackAddr, "--callback.state-file="+state)
	staticA := &liveEvents{receiver: callbackAddr, tenant: "static-a"}
	waitUntil(t, e, "readiness", func() bool { return e.ready(t) })
	wantTenants(t, "/sd", e.sdTenants(t), "cn-north-4_a1", "cn-north-4_b1", "static-a")
	e.get(t, "/metrics")
	wantState(t, state, "cn-north-4_a1", "cn-north-4_b1", "static-a") // "gone" is no tenant
	reload := func() {
		t.Helper()
		if code, body := e.do(t, http.MethodPost, "/-/reload", nil); code != http.StatusOK {
			t.Fatalf("reload: %d %s", code, body)
		}
	}
	// From here every listing waits until the test lets it answer: what
	// is served meanwhile is what a reload installed in its one step.
	releaseA := a.hold(t, projectListPath)
	releaseB := b.hold(t, projectListPath)
	listingsB := b.callsUnder(projectListPath)

	// Entry A removed, entry B moved to index 0, unchanged.
	writeFile(t, dir, "metastudio.yml", config(entryB("")))
	reload()
	wantTenants(t, "/sd", e.sdTenants(t), "cn-north-4_b1", "static-a")
	_, metrics := e.get(t, "/metrics")
	for _, want := range []string{`metastudio_up{tenant="cn-north-4_b1"} 1`, `metastudio_up{tenant="static-a"} 1`,
		`metastudio_exporter_discovery_tenants{source="0"} 1`} {
		if !strings.Contains(metrics, want+"\n") {
			t.Errorf("/metrics after the reload lacks %s", want)
		}
	}
	if strings.Contains(metrics, "cn-north-4_a1") || strings.Contains(metrics, `source="1"`) {
		t.Errorf("/metrics after the reload still serves the removed entry:\n%s", metrics)
	}
	if !e.ready(t) {
		t.Error("a reload that changed no surviving entry made the replica unready")
	}
	wantState(t, state, "cn-north-4_b1", "static-a")
	if n := b.callsUnder(projectListPath); n != listingsB {
		t.Errorf("the unchanged entry listed %d times on reload", n-listingsB)
	}

	// Entry B changed (a prefix) and entry A back behind it: both list.
	// Until then B serves its previous version's list, with B's
	// credentials at B's endpoint; A, new, serves nothing, so the replica
	// is not ready, and no stream is dropped for being unlisted.
	listingsA := a.callsUnder(projectListPath)
	writeFile(t, dir, "metastudio.yml", config(entryB("name_prefix: b-, "), entryA))
	reload()
	a.waitCalls(t, projectListPath, listingsA+1)
	b.waitCalls(t, projectListPath, listingsB+1)
	wantTenants(t, "/sd", e.sdTenants(t), "cn-north-4_b1", "static-a")
	if code, _ := e.get(t, "/-/ready"); code != http.StatusServiceUnavailable {
		t.Errorf("/-/ready before the changed entries listed: %d", code)
	}
	e.get(t, "/metrics")
	wantStateKept(t, state, staticA, "cn-north-4_b1", "static-a")
	releaseA()
	releaseB()
	// B's list goes from the old version's to the new one's in one step:
	// /sd serves one of them whenever it is asked.
	waitUntil(t, e, "the changed entries' lists", func() bool {
		sd := e.sdTenants(t)
		if !slices.Contains(sd, "cn-north-4_b1") && !slices.Contains(sd, "b-cn-north-4_b1") {
			t.Errorf("/sd serves neither version of entry B's list: %q", sd)
		}
		return slices.Equal(sd, []string{"b-cn-north-4_b1", "cn-north-4_a1", "static-a"})
	})
	if !e.ready(t) {
		t.Error("not ready after the changed entries listed")
	}
	_, metrics = e.get(t, "/metrics")
	for _, want := range []string{`metastudio_up{tenant="b-cn-north-4_b1"} 1`, `metastudio_up{tenant="cn-north-4_a1"} 1`,
		`metastudio_exporter_discovery_tenants{source="0"} 1`, `metastudio_exporter_discovery_tenants{source="1"} 1`} {
		if !strings.Contains(metrics, want+"\n") {
			t.Errorf("/metrics after the second reload lacks %s", want)
		}
	}
	// The renamed tenant's stream goes once its entry has listed.
	wantState(t, state, "static-a")

	a.wantOnlyAccount(t, akA, "pstatica", "pa1")
	b.wantOnlyAccount(t, akB, "pb1")
	if a.userConfigCalls("pa1") == 0 || b.userConfigCalls("pb1") == 0 {
		t.Fatal("the test did not scrape what it checks")
	}
}

// TestTenantRemovedWhileInFlight: a reload removes a tenant while a scrape
// of it and a callback for it wait on its slow API. Both finish; after them
// nothing of the tenant is served or kept: no series, no request counter,
// no stream in the state file.
func TestTenantRemovedWhileInFlight(t *testing.T) {
	a := startRecordingSim(t,
		simulator.Tenant{ProjectID: "pkeep", AccessKey: akA, SecretKey: skA, Config: signedCallbackConfig("keep")},
		simulator.Tenant{ProjectID: "pgone", AccessKey: akA, SecretKey: skA, Config: signedCallbackConfig("gone")})
	dir := t.TempDir()
	state := filepath.Join(dir, "streams.json")
	seedState(t, state, "gone", "keep")
	config := func(names ...string) string {
		s := fmt.Sprintf("credentials:\n  a: {access_key: %s, secret_key: %s}\ntenants:\n", akA, skA)
		for _, n := range names {
			s += fmt.Sprintf("  - {name: %s, project_id: p%s, endpoint: %q, credentials: a}\n", n, n, a.URL)
		}
		return s
	}
	cfg := writeFile(t, dir, "metastudio.yml", config("keep", "gone"))
	callbackAddr := loopback.FreeAddress(t)
	e := startExporter(t, "--config.file="+cfg, "--callback.listen-address="+callbackAddr, "--callback.state-file="+state)
	waitUntil(t, e, "readiness", func() bool { return e.ready(t) })

	// The tenant's API answers only once the reload is done. The callback
	// comes first: its lookup of the tenant's settings is the tenant's
	// first call, so that call's arrival says the callback got past the
	// tenant check and waits. The scrape's call for the other tenant says
	// the scrape took the set with both tenants; for this one it waits on
	// the call in flight, whether it joins it or makes its own.
	release := a.hold(t, "/v1/pgone/")
	var inFlight sync.WaitGroup
	var scrape string
	var delivered simulator.Delivery
	inFlight.Go(func() {
		sender := &simulator.Sender{Origin: "http://" + callbackAddr}
		cb := simulator.Callback{URL: "https://mon.example.com/callback/gone", AuthType: "MSS_A", Key: callbackKey}
		d, err := sender.Send(context.Background(), cb, simulator.RTMPStreamStateChange{
			RoomID: "room2", JobID: "job2", OutputURL: "rtmp://push.example.com/live", State: "CONNECTED"})
		if err != nil {
			t.Error(err)
		}
		delivered = d
	})
	a.waitCalls(t, "/v1/pgone/", 1)
	keepCalls := a.userConfigCalls("pkeep")
	inFlight.Go(func() { _, scrape = e.get(t, "/metrics") })
	a.waitCalls(t, "/v1/pkeep/", keepCalls+1)
	writeFile(t, dir, "metastudio.yml", config("keep"))
	if code, body := e.do(t, http.MethodPost, "/-/reload", nil); code != http.StatusOK {
		t.Fatalf("reload: %d %s", code, body)
	}
	release()
	inFlight.Wait()
	if !strings.Contains(scrape, `metastudio_up{tenant="keep"} 1`+"\n") {
		t.Errorf("the scrape in flight lost the tenant that stays:\n%s", scrape)
	}

	wantTenants(t, "/sd", e.sdTenants(t), "keep")
	if !e.ready(t) {
		t.Error("not ready after the reload")
	}
	_, metrics := e.get(t, "/metrics")
	if !strings.Contains(metrics, `metastudio_up{tenant="keep"} 1`+"\n") {
		t.Errorf("/metrics lacks the tenant that stays")
	}
	// The scrape side: the calls that finished after the reload bring
	// back no series and no request counter.
	for line := range strings.Lines(grepLines(metrics, `tenant="gone"`)) {
		if !strings.HasPrefix(line, "metastudio_live_") && !strings.HasPrefix(line, "metastudio_exporter_callback_") {
			t.Errorf("/metrics serves the removed tenant after its call finished: %s", line)
		}
	}
	// The receiver side: the callback's event, verified before the reload,
	// is recorded only if the set still serves its tenant
	// (SettingsSource.Serves), so it leaves no stream and no counter.
	if delivered.Status != http.StatusNotFound || !strings.HasPrefix(delivered.Body, `{"result":"unknown_tenant",`) {
		t.Errorf("the callback in flight was answered %d %q, want 404 unknown_tenant", delivered.Status, delivered.Body)
	}
	if strings.Contains(metrics, `tenant="gone"`) {
		t.Errorf("/metrics serves the removed tenant after its callback finished:\n%s", grepLines(metrics, `tenant="gone"`))
	}
	wantStateKept(t, state, &liveEvents{receiver: callbackAddr, tenant: "keep"}, "keep")
}

// TestListingThatMatchesNothingWarns: an entry whose filters keep nothing
// says so, naming the filters; it listed, so the replica is ready.
func TestListingThatMatchesNothingWarns(t *testing.T) {
	a := startRecordingSim(t, simulator.Tenant{ProjectID: "pshop", ProjectName: "cn-east-3_shop", AccessKey: akA, SecretKey: skA})
	cfg := writeFile(t, t.TempDir(), "metastudio.yml", fmt.Sprintf(`credentials:
  a: {access_key: %s, secret_key: %s}
discovery:
  - {credentials: a, iam_endpoint: %q, endpoint: %q, regions: [cn-north-4], name_prefix: d-}
`, akA, skA, a.URL, a.URL))
	e := startExporter(t, "--config.file="+cfg)
	waitUntil(t, e, "readiness", func() bool { return e.ready(t) })
	for _, want := range []string{
		`level=info msg="Listed projects" source=0 credentials=a listed=1 enabled=1 matched=0 served=0`,
		`level=warn msg="Discovery entry matched no project: check its filters" source=0 credentials=a regions=cn-north-4 name_regex=.* name_prefix=d- listed=1 enabled=1`,
	} {
		if !strings.Contains(e.logs.String(), want+"\n") {
			t.Errorf("the log lacks %s:\n%s", want, e.logs)
		}
	}
}

// TestReloadDuringShutdown: reloads that race the stop (SIGHUP and POST
// /-/reload, each with entries that changed) start nothing: once run
// returns, no goroutine is left.
func TestReloadDuringShutdown(t *testing.T) {
	a := startRecordingSim(t, simulator.Tenant{ProjectID: "pshop", ProjectName: "cn-north-4_shop", AccessKey: akA, SecretKey: skA})
	a.sim.SetProjectsFault(simulator.Fault{Latency: 200 * time.Millisecond})
	// A SIGHUP that lands after the exporter stopped listening for it must
	// not meet the default action, which is to exit.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	dir := t.TempDir()
	config := func(prefix string) string {
		return fmt.Sprintf(`credentials:
  a: {access_key: %s, secret_key: %s}
discovery:
  - {credentials: a, iam_endpoint: %q, endpoint: %q, regions: [cn-north-4], name_prefix: %s}
`, akA, skA, a.URL, a.URL, prefix)
	}
	cfg := writeFile(t, dir, "metastudio.yml", config("p0-"))
	for round := range 5 {
		ignore := goleak.IgnoreCurrent()
		addr := loopback.FreeAddress(t)
		ctx, cancel := context.WithCancel(context.Background())
		exited := make(chan int, 1)
		logs := &lockedbuffer.Buffer{}
		go func() {
			exited <- run(ctx, []string{"--config.file=" + cfg, "--web.listen-address=" + addr}, io.Discard, logs)
		}()
		e := &exporter{url: "http://" + addr, logs: logs}
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		waitUntil(t, e, "serving", func() bool {
			resp, err := client.Get(e.url + "/-/healthy")
			if err == nil {
				resp.Body.Close()
			}
			return err == nil
		})
		var reloading sync.WaitGroup
		stop := make(chan struct{})
		// The stop lands after a few reloads, more each round, while
		// others follow and the listings they started are in flight.
		underway := make(chan struct{})
		reloading.Go(func() {
			for i := 0; ; i++ {
				if i == 2*round+1 {
					close(underway)
				}
				select {
				case <-stop:
					return
				default:
				}
				writeFile(t, dir, "metastudio.yml", config(fmt.Sprintf("p%d-", i)))
				_ = syscall.Kill(os.Getpid(), syscall.SIGHUP)
				if resp, err := client.Post(e.url+"/-/reload", "", nil); err == nil {
					resp.Body.Close()
				}
			}
		})
		select {
		case <-underway:
		case <-time.After(30 * time.Second):
			t.Fatalf("round %d: %d reloads did not happen within 30s:\n%s", round, 2*round+1, logs)
		}
		cancel()
		select {
		case code := <-exited:
			if code != 0 {
				t.Fatalf("round %d: exit %d:\n%s", round, code, logs)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: the exporter did not stop within 10s", round)
		}
		close(stop)
		reloading.Wait()
		// The exporter's idle connections to IAM end with the server's end.
		a.proxy.CloseClientConnections()
		goleak.VerifyNone(t, ignore, goleak.IgnoreTopFunction("os/signal.signal_recv"))
	}
}
