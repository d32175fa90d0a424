// Command metastudio_exporter exposes Huawei Cloud MetaStudio tenants'
// live-streaming settings as Prometheus metrics.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	stdlog "log"
	"net/http"
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
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/metastudio-exporter/metastudio_exporter/collector"
	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/demo"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
	"github.com/metastudio-exporter/metastudio_exporter/receiver"
)

const exporterName = "metastudio_exporter"

func init() {
	// A plain `go build` or `go run` sets no -ldflags; say so rather than
	// showing an empty version on the landing page and in build_info.
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
	app := kingpin.New(exporterName, "Prometheus exporter for Huawei Cloud MetaStudio live-streaming settings.\n\n"+
		"Try it without an account: --demo for a tour, or `"+exporterName+" simulate` (see simulate --help) to run the built-in MetaStudio simulator for a config of your own.")
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
	logs := newLoggers(f.logLevel, f.logFormat, stderr)
	logger := logs.main
	if err := serve(ctx, f, logs); errors.Is(err, errLogged) {
		return 1
	} else if err != nil {
		_ = level.Error(logger).Log("msg", "Exiting", "err", err)
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

func serve(ctx context.Context, f *flags, logs loggers) error {
	logger := logs.main
	var holder *config.Holder
	var sample *demo.Demo
	var expectedFailure func(tenant string) bool
	if f.demo {
		d, err := demo.Start()
		if err != nil {
			return fmt.Errorf("starting the demo: %w", err)
		}
		defer d.Close()
		sample, expectedFailure = d, d.ExpectedFailure
		_ = level.Info(logger).Log("msg", "DEMO MODE: serving sample tenants from the built-in MetaStudio simulator, not the real cloud; to monitor real tenants run: metastudio_exporter --config.file=metastudio.yml", "simulator", d.URL)
		holder = config.NewStaticHolder(d.Config)
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
		holder = config.NewHolder(f.configFile, os.LookupEnv, logger)
		if err := holder.Reload(); err != nil {
			return errLogged
		}
	}

	requests := collector.NewRequestMetrics()
	exporterRegistry := prometheus.NewRegistry()
	exporterRegistry.MustRegister(
		versioncollector.NewCollector(exporterName),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		holder,
		requests,
	)
	client := metastudio.NewClient(metastudio.ClientOptions{
		Transport: metastudio.NewTransport(f.maxConcurrency),
		Observe:   requests.Observe,
	})
	scraper := collector.NewScraper(client, collector.Options{
		MaxConcurrency:      f.maxConcurrency,
		Logger:              logger,
		CallbackExternalURL: f.callback.externalURL,
		ExpectedFailure:     expectedFailure,
	})
	collector.FollowTenants(holder, scraper, requests)

	projects := newFleet(holder, client, logger)
	defer projects.Close()
	if err := projects.apply(); err != nil {
		return fmt.Errorf("starting project discovery: %w", err)
	}
	exporterRegistry.MustRegister(projects)

	var live *receiver.Receiver
	if f.callback.listenAddress != "" {
		rc, addr, stop, err := startReceiver(ctx, f, holder, scraper, projects, logs)
		if err != nil {
			return err
		}
		defer stop()
		live = rc
		exporterRegistry.MustRegister(rc.ReceiverCollector())
		if sample != nil && f.callback.webConfigFile != "" {
			// The fake jobs send plain HTTP, as a TLS-terminating proxy
			// would deliver: they cannot reach a receiver that wants TLS.
			_ = level.Warn(logger).Log("msg", "Demo live jobs not started: they send plain HTTP and --callback.web-config.file makes the receiver want TLS")
		} else if sample != nil {
			// Stopped and waited for before the receiver and the simulator
			// close, so that a run leaves nothing behind.
			liveCtx, stopLive := context.WithCancel(ctx)
			var jobs sync.WaitGroup
			defer jobs.Wait()
			defer stopLive()
			jobs.Go(func() {
				if err := sample.RunLiveJobs(liveCtx, localURL(addr)); err != nil {
					_ = level.Error(logger).Log("msg", "Demo live jobs did not start", "err", err)
				}
			})
		}
	}
	reloader := &reloader{holder: holder, fleet: projects, logger: logger}
	// Subscribed before serving, so that a SIGHUP sent once the exporter
	// answers never meets the default action, which is to exit.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	hupCtx, stopReloads := context.WithCancel(ctx)
	defer stopReloads()
	go reloader.onSIGHUP(hupCtx, hup)

	server := &http.Server{
		Handler:           routes(f, holder, scraper, exporterRegistry, live, reloader, logger),
		ReadHeaderTimeout: 10 * time.Second,
		// net/http's own complaints (TLS handshake errors, say) go through
		// the same logger, so that every line has one format.
		ErrorLog: stdlog.New(lineLogger{level.Warn(logger)}, "", 0),
	}
	served := make(chan error, 1)
	go func() { served <- web.ListenAndServe(server, f.web, logs.slogLogger(f.logLevel)) }()
	select {
	case err := <-served:
		return fmt.Errorf("serving HTTP: %w", err)
	case <-ctx.Done():
		_ = level.Info(logger).Log("msg", "Shutting down")
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return server.Shutdown(shutdownCtx)
	}
}

// reloader reloads the config on SIGHUP and POST /-/reload.
type reloader struct {
	holder *config.Holder
	fleet  *fleet
	logger log.Logger
}

func (r *reloader) reload() error {
	err := r.holder.Reload()
	// The holder logs a failed load, but not that there is no file.
	if errors.Is(err, config.ErrNoConfigFile) {
		_ = level.Warn(r.logger).Log("msg", "Not reloading", "err", err)
	}
	if err != nil {
		return err
	}
	// The new file may list other discovery entries.
	if err := r.fleet.apply(); err != nil {
		_ = level.Error(r.logger).Log("msg", "Restarting project discovery failed; the new config serves its file's tenants and the projects found before", "err", err)
		return &discoveryError{err}
	}
	return nil
}

// discoveryError is a reload whose config was taken but whose discovery
// could not restart: unlike a refused config, the new file is in use.
type discoveryError struct{ err error }

func (e *discoveryError) Error() string { return "restarting project discovery: " + e.err.Error() }
func (e *discoveryError) Unwrap() error { return e.err }

// onSIGHUP reloads on every signal from hup until ctx is done.
func (r *reloader) onSIGHUP(ctx context.Context, hup <-chan os.Signal) {
	for {
		select {
		case <-hup:
			// reload logs the outcome; the error needs no second line.
			_ = r.reload()
		case <-ctx.Done():
			return
		}
	}
}

// errLogged is an error that serve has already logged in full, so that run
// exits without a second line.
var errLogged = errors.New("already logged")
