package e2e

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/metastudio-exporter/metastudio_exporter/internal/loopback"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio/simulator"
)

// shardedExample is the Prometheus config the README's Scaling section shows.
var shardedExample = filepath.Join(examples, "prometheus", "prometheus-sharded.yml")

// exampleExporterAddr is the exporter's address in the examples.
const exampleExporterAddr = "metastudio-exporter:10036"

// TestShardedPrometheus runs the sharded example on two real Prometheus
// servers against one exporter: both discover every tenant from /sd, and each
// tenant, and the exporter's own job, is scraped by exactly one of them.
func TestShardedPrometheus(t *testing.T) {
	promBin := requireBinary(t, "prometheus", "prometheus")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	exporterBin := buildExporter(ctx, t, dir)

	const (
		n  = 12
		ak = "AKE2ESHARD0000000001"
		sk = "e2e-shard-secret-key"
	)
	var tenants []string
	simTenants := make([]simulator.Tenant, n)
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "credentials:\n  shard: {access_key: %q, secret_key: %q}\ntenants:\n", ak, sk)
	sim, err := simulator.Start(simulator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	for i := range simTenants {
		name, project := fmt.Sprintf("store-%02d", i+1), fmt.Sprintf("p-store-%02d", i+1)
		tenants = append(tenants, name)
		if err := sim.Server.AddTenant(simulator.Tenant{ProjectID: project, AccessKey: ak, SecretKey: sk, Config: []byte(noCallbackConfig)}); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&cfg, "  - {name: %s, project_id: %s, endpoint: %q, credentials: shard}\n", name, project, sim.URL)
	}

	exporterAddr := loopback.FreeAddress(t)
	exporter := start(t, dir, "exporter", exporterBin,
		"--config.file="+writeFile(t, dir, "metastudio.yml", cfg.String()),
		"--web.listen-address="+exporterAddr,
		"--scrape.timeout-offset=0.1s")
	// Prometheus asks /sd once at start; the exporter must answer it then.
	if err := waitReady(ctx, exporter, "http://"+exporterAddr+"/-/ready"); err != nil {
		t.Fatal(err)
	}

	example, err := os.ReadFile(shardedExample)
	if err != nil {
		t.Fatal(err)
	}
	var apis [2]*promAPI
	for shard := range apis {
		promCfg := shardConfig(t, example, shard, exporterAddr)
		addr := loopback.FreeAddress(t)
		name := fmt.Sprintf("prometheus-%d", shard)
		p := start(t, dir, name, promBin,
			"--config.file="+writeFile(t, dir, name+".yml", string(promCfg)),
			"--storage.tsdb.path="+filepath.Join(dir, name+"-data"),
			"--web.listen-address="+addr)
		if err := waitReady(ctx, p, "http://"+addr+"/-/ready"); err != nil {
			t.Fatal(err)
		}
		apis[shard] = &promAPI{base: "http://" + addr}
	}

	// Until every tenant has been scraped somewhere.
	var byShard [2][]string
	waitUntil(ctx, t, "every tenant to be scraped by one of the servers", func() (bool, string) {
		var union []string
		for i, api := range apis {
			got, err := api.labelSet(ctx, `metastudio_up{job="metastudio"} == 1`, "tenant")
			if err != nil {
				return false, err.Error()
			}
			byShard[i] = got
			union = append(union, got...)
		}
		slices.Sort(union)
		return slices.Equal(slices.Compact(union), tenants), fmt.Sprintf("shard 0 has %v, shard 1 has %v", byShard[0], byShard[1])
	})
	// Until each server has scraped every target it keeps: a tenant kept
	// by both would then show up on both.
	waitUntil(ctx, t, "each server to scrape every target it keeps", func() (bool, string) {
		for i, api := range apis {
			targets, err := api.activeTargets(ctx)
			if err != nil {
				return false, err.Error()
			}
			for _, tg := range targets {
				if tg.Health == "unknown" {
					return false, fmt.Sprintf("shard %d has not scraped %s yet", i, tg.ScrapeURL)
				}
			}
		}
		return true, ""
	})

	var exporterJob int
	for i, api := range apis {
		up, err := api.labelSet(ctx, `metastudio_up{job="metastudio"}`, "tenant")
		if err != nil {
			t.Fatal(err)
		}
		instances, err := api.labelSet(ctx, `up{job="metastudio"}`, "instance")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(up, byShard[i]) || !slices.Equal(instances, byShard[i]) {
			t.Errorf("shard %d: tenants %v, then metastudio_up for %v and up targets %v; want the same set throughout", i, byShard[i], up, instances)
		}
		// Every /sd target has the exporter's address, so hashing
		// __address__ instead of the tenant would put them all on one server.
		// These 12 names split 7/5 by the tenant.
		if len(up) == 0 {
			t.Errorf("shard %d scrapes no tenant: hashmod put all %d on the other server", i, n)
		}
		self, err := api.labelSet(ctx, `metastudio_exporter_build_info{job="metastudio-exporter"}`, "instance")
		if err != nil {
			t.Fatal(err)
		}
		exporterJob += len(self)
	}
	for _, name := range byShard[0] {
		if slices.Contains(byShard[1], name) {
			t.Errorf("tenant %s is scraped by both servers", name)
		}
	}
	if exporterJob != 1 {
		t.Errorf("the exporter's own job is scraped by %d servers, want exactly 1", exporterJob)
	}
	t.Logf("shard 0: %v; shard 1: %v", byShard[0], byShard[1])
}

// shardConfig is the sharded example as server shard of two runs it against
// the exporter at addr: the shard number set in every keep rule, the
// example's exporter address replaced, intervals shortened, and the
// rule_files and Alertmanager of a real installation left out.
func shardConfig(t *testing.T, example []byte, shard int, addr string) []byte {
	t.Helper()
	var c map[string]any
	if err := yaml.Unmarshal(example, &c); err != nil {
		t.Fatalf("%s: %v", shardedExample, err)
	}
	delete(c, "rule_files")
	delete(c, "alerting")
	c["global"] = map[string]any{"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"}
	jobs, _ := c["scrape_configs"].([]any)
	keeps := 0
	for _, j := range jobs {
		job := j.(map[string]any)
		for _, sd := range asList(job["http_sd_configs"]) {
			m := sd.(map[string]any)
			m["url"] = strings.Replace(m["url"].(string), exampleExporterAddr, addr, 1)
			m["refresh_interval"] = "1s"
		}
		for _, sc := range asList(job["static_configs"]) {
			targets := sc.(map[string]any)["targets"].([]any)
			for i := range targets {
				targets[i] = strings.Replace(targets[i].(string), exampleExporterAddr, addr, 1)
			}
		}
		for _, r := range asList(job["relabel_configs"]) {
			rule := r.(map[string]any)
			switch rule["action"] {
			case "hashmod":
				if rule["modulus"] != 2 {
					t.Fatalf("%s: job %s shards by modulus %v; the test runs 2 servers", shardedExample, job["job_name"], rule["modulus"])
				}
			case "keep":
				rule["regex"] = fmt.Sprint(shard)
				keeps++
			}
		}
	}
	if keeps != len(jobs) || keeps == 0 {
		t.Fatalf("%s: %d keep rules in %d jobs; every job must keep its shard", shardedExample, keeps, len(jobs))
	}
	out, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), addr) {
		t.Fatalf("%s no longer names %s; the test cannot point it at the exporter", shardedExample, exampleExporterAddr)
	}
	return out
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// labelSet runs an instant query and returns the sorted, distinct values of
// label across the resulting series.
func (p *promAPI) labelSet(ctx context.Context, expr, label string) ([]string, error) {
	var d struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
		} `json:"result"`
	}
	if err := p.get(ctx, "/api/v1/query", url.Values{"query": {expr}}, &d); err != nil {
		return nil, err
	}
	if d.ResultType != "vector" {
		return nil, fmt.Errorf("%s: result type %q, want vector", expr, d.ResultType)
	}
	out := []string{}
	for _, s := range d.Result {
		out = append(out, s.Metric[label])
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// activeTarget is a target Prometheus scrapes, as /api/v1/targets has it.
type activeTarget struct {
	ScrapeURL string `json:"scrapeUrl"`
	Health    string `json:"health"` // "unknown" until its first scrape
}

// activeTargets lists the targets Prometheus keeps after relabelling.
func (p *promAPI) activeTargets(ctx context.Context) ([]activeTarget, error) {
	var d struct {
		ActiveTargets []activeTarget `json:"activeTargets"`
	}
	err := p.get(ctx, "/api/v1/targets", url.Values{"state": {"active"}}, &d)
	return d.ActiveTargets, err
}
