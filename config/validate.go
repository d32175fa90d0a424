package config

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

var (
	// Tenant names become label values and URL parameters (/probe?tenant=).
	tenantNameRE = regexp.MustCompile(`^[a-zA-Z0-9_.-]+$`)
	// The project ID is put into the request path; this keeps it from
	// changing which path is called.
	projectIDRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)
	// The region is put into host names.
	regionRE = regexp.MustCompile(`^[a-z0-9-]+$`)
)

// effectiveDefaults are the defaults section with the built-in defaults
// applied: what a tenant that sets nothing gets.
type effectiveDefaults struct {
	Settings
	credentials string
}

// builtinSettings are what neither a tenant nor the defaults section sets.
func builtinSettings() Settings {
	return Settings{
		Region:      DefaultRegion,
		Timeout:     DefaultTimeout,
		MaxCacheAge: DefaultMaxCacheAge,
		Policy:      Policy{MaxLiveDuration: DefaultMaxLiveDuration, MaxExceptionWaiting: DefaultMaxExceptionWaiting},
		Callback:    defaultCallback(),
	}
}

// settings applies the keys raw sets over fallback, one by one; path is
// where raw stands in the file ("defaults", "tenants[2]").
func (r *resolver) settings(raw rawSettings, path string, fallback Settings) Settings {
	return Settings{
		Region:      r.region(raw.region, path+".region", fallback.Region),
		Timeout:     r.timeout(raw.timeout, path+".timeout", fallback.Timeout),
		MaxCacheAge: r.duration(raw.maxCacheAge, fallback.MaxCacheAge),
		Policy: Policy{
			MaxLiveDuration:     r.duration(raw.policy.maxLive, fallback.Policy.MaxLiveDuration),
			MaxExceptionWaiting: r.duration(raw.policy.maxExceptionWaiting, fallback.Policy.MaxExceptionWaiting),
		},
		Callback: r.callback(raw.callback, path+".callback", fallback.Callback),
	}
}

// resolver turns the decoded file into a Config, recording every problem.
type resolver struct {
	*problems
	baseDir   string
	lookupEnv func(string) (string, bool)
	envCache  *envCredentials
	credIndex map[string]int
	credNames []string
}

func (r *resolver) resolve(raw *rawConfig) *Config {
	cfg := &Config{byName: map[string]*Tenant{}}
	r.credIndex = map[string]int{}
	for _, rc := range raw.credentials {
		r.credIndex[rc.name] = len(cfg.credentials)
		r.credNames = append(r.credNames, rc.name)
		cfg.credentials = append(cfg.credentials, r.credential(rc))
	}

	d := raw.defaults
	def := effectiveDefaults{Settings: r.settings(d, "defaults", builtinSettings())}
	if d.credentials.set() {
		// Reported here once rather than on every tenant inheriting it.
		r.credentialRef(d.credentials, "defaults.credentials")
		def.credentials = d.credentials.val
	}
	cfg.defaults = def

	cfg.discovery = r.discovery(raw.discovery, def, cfg)
	// Tenants may all come from discovery.
	if len(raw.tenants) == 0 && !raw.tenantsBad && len(cfg.discovery) == 0 {
		line := raw.tenantsLine
		if line == 0 {
			line = raw.rootLine
		}
		r.add(line, "tenants", "at least one tenant is required, or a discovery entry to find them")
	}
	firstIndex := map[string]int{}
	for i, rt := range raw.tenants {
		t := NewTenant(r.tenant(rt, fmt.Sprintf("tenants[%d]", i), def, cfg, firstIndex))
		if _, dup := cfg.byName[t.Name]; !dup && t.Name != "" {
			cfg.byName[t.Name] = t
			firstIndex[t.Name] = i
		}
		cfg.tenants = append(cfg.tenants, t)
	}
	return cfg
}

// tenant resolves one entry of the tenants list; firstIndex holds the index
// of each name already taken, for the duplicate message.
func (r *resolver) tenant(rt *rawTenant, path string, def effectiveDefaults, cfg *Config, firstIndex map[string]int) Tenant {
	t := Tenant{
		Target:   metastudio.Target{Name: rt.name.val, ProjectID: rt.projectID.val},
		Settings: r.settings(rt.rawSettings, path, def.Settings),
	}
	switch prev, dup := firstIndex[t.Name]; {
	case rt.name.bad:
	case rt.name.missing():
		r.add(rt.line, path+".name", "required")
	case !tenantNameRE.MatchString(t.Name):
		r.add(rt.name.line, path+".name", "must match %s", tenantNameRE)
	case dup:
		r.add(rt.name.line, path+".name", "duplicate name, also used by tenants[%d]", prev)
	}
	switch {
	case rt.projectID.bad:
	case rt.projectID.missing():
		r.add(rt.line, path+".project_id", "required")
	case !projectIDRE.MatchString(t.ProjectID):
		r.add(rt.projectID.line, path+".project_id", "must match %s", projectIDRE)
	}
	t.Endpoint, _ = r.endpoint(rt.endpoint, path+".endpoint")
	if t.Endpoint == "" {
		t.Endpoint = "https://metastudio." + t.Region + ".myhuaweicloud.com"
	}

	t.CredentialsName = def.credentials
	if rt.credentials.set() {
		t.CredentialsName = rt.credentials.val
		if !r.credentialRef(rt.credentials, path+".credentials") {
			return t
		}
	}
	if t.CredentialsName == "" {
		env := r.env()
		if len(env.missing) > 0 {
			verb := "is"
			if len(env.missing) > 1 {
				verb = "are"
			}
			r.add(rt.line, path+".credentials", "not set, and %s %s missing from the environment", strings.Join(env.missing, " and "), verb)
		}
		t.Credentials = env.creds
		return t
	}
	idx, ok := r.credIndex[t.CredentialsName]
	if !ok || !cfg.credentials[idx].ok {
		return t // already reported where the name or the entry is
	}
	t.Credentials = cfg.credentials[idx].forTenant(t.Region)
	return t
}

// credentialRef checks that a credentials reference names an entry. The
// defined names are listed instead of repeating the value, which could be a
// key pasted into the wrong place.
func (r *resolver) credentialRef(ref str, path string) bool {
	if _, ok := r.credIndex[ref.val]; ok {
		return true
	}
	if len(r.credNames) == 0 {
		r.add(ref.line, path, "not found under credentials, which defines none")
	} else {
		r.add(ref.line, path, "not found under credentials (defined: %s)", strings.Join(slices.Sorted(slices.Values(r.credNames)), ", "))
	}
	return false
}

func (r *resolver) region(s str, path, fallback string) string {
	if !s.set() {
		return fallback
	}
	if !regionRE.MatchString(s.val) {
		r.add(s.line, path, "must match %s", regionRE)
	}
	return s.val
}

func (r *resolver) timeout(d dur, path string, fallback time.Duration) time.Duration {
	if !d.set {
		return fallback
	}
	if d.val <= 0 {
		r.add(d.line, path, "must be greater than 0")
	}
	return d.val
}

// duration applies a fallback; negative values never get here, the decoder
// rejects them.
func (r *resolver) duration(d dur, fallback time.Duration) time.Duration {
	if !d.set {
		return fallback
	}
	return d.val
}

// endpoint validates an endpoint override and drops trailing slashes so
// that API paths can be appended. Messages never repeat the URL: user info
// in it would be a password.
func (r *resolver) endpoint(s str, path string) (string, bool) {
	if !s.set() {
		return "", true
	}
	if msg := checkEndpoint(s.val); msg != "" {
		r.add(s.line, path, "%s", msg)
		return "", false
	}
	return strings.TrimRight(s.val, "/"), true
}

func checkEndpoint(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "":
		return "must be an absolute http or https URL"
	case u.User != nil:
		return "must not contain user info"
	case u.RawQuery != "" || u.ForceQuery:
		return "must not contain a query"
	case u.Fragment != "" || strings.Contains(s, "#"):
		return "must not contain a fragment"
	}
	return ""
}
