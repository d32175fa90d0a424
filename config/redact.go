package config

import (
	"bytes"
	"fmt"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/metastudio-exporter/metastudio_exporter/secret"
)

// The /config view has the shape of the config file, so an operator can read
// it as one, with every default spelled out. Inline secrets are secret.String
// and render as "<secret>"; *_file keys show the path as written, never what
// was read from it, the access key file included, to keep one rule.

type viewPolicy struct {
	MaxLiveDuration     model.Duration `yaml:"max_live_duration"`
	MaxExceptionWaiting model.Duration `yaml:"max_exception_waiting"`
}

// viewCallback shows forward_url with its query hidden: it may carry the
// app's credentials.
type viewCallback struct {
	Key                  secret.String  `yaml:"key,omitempty"`
	KeyFile              string         `yaml:"key_file,omitempty"`
	ForwardURL           string         `yaml:"forward_url,omitempty"`
	ForwardTimeout       model.Duration `yaml:"forward_timeout"`
	AllowUnauthenticated bool           `yaml:"allow_unauthenticated"`
}

// viewSettings are the per-tenant keys after region, timeout and
// credentials, shown alike under defaults and for each tenant.
type viewSettings struct {
	MaxCacheAge model.Duration `yaml:"max_cache_age"`
	Policy      viewPolicy     `yaml:"policy"`
	Callback    *viewCallback  `yaml:"callback,omitempty"`
}

func settingsView(s Settings) viewSettings {
	return viewSettings{
		MaxCacheAge: model.Duration(s.MaxCacheAge),
		Policy:      policyView(s.Policy),
		Callback:    callbackView(s.Callback),
	}
}

type viewDefaults struct {
	Region       string         `yaml:"region"`
	Timeout      model.Duration `yaml:"timeout"`
	Credentials  string         `yaml:"credentials,omitempty"`
	viewSettings `yaml:",inline"`
}

type viewIAM struct {
	Domain       string        `yaml:"domain"`
	User         string        `yaml:"user"`
	Password     secret.String `yaml:"password,omitempty"`
	PasswordFile string        `yaml:"password_file,omitempty"`
	// Left as written: the default depends on each tenant's region.
	Endpoint string `yaml:"endpoint,omitempty"`
}

type viewCredential struct {
	AccessKey         string        `yaml:"access_key,omitempty"`
	AccessKeyFile     string        `yaml:"access_key_file,omitempty"`
	SecretKey         secret.String `yaml:"secret_key,omitempty"`
	SecretKeyFile     string        `yaml:"secret_key_file,omitempty"`
	SecurityToken     secret.String `yaml:"security_token,omitempty"`
	SecurityTokenFile string        `yaml:"security_token_file,omitempty"`
	IAMPassword       *viewIAM      `yaml:"iam_password,omitempty"`
}

type viewTenant struct {
	Name         string         `yaml:"name"`
	ProjectID    string         `yaml:"project_id"`
	Region       string         `yaml:"region"`
	Endpoint     string         `yaml:"endpoint"`
	Credentials  string         `yaml:"credentials,omitempty"` // absent: from the environment
	Timeout      model.Duration `yaml:"timeout"`
	viewSettings `yaml:",inline"`
	// DiscoveredBy is the index of the discovery entry that found the
	// tenant; absent for a tenant written in the file.
	DiscoveredBy *int `yaml:"discovered_by,omitempty"`
}

type viewDiscovery struct {
	Credentials     string         `yaml:"credentials"`
	IAMEndpoint     string         `yaml:"iam_endpoint"`
	Regions         []string       `yaml:"regions,flow"`
	NameRegex       string         `yaml:"name_regex"`
	NamePrefix      string         `yaml:"name_prefix"`
	Endpoint        string         `yaml:"endpoint"`
	RefreshInterval model.Duration `yaml:"refresh_interval"`
}

type view struct {
	Defaults    viewDefaults              `yaml:"defaults"`
	Credentials map[string]viewCredential `yaml:"credentials,omitempty"`
	Discovery   []viewDiscovery           `yaml:"discovery,omitempty"`
	Tenants     []viewTenant              `yaml:"tenants"`
}

func policyView(p Policy) viewPolicy {
	return viewPolicy{MaxLiveDuration: model.Duration(p.MaxLiveDuration), MaxExceptionWaiting: model.Duration(p.MaxExceptionWaiting)}
}

// callbackView leaves out a callback nothing was configured for, so that
// files without one read as before.
func callbackView(c Callback) *viewCallback {
	if !c.configured() {
		return nil
	}
	v := &viewCallback{
		KeyFile:              c.KeyFile,
		ForwardTimeout:       model.Duration(c.ForwardTimeout),
		AllowUnauthenticated: c.AllowUnauthenticated,
	}
	if c.KeyFile == "" {
		v.Key = c.Key
	}
	if c.ForwardURL.IsSet() {
		v.ForwardURL = RedactURL(c.ForwardURL.Reveal())
	}
	return v
}

// Redacted renders the effective config for GET /config: the file's
// tenants, then discovered, those the tenant set serves besides them.
func (c *Config) Redacted(discovered ...*Tenant) ([]byte, error) {
	v := view{
		Defaults: viewDefaults{
			Region:       c.defaults.Region,
			Timeout:      model.Duration(c.defaults.Timeout),
			Credentials:  c.defaults.credentials,
			viewSettings: settingsView(c.defaults.Settings),
		},
		Tenants: make([]viewTenant, 0, len(c.tenants)),
	}
	for _, d := range c.discovery {
		v.Discovery = append(v.Discovery, viewDiscovery{
			Credentials:     d.CredentialsName,
			IAMEndpoint:     d.IAMEndpoint,
			Regions:         d.Regions,
			NameRegex:       d.NameRegexText,
			NamePrefix:      d.NamePrefix,
			Endpoint:        d.Endpoint,
			RefreshInterval: model.Duration(d.RefreshInterval),
		})
	}
	if len(c.credentials) > 0 {
		v.Credentials = make(map[string]viewCredential, len(c.credentials))
	}
	for _, cr := range c.credentials {
		raw := cr.raw
		vc := viewCredential{
			AccessKeyFile:     raw.accessKeyFile.val,
			SecretKeyFile:     raw.secretKeyFile.val,
			SecurityTokenFile: raw.securityTokenFile.val,
		}
		if !raw.accessKeyFile.set() {
			vc.AccessKey = cr.creds.AccessKey
		}
		if raw.secretKey.set() {
			vc.SecretKey = cr.creds.SecretKey
		}
		if raw.securityToken.set() {
			vc.SecurityToken = cr.creds.SecurityToken
		}
		if iam := cr.creds.IAM; iam != nil {
			vc.IAMPassword = &viewIAM{
				Domain:       iam.Domain,
				User:         iam.User,
				PasswordFile: raw.iam.passwordFile.val,
				Endpoint:     iam.Endpoint,
			}
			if raw.iam.password.set() {
				vc.IAMPassword.Password = iam.Password
			}
		}
		v.Credentials[raw.name] = vc
	}
	for _, t := range append(c.tenants[:len(c.tenants):len(c.tenants)], discovered...) {
		var discoveredBy *int
		if t.Source != nil {
			discoveredBy = &t.Source.Index
		}
		v.Tenants = append(v.Tenants, viewTenant{
			Name:         t.Name,
			ProjectID:    t.ProjectID,
			Region:       t.Region,
			Endpoint:     t.Endpoint,
			Credentials:  t.CredentialsName,
			Timeout:      model.Duration(t.Timeout),
			viewSettings: settingsView(t.Settings),
			DiscoveredBy: discoveredBy,
		})
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encoding config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encoding config: %w", err)
	}
	return buf.Bytes(), nil
}
