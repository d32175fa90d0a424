package tenants

import (
	"slices"
	"strings"

	"github.com/go-kit/log/level"

	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/discovery"
)

// publishLocked builds the snapshot of the current file and every entry's
// last list, serves it and tells the subscribers. A file tenant wins a
// name over a discovered project, and an earlier entry over a later one;
// either clash is logged when it begins. Each discovered project is made a
// tenant with its own entry (credentials, endpoint) of the current file,
// and only ever with it.
func (s *Set) publishLocked() {
	file := s.file
	snap := &Snapshot{file: file, listed: true, byName: map[string]*config.Tenant{}}
	for _, t := range file.Tenants() {
		snap.byName[t.Name] = t
	}
	owner := map[string]string{}
	clashes, dups := map[string]bool{}, map[string]bool{}
	for _, e := range s.entries {
		e.served = 0
		snap.listed = snap.listed && e.listed
		for _, p := range e.listing.Projects {
			name := p.TenantName
			if _, static := file.Tenant(name); static {
				clashes[name] = true
				if !s.clashLogged[name] {
					_ = level.Warn(s.logger).Log("msg", "Discovered project not served: a configured tenant has its name",
						"source", e.label(), "tenant", name, "project_id", p.ProjectID)
				}
				continue
			}
			if first, ok := owner[name]; ok {
				key := name + "\x00" + e.label()
				dups[key] = true
				if !s.dupLogged[key] {
					_ = level.Warn(s.logger).Log("msg", "Discovered project not served: an earlier discovery source serves its name",
						"source", e.label(), "tenant", name, "project_id", p.ProjectID, "served_by_source", first)
				}
				continue
			}
			t, err := discovery.Tenant(e.src, p)
			if err != nil {
				_ = level.Warn(s.logger).Log("msg", "Not serving a discovered project", "source", e.label(), "err", err)
				continue
			}
			owner[name] = e.label()
			snap.byName[name] = t
			snap.discovered = append(snap.discovered, t)
			e.served++
		}
	}
	s.clashLogged, s.dupLogged = clashes, dups
	slices.SortFunc(snap.discovered, func(a, b *config.Tenant) int { return strings.Compare(a.Name, b.Name) })
	static := file.Tenants()
	snap.tenants = append(static[:len(static):len(static)], snap.discovered...)
	old := s.snap.Swap(snap)
	for _, fn := range s.subscribers {
		fn(old, snap)
	}
}
