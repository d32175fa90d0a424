package main

import (
	"context"

	"github.com/metastudio-exporter/metastudio_exporter/collector"
	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/receiver"
)

// receiverSettings gives the live-event receiver a tenant's settings: the
// auth type, key and callback URL of the tenant's own user-config, through
// the same per-tenant state as scrapes (shared calls, no second client), and
// the config's callback options, whose key overrides the user-config's.
type receiverSettings struct {
	holder  *config.Holder
	scraper *collector.Scraper
}

func (s receiverSettings) Settings(ctx context.Context, name string, fresh bool) (receiver.TenantSettings, error) {
	// The name comes from the request path: unknown names are turned away
	// before anything else could fail and make them a label value.
	t, ok := s.holder.Config().Tenant(name)
	if !ok {
		return receiver.TenantSettings{}, receiver.ErrUnknownTenant
	}
	auth, err := s.scraper.CallbackAuth(ctx, t, fresh)
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
		ForwardURL:           t.Callback.ForwardURL,
		ForwardTimeout:       t.Callback.ForwardTimeout,
		AllowUnauthenticated: t.Callback.AllowUnauthenticated,
	}, nil
}

// tenantNames lists a snapshot's tenant names, for the receiver's Retain.
func tenantNames(cfg *config.Config) []string {
	names := make([]string, 0, len(cfg.Tenants()))
	for _, t := range cfg.Tenants() {
		names = append(names, t.Name)
	}
	return names
}
