package config

import (
	"slices"
	"strings"

	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

// resolver turns the decoded file into a Config, recording every problem:
// what one key's value cannot say on its own (references between
// sections, duplicates across entries, credentials) is checked here.
type resolver struct {
	*problems
	lookupEnv func(string) (string, bool)
	envCache  *envCredentials
	credIndex map[string]int
	credNames []string
	// defaultsW is what defaults: wrote: a credentials key written there
	// wrongly is the problem of every tenant that inherits it, reported once.
	defaultsW *written
}

// credentialsBad tells whether the credentials key w's section stands on
// is written, here or in defaults:, but not as an entry's name: that is the
// problem to report, not a missing entry or environment.
func (r *resolver) credentialsBad(w *written) bool {
	return w.bad["credentials"] || (!w.set("credentials") && r.defaultsW.bad["credentials"])
}

func (r *resolver) resolve(raw *rawConfig) *Config {
	cfg := &Config{byName: map[string]*Tenant{}, defaults: raw.defaults}
	r.credIndex = map[string]int{}
	r.defaultsW = raw.defaultsW
	for _, rc := range raw.credentials {
		r.credIndex[rc.name] = len(cfg.credentials)
		r.credNames = append(r.credNames, rc.name)
		cfg.credentials = append(cfg.credentials, r.credential(rc))
	}
	if raw.defaultsW.set("credentials") {
		// Reported here once rather than on every tenant inheriting it.
		r.credentialRef(raw.defaults.Credentials, raw.defaultsW.lineOf("credentials"), "defaults.credentials")
	}

	cfg.discovery = r.discovery(raw, cfg)
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
		if rt == nil {
			continue // not a mapping, reported
		}
		path := indexPath("tenants", i)
		t := NewTenant(r.tenant(rt, path, cfg))
		if prev, dup := firstIndex[t.Name]; dup {
			r.add(rt.w.lineOf("name"), path+".name", "duplicate name, also used by tenants[%d]", prev)
		} else if t.Name != "" {
			cfg.byName[t.Name] = t
			firstIndex[t.Name] = i
		}
		cfg.tenants = append(cfg.tenants, t)
	}
	r.sameProject(raw)
	return cfg
}

// tenant resolves one entry of the tenants list.
func (r *resolver) tenant(rt *rawTenant, path string, cfg *Config) Tenant {
	t := Tenant{
		Target:          metastudio.Target{Name: rt.Name, ProjectID: rt.ProjectID, Endpoint: rt.Endpoint},
		Settings:        rt.Settings,
		CredentialsName: rt.Credentials,
	}
	if t.Endpoint == "" {
		t.Endpoint = regionalEndpoint(t.Region)
	}
	if rt.w.set("credentials") && !r.credentialRef(t.CredentialsName, rt.w.lineOf("credentials"), path+".credentials") {
		return t
	}
	if t.CredentialsName == "" {
		if r.credentialsBad(rt.w) {
			return t
		}
		env := r.env()
		if len(env.missing) > 0 {
			verb := "is"
			if len(env.missing) > 1 {
				verb = "are"
			}
			r.add(rt.w.line, path+".credentials", "not set, and %s %s missing from the environment", strings.Join(env.missing, " and "), verb)
		}
		t.Credentials = env.creds
		return t
	}
	idx, ok := r.credIndex[t.CredentialsName]
	if !ok || !cfg.credentials[idx].ok {
		return t // already reported where the name or the entry is
	}
	cred := &cfg.credentials[idx]
	t.Credentials = cred.forTenant(t.Region)
	// A tenant's own block wins; otherwise its credentials entry's wins
	// over the one defaults gave it.
	if !rt.w.set("http_client") && cred.HTTPClient != nil {
		t.HTTPClient = cred.HTTPClient
	}
	return t
}

func regionalEndpoint(region string) string {
	return "https://metastudio." + region + ".myhuaweicloud.com"
}

// sameProject refuses two tenants serving one project at one endpoint:
// every series would be there twice under two names, and the callbacks of
// one project would go to either. Project IDs and names are no secrets.
func (r *resolver) sameProject(raw *rawConfig) {
	type where struct{ endpoint, project string }
	first := map[where]int{}
	for i, rt := range raw.tenants {
		if rt == nil || rt.ProjectID == "" {
			continue
		}
		endpoint := rt.Endpoint
		if endpoint == "" {
			endpoint = regionalEndpoint(rt.Region)
		}
		w := where{endpoint, rt.ProjectID}
		prev, dup := first[w]
		if !dup {
			first[w] = i
			continue
		}
		r.add(rt.w.lineOf("project_id"), indexPath("tenants", i)+".project_id",
			"project %s is also served by tenants[%d] (%s) at the same endpoint", rt.ProjectID, prev, raw.tenants[prev].Name)
	}
}

// credentialRef checks that a credentials reference names an entry. The
// defined names are listed instead of repeating the value, which could be a
// key pasted into the wrong place.
func (r *resolver) credentialRef(ref string, line int, path string) bool {
	if _, ok := r.credIndex[ref]; ok {
		return true
	}
	if len(r.credNames) == 0 {
		r.add(line, path, "not found under credentials, which defines none")
	} else {
		r.add(line, path, "not found under credentials (defined: %s)", strings.Join(slices.Sorted(slices.Values(r.credNames)), ", "))
	}
	return false
}

// credentialsFor resolves the credentials entry a discovery entry names,
// reporting a missing one; nil when there is none to use.
func (r *resolver) credentialsFor(e *rawDiscovery, path string, cfg *Config) *credential {
	switch {
	case r.credentialsBad(e.w):
		return nil
	case e.Credentials == "":
		r.add(e.w.line, path+".credentials", "required (here or in defaults.credentials)")
		return nil
	case e.w.set("credentials") && !r.credentialRef(e.Credentials, e.w.lineOf("credentials"), path+".credentials"):
		return nil
	}
	idx, ok := r.credIndex[e.Credentials]
	if !ok || !cfg.credentials[idx].ok {
		return nil // already reported where the name or the entry is
	}
	return &cfg.credentials[idx]
}

func (r *resolver) discoveryName(e *rawDiscovery, path string, names map[string]int, i int) {
	if e.Name == "" {
		return
	}
	if prev, dup := names[e.Name]; dup {
		r.add(e.w.lineOf("name"), path+".name", "duplicate name, also used by discovery[%d]", prev)
		return
	}
	names[e.Name] = i
}
