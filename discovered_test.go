package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/metastudio/simulator"
)

// TestDiscoveredTenantsServed: projects found in IAM are served as tenants
// on /metrics, /probe, /sd and /config beside the file's; a file tenant of
// the same name wins, and a reload keeps discovery going.
func TestDiscoveredTenantsServed(t *testing.T) {
	const ak, sk = "AKFLEET000000000001", "fleet-SECRET-sk"
	body := []byte(`{"live_exit_config":{"max_live_duration":2}}`)
	sim, err := simulator.Start(simulator.Options{},
		simulator.Tenant{ProjectID: "p-static", AccessKey: ak, SecretKey: sk, Config: body},
		simulator.Tenant{ProjectID: "p-shop1", ProjectName: "cn-north-4_shop1", AccessKey: ak, SecretKey: sk, Config: body},
		simulator.Tenant{ProjectID: "p-shop2", ProjectName: "cn-north-4_shop2", AccessKey: ak, SecretKey: sk, Config: body},
		simulator.Tenant{ProjectID: "p-abroad", ProjectName: "ap-southeast-1_shop3", AccessKey: ak, SecretKey: sk, Config: body})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	dir := t.TempDir()
	writeFile(t, dir, "sk", sk+"\n")
	configFor := func(staticName, prefix string) string {
		return fmt.Sprintf(`defaults: {credentials: sim}
credentials:
  sim: {access_key: %s, secret_key_file: sk}
tenants:
  - {name: %s, project_id: p-static, endpoint: %q}
discovery:
  - {iam_endpoint: %q, endpoint: %q, regions: [cn-north-4], name_prefix: %s}
`, ak, staticName, sim.URL, sim.URL, sim.URL, prefix)
	}
	path := writeFile(t, dir, "metastudio.yml", configFor("static", "d-"))
	e := startExporter(t, "--config.file="+path)

	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("%s did not happen within 10s; log:\n%s", what, e.logs)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitFor("discovery", func() bool {
		_, sd := e.get(t, "/sd")
		return strings.Contains(sd, `"d-cn-north-4_shop2"`)
	})

	_, sd := e.get(t, "/sd")
	for _, want := range []string{`"__param_tenant":"static"`, `"__param_tenant":"d-cn-north-4_shop1"`, `"__meta_metastudio_region":"cn-north-4"`} {
		if !strings.Contains(sd, want) {
			t.Errorf("/sd lacks %s:\n%s", want, sd)
		}
	}
	if strings.Contains(sd, "shop3") {
		t.Errorf("/sd serves a project of a region the entry does not list:\n%s", sd)
	}
	_, metrics := e.get(t, "/metrics")
	for _, want := range []string{
		`metastudio_up{tenant="static"} 1`,
		`metastudio_up{tenant="d-cn-north-4_shop1"} 1`,
		`metastudio_up{tenant="d-cn-north-4_shop2"} 1`,
		`metastudio_tenant_info{project_id="p-shop1",region="cn-north-4",tenant="d-cn-north-4_shop1"} 1`,
		`metastudio_exporter_discovery_tenants{source="0"} 2`,
		`metastudio_exporter_discovery_errors_total{source="0"} 0`,
	} {
		if !strings.Contains(metrics, want+"\n") {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if code, probe := e.get(t, "/probe?tenant=d-cn-north-4_shop2"); code != 200 || !strings.Contains(probe, `metastudio_live_max_duration_seconds{tenant="d-cn-north-4_shop2"} 7200`) {
		t.Errorf("/probe of a discovered tenant: %d\n%s", code, probe)
	}
	_, cfg := e.get(t, "/config")
	if !strings.Contains(cfg, "name: d-cn-north-4_shop1\n") || !strings.Contains(cfg, "discovered_by: 0\n") {
		t.Errorf("/config does not show the discovered tenants:\n%s", cfg)
	}
	if strings.Contains(cfg+metrics+sd+e.logs.String(), sk) {
		t.Error("the secret key reached an answer or the log")
	}

	// The file now holds a tenant of a discovered name: the file's wins and
	// discovery no longer counts it.
	if err := os.WriteFile(filepath.Join(dir, "metastudio.yml"), []byte(configFor("d-cn-north-4_shop1", "d-")), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, body := e.do(t, "POST", "/-/reload", nil); code != 200 {
		t.Fatalf("reload: %d %s", code, body)
	}
	waitFor("the static tenant to win", func() bool {
		_, m := e.get(t, "/metrics?collect[]=exporter")
		return strings.Contains(m, `metastudio_exporter_discovery_tenants{source="0"} 1`+"\n")
	})
	_, probe := e.get(t, "/probe?tenant=d-cn-north-4_shop1")
	if !strings.Contains(probe, `metastudio_tenant_info{project_id="p-static",region="cn-north-4",tenant="d-cn-north-4_shop1"} 1`) {
		t.Errorf("the clashing name is not the file's tenant:\n%s", probe)
	}
	_, sd = e.get(t, "/sd")
	if n := strings.Count(sd, `"__param_tenant":"d-cn-north-4_shop1"`); n != 1 {
		t.Errorf("/sd lists the clashing name %d times:\n%s", n, sd)
	}

	// A changed entry is listed again at once: its new names replace the
	// old ones.
	if err := os.WriteFile(filepath.Join(dir, "metastudio.yml"), []byte(configFor("static", "e-")), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, body := e.do(t, "POST", "/-/reload", nil); code != 200 {
		t.Fatalf("reload: %d %s", code, body)
	}
	waitFor("the renamed tenants", func() bool {
		_, sd := e.get(t, "/sd")
		return strings.Contains(sd, `"e-cn-north-4_shop1"`) && strings.Contains(sd, `"e-cn-north-4_shop2"`) && !strings.Contains(sd, `"d-cn-north-4_shop2"`)
	})
	_, metrics = e.get(t, "/metrics")
	if strings.Contains(metrics, `tenant="d-cn-north-4_shop2"`) || !strings.Contains(metrics, `metastudio_up{tenant="e-cn-north-4_shop2"} 1`+"\n") {
		t.Errorf("after the rename /metrics serves the old name or not the new one:\n%s", metrics)
	}
}

// TestReadyWaitsForDiscovery: a replica is not ready until discovery has
// listed the projects once, so that it never serves a partial tenant set.
func TestReadyWaitsForDiscovery(t *testing.T) {
	const ak, sk = "AKREADY000000000001", "ready-SECRET-sk"
	sim, err := simulator.Start(simulator.Options{},
		simulator.Tenant{ProjectID: "p-shop", ProjectName: "cn-north-4_shop", AccessKey: ak, SecretKey: sk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	sim.Server.SetProjectsFault(simulator.Fault{Latency: 700 * time.Millisecond})
	path := writeFile(t, t.TempDir(), "metastudio.yml", fmt.Sprintf(`credentials:
  sim: {access_key: %s, secret_key: %s}
discovery:
  - {credentials: sim, iam_endpoint: %q, endpoint: %q, regions: [cn-north-4]}
`, ak, sk, sim.URL, sim.URL))
	e := startExporter(t, "--config.file="+path)
	if code, body := e.get(t, "/-/ready"); code != 503 || body != "Project discovery has not listed the projects yet\n" {
		t.Errorf("/-/ready before the first listing: %d %q", code, body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, _ := e.get(t, "/-/ready")
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready 10s after start:\n%s", e.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, sd := e.get(t, "/sd"); !strings.Contains(sd, `"__param_tenant":"cn-north-4_shop"`) {
		t.Errorf("ready, but /sd lacks the discovered tenant:\n%s", sd)
	}
}
