package collector

import (
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/internal/promlabel"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

// TenantStatus is what the status page shows of one tenant: the outcome of
// its last finished call, read from the state scrapes share (no scrape
// keeps anything extra for it).
type TenantStatus struct {
	// Called is false until a call of the tenant has finished.
	Called bool
	// Up is whether the last call succeeded; a tenant in a throttling
	// backoff is not up.
	Up bool
	// Reason and ErrorCode are the labels of metastudio_scrape_error_info
	// while the tenant is not up; Error is the whole error, which holds
	// no secret.
	Reason    string
	ErrorCode string
	Error     string
	// LastSuccess is when the last successful call ended; zero if none
	// did since the tenant's state began (start, or a reload that changed
	// whose data it is).
	LastSuccess time.Time
	// Cached is whether a scrape now would be served from the
	// max_cache_age cache, and CacheAge the age of that answer.
	Cached   bool
	CacheAge time.Duration
	// CallbackRoute is where the tenant's callback URL of its last good
	// answer points, reduced to scheme, host and path (no credential);
	// "" when none is set or no answer is known.
	CallbackRoute string
	// RoutedHere is metastudio_live_event_callback_routed_here of that
	// answer: only meaningful when the Scraper has a receiver URL and
	// CallbackKnown is set.
	RoutedHere    bool
	CallbackKnown bool
	// Settings are the effective settings of the last good answer,
	// whatever its age, as the settings series last showed them; nil
	// while no call has succeeded. Shared: read, never change.
	Settings *metastudio.Settings
}

// Status returns t's status at the Scraper's now. A tenant no scrape has
// reached yet is not Called; asking creates no state for it.
func (s *Scraper) Status(t *config.Tenant) TenantStatus {
	s.states.mu.Lock()
	st := s.states.byKey[t.Key()]
	s.states.mu.Unlock()
	if st == nil {
		return TenantStatus{}
	}
	now := s.now()
	st.mu.Lock()
	failed, succeededAt, auth, settings := st.failed, st.succeededAt, st.auth, st.settings
	_, cacheAge, cached := st.cached(t, now)
	st.mu.Unlock()

	status := TenantStatus{
		Called:      failed != nil || !succeededAt.IsZero(),
		Up:          failed == nil && !succeededAt.IsZero(),
		LastSuccess: succeededAt,
		Cached:      cached,
		CacheAge:    cacheAge,
	}
	if failed != nil {
		status.Reason = string(metastudio.ReasonOf(failed))
		status.ErrorCode = promlabel.Bounded(metastudio.ErrorCodeOf(failed))
		status.Error = failed.Error()
	}
	if !succeededAt.IsZero() {
		status.Settings = &settings
		// The URL may carry credentials in its query: only its route
		// leaves this function.
		status.CallbackRoute = metastudio.CallbackRoute(auth.URL.Reveal())
		status.CallbackKnown = true
		status.RoutedHere = routedHere(status.CallbackRoute, s.receiverRoute, t.Name)
	}
	return status
}
