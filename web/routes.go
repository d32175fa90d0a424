// Package web is the exporter's HTTP layer: the routes of the main
// listener, /metrics with collect[], /probe, /sd, /config, the lifecycle
// endpoints and the status page, and the server they are served by.
package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/pprof"
	"path"
	"strings"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/metastudio-exporter/metastudio_exporter/collector"
	"github.com/metastudio-exporter/metastudio_exporter/inventory"
	"github.com/metastudio-exporter/metastudio_exporter/tenants"
)

// Options are what the routes serve.
type Options struct {
	TelemetryPath string        // checked by CheckTelemetryPath
	MaxRequests   int           // concurrent /metrics requests; 0 = no limit
	TimeoutOffset time.Duration // subtracted from X-Prometheus-Scrape-Timeout-Seconds
	Demo          bool          // the status page says the tenants are the simulator's

	Tenants *tenants.Set
	Scraper *collector.Scraper
	// Exporter holds the exporter's own metrics; only /metrics shows them,
	// and its requests are counted there.
	Exporter *prometheus.Registry
	// Streams are the live streams the receiver tracks, nil when it is
	// off; only /metrics shows them.
	Streams prometheus.Collector
	// Inventory serves the tenants' rooms and live jobs on /metrics and
	// /probe; nil when they are not watched.
	Inventory *inventory.Inventory
	// Reload reloads the config for POST /-/reload.
	Reload func() error
	// Receiver is what the status page shows of the live-event receiver;
	// nil when it is off.
	Receiver *ReceiverOptions
	Logger   log.Logger
}

// ReceiverOptions are what the status page shows of a running receiver.
type ReceiverOptions struct {
	ListenAddress string // where it listens, a port the system chose included
	ExternalURL   string // --callback.external-url; "" when not set
	Callbacks     CallbackLog
}

// Handler serves the fixed endpoints, the telemetry path (which
// CheckTelemetryPath has kept clear of them) and the status page.
func Handler(o Options) http.Handler {
	scrapes := &scrapeHandlers{
		tenants:       o.Tenants,
		scraper:       o.Scraper,
		exporter:      o.Exporter,
		inventory:     o.Inventory,
		timeoutOffset: o.TimeoutOffset,
		logger:        o.Logger,
	}
	if o.Streams != nil {
		// Registered once, not per scrape: a registry gathers concurrently,
		// and the streams collector's descriptors never change.
		streams := prometheus.NewRegistry()
		streams.MustRegister(o.Streams)
		scrapes.streams = streams
	}
	mux := http.NewServeMux()
	for _, route := range fixedRoutes(o.Tenants, scrapes, o.Reload, o.Logger) {
		mux.Handle(route.pattern, route.handler)
	}
	// As node_exporter: the bound counts every /metrics request, and the
	// instrumentation counts the 503s it answers too.
	mux.Handle(o.TelemetryPath, promhttp.InstrumentMetricHandler(o.Exporter,
		getOnly(limitInFlight(o.MaxRequests, scrapes.metrics()))))
	if o.TelemetryPath != "/" {
		mux.Handle("/", getOnly(NewStatusPage((&statusSources{o}).page, o.Logger)))
	}
	return mux
}

type route struct {
	pattern string
	handler http.Handler
}

// fixedRoutes are the endpoints besides the telemetry path and the status
// page. Building a handler must not touch the dependencies yet:
// checkTelemetryPath reads the patterns with none.
func fixedRoutes(set *tenants.Set, scrapes *scrapeHandlers, reload func() error, logger log.Logger) []route {
	return []route{
		{"/probe", getOnly(scrapes.probe())},
		{"/sd", getOnly(serviceDiscovery(set))},
		{"/config", getOnly(configHandler(set, logger))},
		{"/-/reload", reloadHandler(reload)},
		{"/-/healthy", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprintln(w, "Healthy")
		})},
		{"/-/ready", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			snap := set.Snapshot()
			if snap.File() == nil {
				http.Error(w, "No config loaded", http.StatusServiceUnavailable)
				return
			}
			// A replica that has not listed the projects yet would serve
			// a partial tenant set.
			if !snap.Ready() {
				http.Error(w, "Project discovery has not listed the projects yet", http.StatusServiceUnavailable)
				return
			}
			fmt.Fprintln(w, "Ready")
		})},
		// Profiles, as in node_exporter and Prometheus itself; the status
		// page links to them, and --web.config.file guards them like
		// everything else.
		{"/debug/pprof/", http.HandlerFunc(pprof.Index)},
		{"/debug/pprof/cmdline", http.HandlerFunc(pprof.Cmdline)},
		{"/debug/pprof/profile", http.HandlerFunc(pprof.Profile)},
		{"/debug/pprof/symbol", http.HandlerFunc(pprof.Symbol)},
		{"/debug/pprof/trace", http.HandlerFunc(pprof.Trace)},
	}
}

// CheckTelemetryPath rejects a --web.telemetry-path that http.ServeMux
// would refuse (it panics) or that would hide another endpoint.
func CheckTelemetryPath(p string) error {
	if !strings.HasPrefix(p, "/") {
		return errors.New("must start with /")
	}
	if i := strings.IndexFunc(p, func(c rune) bool {
		return c <= ' ' || c >= 0x7f || strings.ContainsRune(`{}?#%"<>\^`+"`|", c)
	}); i >= 0 {
		return fmt.Errorf("%q is not allowed in a path", p[i:i+1])
	}
	if clean := path.Clean(p); p != clean && p != clean+"/" {
		return fmt.Errorf("not a clean path; did you mean %s?", clean)
	}
	for _, route := range fixedRoutes(nil, nil, nil, nil) {
		if p == route.pattern || strings.HasSuffix(route.pattern, "/") && strings.HasPrefix(p, route.pattern) {
			return fmt.Errorf("%s is taken by another endpoint", route.pattern)
		}
	}
	return nil
}

// getOnly answers 405 to anything but GET and HEAD: a scrape is a read,
// and a POST that set off one call per tenant would be a surprise.
func getOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "only GET and HEAD are allowed", http.StatusMethodNotAllowed)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// limitInFlight answers 503 to a request past max in flight, with the text
// of promhttp's own MaxRequestsInFlight; that one cannot serve here because
// /metrics is not a promhttp handler (exposition.go). 0 means no limit.
func limitInFlight(max int, h http.Handler) http.Handler {
	if max <= 0 {
		return h
	}
	slots := make(chan struct{}, max)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case slots <- struct{}{}:
			defer func() { <-slots }()
			h.ServeHTTP(w, r)
		default:
			http.Error(w, fmt.Sprintf("Limit of concurrent requests reached (%d), try again later.", max), http.StatusServiceUnavailable)
		}
	})
}

func configHandler(set *tenants.Set, logger log.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		snap := set.Snapshot()
		if snap.File() == nil {
			http.Error(w, "No config loaded", http.StatusServiceUnavailable)
			return
		}
		out, err := snap.Redacted()
		if err != nil {
			_ = level.Error(logger).Log("msg", "Rendering config failed", "err", err)
			http.Error(w, "rendering the config failed", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write(out)
	})
}

// errMethod is the 405 answer of /-/reload.
var errMethod = errors.New("only POST reloads the config")

func reloadHandler(reload func() error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, errMethod.Error(), http.StatusMethodNotAllowed)
			return
		}
		if err := reload(); errors.Is(err, tenants.ErrNoConfigFile) {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		} else if errors.Is(err, tenants.ErrClosed) {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		} else if err != nil {
			http.Error(w, "failed to reload config, the previous config is still in use:\n"+err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "config reloaded")
	})
}
