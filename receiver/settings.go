package receiver

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-kit/log/level"

	"github.com/metastudio-exporter/metastudio_exporter/secret"
)

// ErrUnknownTenant is what a SettingsSource returns (wrapped or not) for a
// name that is neither a configured nor a discovered tenant. The receiver
// answers 404 and never uses such a name as a label value.
var ErrUnknownTenant = errors.New("unknown tenant")

// ErrUnknownJob is what a SettingsSource's JobCallback returns (wrapped or
// not) for a job the tenant's live jobs, as last listed, do not hold.
var ErrUnknownJob = errors.New("unknown live job")

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
	// FetchedAt is when the user-config these settings come from was
	// fetched. Settings older than Options.SettingsMaxAge are refetched
	// before they verify anything; zero means the age is unknown, and such
	// settings are never refetched for their age.
	FetchedAt time.Time
	// ForwardURL is callback.forward_url; empty means no relay. A secret
	// because an app's URL may carry credentials in its query.
	ForwardURL secret.String
	// ForwardTimeout bounds one relay; zero means Options.ForwardTimeout.
	ForwardTimeout time.Duration
	// AllowUnauthenticated accepts auth_type NONE whose URL carries no
	// credentials in its query.
	AllowUnauthenticated bool
}

// JobCallback is the live event callback one live job runs with when it is
// not its tenant's: a room can carry a callback of its own, and MetaStudio
// then signs the events of the room's jobs with it.
type JobCallback struct {
	// AuthType, Key and CallbackURL are as in TenantSettings, from the
	// job's own live_event_callback_config.
	AuthType    string
	Key         secret.String
	CallbackURL secret.String
}

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
	// JobCallback returns the callback job jobID of tenant runs with when
	// it differs from the tenant's own (its URL, auth type or key), nil
	// when the job runs with the tenant's, and an error wrapping
	// ErrUnknownJob when the tenant's live jobs, as last listed, do not
	// hold the job. refresh lists the tenant's live jobs first, an API
	// call; the receiver asks for one at most once per 30 s per tenant.
	// Without refresh it must answer from memory.
	JobCallback(ctx context.Context, tenant, jobID string, refresh bool) (*JobCallback, error)
	// Serves reports whether tenant is in the current tenant set. The
	// receiver asks it under its table lock just before it records an
	// event, so it must be cheap and must not wait for whoever calls
	// Receiver.Retain. Whoever swaps in a new tenant set calls Retain after
	// the swap: an event of a removed tenant is then either refused here
	// or removed by Retain, never kept.
	Serves(tenant string) bool
}

// refetchInterval is the least time between two refetches of one tenant's
// settings, whether a failed verification or the settings' age asked for
// it: a flood of forged requests costs the tenant at most one API call per
// interval.
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

// errRefetchNotNow is a refetch (of settings or of live jobs) the tenant's
// slot did not allow.
var errRefetchNotNow = fmt.Errorf("settings were refetched less than %s ago", refetchInterval)

// refetchTimeout bounds a refetch shared by several requests: it must not
// end with the request that happened to start it.
const refetchTimeout = 30 * time.Second

// refetch gets tenant's settings fresh from the source, if its refetch slot
// allows: concurrent requests share one call and its outcome.
func (rc *Receiver) refetch(ctx context.Context, tenant string, now time.Time) (TenantSettings, error) {
	v, err, _ := rc.refetches.Do(tenant, func() (any, error) {
		if !rc.limiter.allow(tenant, now) {
			return TenantSettings{}, errRefetchNotNow
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refetchTimeout)
		defer cancel()
		return rc.source.Settings(ctx, tenant, true)
	})
	return v.(TenantSettings), err
}

// settings returns tenant's settings, refetched first when they are older
// than the receiver's settings max age. A failed refetch leaves the cached
// settings in force: an API outage must not stop verification.
func (rc *Receiver) settings(ctx context.Context, tenant string, now time.Time) (TenantSettings, error) {
	s, err := rc.source.Settings(ctx, tenant, false)
	if err != nil || s.FetchedAt.IsZero() || now.Sub(s.FetchedAt) <= rc.maxAge {
		return s, err
	}
	fresh, ferr := rc.refetch(ctx, tenant, now)
	switch {
	case ferr == nil:
		return fresh, nil
	case !errors.Is(ferr, errRefetchNotNow):
		_ = level.Debug(rc.logger).Log("msg", "Cannot refetch settings past their max age; verifying with the cached ones", "tenant", tenant, "err", ferr)
	}
	return s, nil
}

// jobCallback returns the callback job jobID of tenant runs with when it is
// the job's own, nil when it is the tenant's or not known. A job its
// tenant's live jobs do not hold, as last listed, has them listed again if
// the tenant's jobs slot allows (once per refetchInterval; concurrent
// requests share the listing), so that a job started since the last
// listing is verified with its key, and forged job ids cost one call per
// interval at most.
func (rc *Receiver) jobCallback(ctx context.Context, tenant, jobID string, now time.Time) *JobCallback {
	cb, err := rc.source.JobCallback(ctx, tenant, jobID, false)
	if errors.Is(err, ErrUnknownJob) {
		_, err, _ = rc.jobRefreshes.Do(tenant, func() (any, error) {
			if !rc.jobLimiter.allow(tenant, now) {
				return nil, errRefetchNotNow
			}
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refetchTimeout)
			defer cancel()
			_, err := rc.source.JobCallback(ctx, tenant, jobID, true)
			if errors.Is(err, ErrUnknownJob) {
				err = nil // listed: the lookup below says whether it holds this one
			}
			return nil, err
		})
		if err == nil {
			cb, err = rc.source.JobCallback(ctx, tenant, jobID, false)
		}
	}
	switch {
	case err == nil:
		return cb
	case !errors.Is(err, ErrUnknownJob) && !errors.Is(err, errRefetchNotNow):
		_ = level.Debug(rc.logger).Log("msg", "Cannot list live jobs to find a job's callback key", "tenant", tenant, "err", err)
	}
	return nil
}
