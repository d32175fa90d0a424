package config

import (
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

func loadCallbackDiscovery(t *testing.T) *Config {
	t.Helper()
	cfg, err := LoadWithEnv("testdata/good/callback_discovery.yml", testEnv)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestDiscoverySources(t *testing.T) {
	cfg := loadCallbackDiscovery(t)
	got := cfg.Discovery()
	if len(got) != 2 {
		t.Fatalf("%d discovery sources, want 2", len(got))
	}
	type plain struct {
		Index                           int
		CredentialsName, IAMEndpoint    string
		Credentials                     string
		Regions                         []string
		NameRegex, NamePrefix, Endpoint string
		RefreshInterval                 time.Duration
	}
	flatten := func(s DiscoverySource) plain {
		c := s.Credentials
		creds := c.AccessKey + "/" + c.SecretKey.Reveal()
		if c.IAM != nil {
			creds = strings.Join([]string{"IAM", c.IAM.Domain, c.IAM.User, c.IAM.Password.Reveal(), c.IAM.Endpoint}, " ")
		}
		return plain{s.Index, s.CredentialsName, s.IAMEndpoint, creds, s.Regions, s.NameRegex.String(), s.NamePrefix, s.Endpoint, s.RefreshInterval}
	}
	want := []plain{
		{
			Index: 0, CredentialsName: "main", // from defaults.credentials
			IAMEndpoint: "https://iam.myhuaweicloud.com", Credentials: "AKMAIN000000/SK-main-0123456789abcdef",
			Regions: []string{"cn-north-4", "ap-southeast-1"}, NameRegex: "^(?s:.*)$",
			Endpoint: "https://metastudio.{region}.myhuaweicloud.com", RefreshInterval: 10 * time.Minute,
		},
		{
			Index: 1, CredentialsName: "ops", IAMEndpoint: "https://iam.example.test",
			// The credential names no endpoint: the token comes from iam_endpoint.
			Credentials: "IAM acme monitor ops-Passw0rd! https://iam.example.test",
			Regions:     []string{"cn-east-3"}, NameRegex: "^(?s:shop|cn-east-3_shop.*)$", NamePrefix: "east-",
			Endpoint: "https://{region}.metastudio.example.test", RefreshInterval: time.Hour,
		},
	}
	for i := range want {
		if g := flatten(got[i]); !reflect.DeepEqual(g, want[i]) {
			t.Errorf("discovery[%d]:\n got %+v\nwant %+v", i, g, want[i])
		}
	}

	// Anchored at both ends: a name that merely contains a match is not kept.
	if re := got[1].NameRegex; !re.MatchString("cn-east-3_shop1") || re.MatchString("shopx") || re.MatchString("x-shop") {
		t.Errorf("name_regex %s is not anchored at both ends", re)
	}
}

// TestCredentialsIn: the entry's tenants use its credentials entry; an IAM
// password that names no endpoint is exchanged at the IAM of the tenant's
// region, while the listing's is exchanged at iam_endpoint.
func TestCredentialsIn(t *testing.T) {
	cfg := loadCallbackDiscovery(t)
	src := &cfg.Discovery()[1]
	got, ok := src.CredentialsIn("cn-east-3")
	want := metastudio.Credentials{IAM: &metastudio.IAMPassword{
		Domain: "acme", User: "monitor", Password: "ops-Passw0rd!", Endpoint: "https://iam.cn-east-3.myhuaweicloud.com",
	}}
	if !ok || !reflect.DeepEqual(got, want) {
		t.Errorf("CredentialsIn(cn-east-3) = %+v, %v", got, ok)
	}
	if ep := src.Credentials.IAM.Endpoint; ep != "https://iam.example.test" {
		t.Errorf("the listing's IAM endpoint %q, want iam_endpoint's", ep)
	}
	if got, ok := cfg.Discovery()[0].CredentialsIn("ap-southeast-1"); !ok || got != cfg.Discovery()[0].Credentials {
		t.Errorf("AK/SK entry: CredentialsIn = %+v, %v", got, ok)
	}
	if _, ok := (&DiscoverySource{Index: 7}).CredentialsIn("cn-east-3"); ok {
		t.Error("an entry not loaded from a file has credentials")
	}
}

func TestCheckRegion(t *testing.T) {
	if err := CheckRegion("cn-north-4"); err != nil {
		t.Error(err)
	}
	if err := CheckRegion("cn-north-4_shop1"); err == nil || err.Error() != `region "cn-north-4_shop1" does not match ^[a-z0-9-]+$` {
		t.Errorf("err = %v", err)
	}
}

// TestSourceLabels: an entry is labelled by its name, else by its index;
// a name that is the index of an entry without one is refused, since both
// would make one series.
func TestSourceLabels(t *testing.T) {
	head := "credentials:\n  main: {access_key: AK, secret_key: SK}\ndiscovery:\n"
	cfg, err := Parse([]byte(head+"  - {credentials: main, regions: [a], name: fleet}\n  - {credentials: main, regions: [b]}\n  - {credentials: main, regions: [c], name: \"0\"}\n"), "m.yml", ".", envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	for i := range cfg.Discovery() {
		labels = append(labels, cfg.Discovery()[i].Label())
	}
	if strings.Join(labels, " ") != "fleet 1 0" {
		t.Errorf("labels %q", labels)
	}
	_, err = Parse([]byte(head+"  - {credentials: main, regions: [a]}\n  - {credentials: main, regions: [b]}\n  - {credentials: main, regions: [c],\n     name: \"1\"}\n"), "m.yml", ".", envOf(nil))
	want := "m.yml:7: discovery[2].name: 1 is the source label of discovery[1], which has no name: name that entry too, or choose another name"
	if err == nil || err.Error() != want {
		t.Errorf("error %v\nwant %s", err, want)
	}
}

// TestDiscoveryWithoutTenants: with a discovery entry the tenants list may
// be empty or left out; without one it may not.
func TestDiscoveryWithoutTenants(t *testing.T) {
	data := "credentials:\n  main: {access_key: AK, secret_key: SK}\ndiscovery:\n  - {credentials: main, regions: [cn-north-4]}\n"
	for _, tenants := range []string{"", "tenants: []\n"} {
		cfg, err := Parse([]byte(data+tenants), "m.yml", ".", envOf(nil))
		if err != nil {
			t.Fatalf("%q: %v", tenants, err)
		}
		want := "m.yml: 0 tenants, 1 credential (1 AK/SK, 0 IAM password), 1 discovery source"
		if got := cfg.Summary(); got != want {
			t.Errorf("Summary() = %q, want %q", got, want)
		}
		if n := len(cfg.Tenants()); n != 0 {
			t.Errorf("%d tenants", n)
		}
	}
	_, err := Parse([]byte("credentials:\n  main: {access_key: AK, secret_key: SK}\ndiscovery: []\n"), "m.yml", ".", envOf(nil))
	if want := "m.yml:1: tenants: at least one tenant is required, or a discovery entry to find them"; err == nil || err.Error() != want {
		t.Errorf("empty discovery, no tenants: error %v, want %q", err, want)
	}
}

func TestCallbackSummaryAndRedacted(t *testing.T) {
	cfg := loadCallbackDiscovery(t)
	want := "testdata/good/callback_discovery.yml: 2 tenants (relay, own-key), 2 credentials (1 AK/SK, 1 IAM password), 2 tenants with callback settings, 2 discovery sources"
	if got := cfg.Summary(); got != want {
		t.Errorf("Summary() = %q, want %q", got, want)
	}
	out, err := cfg.Redacted()
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	for _, secret := range []string{"cbSECRETtok", "token=", "inline-cb-key-value", "cb-key-FROMFILE", "ops-Passw0rd!"} {
		if strings.Contains(s, secret) {
			t.Errorf("Redacted() shows %q:\n%s", secret, s)
		}
	}
	for _, part := range []string{
		"  callback:\n    key_file: ../secrets/cb-key\n    forward_timeout: 3s\n    allow_unauthenticated: false\n",
		"discovery:\n  - credentials: main\n    iam_endpoint: https://iam.myhuaweicloud.com\n    regions: [cn-north-4, ap-southeast-1]\n    name_regex: .*\n    name_prefix: \"\"\n    endpoint: https://metastudio.{region}.myhuaweicloud.com\n    refresh_interval: 10m\n",
		"    name_regex: shop|cn-east-3_shop.*\n    name_prefix: east-\n    endpoint: https://{region}.metastudio.example.test\n    refresh_interval: 1h\n",
		"    callback:\n      key_file: ../secrets/cb-key\n      forward_url: https://app.example.test/events?<secret>\n      forward_timeout: 3s\n      allow_unauthenticated: false\n",
		"    callback:\n      key: <secret>\n      forward_timeout: 10s\n      allow_unauthenticated: true\n",
	} {
		if !strings.Contains(s, part) {
			t.Errorf("Redacted() lacks\n%s\nin\n%s", part, s)
		}
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://app.example.test/events":           "https://app.example.test/events",
		"https://app.example.test/events?token=abc": "https://app.example.test/events?<secret>",
		"http://10.0.0.1:8080/e?a=1&b=2":            "http://10.0.0.1:8080/e?<secret>",
		"https://app.example.test/?":                "https://app.example.test/?<secret>",
		"https://app.example.test/x%zz?token=abc":   "<secret>",
		"https://u:pw@app.example.test/e?token=abc": "https://u:xxxxx@app.example.test/e?<secret>",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func mustCompile(t *testing.T, expr string) *regexp.Regexp {
	t.Helper()
	re, err := CompileNameRegex(expr)
	if err != nil {
		t.Fatal(err)
	}
	return re
}

func TestCompileNameRegex(t *testing.T) {
	re := mustCompile(t, "shop.")
	for name, want := range map[string]bool{"shop1": true, "shop12": false, "xshop1": false, "shop\n": true} {
		if got := re.MatchString(name); got != want {
			t.Errorf("%q: match = %v, want %v", name, got, want)
		}
	}
	if _, err := CompileNameRegex("("); err == nil || err.Error() != "error parsing regexp: missing closing ): `(`" {
		t.Fatalf("err = %v", err)
	}
}
