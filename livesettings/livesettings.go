// Package livesettings adapts the tenant set, the scraper and the inventory
// to what the live-event receiver asks of a tenant, so that the receiver
// depends on none of them.
package livesettings

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/metastudio-exporter/metastudio_exporter/collector"
	"github.com/metastudio-exporter/metastudio_exporter/inventory"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
	"github.com/metastudio-exporter/metastudio_exporter/receiver"
	"github.com/metastudio-exporter/metastudio_exporter/tenants"
)

// Source gives the live-event receiver a tenant's settings: the auth type,
// key and callback URL of the tenant's own user-config, through the same
// per-tenant state as scrapes (shared calls, no second client), and the
// config's callback options, whose key overrides the user-config's; and the
// callback a live job runs with, from the inventory's jobs. Only tenants of
// Set are known.
type Source struct {
	Set       *tenants.Set
	Scraper   *collector.Scraper
	Inventory *inventory.Inventory
}

// Settings returns tenant name's settings; an unknown name is
// receiver.ErrUnknownTenant before anything is called.
func (s Source) Settings(ctx context.Context, name string, fresh bool) (receiver.TenantSettings, error) {
	// The name comes from the request path: unknown names are turned away
	// before anything else could fail and make them a label value.
	t, ok := s.Set.Snapshot().Tenant(name)
	if !ok {
		return receiver.TenantSettings{}, receiver.ErrUnknownTenant
	}
	auth, fetchedAt, err := s.Scraper.CallbackAuth(ctx, t, fresh)
	if err != nil {
		return receiver.TenantSettings{}, err
	}
	key := auth.Key
	if t.Callback.Key.IsSet() {
		key = t.Callback.Key
	}
	return receiver.TenantSettings{
		AuthType:             auth.AuthType,
		Key:                  key,
		CallbackURL:          auth.URL,
		FetchedAt:            fetchedAt,
		ForwardURL:           t.Callback.ForwardURL,
		ForwardTimeout:       t.Callback.ForwardTimeout,
		AllowUnauthenticated: t.Callback.AllowUnauthenticated,
	}, nil
}

// JobCallback returns the callback job jobID of tenant name runs with, as
// the inventory last listed the tenant's jobs, when it differs from the
// tenant's user-config: a room's own. A job that runs with the tenant's
// (its room has none) gets nil, so that the config's callback.key, which
// overrides the user-config's key, still applies to it.
func (s Source) JobCallback(ctx context.Context, name, jobID string, refresh bool) (*receiver.JobCallback, error) {
	t, ok := s.Set.Snapshot().Tenant(name)
	if !ok {
		return nil, receiver.ErrUnknownTenant
	}
	job, err := s.Inventory.JobCallback(ctx, t, jobID, refresh)
	if errors.Is(err, inventory.ErrJobNotListed) {
		return nil, fmt.Errorf("%w: %w", receiver.ErrUnknownJob, err)
	}
	if err != nil || job == nil {
		return nil, err
	}
	// The tenant's settings verified the request a moment ago: these are
	// cached, no call.
	if own, _, err := s.Scraper.CallbackAuth(ctx, t, false); err == nil && sameCallback(job, &own) {
		return nil, nil
	}
	return &receiver.JobCallback{AuthType: job.AuthType, Key: job.Key, CallbackURL: job.URL}, nil
}

// sameCallback reports whether a and b are one callback: the same URL,
// auth type and key, the key compared in constant time.
func sameCallback(a, b *metastudio.CallbackAuth) bool {
	sameKey := subtle.ConstantTimeCompare([]byte(a.Key.Reveal()), []byte(b.Key.Reveal())) == 1
	return sameKey && a.AuthType == b.AuthType && a.URL.Reveal() == b.URL.Reveal()
}

// Serves tells whether name is a tenant served now; the receiver asks just
// before it records an event, so that a tenant removed meanwhile keeps
// nothing (Retain follows every new set).
func (s Source) Serves(name string) bool {
	_, ok := s.Set.Snapshot().Tenant(name)
	return ok
}
