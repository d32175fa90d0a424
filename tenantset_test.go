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
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/metastudio-exporter/metastudio_exporter/metastudio/simulator"
)

// TestFirstListingFailsThenSucceeds: an IAM failure at start neither
// empties the exporter nor wipes its memory. The file's tenants are served,
// the replica is not ready, the streams read from the state file for the
// discovered tenants are kept; the listing is retried (after 10 s) and
// once it succeeds the set is whole.
func TestFirstListingFailsThenSucceeds(t *testing.T) {
	body := []byte(`{"live_exit_config":{"max_live_duration":2}}`)
	a := startRecordingSim(t,
		simulator.Tenant{ProjectID: "pstatic", AccessKey: akA, SecretKey: skA, Config: body},
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
	e := startExporter(t, "--config.file="+cfg, "--callback.listen-address=127.0.0.1:0", "--callback.state-file="+state)

	waitUntil(t, e, "the failed listing", func() bool {
		_, m := e.get(t, "/metrics?collect[]=exporter")
		return strings.Contains(m, `metastudio_exporter_discovery_errors_total{source="0"} 1`+"\n")
	})
	if code, body := e.get(t, "/-/ready"); code != http.StatusServiceUnavailable || body != "Project discovery has not listed the projects yet\n" {
		t.Fatalf("/-/ready after a failed first listing: %d %q", code, body)
	}
	wantTenants(t, "/sd", e.sdTenants(t), "static")
	if _, metrics := e.get(t, "/metrics"); !strings.Contains(metrics, `metastudio_up{tenant="static"} 1`+"\n") ||
		!strings.Contains(metrics, `metastudio_exporter_discovery_last_success_timestamp_seconds{source="0"} 0`+"\n") {
		t.Fatalf("/metrics while the listing fails:\n%s", metrics)
	}
	if logs := e.logs.String(); !strings.Contains(logs, `reason=forbidden status=403`) || !strings.Contains(logs, "retry_in=10s") {
		t.Fatalf("the failure does not say why or when it is retried:\n%s", logs)
	}
	wantStateStays(t, state, "cn-north-4_shop1", "static")

	a.sim.SetProjectsFault(simulator.Fault{})
	waitUntil(t, e, "readiness after IAM came back", func() bool { return e.ready(t) })
	wantTenants(t, "/sd", e.sdTenants(t), "cn-north-4_shop1", "static")
	_, streams := e.get(t, "/metrics?collect[]=streams")
	if !strings.Contains(streams, `tenant="cn-north-4_shop1"`) {
		t.Fatalf("the kept stream is not exposed once its tenant is served:\n%s", streams)
	}
	wantStateStays(t, state, "cn-north-4_shop1", "static")
	a.wantOnlyAccount(t, akA, "pstatic", "pshop1")
}

// TestReloadNeverServesAnotherAccountsProjects: a reload that removes,
// reorders and changes discovery entries never has a project called with
// another entry's credentials or at its endpoint, not even until the next
// listing; an unchanged entry does not list again.
func TestReloadNeverServesAnotherAccountsProjects(t *testing.T) {
	body := []byte(`{"live_exit_config":{"max_live_duration":2}}`)
	a := startRecordingSim(t,
		simulator.Tenant{ProjectID: "pstatica", AccessKey: akA, SecretKey: skA, Config: body},
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
	e := startExporter(t, "--config.file="+cfg, "--callback.listen-address=127.0.0.1:0", "--callback.state-file="+state)
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
	// From here every listing takes a while: what is served meanwhile is
	// what a reload installed in its one step.
	a.sim.SetProjectsFault(simulator.Fault{Latency: 1500 * time.Millisecond})
	b.sim.SetProjectsFault(simulator.Fault{Latency: 1500 * time.Millisecond})
	listingsB := b.sim.ProjectListCalls()

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
	if n := b.sim.ProjectListCalls(); n != listingsB {
		t.Errorf("the unchanged entry listed %d times on reload", n-listingsB)
	}

	// Entry B changed (a prefix) and entry A back behind it: both list;
	// until then neither serves anything, the replica is not ready, and no
	// stream is dropped for being unlisted.
	a.sim.SetProjectsFault(simulator.Fault{Latency: 3 * time.Second})
	b.sim.SetProjectsFault(simulator.Fault{Latency: 3 * time.Second})
	writeFile(t, dir, "metastudio.yml", config(entryB("name_prefix: b-, "), entryA))
	reload()
	reloaded := time.Now()
	wantTenants(t, "/sd", e.sdTenants(t), "static-a")
	if code, _ := e.get(t, "/-/ready"); code != http.StatusServiceUnavailable {
		t.Errorf("/-/ready before the changed entries listed: %d", code)
	}
	e.get(t, "/metrics")
	time.Sleep(time.Until(reloaded.Add(1500 * time.Millisecond))) // past a state file write
	if got := stateTenants(t, state); !slices.Equal(got, []string{"cn-north-4_b1", "static-a"}) {
		t.Errorf("before the changed entry listed, the state file holds streams of %q", got)
	}
	waitUntil(t, e, "readiness after the changed entries listed", func() bool { return e.ready(t) })
	wantTenants(t, "/sd", e.sdTenants(t), "b-cn-north-4_b1", "cn-north-4_a1", "static-a")
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
	const key = "inflight-SECRET-key"
	userConfig := func(tenant string) []byte {
		return []byte(`{"live_event_callback_config":{"live_event_type_callback_url":"https://mon.example.com/callback/` + tenant +
			`","auth_type":"MSS_A","key":"` + key + `","callback_event_type":["RTMP_STREAM_STATE_CHANGE"]}}`)
	}
	a := startRecordingSim(t,
		simulator.Tenant{ProjectID: "pkeep", AccessKey: akA, SecretKey: skA, Config: userConfig("keep")},
		simulator.Tenant{ProjectID: "pgone", AccessKey: akA, SecretKey: skA, Config: userConfig("gone")})
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
	callbackAddr := freeAddress(t)
	e := startExporter(t, "--config.file="+cfg, "--callback.listen-address="+callbackAddr, "--callback.state-file="+state)
	waitUntil(t, e, "readiness", func() bool { return e.ready(t) })

	a.sim.SetFault("pgone", simulator.Fault{Latency: 1500 * time.Millisecond})
	var inFlight sync.WaitGroup
	var scrape string
	var delivered simulator.Delivery
	inFlight.Go(func() { _, scrape = e.get(t, "/metrics") })
	inFlight.Go(func() {
		sender := &simulator.Sender{Origin: "http://" + callbackAddr}
		cb := simulator.Callback{URL: "https://mon.example.com/callback/gone", AuthType: "MSS_A", Key: key}
		d, err := sender.Send(context.Background(), cb, simulator.RTMPStreamStateChange{
			RoomID: "room2", JobID: "job2", OutputURL: "rtmp://push.example.com/live", State: "CONNECTED"})
		if err != nil {
			t.Error(err)
		}
		delivered = d
	})
	deadline := time.Now().Add(10 * time.Second)
	for a.userConfigCalls("pgone") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no call for the tenant within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // the callback joins the call, 1.2 s from its answer
	writeFile(t, dir, "metastudio.yml", config("keep"))
	if code, body := e.do(t, http.MethodPost, "/-/reload", nil); code != http.StatusOK {
		t.Fatalf("reload: %d %s", code, body)
	}
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
	wantStateStays(t, state, "keep")
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
		addr := freeAddress(t)
		ctx, cancel := context.WithCancel(context.Background())
		exited := make(chan int, 1)
		logs := &syncBuffer{}
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
		reloading.Go(func() {
			for i := 0; ; i++ {
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
		time.Sleep(time.Duration(50+round*40) * time.Millisecond)
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
