package collector

import (
	"errors"
	"sync"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/internal/failstreak"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

// Throttling backoff. Without a Retry-After the window starts at
// backoffBase and doubles per consecutive throttled call up to backoffMax,
// then varies by ±backoffJitter so that the replicas of an HA pair, and the
// tenants sharing one account, do not all come back in the same second.
// A Retry-After is honoured as sent, but never beyond backoffMax: a broken
// gateway asking for a day must not blind the exporter for a day.
const (
	backoffBase   = 30 * time.Second
	backoffMax    = 10 * time.Minute
	backoffJitter = 0.2
)

// backoffWindow is how long a tenant is left alone after its throttles-th
// consecutive throttled call; r is a random number in [0, 1).
func backoffWindow(throttles int, retryAfter time.Duration, r float64) time.Duration {
	if retryAfter > 0 {
		return min(retryAfter, backoffMax)
	}
	d := backoffBase
	for i := 1; i < throttles && d < backoffMax; i++ {
		d *= 2
	}
	d = min(d, backoffMax)
	return time.Duration(float64(d) * (1 - backoffJitter + 2*backoffJitter*r))
}

// tenantState is what scrapes of one tenant share, whether they come from
// /metrics, /probe or both Prometheus replicas: the call in flight, the
// last good answer and the throttling backoff.
type tenantState struct {
	mu     sync.Mutex
	flight *flight

	good *goodAnswer // only kept while the tenant's max_cache_age > 0
	// auth is the callback settings of the last good answer, whatever its
	// age, if succeededAt is set: the live-event receiver verifies against
	// them and asks for a fresh call only when they fail or are missing.
	// Held by value, so that the state keeps no finished call alive.
	auth metastudio.CallbackAuth
	// settings are the effective settings of that same answer, for the
	// status page's findings; by value too.
	settings metastudio.Settings
	// failed and failedAt are the last call's error while it failed: the
	// receiver is answered with it for a while instead of calling again,
	// so that requests for a tenant whose settings cannot be had cannot
	// spend its API quota.
	failed   error
	failedAt time.Time
	// succeededAt is when the last call that succeeded ended, for the
	// status page and the receiver; zero if none did.
	succeededAt time.Time

	throttles    int       // consecutive throttled calls
	backoffUntil time.Time // no call before this
	throttleErr  *metastudio.Error

	fails failstreak.Streak // how loudly its failures are logged
}

type goodAnswer struct {
	settings metastudio.Settings
	at       time.Time
}

// flight is one upstream call of a tenant that any number of scrapes wait
// for. Its outcome fields are written before done is closed and only read
// after.
type flight struct {
	tenant   *config.Tenant
	state    *tenantState
	done     chan struct{}
	deadline time.Time
	// cutShort: the leader's scrape deadline, not the tenant's timeout,
	// bounded the call, so a timeout says nothing about a waiter that has
	// more time.
	cutShort bool

	settings metastudio.Settings
	auth     metastudio.CallbackAuth
	err      error
}

// cached returns the last good answer and its age if it may still be
// served at now.
func (st *tenantState) cached(t *config.Tenant, now time.Time) (metastudio.Settings, time.Duration, bool) {
	if t.MaxCacheAge <= 0 || st.good == nil {
		return metastudio.Settings{}, 0, false
	}
	age := max(now.Sub(st.good.at), 0)
	if age > t.MaxCacheAge {
		return metastudio.Settings{}, 0, false
	}
	return st.good.settings, age, true
}

// backingOff returns the error a scrape reports instead of calling, while
// the tenant is in a throttling backoff window.
func (st *tenantState) backingOff(now time.Time) error {
	if !now.Before(st.backoffUntil) || st.throttleErr == nil {
		return nil
	}
	return &metastudio.Error{
		Reason:    metastudio.ReasonThrottled,
		ErrorCode: st.throttleErr.ErrorCode,
		Op:        metastudio.OpGetUserConfig,
		Err:       &backoffError{until: st.backoffUntil},
	}
}

// record keeps the outcome of a finished call, at time at, and returns the
// backoff window it opened (0 for none). r is the jitter's random number.
func (st *tenantState) record(f *flight, at time.Time, r float64) time.Duration {
	err := f.err
	if err == nil {
		st.throttles, st.backoffUntil, st.throttleErr = 0, time.Time{}, nil
		st.good = nil
		if f.tenant.MaxCacheAge > 0 {
			st.good = &goodAnswer{settings: f.settings, at: at}
		}
		st.auth, st.settings, st.failed, st.succeededAt = f.auth, f.settings, nil, at
		return 0
	}
	st.failed, st.failedAt = err, at
	// What is cached was past its age when this call started; dropping it
	// means no later reload that raises max_cache_age can bring it back.
	st.good = nil
	var e *metastudio.Error
	if !errors.As(err, &e) || e.Reason != metastudio.ReasonThrottled {
		return 0
	}
	st.throttles++
	window := backoffWindow(st.throttles, e.RetryAfter, r)
	st.backoffUntil, st.throttleErr = at.Add(window), e
	return window
}

// backoffError is the cause of a throttled scrape that made no call.
type backoffError struct{ until time.Time }

func (e *backoffError) Error() string {
	return "the API throttled this tenant; not calling it again before " + e.until.UTC().Format(time.RFC3339)
}

// stateTable holds the state of every tenant of the current config.
type stateTable struct {
	mu sync.Mutex
	// byKey holds exactly the current config's tenants once retain has
	// run; until then, every tenant scraped gets a lasting state.
	byKey    map[config.Key]*tenantState
	retained bool
}

// get returns the state of k. A tenant not in the current config comes
// from a scrape that began before a reload: it gets a state of its own that
// is not kept, so the table never outgrows the config.
func (tb *stateTable) get(k config.Key) *tenantState {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if st, ok := tb.byKey[k]; ok {
		return st
	}
	st := &tenantState{}
	if tb.retained {
		return st
	}
	if tb.byKey == nil {
		tb.byKey = make(map[config.Key]*tenantState)
	}
	tb.byKey[k] = st
	return st
}

// retain drops the state of every tenant not in tenants, which is the
// whole current config, and makes one for each new tenant: the table's
// keys are the current config, with no second set to say so. A call still
// in flight for a dropped tenant ends as usual and its outcome goes
// nowhere.
func (tb *stateTable) retain(tenants []*config.Tenant) {
	keep := make(map[config.Key]*tenantState, len(tenants))
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, t := range tenants {
		k := t.Key()
		if st, ok := tb.byKey[k]; ok {
			keep[k] = st
		} else {
			keep[k] = &tenantState{}
		}
	}
	tb.byKey, tb.retained = keep, true
}

func (tb *stateTable) len() int {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return len(tb.byKey)
}
