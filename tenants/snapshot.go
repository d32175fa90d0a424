package tenants

import (
	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/internal/fixedlabels"
)

// Snapshot is the tenant set at one moment: the file as last loaded and
// the projects every discovery entry found, each served with the
// credentials and endpoint of the entry (the version of it) that listed
// it. It never changes; take one per request
// so that one answer never mixes two sets.
type Snapshot struct {
	file *config.Config
	// tenants are the file's, in file order, then the discovered ones by
	// name; discovered is the tail.
	tenants    []*config.Tenant
	discovered []*config.Tenant
	byName     map[string]*config.Tenant
	// labelNames is the union of the tenants' label names, resolved once
	// for the snapshot rather than on every scrape.
	labelNames []string
	// listed: every discovery entry serves a list, its own or, until an
	// entry a reload changed lists, its previous version's.
	listed bool
}

// File is the file as last loaded; nil before the first successful load.
func (s *Snapshot) File() *config.Config {
	if s == nil {
		return nil
	}
	return s.file
}

// Tenants are the tenants served, shared and read-only. A nil Snapshot
// (nothing loaded yet) has none.
func (s *Snapshot) Tenants() []*config.Tenant {
	if s == nil {
		return nil
	}
	return s.tenants
}

// Tenant looks a served tenant up by name.
func (s *Snapshot) Tenant(name string) (*config.Tenant, bool) {
	if s == nil {
		return nil, false
	}
	t, ok := s.byName[name]
	return t, ok
}

// LabelNames is the union of the served tenants' label names (labels:),
// sorted: the fixed labels every per-tenant family of an answer for the
// whole set carries, "" where a tenant lacks one. Shared and read-only.
func (s *Snapshot) LabelNames() []string {
	if s == nil {
		return nil
	}
	return s.labelNames
}

// labelUnion is the union of tenants' label names.
func labelUnion(tenants []*config.Tenant) []string {
	var names []string
	for _, t := range tenants {
		names = fixedlabels.Union(names, t.Labels.Names())
	}
	return names
}

// Ready tells whether the set is whole: the file is loaded and every
// discovery entry has a list to serve, its own or, while a reload's change
// has not listed yet, its previous version's. Until then a replica would
// serve a partial set.
func (s *Snapshot) Ready() bool { return s != nil && s.file != nil && s.listed }

// Authoritative returns the names state may be kept for, and whether the
// set can say so: only once every entry has a list is a tenant absent from
// it known to be gone (and not merely not listed yet). The names are those
// served: the file's and every entry's last successful list, which for an
// entry changed by a reload that has not listed yet is its previous
// version's.
func (s *Snapshot) Authoritative() ([]string, bool) {
	if !s.Ready() {
		return nil, false
	}
	names := make([]string, len(s.tenants))
	for i, t := range s.tenants {
		names[i] = t.Name
	}
	return names, true
}

// Redacted renders the served set for GET /config: the file, every secret
// shown as <secret>, and the discovered tenants.
func (s *Snapshot) Redacted() ([]byte, error) { return s.file.Redacted(s.discovered...) }
