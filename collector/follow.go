package collector

import "github.com/metastudio-exporter/metastudio_exporter/config"

// FollowTenants keeps what is kept per tenant in step with h's tenant set:
// the Scraper forgets the state of tenants that left it, and the request
// metrics drop their counters and count calls only for tenants in it, so
// that a call still in flight when a reload removes its tenant cannot bring
// the tenant's series back. Call it once, after h's first load.
func FollowTenants(h *config.Holder, s *Scraper, m *RequestMetrics) {
	m.mu.Lock()
	m.current = func(tenant string) bool {
		_, ok := h.Config().Tenant(tenant)
		return ok
	}
	m.mu.Unlock()
	s.Retain(h.Config().Tenants())
	h.Subscribe(func(old, new *config.Config) {
		s.Retain(new.Tenants())
		for _, t := range old.Tenants() {
			if _, ok := new.Tenant(t.Name); !ok {
				m.Forget(t.Name)
			}
		}
	})
}
