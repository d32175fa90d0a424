package tenants

import (
	"context"

	"github.com/go-kit/log/level"

	"github.com/metastudio-exporter/metastudio_exporter/config"
)

// installLocked serves file with the lists of its entries that were there
// before, stops the entries it dropped or changed and starts its new ones,
// in that order: the old entries can no longer land a list once the new
// set is served, and the new ones list against it.
//
// An entry the file keeps unchanged (known by its key, wherever it moved)
// keeps its list and its schedule. An entry the file changed serves the
// list of its previous version until it lists itself, so that a reload
// during an IAM outage takes nothing away; each of those tenants keeps the
// settings and credentials it was listed with. Which old entry was the
// previous version of a changed one is decided by predecessors.
func (s *Set) installLocked(file *config.Config) {
	srcs := file.Discovery()
	old := s.entries
	next := make([]*entry, len(srcs))
	kept := make([]bool, len(old))
	byKey := map[string][]int{}
	for j, e := range old {
		byKey[e.key] = append(byKey[e.key], j)
	}
	for i := range srcs {
		if same := byKey[srcs[i].Key()]; len(same) > 0 {
			j := same[0]
			byKey[srcs[i].Key()] = same[1:]
			kept[j] = true
			e := old[j]
			e.src = &srcs[i] // the same settings, at its place in this file
			if e.own != nil {
				e.own = s.servedBy(e.own, e)
			}
			if e.previous != nil {
				e.previous = s.servedBy(e.previous, e)
			}
			next[i] = e
		}
	}
	prev := predecessors(srcs, next, old, kept)
	var started []*entry
	for i := range srcs {
		if next[i] != nil {
			continue
		}
		e := newEntry(&srcs[i])
		if p := prev[i]; p != nil {
			if l := p.serving(); l != nil {
				e.previous = s.servedBy(l, e)
				_ = level.Info(s.logger).Log("msg", "Discovery entry changed: serving the projects its previous version listed until it lists",
					"source", e.label(), "credentials", e.src.CredentialsName, "kept_tenants", len(l.listing.Projects))
			}
		}
		next[i] = e
		started = append(started, e)
	}
	for j, e := range old {
		if !kept[j] {
			e.stop()
		}
	}
	s.file, s.entries = file, next
	s.publishLocked()
	for _, e := range started {
		ctx, cancel := context.WithCancel(s.ctx)
		e.cancel = cancel
		s.runs.Add(1)
		go s.run(ctx, e)
	}
}

// predecessors pairs each entry of the new file that is not an old one
// unchanged (next[i] == nil) with the old entry it is a changed version
// of, among those the file did not keep: an entry of the same name; else,
// unless both have names (then they differ, and are two entries), the
// first one listing with the same credentials entry. Names make the
// pairing exact; without them a rotated secret, new filters or any other
// setting still find the entry's previous version.
func predecessors(srcs []config.DiscoverySource, next, old []*entry, kept []bool) []*entry {
	out := make([]*entry, len(srcs))
	taken := append([]bool(nil), kept...)
	pair := func(i int, same func(o *config.DiscoverySource) bool) {
		for j, e := range old {
			if !taken[j] && same(e.src) {
				taken[j] = true
				out[i] = e
				return
			}
		}
	}
	for i := range srcs {
		if n := &srcs[i]; next[i] == nil && n.Name != "" {
			pair(i, func(o *config.DiscoverySource) bool { return o.Name == n.Name })
		}
	}
	for i := range srcs {
		if n := &srcs[i]; next[i] == nil && out[i] == nil {
			pair(i, func(o *config.DiscoverySource) bool {
				return o.CredentialsName == n.CredentialsName && (o.Name == "" || n.Name == "")
			})
		}
	}
	return out
}
