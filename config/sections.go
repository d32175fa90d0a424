package config

import (
	"reflect"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
	"github.com/metastudio-exporter/metastudio_exporter/secret"
)

// The sections of the file, each described once (schema.go). The decoder
// reads them, the resolver turns them into tenants and discovery sources,
// /config renders them, and a misplaced key is told where it belongs from
// them.

// defaultsSection is defaults: what every tenant and discovery entry takes
// for the keys it does not set.
type defaultsSection struct {
	Credentials string `yaml:"credentials,omitempty"`
	Settings    `yaml:",inline"`
}

// tenantSection is one item of tenants:.
type tenantSection struct {
	Name      string `yaml:"name" check:"required,tenant_name"`
	ProjectID string `yaml:"project_id" check:"required,project_id"`
	// Endpoint is derived from the region when not written.
	Endpoint    string `yaml:"endpoint" check:"endpoint"`
	Credentials string `yaml:"credentials,omitempty"` // "": the environment
	Settings    `yaml:",inline"`
}

// credentialSection is one entry of credentials:, either AK/SK or an IAM
// password; each secret inline or in a file.
type credentialSection struct {
	AccessKey         string        `yaml:"access_key,orfile,omitempty"`
	AccessKeyFile     string        // the path the value was read from
	SecretKey         secret.String `yaml:"secret_key,orfile"`
	SecretKeyFile     string
	SecurityToken     secret.String `yaml:"security_token,orfile"`
	SecurityTokenFile string
	IAMPassword       *iamSection `yaml:"iam_password"`
	// HTTPClient serves every tenant and listing signed with this entry,
	// unless a tenant writes its own.
	HTTPClient *HTTPClient `yaml:"http_client"`
}

type iamSection struct {
	Domain       string        `yaml:"domain" check:"required"`
	User         string        `yaml:"user" check:"required"`
	Password     secret.String `yaml:"password,orfile" check:"required"`
	PasswordFile string
	// Endpoint is shown as written: its default depends on each tenant's
	// region.
	Endpoint string `yaml:"endpoint,omitempty" check:"endpoint"`
}

// discoverySection is one entry of discovery:. It takes the per-tenant
// settings for the tenants it finds, but region: each project's comes
// from its name.
type discoverySection struct {
	Name            string        `yaml:"name,omitempty" check:"source_name"`
	Credentials     string        `yaml:"credentials"`
	IAMEndpoint     string        `yaml:"iam_endpoint" check:"endpoint"`
	Regions         []string      `yaml:"regions,flow" check:"region"`
	NameRegex       string        `yaml:"name_regex" check:"name_regex"`
	NamePrefix      string        `yaml:"name_prefix" check:"name_prefix"`
	Endpoint        string        `yaml:"endpoint" check:"endpoint_template"`
	RefreshInterval time.Duration `yaml:"refresh_interval" check:"min=30s"`
	Settings        `yaml:",inline" except:"region"`
}

// Defaults of a discovery entry's own keys.
const (
	DefaultIAMEndpoint       = metastudio.DefaultIAMEndpoint
	DefaultDiscoveryEndpoint = "https://metastudio.{region}.myhuaweicloud.com"
	DefaultRefreshInterval   = 10 * time.Minute
	// MinRefreshInterval keeps a typo (1s for 1m) from spending the
	// account's IAM quota.
	MinRefreshInterval = 30 * time.Second
	DefaultNameRegex   = ".*"
)

// builtinDiscovery is what an entry gets for the keys it does not write:
// its own keys' defaults, and the credentials and settings of defaults.
func builtinDiscovery(def *defaultsSection) discoverySection {
	return discoverySection{
		Credentials:     def.Credentials,
		IAMEndpoint:     DefaultIAMEndpoint,
		NameRegex:       DefaultNameRegex,
		Endpoint:        DefaultDiscoveryEndpoint,
		RefreshInterval: DefaultRefreshInterval,
		Settings:        def.Settings,
	}
}

// place is where a section stands in the file: how an error names it,
// and the schema of what is written there.
type place struct {
	key    string // the top-level key
	name   string // how a suggestion names it
	schema *schema
}

// places are the file's top level. Building their schemas here, at
// package initialisation, makes a malformed tag panic at start.
var places = []place{
	{"defaults", "defaults:", schemaOf(reflect.TypeFor[defaultsSection]())},
	{"credentials", "a credentials entry (credentials.NAME)", schemaOf(reflect.TypeFor[credentialSection]())},
	{"tenants", "a tenant (tenants[N])", schemaOf(reflect.TypeFor[tenantSection]())},
	{"discovery", "a discovery entry (discovery[N])", schemaOf(reflect.TypeFor[discoverySection]())},
}

func placeOf(key string) *place {
	for i := range places {
		if places[i].key == key {
			return &places[i]
		}
	}
	return nil
}

// exceptWhy says why a section leaves out a key its inline settings have.
var exceptWhy = map[string]string{
	"region": "a discovery entry takes each project's region from the project's name (see regions)",
}
