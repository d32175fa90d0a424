// Command metastudio_exporter exposes Huawei Cloud MetaStudio tenants'
// live-streaming settings as Prometheus metrics.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	stdlog "log"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/common/version"
	toolkit "github.com/prometheus/exporter-toolkit/web"

	"github.com/metastudio-exporter/metastudio_exporter/callbacktest"
	"github.com/metastudio-exporter/metastudio_exporter/callslots"
	"github.com/metastudio-exporter/metastudio_exporter/collector"
	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/demo"
	"github.com/metastudio-exporter/metastudio_exporter/inventory"
	"github.com/metastudio-exporter/metastudio_exporter/livesettings"
	"github.com/metastudio-exporter/metastudio_exporter/logging"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
	"github.com/metastudio-exporter/metastudio_exporter/receiver"
	"github.com/metastudio-exporter/metastudio_exporter/tenants"
	"github.com/metastudio-exporter/metastudio_exporter/web"
)

const exporterName = "metastudio_exporter"

func init() {
	// A plain `go build` or `go run` sets no -ldflags; say so rather than
	// showing an empty version on the status page and in build_info.
	if version.Version == "" {
		version.Version = "dev"
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is main without the exit, so that tests can drive the whole program;
// cancelling ctx shuts the server down gracefully.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "simulate" {
		return demo.Simulate(ctx, exporterName, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "callback-test" {
		return callbacktest.Run(ctx, exporterName, args[1:], stdout, stderr)
	}
	app := kingpin.New(exporterName, "Prometheus exporter for Huawei Cloud MetaStudio live-streaming settings.\n\n"+
		"Try it without an account: --demo for a tour, or `"+exporterName+" simulate` (see simulate --help) to run the built-in MetaStudio simulator for a config of your own.\n\n"+
		"Check a tenant's live event callback end to end: `"+exporterName+" callback-test --tenant NAME` (see callback-test --help).")
	app.UsageWriter(stdout)
	app.ErrorWriter(stderr)
	f, err := parseFlags(app, args)
	var exit errExit
	if errors.As(err, &exit) {
		return exit.code
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: error: %v\n", exporterName, err)
		return 2
	}
	if f.configCheck {
		return checkConfig(f.configFile, stdout, stderr)
	}
	var quiet func(log.Logger) log.Logger
	if f.demo {
		// The demo's tenant with a wrong key fails on purpose: its lines
		// go to debug.
		quiet = demo.QuietLogger
	}
	logs := logging.New(f.logLevel, f.logFormat, stderr, quiet)
	if err := serve(ctx, f, logs); errors.Is(err, errLogged) {
		return 1
	} else if err != nil {
		_ = level.Error(logs.Main).Log("msg", "Exiting", "err", err)
		return 1
	}
	return 0
}

func checkConfig(file string, stdout, stderr io.Writer) int {
	cfg, err := config.Load(file)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintln(stdout, cfg.Summary())
	return 0
}

func serve(ctx context.Context, f *flags, logs logging.Loggers) error {
	// Both web configs are checked before anything listens: the receiver
	// serves in the background, and one whose file it cannot use would
	// hold its port open and leave every event unanswered.
	for _, wc := range []struct{ flag, file string }{
		{"--web.config.file", *f.web.WebConfigFile},
		{"--callback.web-config.file", f.callback.webConfigFile},
	} {
		if err := toolkit.Validate(wc.file); err != nil {
			return fmt.Errorf("%s=%s: %w", wc.flag, wc.file, err)
		}
	}
	logger := logs.Main
	requests := collector.NewRequestMetrics()
	client := metastudio.NewClient(metastudio.ClientOptions{MaxConnsPerHost: f.maxConcurrency, Observe: requests.Observe})
	// Deferred first, so it runs last: a dial that a cancelled call started
	// can still land in an idle pool after everything else has stopped.
	defer client.CloseIdleConnections()
	setOpts := tenants.Options{Lister: client, LookupEnv: os.LookupEnv, Logger: logger, RetryBase: f.discoveryRetryBase}
	var set *tenants.Set
	var sample *demo.Demo
	if f.demo {
		d, err := demo.Start()
		if err != nil {
			return fmt.Errorf("starting the demo: %w", err)
		}
		defer d.Close()
		sample = d
		_ = level.Info(logger).Log("msg", "DEMO MODE: serving sample tenants from the built-in MetaStudio simulator, not the real cloud; to monitor real tenants run: metastudio_exporter --config.file=metastudio.yml", "simulator", d.URL)
		set = tenants.NewStatic(d.Config, setOpts)
		// The demo shows live events too: its receiver listens unless told
		// where, and its tenants' callbacks point at the URL it stands for.
		if !f.callback.listenSet {
			f.callback.listenAddress = demoCallbackAddress
		}
		if f.callback.externalURL == "" {
			f.callback.externalURL = demo.CallbackExternalURL
		}
	} else {
		_ = level.Info(logger).Log("msg", "Starting "+exporterName, "version", version.Info(), "config", f.configFile)
		set = tenants.New(f.configFile, setOpts)
		if err := set.Reload(); err != nil {
			// Someone who runs the binary bare, as people do first, is
			// told where a config comes from rather than only that
			// metastudio.yml is missing.
			if !f.configFileSet && errors.Is(err, fs.ErrNotExist) {
				_ = level.Info(logger).Log("msg", "No "+f.configFile+" here (the default --config.file): copy metastudio.example.yml to start one, or run with --demo to try the exporter without one")
			}
			return errLogged
		}
	}
	defer set.Close() // last: after the listeners and the receiver are done with it
	set.Subscribe(func(_, snap *tenants.Snapshot) {
		client.RetainConnections(snap.ConnectionDigests()...)
	})

	exporterRegistry := prometheus.NewRegistry()
	exporterRegistry.MustRegister(
		versioncollector.NewCollector(exporterName),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		set,
		requests,
	)
	// One bound on upstream calls: scrapes first, background calls
	// within their own limit.
	slots := callslots.New(f.maxConcurrency, f.backgroundMaxConcurrency)
	inv := inventory.New(client, inventory.Options{Slots: slots, Logger: logger})
	defer inv.Close() // after the listener: scrapes start watches
	inventory.FollowTenants(set, inv)
	// The scrapes' user-config answers give the jobs their tenant's limit.
	fetcher := inv.ObserveUserConfig(client)
	scraper := collector.NewScraper(fetcher, collector.Options{
		Slots:               slots,
		Logger:              logger,
		CallbackExternalURL: f.callback.externalURL,
	})
	collector.FollowTenants(set, scraper, requests)
	var streams prometheus.Collector
	var live *web.ReceiverOptions
	var addr string
	var receiverDone <-chan struct{} // nil, so never ready, while the receiver is off
	var receiverErr func() error
	if f.callback.listenAddress != "" {
		rc, srv, stop, err := startReceiver(f, set, scraper, inv, logs)
		if err != nil {
			return err
		}
		defer stop()
		addr, receiverDone, receiverErr = srv.Addr(), srv.Done(), srv.Err
		exporterRegistry.MustRegister(rc.ReceiverCollector())
		streams = rc.StreamCollector()
		live = &web.ReceiverOptions{ListenAddress: addr, ExternalURL: f.callback.externalURL, Callbacks: rc}
	}
	if sample != nil && addr != "" {
		stopLive := startDemoJobs(ctx, sample, f, addr, logger)
		defer stopLive()
	}

	reload := func() error {
		err := set.Reload()
		// The set logs a failed load, but not that there is no file.
		if errors.Is(err, tenants.ErrNoConfigFile) {
			_ = level.Warn(logger).Log("msg", "Not reloading", "err", err)
		}
		return err
	}
	// Subscribed before serving, so that a SIGHUP sent once the exporter
	// answers never meets the default action, which is to exit.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	hupCtx, stopReloads := context.WithCancel(ctx)
	var reloads sync.WaitGroup
	reloads.Go(func() { onSIGHUP(hupCtx, hup, reload) })
	defer reloads.Wait()
	defer stopReloads()

	server := web.NewServer(web.Handler(web.Options{
		TelemetryPath: f.telemetryPath,
		MaxRequests:   f.maxRequests,
		TimeoutOffset: f.timeoutOffset,
		Demo:          f.demo,
		Tenants:       set,
		Scraper:       scraper,
		Exporter:      exporterRegistry,
		Streams:       streams,
		Inventory:     inv,
		Receiver:      live,
		Reload:        reload,
		Logger:        logger,
	}), stdlog.New(logging.LineWriter{Logger: level.Warn(logger)}, "", 0)) // net/http's complaints in the same format
	served := make(chan error, 1)
	go func() { served <- toolkit.ListenAndServe(server, f.web, logs.Slog(f.logLevel)) }()
	select {
	case err := <-served:
		return fmt.Errorf("serving HTTP: %w", err)
	case <-receiverDone:
		_ = server.Close()
		<-served
		return fmt.Errorf("serving live events: %w", receiverErr())
	case <-ctx.Done():
		_ = level.Info(logger).Log("msg", "Shutting down")
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return server.Shutdown(shutdownCtx)
	}
}

// startDemoJobs runs the demo's live jobs against the receiver at addr; stop
// ends them and waits, before the receiver and the simulator close.
func startDemoJobs(ctx context.Context, sample *demo.Demo, f *flags, addr string, logger log.Logger) (stop func()) {
	if f.callback.webConfigFile != "" {
		// The fake jobs send plain HTTP, as a TLS-terminating proxy
		// would deliver: they cannot reach a receiver that wants TLS.
		_ = level.Warn(logger).Log("msg", "Demo live jobs not started: they send plain HTTP and --callback.web-config.file makes the receiver want TLS")
		return func() {}
	}
	liveCtx, stopLive := context.WithCancel(ctx)
	var jobs sync.WaitGroup
	jobs.Go(func() {
		if err := sample.RunLiveJobs(liveCtx, localURL(addr)); err != nil {
			_ = level.Error(logger).Log("msg", "Demo live jobs did not start", "err", err)
		}
	})
	return func() { stopLive(); jobs.Wait() }
}

// onSIGHUP reloads on every signal from hup until ctx is done; reload logs
// the outcome, so its error needs no second line.
func onSIGHUP(ctx context.Context, hup <-chan os.Signal, reload func() error) {
	for {
		select {
		case <-hup:
			_ = reload()
		case <-ctx.Done():
			return
		}
	}
}

// errLogged is an error that serve has already logged in full, so that run
// exits without a second line.
var errLogged = errors.New("already logged")

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
