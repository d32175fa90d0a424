package main

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/metastudio-exporter/metastudio_exporter/collector"
	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/inventory"
	"github.com/metastudio-exporter/metastudio_exporter/livesettings"
	"github.com/metastudio-exporter/metastudio_exporter/logging"
	"github.com/metastudio-exporter/metastudio_exporter/receiver"
	"github.com/metastudio-exporter/metastudio_exporter/tenants"
)

// demoCallbackAddress is where --demo's receiver listens unless
// --callback.listen-address says otherwise.
const demoCallbackAddress = ":10037"

// startReceiver starts the live-event receiver on its own listener: it
// faces the cloud, while /metrics stays internal. It returns the server
// (its address, a port the system chose included, and whether it still
// serves) and stop, which closes the listener and writes the state file a
// last time.
func startReceiver(f *flags, set *tenants.Set, scraper *collector.Scraper, inv *inventory.Inventory, logs logging.Loggers) (*receiver.Receiver, *receiver.Server, func(), error) {
	logger := log.With(logs.Main, "component", "receiver")
	cb := &f.callback
	rc, err := receiver.New(receiver.Options{
		MaxClockSkew:   cb.maxClockSkew,
		MaxStreams:     cb.maxStreams,
		EndRetention:   cb.endRetention,
		StateFile:      cb.stateFile,
		SettingsMaxAge: cb.settingsMaxAge,
		ForwardTimeout: config.DefaultForwardTimeout,
		Logger:         logger,
	}, livesettings.Source{Set: set, Scraper: scraper, Inventory: inv})
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
		ToolkitLogger:     logs.Slog(f.logLevel),
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
