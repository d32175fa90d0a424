// Package config loads and validates the exporter's tenants file.
//
// Everything a tenant needs is resolved at load time — defaults applied,
// endpoints derived from the region, secret files read, environment
// credentials looked up — so a Config is an immutable snapshot that a scrape
// can use without further checks, and a broken file is rejected as a whole
// before it replaces a working one.
package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Environment variables a tenant without credentials takes its AK/SK from;
// the names are those the Huawei Cloud SDKs read, so existing deployments
// work unchanged.
const (
	EnvAccessKey     = "HUAWEICLOUD_SDK_AK"
	EnvSecretKey     = "HUAWEICLOUD_SDK_SK"
	EnvSecurityToken = "HUAWEICLOUD_SDK_SECURITY_TOKEN"
)

// Config is one loaded file. It is never modified after Parse returns, so it
// can be shared between concurrent scrapes without locking.
type Config struct {
	file        string
	tenants     []*Tenant // file order
	byName      map[string]*Tenant
	credentials []credential // file order, for Summary and Redacted
	defaults    defaultsSection
	discovery   []DiscoverySource
}

// Load reads and validates the file at path, taking environment credentials
// from the process environment.
func Load(path string) (*Config, error) {
	return LoadWithEnv(path, os.LookupEnv)
}

// LoadWithEnv is Load with the environment lookup injected. Relative secret
// file paths are resolved against the config file's directory, so a config
// and its secrets can move together.
func LoadWithEnv(path string, lookupEnv func(string) (string, bool)) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config file: %w", err)
	}
	return Parse(data, path, filepath.Dir(path), lookupEnv)
}

// Parse validates data as a config file. filename is only used in error
// messages; baseDir is where relative secret file paths start.
func Parse(data []byte, filename, baseDir string, lookupEnv func(string) (string, bool)) (*Config, error) {
	ps := &problems{file: filename}
	raw := decode(data, baseDir, ps)
	if raw == nil {
		return nil, ps.err()
	}
	r := &resolver{problems: ps, lookupEnv: lookupEnv}
	cfg := r.resolve(raw)
	if err := ps.err(); err != nil {
		return nil, err
	}
	cfg.file = filename
	return cfg, nil
}

// Tenants returns the tenants written in the file, in file order (those
// discovery finds are the tenant set's, not the file's). The slice and the tenants are
// the snapshot's own and shared by every caller: read them, never change
// them. A nil Config (none loaded yet) has none.
func (c *Config) Tenants() []*Tenant {
	if c == nil {
		return nil
	}
	return c.tenants
}

// Tenant looks a tenant up by its name.
func (c *Config) Tenant(name string) (*Tenant, bool) {
	if c == nil {
		return nil, false
	}
	t, ok := c.byName[name]
	return t, ok
}

// maxSummaryNames keeps the --config.check line readable for large files.
const maxSummaryNames = 5

// Summary describes the config in one line, for --config.check and the
// reload log.
func (c *Config) Summary() string {
	names := make([]string, 0, maxSummaryNames+1)
	fromEnv, callbacks := 0, 0
	for i, t := range c.tenants {
		if i < maxSummaryNames {
			names = append(names, t.Name)
		}
		if t.CredentialsName == "" {
			fromEnv++
		}
		if t.Callback.configured() {
			callbacks++
		}
	}
	if len(c.tenants) > maxSummaryNames {
		names = append(names, "…")
	}
	var aksk, iam int
	for _, cr := range c.credentials {
		if cr.creds.IAM != nil {
			iam++
		} else {
			aksk++
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", c.file, plural(len(c.tenants), "tenant"))
	if len(names) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(names, ", "))
	}
	fmt.Fprintf(&b, ", %s", plural(len(c.credentials), "credential"))
	if len(c.credentials) > 0 {
		fmt.Fprintf(&b, " (%d AK/SK, %d IAM password)", aksk, iam)
	}
	if fromEnv > 0 {
		fmt.Fprintf(&b, ", %s from environment", plural(fromEnv, "tenant"))
	}
	if callbacks > 0 {
		fmt.Fprintf(&b, ", %s with callback settings", plural(callbacks, "tenant"))
	}
	if n := len(c.discovery); n > 0 {
		fmt.Fprintf(&b, ", %s", plural(n, "discovery source"))
	}
	return b.String()
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
