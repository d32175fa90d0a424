package main

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/metastudio-exporter/metastudio_exporter/collector"
	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/inventory"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
	"github.com/metastudio-exporter/metastudio_exporter/receiver"
	"github.com/metastudio-exporter/metastudio_exporter/tenants"
)

// receiverSettings gives the live-event receiver a tenant's settings: the
// auth type, key and callback URL of the tenant's own user-config, through
// the same per-tenant state as scrapes (shared calls, no second client), and
// the config's callback options, whose key overrides the user-config's;
// and the callback a live job runs with, from the inventory's jobs.
type receiverSettings struct {
	set       *tenants.Set
	scraper   *collector.Scraper
	inventory *inventory.Inventory
}

func (s receiverSettings) Settings(ctx context.Context, name string, fresh bool) (receiver.TenantSettings, error) {
	// The name comes from the request path: unknown names are turned away
	// before anything else could fail and make them a label value.
	t, ok := s.set.Snapshot().Tenant(name)
	if !ok {
		return receiver.TenantSettings{}, receiver.ErrUnknownTenant
	}
	auth, fetchedAt, err := s.scraper.CallbackAuth(ctx, t, fresh)
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
func (s receiverSettings) JobCallback(ctx context.Context, name, jobID string, refresh bool) (*receiver.JobCallback, error) {
	t, ok := s.set.Snapshot().Tenant(name)
	if !ok {
		return nil, receiver.ErrUnknownTenant
	}
	job, err := s.inventory.JobCallback(ctx, t, jobID, refresh)
	if errors.Is(err, inventory.ErrJobNotListed) {
		return nil, fmt.Errorf("%w: %w", receiver.ErrUnknownJob, err)
	}
	if err != nil || job == nil {
		return nil, err
	}
	// The tenant's settings verified the request a moment ago: these are
	// cached, no call.
	if own, _, err := s.scraper.CallbackAuth(ctx, t, false); err == nil && sameCallback(job, &own) {
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
func (s receiverSettings) Serves(name string) bool {
	_, ok := s.set.Snapshot().Tenant(name)
	return ok
}

// demoCallbackAddress is where --demo's receiver listens unless
// --callback.listen-address says otherwise.
const demoCallbackAddress = ":10037"

// startReceiver starts the live-event receiver on its own listener: it
// faces the cloud, while /metrics stays internal. It returns the server
// (its address, a port the system chose included, and whether it still
// serves) and stop, which closes the listener and writes the state file a
// last time.
func startReceiver(f *flags, set *tenants.Set, scraper *collector.Scraper, inv *inventory.Inventory, logs loggers) (*receiver.Receiver, *receiver.Server, func(), error) {
	logger := log.With(logs.main, "component", "receiver")
	cb := &f.callback
	rc, err := receiver.New(receiver.Options{
		MaxClockSkew:   cb.maxClockSkew,
		MaxStreams:     cb.maxStreams,
		EndRetention:   cb.endRetention,
		StateFile:      cb.stateFile,
		SettingsMaxAge: cb.settingsMaxAge,
		ForwardTimeout: config.DefaultForwardTimeout,
		Logger:         logger,
	}, receiverSettings{set: set, scraper: scraper, inventory: inv})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("starting the live-event receiver: %w", err)
	}
	// Listening before anything follows the tenant set makes a busy port
	// an error of the start that leaves nothing behind: a silent half-start
	// would lose events.
	srv, err := rc.Listen(receiver.ServerOptions{
		Address:           cb.listenAddress,
		WebConfigFile:     cb.webConfigFile,
		MaxConnections:    cb.maxConnections,
		ReadHeaderTimeout: cb.readHeaderTimeout,
		ReadTimeout:       cb.readTimeout,
		IdleTimeout:       cb.idleTimeout,
		ToolkitLogger:     logs.slogLogger(f.logLevel),
	})
	if err != nil {
		_ = rc.Close()
		return nil, nil, nil, fmt.Errorf("--callback.listen-address: %w", err)
	}
	// Streams of tenants that leave the tenant set go too, but only those
	// absent from an authoritative set: streams read from the state file
	// for discovered tenants must not be dropped before they are listed.
	// The live series carry the tenants' fixed labels too, which the
	// receiver gets as plain values: it knows nothing of the config.
	set.Subscribe(func(_, snap *tenants.Snapshot) {
		rc.SetTenantLabels(collector.LabelLookup(snap))
		if names, ok := snap.Authoritative(); ok {
			rc.Retain(names)
		}
	})
	stop := func() {
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
		if err := rc.Close(); err != nil {
			_ = level.Error(logger).Log("msg", "Writing the stream state file at shutdown failed", "err", err)
		}
	}
	return rc, srv, stop, nil
}

// localURL turns a listen address into the URL this process reaches it by.
func localURL(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil || host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}
