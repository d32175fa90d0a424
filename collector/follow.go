package collector

import (
	"github.com/metastudio-exporter/metastudio_exporter/internal/fixedlabels"
	"github.com/metastudio-exporter/metastudio_exporter/tenants"
)

// FollowTenants keeps what is kept per tenant in step with the tenant set:
// the Scraper forgets the state of tenants that left it, and the request
// metrics drop their counters, count calls only for tenants in it and
// label each tenant's series with its fixed labels as the set has them, so
// that a call still in flight when a reload removes its tenant cannot bring
// the tenant's series back.
func FollowTenants(set *tenants.Set, s *Scraper, m *RequestMetrics) {
	m.mu.Lock()
	m.current = func(tenant string) bool {
		_, ok := set.Snapshot().Tenant(tenant)
		return ok
	}
	m.labels = func() fixedlabels.Lookup { return LabelLookup(set.Snapshot()) }
	m.mu.Unlock()
	set.Subscribe(func(_, new *tenants.Snapshot) {
		s.Retain(new.Tenants())
		m.Retain(func(tenant string) bool {
			_, ok := new.Tenant(tenant)
			return ok
		})
	})
}

// LabelLookup is the fixed labels of snap's tenants: the union of their
// names, and each tenant's own.
func LabelLookup(snap *tenants.Snapshot) fixedlabels.Lookup {
	return fixedlabels.Lookup{
		Names: snap.LabelNames(),
		Of: func(tenant string) (names, values []string) {
			if t, ok := snap.Tenant(tenant); ok {
				return t.Labels.Names(), t.Labels.Values()
			}
			return nil, nil
		},
	}
}
