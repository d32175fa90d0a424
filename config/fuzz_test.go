package config_test

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/discovery"
)

// secretKeys hold values that must never be shown (proxy_connect_header:
// the headers' values, not their names). Of forward_url only the query is
// secret; see markerOutsideSecrets.
var secretKeys = []string{"secret_key", "security_token", "password", "key", "proxy_connect_header"}

// marker is in every seed's secrets; the fuzzer carries it into mutations.
const marker = "SECRET"

var tenantNameRE = regexp.MustCompile(`^[a-zA-Z0-9_.-]+$`)

// FuzzParseConfig feeds any file to the config loader. It must never
// panic; it either returns a LoadError whose problems are located in the
// file and in line order, or a config whose tenants are fully resolved. In
// neither case may a secret's value show, in the error, /config or the
// --config.check summary.
func FuzzParseConfig(f *testing.F) {
	base, err := filepath.Abs(filepath.Join("testdata", "good"))
	if err != nil {
		f.Fatal(err)
	}
	testdata := filepath.Dir(base)
	for _, dir := range []string{"good", "bad"} {
		files, _ := filepath.Glob(filepath.Join("testdata", dir, "*.yml"))
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	env := func(k string) (string, bool) {
		v, ok := map[string]string{config.EnvAccessKey: "AKENV", config.EnvSecretKey: "env-" + marker + "-sk"}[k]
		return v, ok
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var doc yaml.Node
		parsed := yaml.Unmarshal(data, &doc) == nil
		if parsed && !secretFilesStayIn(&doc, base, testdata) {
			t.Skip("a secret file outside testdata: the fuzzer must not read the machine's files")
		}
		cfg, err := config.Parse(data, "fuzz.yml", base, env)
		cfg2, err2 := config.Parse(data, "fuzz.yml", base, env)
		if (err == nil) != (err2 == nil) || err != nil && err.Error() != err2.Error() {
			t.Fatalf("two parses of one file disagree: %v / %v", err, err2)
		}
		checkMarker := parsed && !markerOutsideSecrets(&doc)
		if err != nil {
			checkLoadError(t, err)
			if checkMarker && strings.Contains(err.Error(), marker) {
				t.Fatalf("the error shows a secret:\n%s", err)
			}
			return
		}
		redacted, err := cfg.Redacted()
		if err != nil {
			t.Fatalf("Redacted: %v", err)
		}
		if again, _ := cfg2.Redacted(); string(again) != string(redacted) {
			t.Fatal("two parses of one file give two configs")
		}
		if checkMarker && (strings.Contains(string(redacted), marker) || strings.Contains(cfg.Summary(), marker)) {
			t.Fatalf("/config or the summary shows a secret:\n%s\n%s", redacted, cfg.Summary())
		}
		checkTenants(t, cfg)
	})
}

func checkLoadError(t *testing.T, err error) {
	t.Helper()
	var le *config.LoadError
	if !errors.As(err, &le) || len(le.Problems) == 0 {
		t.Fatalf("error %#v is not a LoadError with problems", err)
	}
	if !slices.IsSortedFunc(le.Problems, func(a, b config.Problem) int { return a.Line - b.Line }) {
		t.Fatalf("problems are not in line order:\n%s", err)
	}
	for _, p := range le.Problems {
		if p.File != "fuzz.yml" || p.Line < 1 || p.Message == "" {
			t.Fatalf("problem %+v is not located in the file", p)
		}
	}
}

func checkTenants(t *testing.T, cfg *config.Config) {
	t.Helper()
	tenants := cfg.Tenants()
	sources := cfg.Discovery()
	if len(tenants) == 0 && len(sources) == 0 {
		t.Fatal("a config without tenants or discovery was accepted")
	}
	for i := range sources {
		checkDiscovered(t, &sources[i])
	}
	names := map[string]bool{}
	for _, tn := range tenants {
		c := tn.Credentials
		switch {
		case !tenantNameRE.MatchString(tn.Name) || names[tn.Name]:
			t.Fatalf("tenant name %q is invalid or repeated", tn.Name)
		case tn.ProjectID == "" || tn.Region == "":
			t.Fatalf("tenant %q has no project or region", tn.Name)
		case !strings.HasPrefix(tn.Endpoint, "https://") && !strings.HasPrefix(tn.Endpoint, "http://"):
			t.Fatalf("tenant %q has endpoint %q", tn.Name, tn.Endpoint)
		case tn.Timeout <= 0 || tn.MaxCacheAge < 0 || tn.Policy.MaxLiveDuration < 0 || tn.Policy.MaxExceptionWaiting < 0:
			t.Fatalf("tenant %q has a non-positive timeout or a negative duration", tn.Name)
		case c.IAM == nil && (c.AccessKey == "" || !c.SecretKey.IsSet()):
			t.Fatalf("tenant %q has neither AK/SK nor an IAM password", tn.Name)
		case c.IAM != nil && (c.AccessKey != "" || c.IAM.Domain == "" || c.IAM.User == "" || !c.IAM.Password.IsSet()):
			t.Fatalf("tenant %q has mixed or incomplete credentials", tn.Name)
		case tn.Callback.ForwardTimeout <= 0:
			t.Fatalf("tenant %q has a non-positive forward timeout", tn.Name)
		case tn.Callback.ForwardURL.IsSet() && !absoluteHTTP(tn.Callback.ForwardURL.Reveal()):
			t.Fatalf("tenant %q has a forward URL that is not absolute http(s)", tn.Name)
		}
		names[tn.Name] = true
		if got, ok := cfg.Tenant(tn.Name); !ok || got.ProjectID != tn.ProjectID {
			t.Fatalf("tenant %q cannot be looked up", tn.Name)
		}
	}
}

func absoluteHTTP(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// checkDiscovered checks a loaded discovery entry, and that a project in
// its first region can be turned into a tenant.
func checkDiscovered(t *testing.T, src *config.DiscoverySource) {
	t.Helper()
	switch {
	case len(src.Regions) == 0 || src.NameRegex == nil:
		t.Fatalf("discovery[%d] has no regions or no name regex", src.Index)
	case src.RefreshInterval < config.MinRefreshInterval:
		t.Fatalf("discovery[%d] refreshes every %s", src.Index, src.RefreshInterval)
	case !absoluteHTTP(src.IAMEndpoint):
		t.Fatalf("discovery[%d] has IAM endpoint %q", src.Index, src.IAMEndpoint)
	case src.Credentials.AccessKey == "" && src.Credentials.IAM == nil:
		t.Fatalf("discovery[%d] has no credentials", src.Index)
	}
	region := src.Regions[0]
	tn, err := discovery.Tenant(src, discovery.Project{TenantName: src.NamePrefix + region, ProjectID: "p1", ProjectName: region, Region: region})
	if err != nil {
		t.Fatalf("discovery[%d]: a project in %s cannot be served: %v", src.Index, region, err)
	}
	if !absoluteHTTP(tn.Endpoint) || tn.Timeout <= 0 {
		t.Fatalf("discovery[%d]: tenant endpoint %q, timeout %s", src.Index, tn.Endpoint, tn.Timeout)
	}
}

// secretFilesStayIn reports whether every *_file value is a path inside
// dir once resolved from base, as the loader resolves it.
func secretFilesStayIn(n *yaml.Node, base, dir string) bool {
	ok := true
	walkPairs(n, func(k, v *yaml.Node) {
		if !strings.HasSuffix(k.Value, "_file") || v.Kind != yaml.ScalarNode || v.Value == "" {
			return
		}
		p := v.Value
		if !filepath.IsAbs(p) {
			p = filepath.Join(base, p)
		}
		if !strings.HasPrefix(filepath.Clean(p), dir+string(filepath.Separator)) {
			ok = false
		}
	})
	return ok
}

// markerOutsideSecrets reports whether the marker occurs anywhere but in
// a secret key's value, where showing it would be a leak. An alias of a
// secret used elsewhere (project_id: *sk) counts as outside.
func markerOutsideSecrets(doc *yaml.Node) bool {
	type visit struct {
		n      *yaml.Node
		secret bool
	}
	seen := map[visit]bool{}
	var walk func(n *yaml.Node, secret bool) bool
	walk = func(n *yaml.Node, secret bool) bool {
		if n == nil || seen[visit{n, secret}] {
			return false
		}
		seen[visit{n, secret}] = true
		if !secret && (strings.Contains(n.Value, marker) || strings.Contains(n.Tag, marker) || strings.Contains(n.Anchor, marker)) {
			return true
		}
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if k.Value == "forward_url" && !secret {
					// /config shows the URL up to its query.
					if beforeQuery, _, _ := strings.Cut(v.Value, "?"); strings.Contains(beforeQuery, marker) {
						return true
					}
					if walk(k, false) || walk(v, true) {
						return true
					}
					continue
				}
				if walk(k, false) || walk(v, secret || slices.Contains(secretKeys, k.Value)) {
					return true
				}
			}
			return false
		}
		for _, c := range n.Content {
			if walk(c, secret) {
				return true
			}
		}
		return walk(n.Alias, secret)
	}
	return walk(doc, false)
}

// walkPairs calls fn for every key/value pair of every mapping under n,
// following aliases once.
func walkPairs(n *yaml.Node, fn func(k, v *yaml.Node)) {
	seen := map[*yaml.Node]bool{}
	var walk func(*yaml.Node)
	walk = func(n *yaml.Node) {
		if n == nil || seen[n] {
			return
		}
		seen[n] = true
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				fn(n.Content[i], n.Content[i+1])
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
		walk(n.Alias)
	}
	walk(n)
}

// TestSelfMergeIsRejected: the fuzzer's first find. A mapping that merges
// itself used to recurse until the stack overflowed, which kills the
// exporter on a reload instead of keeping the old config.
func TestSelfMergeIsRejected(t *testing.T) {
	data := "tenants:\n  - &first\n    <<: *first\n    name: a\n    project_id: p\n"
	_, err := config.Parse([]byte(data), "self.yml", "", func(string) (string, bool) { return "", false })
	want := "self.yml:2: tenants[0].credentials: not set, and HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK are missing from the environment\n" +
		"self.yml:3: tenants[0].<<: merges a mapping into itself"
	if err == nil || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}
}

// TestMergeExpansionIsBounded: 40 levels that each merge the level below
// twice are 2^40 expansions unless each mapping is expanded once.
func TestMergeExpansionIsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("defaults: &l0 {region: cn-north-4}\nx:\n")
	for i := 1; i <= 40; i++ {
		fmt.Fprintf(&b, "  l%d: &l%d {<<: [*l%d, *l%d]}\n", i, i, i-1, i-1)
	}
	b.WriteString("tenants:\n  - {<<: *l40, name: a, project_id: p}\n")
	done := make(chan error, 1)
	go func() {
		_, err := config.Parse([]byte(b.String()), "merge.yml", "", func(string) (string, bool) { return "", false })
		done <- err
	}()
	select {
	case err := <-done:
		want := "merge.yml:2: x: unknown key\n" +
			"merge.yml:44: tenants[0].credentials: not set, and HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK are missing from the environment"
		if err == nil || err.Error() != want {
			t.Errorf("got\n%v\nwant\n%s", err, want)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("parsing 40 levels of merges did not finish in 20s")
	}
}
