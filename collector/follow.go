package collector

import "github.com/metastudio-exporter/metastudio_exporter/tenants"

// FollowTenants keeps what is kept per tenant in step with the tenant set:
// the Scraper forgets the state of tenants that left it, and the request
// metrics drop their counters and count calls only for tenants in it, so
// that a call still in flight when a reload removes its tenant cannot bring
// the tenant's series back.
func FollowTenants(set *tenants.Set, s *Scraper, m *RequestMetrics) {
	m.mu.Lock()
	m.current = func(tenant string) bool {
		_, ok := set.Snapshot().Tenant(tenant)
		return ok
	}
	m.mu.Unlock()
	set.Subscribe(func(old, new *tenants.Snapshot) {
		s.Retain(new.Tenants())
		for _, t := range old.Tenants() {
			if _, ok := new.Tenant(t.Name); !ok {
				m.Forget(t.Name)
			}
		}
	})
}
