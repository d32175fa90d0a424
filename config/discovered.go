package config

import "fmt"

// Discovered is a project a discovery entry found, to be served as a
// tenant: Source is the entry's index in the file's discovery list, Name
// the tenant name (prefix included).
type Discovered struct {
	Source                  int
	Name, ProjectID, Region string
}

// WithDiscovered returns a snapshot that serves c's file tenants and, after
// them, the found projects as tenants, with defaults applied. A name the
// file holds stays the file's tenant. A project that cannot be made a
// tenant (an entry the file no longer has, say) is left out and named in
// the returned errors; the others are served.
func (c *Config) WithDiscovered(found []Discovered) (*Config, []error) {
	out := *c
	out.tenants = c.tenants[:c.fileTenants:c.fileTenants]
	out.byName = make(map[string]*Tenant, c.fileTenants+len(found))
	for _, t := range out.tenants {
		out.byName[t.Name] = t
	}
	var errs []error
	for _, d := range found {
		if _, taken := out.byName[d.Name]; taken {
			continue
		}
		if d.Source < 0 || d.Source >= len(c.discovery) {
			errs = append(errs, fmt.Errorf("tenant %s: the config has no discovery entry %d", d.Name, d.Source))
			continue
		}
		t, err := c.DiscoveredTenant(&c.discovery[d.Source], d.Name, d.ProjectID, d.Region)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out.tenants = append(out.tenants, t)
		out.byName[t.Name] = t
	}
	return &out, errs
}

// FileTenants returns the tenants written in the file, without those
// discovered; like Tenants, they are shared and read-only.
func (c *Config) FileTenants() []*Tenant {
	if c == nil {
		return nil
	}
	return c.tenants[:c.fileTenants:c.fileTenants]
}
