package main

import (
	"context"
	"fmt"
	stdlog "log"
	"net"
	"net/http"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/metastudio-exporter/metastudio_exporter/collector"
	"github.com/metastudio-exporter/metastudio_exporter/receiver"
	"github.com/metastudio-exporter/metastudio_exporter/tenants"
)

// receiverSettings gives the live-event receiver a tenant's settings: the
// auth type, key and callback URL of the tenant's own user-config, through
// the same per-tenant state as scrapes (shared calls, no second client), and
// the config's callback options, whose key overrides the user-config's.
type receiverSettings struct {
	set     *tenants.Set
	scraper *collector.Scraper
}

// Serves tells whether name is a tenant served now.
func (s receiverSettings) Serves(name string) bool {
	_, ok := s.set.Snapshot().Tenant(name)
	return ok
}

func (s receiverSettings) Settings(ctx context.Context, name string, fresh bool) (receiver.TenantSettings, error) {
	// The name comes from the request path: unknown names are turned away
	// before anything else could fail and make them a label value.
	t, ok := s.set.Snapshot().Tenant(name)
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

// demoCallbackAddress is where --demo's receiver listens unless
// --callback.listen-address says otherwise.
const demoCallbackAddress = ":10037"

// startReceiver starts the live-event receiver on its own listener: it
// faces the cloud, while /metrics stays internal. It returns the address it
// listens on (a port the system chose included) and stop, which closes the
// listener and writes the state file a last time.
func startReceiver(ctx context.Context, f *flags, set *tenants.Set, scraper *collector.Scraper, logs loggers) (*receiver.Receiver, string, func(), error) {
	logger := log.With(logs.main, "component", "receiver")
	// Listening first, here rather than in the toolkit, makes a busy port
	// an error of the start that leaves nothing behind: a silent
	// half-start would lose events.
	ln, err := net.Listen("tcp", f.callback.listenAddress)
	if err != nil {
		return nil, "", nil, fmt.Errorf("--callback.listen-address: %w", err)
	}
	rc, err := receiver.New(receiver.Options{
		MaxClockSkew: f.callback.maxClockSkew,
		MaxStreams:   f.callback.maxStreams,
		EndRetention: f.callback.endRetention,
		StateFile:    f.callback.stateFile,
		Logger:       logger,
	}, receiverSettings{set: set, scraper: scraper})
	if err != nil {
		_ = ln.Close()
		return nil, "", nil, fmt.Errorf("starting the live-event receiver: %w", err)
	}
	// Streams of tenants that leave the tenant set go too, but only those
	// absent from an authoritative set: streams read from the state file
	// for discovered tenants must not be dropped before they are listed.
	set.Subscribe(func(_, snap *tenants.Snapshot) {
		if names, ok := snap.Authoritative(); ok {
			rc.Retain(names)
		}
	})

	server := &http.Server{
		Handler:           rc.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          stdlog.New(lineLogger{level.Warn(logger)}, "", 0),
	}
	webConfig := f.callback.webConfigFile
	flagConfig := &web.FlagConfig{WebConfigFile: &webConfig}
	_ = level.Info(logger).Log("msg", "Receiving live events", "address", ln.Addr().String(), "tls", webConfig != "")
	served := make(chan error, 1)
	go func() { served <- web.Serve(ln, server, flagConfig, logs.slogLogger(f.logLevel)) }()
	stop := func() {
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = server.Shutdown(shutdownCtx)
		<-served
		if err := rc.Close(); err != nil {
			_ = level.Error(logger).Log("msg", "Writing the stream state file at shutdown failed", "err", err)
		}
	}
	return rc, ln.Addr().String(), stop, nil
}

// localURL turns a listen address into the URL this process reaches it by.
func localURL(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil || host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}
