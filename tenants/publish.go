package tenants

import (
	"slices"
	"strings"

	"github.com/go-kit/log/level"

	"github.com/metastudio-exporter/metastudio_exporter/config"
)

// publishLocked builds the snapshot of the current file and the list every
// entry serves, serves it and tells the subscribers. A discovered project
// is served once, under one name: not again when a file tenant serves the
// same project at the same endpoint, not when a file tenant has its name,
// and not when an earlier entry serves a tenant of that name. Each of
// these is logged when it begins, not on every listing.
func (s *Set) publishLocked() {
	file := s.file
	snap := &Snapshot{file: file, listed: true, byName: map[string]*config.Tenant{}}
	type target struct{ endpoint, project string }
	static := map[target]string{}
	for _, t := range file.Tenants() {
		snap.byName[t.Name] = t
		static[target{t.Endpoint, t.ProjectID}] = t.Name
	}
	owner := map[string]string{}
	same, clashes, dups := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, e := range s.entries {
		e.served = 0
		l := e.serving()
		if l == nil {
			snap.listed = false
			continue
		}
		label := e.label()
		for _, t := range l.tenants {
			if configured, ok := static[target{t.Endpoint, t.ProjectID}]; ok {
				key := label + "\x00" + t.Name
				same[key] = true
				if !s.sameLogged[key] {
					_ = level.Info(s.logger).Log("msg", "Discovered project not served: a configured tenant serves it",
						"source", label, "tenant", t.Name, "project_id", t.ProjectID, "configured_tenant", configured)
				}
				continue
			}
			if _, ok := file.Tenant(t.Name); ok {
				clashes[t.Name] = true
				if !s.clashLogged[t.Name] {
					_ = level.Warn(s.logger).Log("msg", "Discovered project not served: a configured tenant has its name",
						"source", label, "tenant", t.Name, "project_id", t.ProjectID)
				}
				continue
			}
			if first, ok := owner[t.Name]; ok {
				key := label + "\x00" + t.Name
				dups[key] = true
				if !s.dupLogged[key] {
					_ = level.Warn(s.logger).Log("msg", "Discovered project not served: an earlier discovery source serves its name",
						"source", label, "tenant", t.Name, "project_id", t.ProjectID, "served_by_source", first)
				}
				continue
			}
			owner[t.Name] = label
			snap.byName[t.Name] = t
			snap.discovered = append(snap.discovered, t)
			e.served++
		}
	}
	s.sameLogged, s.clashLogged, s.dupLogged = same, clashes, dups
	slices.SortFunc(snap.discovered, func(a, b *config.Tenant) int { return strings.Compare(a.Name, b.Name) })
	own := file.Tenants()
	snap.tenants = append(own[:len(own):len(own)], snap.discovered...)
	snap.labelNames = labelUnion(snap.tenants)
	old := s.snap.Swap(snap)
	for _, fn := range s.subscribers {
		fn(old, snap)
	}
}
