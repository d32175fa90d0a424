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
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"github.com/metastudio-exporter/metastudio_exporter/collector"
	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/demo"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

const exporterName = "metastudio_exporter"

// flags are the command line; SPEC.md fixes their names and defaults.
type flags struct {
	configFile     string
	configCheck    bool
	demo           bool
	telemetryPath  string
	maxConcurrency int
	timeoutOffset  time.Duration
	logLevel       string
	logFormat      string
	web            *web.FlagConfig
}

func parseFlags(app *kingpin.Application, args []string) (*flags, error) {
	f := &flags{}
	app.Flag("config.file", "Tenants config file.").Default("metastudio.yml").StringVar(&f.configFile)
	app.Flag("config.check", "Validate the config file (secret files included), print a summary and exit.").BoolVar(&f.configCheck)
	app.Flag("demo", "Serve sample tenants from the built-in MetaStudio simulator; needs no config or credentials.").BoolVar(&f.demo)
	app.Flag("web.telemetry-path", "Path under which to expose metrics.").Default("/metrics").StringVar(&f.telemetryPath)
	app.Flag("scrape.max-concurrency", "Upstream calls in flight at once, across all scrapes.").Default("32").IntVar(&f.maxConcurrency)
	app.Flag("scrape.timeout-offset", "Subtracted from X-Prometheus-Scrape-Timeout-Seconds to leave time for the answer.").Default("0.5s").DurationVar(&f.timeoutOffset)
	app.Flag("log.level", "Only log messages with the given severity or above. One of: [debug, info, warn, error]").Default("info").EnumVar(&f.logLevel, "debug", "info", "warn", "error")
	app.Flag("log.format", "Output format of log messages. One of: [logfmt, json]").Default("logfmt").EnumVar(&f.logFormat, "logfmt", "json")
	f.web = kingpinflag.AddFlags(app, ":10036")
	app.Version(version.Print(exporterName))
	app.HelpFlag.Short('h')
	if _, err := app.Parse(args); err != nil {
		return nil, err
	}
	if f.maxConcurrency < 1 {
		return nil, fmt.Errorf("--scrape.max-concurrency must be at least 1, got %d", f.maxConcurrency)
	}
	if f.timeoutOffset < 0 {
		return nil, fmt.Errorf("--scrape.timeout-offset must not be negative, got %s", f.timeoutOffset)
	}
	return f, nil
}

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
	app := kingpin.New(exporterName, "Prometheus exporter for Huawei Cloud MetaStudio live-streaming settings.")
	app.UsageWriter(stdout)
	app.ErrorWriter(stderr)
	app.Terminate(nil)
	f, err := parseFlags(app, args)
	if err != nil {
		fmt.Fprintf(stderr, "%s: error: %v\n", exporterName, err)
		return 2
	}
	if f.configCheck {
		return checkConfig(f.configFile, stdout, stderr)
	}
	logs := newLoggers(f.logLevel, f.logFormat, stderr)
	logger := logs.main
	if err := serve(ctx, f, logs); err != nil {
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
	if f.demo {
		d, err := demo.Start()
		if err != nil {
			return fmt.Errorf("starting the demo: %w", err)
		}
		defer d.Close()
		_ = level.Info(logger).Log("msg", "DEMO MODE: serving sample tenants from the built-in MetaStudio simulator, not the real cloud; to monitor real tenants run: metastudio_exporter --config.file=metastudio.yml", "simulator", d.URL)
		holder = config.NewStaticHolder(d.Config)
	} else {
		_ = level.Info(logger).Log("msg", "Starting "+exporterName, "version", version.Info(), "config", f.configFile)
		holder = config.NewHolder(f.configFile, os.LookupEnv, logger)
		if err := holder.Reload(); err != nil {
			return fmt.Errorf("loading %s: %w", f.configFile, err)
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
	scraper := collector.NewScraper(client, collector.Options{MaxConcurrency: f.maxConcurrency, Logger: logger})
	collector.FollowTenants(holder, scraper, requests)
	reloader := &reloader{holder: holder, logger: logger}
	go reloader.onSIGHUP()

	mux, err := routes(f, holder, scraper, exporterRegistry, reloader, logger)
	if err != nil {
		return err
	}
	server := &http.Server{
		Handler:           mux,
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
	logger log.Logger
}

func (r *reloader) reload() error { return r.holder.Reload() }

func (r *reloader) onSIGHUP() {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	for range hup {
		// The holder logs the outcome; the error needs no second line.
		_ = r.reload()
	}
}

var errMethod = errors.New("only POST reloads the config")
