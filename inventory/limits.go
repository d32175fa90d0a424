package inventory

import (
	"context"
	"sync"

	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

// UserConfigFetcher is how scrapes fetch a tenant's user-config
// (collector.Fetcher).
type UserConfigFetcher interface {
	GetUserConfig(ctx context.Context, t metastudio.Target) (*metastudio.UserConfig, error)
}

// ObserveUserConfig returns f reporting every user-config it fetches to
// inv as well: a job whose room sets no duration limit runs under the
// tenant's, which the scrapes fetch anyway, so knowing it costs no call.
func (inv *Inventory) ObserveUserConfig(f UserConfigFetcher) UserConfigFetcher {
	return &observingFetcher{next: f, limits: &inv.limits}
}

type observingFetcher struct {
	next   UserConfigFetcher
	limits *tenantLimits
}

func (f *observingFetcher) GetUserConfig(ctx context.Context, t metastudio.Target) (*metastudio.UserConfig, error) {
	uc, err := f.next.GetUserConfig(ctx, t)
	if err == nil && uc != nil {
		f.limits.observe(t, uc)
	}
	return uc, err
}

// tenantLimits are the tenants' max_live_duration of their last good
// user-config answer, by tenant name, each with whose project it is.
type tenantLimits struct {
	mu     sync.Mutex
	byName map[string]tenantLimit
}

type tenantLimit struct {
	projectID, endpoint string
	maxDuration         float64 // seconds; 0 = none
}

func (l *tenantLimits) observe(t metastudio.Target, uc *metastudio.UserConfig) {
	limit := tenantLimit{projectID: t.ProjectID, endpoint: t.Endpoint}
	if e := uc.LiveExitConfig; e != nil && e.MaxLiveDuration != nil {
		limit.maxDuration = float64(*e.MaxLiveDuration) * 3600
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byName == nil {
		l.byName = map[string]tenantLimit{}
	}
	l.byName[t.Name] = limit
}

// maxDuration returns t's limit in seconds, if an answer for t's project
// has been seen.
func (l *tenantLimits) maxDuration(t *config.Tenant) (float64, bool) {
	l.mu.Lock()
	limit, ok := l.byName[t.Name]
	l.mu.Unlock()
	if !ok || limit.projectID != t.ProjectID || limit.endpoint != t.Endpoint {
		return 0, false
	}
	return limit.maxDuration, true
}

// retain forgets the tenants not named in names.
func (l *tenantLimits) retain(names map[string]bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for name := range l.byName {
		if !names[name] {
			delete(l.byName, name)
		}
	}
}
