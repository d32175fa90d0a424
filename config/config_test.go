package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	commoncfg "github.com/prometheus/common/config"

	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

// envOf returns a lookup func over a fixed map, standing in for the process
// environment.
func envOf(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

var testEnv = envOf(map[string]string{EnvAccessKey: "ENV-AK", EnvSecretKey: "ENV-SK-secretvalue"})

func defaultPolicy() Policy { return Policy{MaxLiveDuration: 0, MaxExceptionWaiting: 30 * time.Minute} }

// tenantOf builds an expected tenant the way the resolver does.
// tenantRest is what a test tenant holds besides its target and region.
type tenantRest struct {
	Timeout, MaxCacheAge time.Duration
	Policy               Policy
	Callback             Callback
	CredentialsName      string
	Source               *DiscoverySource
}

func tenantOf(name, projectID, region, endpoint string, creds metastudio.Credentials, rest tenantRest) *Tenant {
	// What a tenant gets for the keys the table leaves out.
	settings := BuiltinSettings()
	settings.Region, settings.Timeout, settings.MaxCacheAge, settings.Policy = region, rest.Timeout, rest.MaxCacheAge, rest.Policy
	if rest.Callback != (Callback{}) {
		settings.Callback = rest.Callback
	}
	return NewTenant(Tenant{
		Target:          metastudio.Target{Name: name, ProjectID: projectID, Endpoint: endpoint, Credentials: creds},
		Settings:        settings,
		CredentialsName: rest.CredentialsName,
		Source:          rest.Source,
	})
}

func TestLoadGood(t *testing.T) {
	envCreds := metastudio.Credentials{AccessKey: "ENV-AK", SecretKey: "ENV-SK-secretvalue"}
	cases := map[string][]*Tenant{
		"full.yml": {
			tenantOf("shop-a", "26f065244f754b3aa853b649a21aaf66", "cn-east-3", "https://metastudio.cn-east-3.myhuaweicloud.com",
				// The secret file ends in "\n\n": trailing newlines are trimmed.
				metastudio.Credentials{AccessKey: "AKMAIN000000", SecretKey: "SK-main-0123456789abcdef"},
				tenantRest{
					Timeout: 15 * time.Second, MaxCacheAge: 30 * time.Second,
					Policy:          Policy{MaxLiveDuration: 72 * time.Hour, MaxExceptionWaiting: 10 * time.Minute},
					CredentialsName: "main",
				}),
			tenantOf("shop_b.eu", "proj-b", "ap-southeast-1", "https://metastudio.ap-southeast-1.myhuaweicloud.com",
				metastudio.Credentials{IAM: &metastudio.IAMPassword{
					Domain: "acme", User: "monitor", Password: "ops-Passw0rd!",
					Endpoint: "https://iam.ap-southeast-1.myhuaweicloud.com", // the tenant's region, not the default's
				}},
				tenantRest{
					Timeout: 15 * time.Second, MaxCacheAge: 30 * time.Second,
					// Only max_exception_waiting is overridden; max_live_duration stays the default's.
					Policy:          Policy{MaxLiveDuration: 72 * time.Hour, MaxExceptionWaiting: 0},
					CredentialsName: "ops",
				}),
			tenantOf("Shop-C", "proj_c", "cn-east-3", "https://metastudio.example.test:8443/proxy",
				metastudio.Credentials{AccessKey: "AK-temp-FROMFILE", SecretKey: "inline-temp-SK-value", SecurityToken: "temporary-token-xyz"},
				tenantRest{
					Timeout: time.Minute, MaxCacheAge: 24 * time.Hour,
					Policy:          Policy{MaxLiveDuration: 0, MaxExceptionWaiting: 10 * time.Minute},
					CredentialsName: "temp",
				}),
		},
		"minimal.yml": {
			tenantOf("solo", "p1", "cn-north-4", "https://metastudio.cn-north-4.myhuaweicloud.com", envCreds,
				tenantRest{Timeout: 10 * time.Second, Policy: defaultPolicy()}),
		},
		"iam_endpoint.yml": {
			tenantOf("a", "p1", "cn-north-4", "https://metastudio.cn-north-4.myhuaweicloud.com",
				metastudio.Credentials{IAM: &metastudio.IAMPassword{
					Domain: "acme", User: "12345", Password: "987654", Endpoint: "http://iam.internal:8080",
				}},
				tenantRest{Timeout: 10 * time.Second, Policy: defaultPolicy(), CredentialsName: "ops"}),
		},
		"callback_discovery.yml": {
			tenantOf("relay", "p1", "cn-north-4", "https://metastudio.cn-north-4.myhuaweicloud.com",
				metastudio.Credentials{AccessKey: "AKMAIN000000", SecretKey: "SK-main-0123456789abcdef"},
				tenantRest{
					Timeout: 10 * time.Second, Policy: defaultPolicy(), CredentialsName: "main",
					// The key file and timeout come from defaults, the rest is the tenant's.
					Callback: Callback{
						Key: "cb-key-FROMFILE-0123", KeyFile: "../secrets/cb-key",
						ForwardURL:     "https://app.example.test/events?token=cbSECRETtok",
						ForwardTimeout: 3 * time.Second,
					},
				}),
			tenantOf("own-key", "p2", "cn-north-4", "https://metastudio.cn-north-4.myhuaweicloud.com",
				metastudio.Credentials{AccessKey: "AKMAIN000000", SecretKey: "SK-main-0123456789abcdef"},
				tenantRest{
					Timeout: 10 * time.Second, Policy: defaultPolicy(), CredentialsName: "main",
					// An inline key overrides the defaults' key_file.
					Callback: Callback{Key: "inline-cb-key-value", ForwardTimeout: 10 * time.Second, AllowUnauthenticated: true},
				}),
		},
		"anchors.yml": {
			tenantOf("one", "p1", "ap-southeast-1", "https://metastudio.ap-southeast-1.myhuaweicloud.com", envCreds,
				tenantRest{Timeout: 5 * time.Second, Policy: defaultPolicy()}),
			tenantOf("two", "p2", "ap-southeast-1", "https://metastudio.ap-southeast-1.myhuaweicloud.com", envCreds,
				tenantRest{Timeout: 7 * time.Second, Policy: defaultPolicy()}),
		},
	}
	files, err := filepath.Glob("testdata/good/*.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(cases) {
		t.Fatalf("testdata/good has %d files, the table %d", len(files), len(cases))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			want, ok := cases[filepath.Base(f)]
			if !ok {
				t.Fatalf("no expectation for %s", f)
			}
			cfg, err := LoadWithEnv(f, testEnv)
			if err != nil {
				t.Fatalf("LoadWithEnv: %v", err)
			}
			got := cfg.Tenants()
			if !reflect.DeepEqual(got, want) {
				t.Errorf("tenants:\n got %s\nwant %s", dumpTenants(got), dumpTenants(want))
			}
			for _, w := range want {
				g, ok := cfg.Tenant(w.Name)
				if !ok || !reflect.DeepEqual(g, w) {
					t.Errorf("Tenant(%q) = %s, %v", w.Name, dumpTenants([]*Tenant{g}), ok)
				}
			}
			if _, ok := cfg.Tenant("no-such-tenant"); ok {
				t.Error("Tenant found a name that is not in the file")
			}
		})
	}
}

// dumpTenants shows secrets in failure output; the values are test fixtures.
func dumpTenants(ts []*Tenant) string {
	var b strings.Builder
	for _, t := range ts {
		if t == nil {
			b.WriteString("\n  <nil>")
			continue
		}
		c := t.Credentials
		b.WriteString("\n  " + strings.Join([]string{t.Name, t.ProjectID, t.Region, t.Endpoint, t.Timeout.String(),
			t.MaxCacheAge.String(), t.Policy.MaxLiveDuration.String(), t.Policy.MaxExceptionWaiting.String(),
			t.CredentialsName, c.AccessKey, c.SecretKey.Reveal(), c.SecurityToken.Reveal()}, " | "))
		cb := t.Callback
		b.WriteString(" | callback " + strings.Join([]string{cb.Key.Reveal(), cb.KeyFile, cb.ForwardURL.Reveal(), cb.ForwardTimeout.String(), fmt.Sprint(cb.AllowUnauthenticated)}, " "))
		if c.IAM != nil {
			b.WriteString(" | IAM " + strings.Join([]string{c.IAM.Domain, c.IAM.User, c.IAM.Password.Reveal(), c.IAM.Endpoint}, " "))
		}
	}
	return b.String()
}

func TestTenantsAreSharedAndKeyed(t *testing.T) {
	cfg, err := LoadWithEnv("testdata/good/full.yml", testEnv)
	if err != nil {
		t.Fatal(err)
	}
	// One value per tenant: every caller gets the snapshot's own pointer,
	// so a scrape copies nothing.
	ts, again := cfg.Tenants(), cfg.Tenants()
	for i := range ts {
		if ts[i] != again[i] {
			t.Errorf("Tenants()[%d] is not the same pointer on the second call", i)
		}
		if byName, _ := cfg.Tenant(ts[i].Name); byName != ts[i] {
			t.Errorf("Tenant(%q) is not the pointer Tenants() holds", ts[i].Name)
		}
		if ts[i].Key() == (Key{}) {
			t.Errorf("tenant %q has no key", ts[i].Name)
		}
	}
	// The same file loaded again keys every tenant alike, so that state
	// survives a reload that changes nothing.
	cfg2, err := LoadWithEnv("testdata/good/full.yml", testEnv)
	if err != nil {
		t.Fatal(err)
	}
	for i, tn := range cfg2.Tenants() {
		if tn.Key() != ts[i].Key() {
			t.Errorf("tenant %q: key differs between two loads of the same file", tn.Name)
		}
	}
}

func TestEnvironmentCredentials(t *testing.T) {
	data := []byte("tenants:\n  - name: a\n    project_id: p1\n")
	cfg, err := Parse(data, "m.yml", ".", envOf(map[string]string{
		EnvAccessKey: "AK", EnvSecretKey: "SK", EnvSecurityToken: "TOKEN",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := metastudio.Credentials{AccessKey: "AK", SecretKey: "SK", SecurityToken: "TOKEN"}
	if got := cfg.Tenants()[0].Credentials; !reflect.DeepEqual(got, want) {
		t.Errorf("credentials = %#v, want %#v", got, want)
	}

	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{EnvAccessKey: "AK"}, "m.yml:2: tenants[0].credentials: not set, and HUAWEICLOUD_SDK_SK is missing from the environment"},
		{map[string]string{EnvSecretKey: "SK", EnvAccessKey: ""}, "m.yml:2: tenants[0].credentials: not set, and HUAWEICLOUD_SDK_AK is missing from the environment"},
		{nil, "m.yml:2: tenants[0].credentials: not set, and HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK are missing from the environment"},
	} {
		_, err := Parse(data, "m.yml", ".", envOf(tc.env))
		if err == nil || err.Error() != tc.want {
			t.Errorf("env %v: error %v, want %q", tc.env, err, tc.want)
		}
	}
}

// A credentials key written as a mapping (AK/SK inline, as another
// exporter's config has it) is one problem, not also a missing environment,
// and the error says where the mapping belongs, never what it holds. A list
// is only "must be a string".
func TestCredentialsOfTheWrongKindIsOneProblem(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"tenants:\n  - name: a\n    project_id: p1\n    credentials: {access_key: AK, secret_key: SK}\n",
			"m.yml:4: tenants[0].credentials: must be a string naming a credentials entry (credentials.NAME); " +
				"move this mapping there under a name and write that name here"},
		{"defaults:\n  credentials:\n    access_key: AK\n    secret_key: SK\ntenants:\n  - name: a\n    project_id: p1\n",
			"m.yml:3: defaults.credentials: must be a string naming a credentials entry (credentials.NAME); " +
				"move this mapping there under a name and write that name here"},
		{"defaults:\n  credentials: {access_key: AK}\ndiscovery:\n  - regions: [cn-north-4]\n",
			"m.yml:2: defaults.credentials: must be a string naming a credentials entry (credentials.NAME); " +
				"move this mapping there under a name and write that name here"},
		{"tenants:\n  - name: a\n    project_id: p1\n    credentials: [main]\n",
			"m.yml:4: tenants[0].credentials: must be a string"},
	} {
		_, err := Parse([]byte(tc.yaml), "m.yml", ".", envOf(nil))
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: error %v, want %q", tc.yaml, err, tc.want)
		}
	}
}

func TestSummary(t *testing.T) {
	cfg, err := LoadWithEnv("testdata/good/full.yml", testEnv)
	if err != nil {
		t.Fatal(err)
	}
	want := "testdata/good/full.yml: 3 tenants (shop-a, shop_b.eu, Shop-C), 3 credentials (2 AK/SK, 1 IAM password)"
	if got := cfg.Summary(); got != want {
		t.Errorf("Summary() = %q, want %q", got, want)
	}

	var b strings.Builder
	b.WriteString("credentials:\n  main: {access_key: AK, secret_key: SK}\ntenants:\n")
	for _, n := range []string{"t1", "t2", "t3", "t4", "t5", "t6"} {
		b.WriteString("  - {name: " + n + ", project_id: p" + n + "}\n")
	}
	b.WriteString("  - {name: t7, project_id: p7, credentials: main}\n")
	cfg, err = Parse([]byte(b.String()), "metastudio.yml", ".", testEnv)
	if err != nil {
		t.Fatal(err)
	}
	want = "metastudio.yml: 7 tenants (t1, t2, t3, t4, t5, …), 1 credential (1 AK/SK, 0 IAM password), 6 tenants from environment"
	if got := cfg.Summary(); got != want {
		t.Errorf("Summary() = %q, want %q", got, want)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := LoadWithEnv("testdata/does-not-exist.yml", testEnv)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("error %v, want fs.ErrNotExist", err)
	}
	if want := "reading config file: open testdata/does-not-exist.yml: no such file or directory"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}

func TestLoadUsesProcessEnvironment(t *testing.T) {
	t.Setenv(EnvAccessKey, "PROC-AK")
	t.Setenv(EnvSecretKey, "PROC-SK")
	t.Setenv(EnvSecurityToken, "")
	cfg, err := Load("testdata/good/minimal.yml")
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Tenants()[0].Credentials
	if c.AccessKey != "PROC-AK" || c.SecretKey.Reveal() != "PROC-SK" || c.SecurityToken.IsSet() {
		t.Errorf("credentials from the process environment: %q %q %v", c.AccessKey, c.SecretKey.Reveal(), c.SecurityToken.IsSet())
	}
}

// TestExampleConfigLoads keeps metastudio.example.yml honest: it passes
// --config.check as it is, on a machine with no secret files and nothing
// in the environment.
func TestExampleConfigLoads(t *testing.T) {
	cfg, err := LoadWithEnv("../metastudio.example.yml", envOf(nil))
	if err != nil {
		t.Fatalf("example config: %v", err)
	}
	want := "../metastudio.example.yml: 2 tenants (shop-a, shop-b), 2 credentials (1 AK/SK, 1 IAM password)"
	if got := cfg.Summary(); got != want {
		t.Errorf("Summary() = %q, want %q", got, want)
	}
	ts := cfg.Tenants()
	if got := ts[1].Credentials.IAM; got == nil || got.Endpoint != "https://iam.ap-southeast-1.myhuaweicloud.com" {
		t.Errorf("shop-b IAM credentials %+v", got)
	}
}

// TestExampleConfigCommentedSections: the sections the example shows
// commented out load too once uncommented, with the secret file and the
// environment they need.
func TestExampleConfigCommentedSections(t *testing.T) {
	data, err := os.ReadFile("../metastudio.example.yml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	key := filepath.Join(dir, "callback-key")
	if err := os.WriteFile(key, []byte("example-callback-key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tlsFiles(t, dir)
	text := uncommentBlocks(string(data), "# callback:", "# discovery:", "# - name: shop-c", "# labels:", "# http_client:")
	text = strings.ReplaceAll(text, "/etc/metastudio_exporter/callback-key", key)
	text = strings.ReplaceAll(text, "tls/", "")
	cfg, err := Parse([]byte(text), "example.yml", dir, testEnv)
	if err != nil {
		t.Fatalf("example config with its commented sections:\n%v\n%s", err, text)
	}
	want := "example.yml: 3 tenants (shop-a, shop-b, shop-c), 2 credentials (1 AK/SK, 1 IAM password), 1 tenant from environment, 3 tenants with callback settings, 1 discovery source"
	if got := cfg.Summary(); got != want {
		t.Errorf("Summary() = %q, want %q", got, want)
	}
	shopB, _ := cfg.Tenant("shop-b")
	if got := shopB.Callback; got.Key.Reveal() != "example-callback-key" || got.ForwardURL.Reveal() != "https://shop-b.internal/metastudio-events" {
		t.Errorf("shop-b callback: key %q, forward_url %q", got.Key.Reveal(), got.ForwardURL.Reveal())
	}
	// shop-b signs with ops, whose own block wins over defaults'; shop-a
	// signs with main, which has none.
	shopA, _ := cfg.Tenant("shop-a")
	if h := shopA.HTTPClient; h == nil || h.Config.TLSConfig.CA == "" || h.Config.TLSConfig.MinVersion != commoncfg.TLSVersions["TLS12"] {
		t.Errorf("shop-a http_client %+v", h)
	}
	if h := shopB.HTTPClient; h == nil || h.Config.TLSConfig.CA != "" || h.Config.ProxyURL.URL == nil || h.Config.ProxyURL.Host != "proxy.internal:3128" {
		t.Errorf("shop-b http_client %+v", h)
	}
	if v, _ := shopB.Labels.Get("team"); v != "live-ops" {
		t.Errorf("shop-b labels %v", shopB.Labels.Names())
	}
	if src := cfg.Discovery()[0]; src.Label() != "shops" || src.Settings.Rooms.MaxRooms != 100 || src.Settings.Rooms.RefreshInterval != 10*time.Minute {
		t.Errorf("discovery entry %s: rooms %+v", src.Label(), src.Settings.Rooms)
	}
}

// uncommentBlocks removes one level of "# " from each line that starts
// with one of the headers (after indentation) and from the commented lines
// indented deeper that follow it.
func uncommentBlocks(text string, headers ...string) string {
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		trimmed := strings.TrimLeft(lines[i], " ")
		indent := lines[i][:len(lines[i])-len(trimmed)]
		header := false
		for _, h := range headers {
			header = header || strings.HasPrefix(trimmed, h)
		}
		if !header {
			continue
		}
		lines[i] = indent + strings.TrimPrefix(trimmed, "# ")
		for i+1 < len(lines) && strings.HasPrefix(lines[i+1], indent+"#   ") {
			i++
			lines[i] = indent + strings.TrimPrefix(lines[i][len(indent):], "# ")
		}
	}
	return strings.Join(lines, "\n")
}

func TestSecretFileAbsolutePathAndSizeLimit(t *testing.T) {
	dir := t.TempDir()
	sk := filepath.Join(dir, "sk")
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(sk, []byte("abs-path-sk \t\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(big, []byte(strings.Repeat("x", maxSecretFileSize+1)), 0o600); err != nil {
		t.Fatal(err)
	}
	tmpl := "credentials:\n  main:\n    access_key: AK\n    secret_key_file: %s\ntenants:\n  - {name: a, project_id: p1, credentials: main}\n"
	// baseDir points elsewhere: an absolute path must not be joined to it.
	cfg, err := Parse([]byte(fmt.Sprintf(tmpl, sk)), "m.yml", "testdata", testEnv)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Tenants()[0].Credentials.SecretKey.Reveal(); got != "abs-path-sk" {
		t.Errorf("secret key %q, want abs-path-sk", got)
	}
	_, err = Parse([]byte(fmt.Sprintf(tmpl, big)), "m.yml", "testdata", testEnv)
	want := fmt.Sprintf("m.yml:4: credentials.main.secret_key_file: %q is larger than 65536 bytes", big)
	if err == nil || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}
}
