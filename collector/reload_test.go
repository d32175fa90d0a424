package collector

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/tenants"
)

// reloadConfig is a config file whose tenants and policy tell which of the
// two configs a scrape used: tenant "shared" is in both, the other tenant
// and every policy value differ.
func reloadConfig(simURL, other, otherProject string, policyHours int, extra string) string {
	return fmt.Sprintf(`defaults:
  credentials: sim
  policy: {max_live_duration: %dh}
credentials:
  sim: {access_key: %s, secret_key_file: sk}
tenants:
  - {name: shared, project_id: %s, endpoint: %q%s}
  - {name: %s, project_id: %s, endpoint: %q}
`, policyHours, simAK, projectA, simURL, extra, other, otherProject, simURL)
}

func writeConfigFile(t *testing.T, path, content string) {
	t.Helper()
	// Written aside and renamed, as config management tools do, so that a
	// reload never reads half a file.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// whichConfig returns "one" or "two" if every series of the answer belongs
// to that config and every tenant in it is up, and a description of the
// mix otherwise.
func whichConfig(body string, tenants ...string) string {
	policy := map[string]string{"3600": "one", "7200": "two"}
	others := map[string]string{"only-one": "one", "only-two": "two"}
	seen := map[string]bool{}
	for line := range strings.Lines(body) {
		if strings.HasPrefix(line, "metastudio_exporter_") {
			continue // request counters outlive tenants until main's reloader forgets them
		}
		if v, ok := strings.CutPrefix(line, "metastudio_policy_max_live_duration_seconds{"); ok {
			seen[policy[strings.TrimSpace(v[strings.Index(v, "} ")+2:])]] = true
		}
		for name, cfg := range others {
			if strings.Contains(line, `tenant="`+name+`"`) {
				seen[cfg] = true
			}
		}
	}
	for _, name := range tenants {
		if cfg, ok := others[name]; ok && !seen[cfg] {
			continue
		}
		if !strings.Contains(body, `metastudio_up{tenant="`+name+`"} 1`) {
			return fmt.Sprintf("a scrape without %s up", name)
		}
	}
	if len(seen) != 1 || seen[""] {
		return fmt.Sprintf("a scrape mixing %v", seen)
	}
	for cfg := range seen {
		return cfg
	}
	return "an empty scrape"
}

// TestReloadUnderLoad: scrapes of /metrics and /probe run while the config
// is reloaded back and forth, with broken files in between. Every scrape
// answers, shows every tenant of one config up and never mixes two; a bad
// reload keeps the previous config serving.
func TestReloadUnderLoad(t *testing.T) {
	sim := startSim(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "metastudio.yml")
	writeConfigFile(t, filepath.Join(dir, "sk"), simSK+"\n")
	configs := map[string]string{
		"one": reloadConfig(sim.URL, "only-one", projectB, 1, ""),
		"two": reloadConfig(sim.URL, "only-two", projectFaulty, 2, ""),
	}
	bad := []string{
		"tenants: [\n",
		configs["one"] + "surprise: true\n",
		strings.Replace(configs["two"], "secret_key_file: sk", "secret_key_file: missing-sk", 1),
	}
	writeConfigFile(t, path, configs["one"])
	set := tenants.New(path, tenants.Options{})
	if err := set.Reload(); err != nil {
		t.Fatal(err)
	}
	e := newExporter(t, set, Options{})

	var (
		stop    atomic.Bool
		wg      sync.WaitGroup
		scrapes atomic.Int64
		mu      sync.Mutex
		seen    = map[string]int{}
	)
	for i := range 6 {
		path, tenants := "/metrics", []string{"shared", "only-one", "only-two"}
		if i >= 4 {
			path, tenants = "/probe?tenant=shared", []string{"shared"}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				code, body, _ := e.get(t, path)
				got := fmt.Sprintf("%s answered %d", path, code)
				if code == http.StatusOK {
					got = whichConfig(body, tenants...)
				}
				mu.Lock()
				seen[got]++
				mu.Unlock()
				scrapes.Add(1)
			}
		}()
	}

	current := "one"
	deadline := time.Now().Add(20 * time.Second)
	for round := 0; round < 40 || scrapes.Load() < 400; round++ {
		if time.Now().After(deadline) {
			t.Errorf("only %d scrapes in %d rounds of reloads", scrapes.Load(), round)
			break
		}
		if err := set.Reload(); err != nil {
			t.Fatalf("round %d: reloading %s: %v", round, current, err)
		}
		good := set.Snapshot().File()
		writeConfigFile(t, path, bad[round%len(bad)])
		if err := set.Reload(); err == nil {
			t.Fatalf("round %d: a bad file was accepted", round)
		}
		if set.Snapshot().File() != good {
			t.Fatalf("round %d: the bad reload replaced the config", round)
		}
		if got := whichConfig(e.mustGet(t, "/metrics"), "shared", "only-"+current); got != current {
			t.Fatalf("round %d: after a bad reload the scrape shows %s, want %s", round, got, current)
		}
		current = map[string]string{"one": "two", "two": "one"}[current]
		writeConfigFile(t, path, configs[current])
	}
	stop.Store(true)
	wg.Wait()
	if len(seen) != 2 || seen["one"] == 0 || seen["two"] == 0 {
		t.Errorf("scrapes under reload saw %v; want only whole configs one and two", seen)
	}
	t.Logf("%d scrapes during reloads: %v", scrapes.Load(), seen)
	if n := e.scraper.states.len(); n > 2 {
		t.Errorf("%d tenant states kept for a config of 2 tenants", n)
	}
}

// TestReloadPicksUpRotatedSecret: a secret file is read at load and
// reload. A rotation shows at the next reload, even when max_cache_age would
// otherwise serve the answer fetched with the old secret.
func TestReloadPicksUpRotatedSecret(t *testing.T) {
	sim := startSim(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "metastudio.yml")
	sk := filepath.Join(dir, "sk")
	writeConfigFile(t, sk, simSK)
	writeConfigFile(t, path, reloadConfig(sim.URL, "only-one", projectB, 1, ", max_cache_age: 1h"))
	set := tenants.New(path, tenants.Options{})
	if err := set.Reload(); err != nil {
		t.Fatal(err)
	}
	e := newExporter(t, set, Options{})
	auth := failedLines("shared", projectA, "auth", "APIGW.0301")
	auth = slices.DeleteFunc(auth, func(l string) bool { return strings.Contains(l, "max_live_duration") })
	auth = append(auth, `metastudio_policy_max_live_duration_seconds{tenant="shared"} 3600`)
	slices.Sort(auth)
	for i, step := range []struct {
		secret string
		reload bool
		up     bool
		calls  int64
	}{
		{simSK, false, true, 1},
		// Rotated without a reload: the loaded secret and its cache stay.
		{"rotated-wrong-secret", false, true, 1},
		{"rotated-wrong-secret", true, false, 2},
		{simSK, true, true, 3},
	} {
		writeConfigFile(t, sk, step.secret)
		if step.reload {
			if err := set.Reload(); err != nil {
				t.Fatal(err)
			}
		}
		body := e.mustGet(t, "/probe?tenant=shared")
		got := tenantLines(body, "shared")
		if step.up && !slices.Contains(got, `metastudio_up{tenant="shared"} 1`) || !step.up && !slices.Equal(got, auth) {
			t.Errorf("step %d: shared shows\n%s", i, strings.Join(got, "\n"))
		}
		if n := sim.Server.Calls(projectA); n != step.calls {
			t.Errorf("step %d: %d calls, want %d", i, n, step.calls)
		}
	}
	if strings.Contains(e.logs.String(), "rotated-wrong-secret") || strings.Contains(e.logs.String(), simSK) {
		t.Error("a secret reached the log")
	}
}
