package discovery

import (
	"slices"
	"strings"

	"github.com/go-kit/log/level"

	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

// logFailure logs one failed refresh. The error of the client holds no
// secret, and the source is named by its index, never by its credentials.
func (d *Discoverer) logFailure(st *sourceState, err error, kept int) {
	kv := metastudio.AppendLogFields([]any{"msg", "Discovery refresh failed, keeping the last list", "source", st.label}, err)
	kv = append(kv, "kept_tenants", kept, "err", err)
	_ = level.Warn(d.logger).Log(kv...)
}

// logSkippedLocked logs a skipped project when it is first skipped (or
// skipped for a new reason), not on every refresh.
func (d *Discoverer) logSkippedLocked(st *sourceState, skipped []Skipped) {
	now := make(map[string]string, len(skipped))
	for _, s := range skipped {
		now[s.ProjectID] = s.Reason
		if st.skipLogged[s.ProjectID] != s.Reason {
			_ = level.Warn(d.logger).Log("msg", "Discovered project skipped", "source", st.label,
				"project", s.ProjectName, "project_id", s.ProjectID, "reason", s.Reason)
		}
	}
	st.skipLogged = now
}

// mergeLocked rebuilds the served list from every source's last list and
// signals Changes if it differs. Clashes are logged when they begin.
func (d *Discoverer) mergeLocked() {
	var merged []Project
	owner := map[string]int{}
	clashes := map[string]bool{}
	dups := map[string]bool{}
	for _, st := range d.sources {
		st.served = 0
		for _, p := range st.projects {
			name := p.TenantName
			if d.static[name] {
				clashes[name] = true
				if !d.clashLogged[name] {
					_ = level.Warn(d.logger).Log("msg", "Discovered project not served: a configured tenant has its name",
						"source", st.label, "tenant", name, "project_id", p.ProjectID)
				}
				continue
			}
			if first, ok := owner[name]; ok {
				key := name + "\x00" + st.label
				dups[key] = true
				if !d.dupLogged[key] {
					_ = level.Warn(d.logger).Log("msg", "Discovered project not served: an earlier discovery source serves its name",
						"source", st.label, "tenant", name, "project_id", p.ProjectID, "served_by_source", first)
				}
				continue
			}
			owner[name] = st.src.Index
			merged = append(merged, p)
			st.served++
		}
	}
	d.clashLogged, d.dupLogged = clashes, dups
	slices.SortFunc(merged, func(a, b Project) int { return strings.Compare(a.TenantName, b.TenantName) })
	if slices.Equal(merged, d.merged) {
		return
	}
	d.merged = merged
	if !d.closed {
		select {
		case d.changes <- struct{}{}:
		default:
		}
	}
}

// diffNames returns the tenant names only in b (added) and only in a
// (removed); both lists are sorted by name.
func diffNames(a, b []Project) (added, removed []string) {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || i < len(a) && a[i].TenantName < b[j].TenantName:
			removed = append(removed, a[i].TenantName)
			i++
		case i == len(a) || b[j].TenantName < a[i].TenantName:
			added = append(added, b[j].TenantName)
			j++
		default:
			i++
			j++
		}
	}
	return added, removed
}
