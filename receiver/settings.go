package receiver

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/secret"
)

// ErrUnknownTenant is what a SettingsSource returns (wrapped or not) for a
// name that is neither a configured nor a discovered tenant. The receiver
// answers 404 and never uses such a name as a label value.
var ErrUnknownTenant = errors.New("unknown tenant")

// TenantSettings is what one tenant's events are verified against and where
// they are relayed.
type TenantSettings struct {
	// AuthType is live_event_callback_config.auth_type in force: NONE,
	// MSS_A, MSS_A_HEAD, MEITUAN_DEFAULT or anything else. "" counts as NONE,
	// the API's default.
	AuthType string
	// Key is the key in force: the config's callback.key (or key_file) if
	// set, else the user-config's key.
	Key secret.String
	// CallbackURL is live_event_type_callback_url exactly as the user-config
	// holds it; it may carry credentials.
	CallbackURL secret.String
	// ForwardURL is callback.forward_url; empty means no relay. A secret
	// because an app's URL may carry credentials in its query.
	ForwardURL secret.String
	// ForwardTimeout bounds one relay; zero means DefaultForwardTimeout.
	ForwardTimeout time.Duration
	// AllowUnauthenticated accepts auth_type NONE whose URL carries no
	// query, that is no credentials.
	AllowUnauthenticated bool
}

// DefaultForwardTimeout is the relay timeout when a tenant sets none.
const DefaultForwardTimeout = 5 * time.Second

// SettingsSource gives the receiver a tenant's settings.
type SettingsSource interface {
	// Settings returns the settings of tenant. fresh asks for a refetch of
	// the user-config from the API (the key may have been rotated), which
	// should also replace what later calls get; the receiver asks for one at
	// most once per 30 s per tenant. It returns an error wrapping
	// ErrUnknownTenant for a name that is not a tenant, and any other error
	// when the settings cannot be had. The name comes from the request path:
	// it must be checked against the tenant list before anything else can
	// fail, because the name of an error other than ErrUnknownTenant
	// becomes a label value.
	Settings(ctx context.Context, tenant string, fresh bool) (TenantSettings, error)
}

// SettingsFunc adapts a function to SettingsSource.
type SettingsFunc func(ctx context.Context, tenant string, fresh bool) (TenantSettings, error)

// Settings calls f.
func (f SettingsFunc) Settings(ctx context.Context, tenant string, fresh bool) (TenantSettings, error) {
	return f(ctx, tenant, fresh)
}

// refetchInterval is the least time between two refetches of one tenant's
// settings caused by failed verifications: a flood of forged requests costs
// the tenant at most one API call per interval.
const refetchInterval = 30 * time.Second

// refetchLimiter remembers when each tenant's settings were last refetched.
// It only ever holds known tenants, and Retain prunes it.
type refetchLimiter struct {
	mu   sync.Mutex
	last map[string]time.Time
}

// allow reports whether tenant may be refetched now, and if so claims the
// slot, so that concurrent failures of one tenant make one call.
func (l *refetchLimiter) allow(tenant string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if last, ok := l.last[tenant]; ok && now.Sub(last) < refetchInterval {
		return false
	}
	if l.last == nil {
		l.last = map[string]time.Time{}
	}
	l.last[tenant] = now
	return true
}

func (l *refetchLimiter) retain(keep map[string]bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for t := range l.last {
		if !keep[t] {
			delete(l.last, t)
		}
	}
}
