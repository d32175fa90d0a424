package discovery_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/discovery"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

// TestTenant: a discovered project gets what a file's tenant with only
// name, project_id and region would: every default, and the entry's
// credentials with the IAM endpoint of its own region.
func TestTenant(t *testing.T) {
	cfg, err := config.LoadWithEnv("../config/testdata/good/callback_discovery.yml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	src := &cfg.Discovery()[1]
	got, err := discovery.Tenant(src, discovery.Project{TenantName: "east-cn-east-3_shop1", ProjectID: "0f4e8e5e1a2b4c6d",
		ProjectName: "cn-east-3_shop1", Region: "cn-east-3"})
	if err != nil {
		t.Fatal(err)
	}
	settings := src.Settings
	settings.Region = "cn-east-3"
	want := config.NewTenant(config.Tenant{
		Target: metastudio.Target{
			Name: "east-cn-east-3_shop1", ProjectID: "0f4e8e5e1a2b4c6d", Endpoint: "https://cn-east-3.metastudio.example.test",
			Credentials: metastudio.Credentials{IAM: &metastudio.IAMPassword{
				Domain: "acme", User: "monitor", Password: "ops-Passw0rd!", Endpoint: "https://iam.cn-east-3.myhuaweicloud.com",
			}},
		},
		Settings:        settings,
		CredentialsName: "ops",
		Source:          src,
	})
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Tenant:\n got %+v\nwant %+v", got, want)
	}
	// The defaults reach it through the entry.
	if got.Timeout != 10*time.Second || got.Callback.KeyFile != "../secrets/cb-key" || got.Callback.ForwardTimeout != 3*time.Second {
		t.Errorf("defaults not applied: timeout %s, callback %+v", got.Timeout, got.Callback)
	}
	// The listing itself exchanges the password at iam_endpoint, not at a
	// region's.
	if ep := src.Credentials.IAM.Endpoint; ep != "https://iam.example.test" {
		t.Errorf("source IAM endpoint %q", ep)
	}

	for _, tc := range []struct {
		project discovery.Project
		want    string
	}{
		{discovery.Project{TenantName: "east-a b", ProjectID: "p1", Region: "cn-east-3"}, `tenant name "east-a b" does not match ^[a-zA-Z0-9_.-]+$`},
		{discovery.Project{TenantName: "east-a", ProjectID: "../p1", Region: "cn-east-3"}, `tenant east-a: project ID "../p1" does not match ^[a-zA-Z0-9_-]{1,64}$`},
		{discovery.Project{TenantName: "east-a", ProjectID: "p1", Region: "CN_EAST"}, `tenant east-a: region "CN_EAST" does not match ^[a-z0-9-]+$`},
		{discovery.Project{TenantName: strings.Repeat("n/", 100), ProjectID: "p1", Region: "cn-east-3"},
			`tenant name "` + strings.Repeat("n/", 32) + `"… does not match ^[a-zA-Z0-9_.-]+$`},
	} {
		_, err := discovery.Tenant(src, tc.project)
		if err == nil || err.Error() != tc.want {
			t.Errorf("Tenant(%+v) error %v, want %q", tc.project, err, tc.want)
		}
	}
	for _, tc := range []struct {
		src  config.DiscoverySource
		want string
	}{
		{config.DiscoverySource{Index: 7}, "tenant a: discovery entry 7 was not loaded from a config file"},
		{config.DiscoverySource{Index: 7, Name: "fleet"}, "tenant a: discovery entry fleet was not loaded from a config file"},
	} {
		_, err = discovery.Tenant(&tc.src, discovery.Project{TenantName: "a", ProjectID: "p1", Region: "cn-east-3"})
		if err == nil || err.Error() != tc.want {
			t.Errorf("foreign source: error %v, want %q", err, tc.want)
		}
	}
}

// TestTenantOfAnAKSKEntry: an AK/SK entry's tenants sign with its keys in
// every region, at the default endpoint of their region.
func TestTenantOfAnAKSKEntry(t *testing.T) {
	cfg, err := config.LoadWithEnv("../config/testdata/good/callback_discovery.yml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	src := &cfg.Discovery()[0]
	for _, region := range src.Regions {
		got, err := discovery.Tenant(src, discovery.Project{TenantName: region, ProjectID: "p-" + region, ProjectName: region, Region: region})
		if err != nil {
			t.Fatal(err)
		}
		if got.Endpoint != "https://metastudio."+region+".myhuaweicloud.com" || got.Credentials != src.Credentials ||
			got.CredentialsName != "main" || got.Region != region || got.Source != src {
			t.Errorf("%s: %+v", region, got)
		}
	}
}
