package collector

import (
	"context"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

// callbackRetryAfter is how long the receiver is answered with a failed
// call's error, when no settings are known, before a request may call
// again: as long as it waits between refetches for a rotated key.
const callbackRetryAfter = 30 * time.Second

// CallbackAuth returns t's callback settings as its last good answer held
// them, for the live-event receiver, and when that answer came. With
// fresh, or when no answer is known yet, it gets them from a call first:
// one that scrapes share (a call in flight is joined), never from the
// max_cache_age cache, and not while the tenant is in a throttling backoff.
// The receiver bounds how often it asks for fresh settings.
func (s *Scraper) CallbackAuth(ctx context.Context, t *config.Tenant, fresh bool) (metastudio.CallbackAuth, time.Time, error) {
	st := s.states.get(t.Key())
	if !fresh {
		st.mu.Lock()
		a, at, failed, failedAt := st.auth, st.succeededAt, st.failed, st.failedAt
		st.mu.Unlock()
		if !at.IsZero() {
			return a, at, nil
		}
		if failed != nil && s.now().Sub(failedAt) < callbackRetryAfter {
			return metastudio.CallbackAuth{}, time.Time{}, failed
		}
	}
	r := s.fetch(ctx, t, false)
	if r.err != nil {
		return metastudio.CallbackAuth{}, time.Time{}, r.err
	}
	return r.auth, s.now(), nil
}
