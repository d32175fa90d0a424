package main

import (
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/metastudio-exporter/metastudio_exporter/internal/loopback"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio/simulator"
)

// TestReloadDuringIAMOutage: a reload that changes a discovery entry (its
// refresh_interval, 30s to 31s) while IAM fails takes nothing away: the
// tenants the entry listed before stay on /metrics and /sd, the replica
// stays ready, their callbacks are accepted and the state file keeps their
// streams. Once IAM is back, the new version's list (with a project added
// meanwhile) replaces the old.
func TestReloadDuringIAMOutage(t *testing.T) {
	a := startRecordingSim(t,
		simulator.Tenant{ProjectID: "pa1", ProjectName: "cn-north-4_a1", AccessKey: akA, SecretKey: skA, Config: signedCallbackConfig("cn-north-4_a1")})
	dir := t.TempDir()
	state := filepath.Join(dir, "streams.json")
	seedState(t, state, "cn-north-4_a1")
	config := func(refresh string) string {
		return fmt.Sprintf(`credentials:
  a: {access_key: %s, secret_key: %s}
discovery:
  - {credentials: a, iam_endpoint: %q, endpoint: %q, regions: [cn-north-4], refresh_interval: %s}
`, akA, skA, a.URL, a.URL, refresh)
	}
	cfg := writeFile(t, dir, "metastudio.yml", config("30s"))
	callbackAddr := loopback.FreeAddress(t)
	e := startExporter(t, "--config.file="+cfg, "--callback.listen-address="+callbackAddr, "--callback.state-file="+state,
		"--discovery.retry-base=100ms")
	a1 := &liveEvents{receiver: callbackAddr, tenant: "cn-north-4_a1"}
	waitUntil(t, e, "readiness", func() bool { return e.ready(t) })
	wantTenants(t, "/sd", e.sdTenants(t), "cn-north-4_a1")

	// IAM fails, a project is added meanwhile, and the entry changes.
	a.sim.SetProjectsFault(simulator.Fault{Status: 503})
	if err := a.sim.AddTenant(simulator.Tenant{ProjectID: "pa2", ProjectName: "cn-north-4_a2", AccessKey: akA, SecretKey: skA,
		Config: signedCallbackConfig("cn-north-4_a2")}); err != nil {
		t.Fatal(err)
	}
	listings := a.callsUnder(projectListPath)
	writeFile(t, dir, "metastudio.yml", config("31s"))
	if code, body := e.do(t, http.MethodPost, "/-/reload", nil); code != http.StatusOK {
		t.Fatalf("reload: %d %s", code, body)
	}
	// The new version's listing failed, and was retried.
	a.waitCalls(t, projectListPath, listings+2)
	failures := regexp.MustCompile(`(?m)^metastudio_exporter_discovery_errors_total\{source="0"\} [1-9]\d*$`)
	waitUntil(t, e, "the failed listing", func() bool {
		_, m := e.get(t, "/metrics?collect[]=exporter")
		return failures.MatchString(m)
	})
	if code, body := e.get(t, "/-/ready"); code != http.StatusOK {
		t.Errorf("/-/ready during the outage: %d %q", code, body)
	}
	wantTenants(t, "/sd", e.sdTenants(t), "cn-north-4_a1")
	_, metrics := e.get(t, "/metrics")
	for _, want := range []string{`metastudio_up{tenant="cn-north-4_a1"} 1`, `metastudio_exporter_discovery_tenants{source="0"} 1`} {
		if !strings.Contains(metrics, want+"\n") {
			t.Errorf("/metrics during the outage lacks %s", want)
		}
	}
	if strings.Contains(metrics, `metastudio_exporter_discovery_last_success_timestamp_seconds{source="0"} 0`+"\n") {
		t.Error("the entry's list is served, but its last success is gone")
	}
	// A callback is accepted (send fails the test otherwise), and the
	// state file keeps the stream read from it and the new one.
	wantStateKept(t, state, a1, "cn-north-4_a1")
	if _, rooms := readState(t, state); !slices.Contains(rooms, "room") {
		t.Errorf("the state file lost the stream it started with: rooms %q", rooms)
	}

	// IAM is back: the new version lists, and its list is served.
	a.sim.SetProjectsFault(simulator.Fault{})
	waitUntil(t, e, "the new list", func() bool { return strings.Join(e.sdTenants(t), " ") == "cn-north-4_a1 cn-north-4_a2" })
	if !e.ready(t) {
		t.Error("not ready once the entry listed")
	}
	a2 := &liveEvents{receiver: callbackAddr, tenant: "cn-north-4_a2", sent: a1.sent} // rooms of their own
	wantStateKept(t, state, a2, "cn-north-4_a1", "cn-north-4_a2")
	a.wantOnlyAccount(t, akA, "pa1", "pa2")
}
