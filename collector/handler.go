package collector

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/metastudio-exporter/metastudio_exporter/config"
)

// ConfigSource hands out the current config snapshot; *config.Holder is one.
type ConfigSource interface {
	Config() *config.Config
}

// Handlers serves /metrics and /probe from one Scraper.
type Handlers struct {
	Source  ConfigSource
	Scraper *Scraper
	// Exporter gathers the exporter's own metrics; only /metrics shows them.
	Exporter prometheus.Gatherer
	// TimeoutOffset is subtracted from X-Prometheus-Scrape-Timeout-Seconds.
	TimeoutOffset time.Duration
	Logger        log.Logger
}

// Metrics serves every tenant plus the exporter's own metrics. Like
// node_exporter it takes collect[] parameters to serve a part only:
// collect[]=exporter gives the exporter's own metrics without calling the
// API, for setups that scrape the tenants through /probe.
func (h *Handlers) Metrics() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		withTenants, withExporter, err := collectFilter(r.URL.Query()["collect[]"])
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var tenants []*config.Tenant
		if cfg := h.Source.Config(); cfg != nil && withTenants {
			tenants = cfg.Tenants()
		}
		var exporter prometheus.Gatherer
		if withExporter {
			exporter = h.Exporter
		}
		h.serve(w, r, tenants, exporter)
	})
}

// collectFilter reads the collect[] parameters; none means everything.
func collectFilter(names []string) (tenants, exporter bool, err error) {
	if len(names) == 0 {
		return true, true, nil
	}
	for _, n := range names {
		switch n {
		case "tenants":
			tenants = true
		case "exporter":
			exporter = true
		default:
			return false, false, fmt.Errorf("collect[]: unknown collector %q (known: exporter, tenants)", n)
		}
	}
	return tenants, exporter, nil
}

// Probe serves one tenant, named by the tenant parameter, from a fresh registry.
func (h *Handlers) Probe() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.URL.Query().Get("tenant")
		if name == "" {
			http.Error(w, "tenant parameter is missing", http.StatusBadRequest)
			return
		}
		cfg := h.Source.Config()
		if cfg == nil {
			http.Error(w, "no config loaded", http.StatusServiceUnavailable)
			return
		}
		t, ok := cfg.Tenant(name)
		if !ok {
			http.Error(w, fmt.Sprintf("unknown tenant %q", name), http.StatusBadRequest)
			return
		}
		h.serve(w, r, []*config.Tenant{t}, nil)
	})
}

func (h *Handlers) serve(w http.ResponseWriter, r *http.Request, tenants []*config.Tenant, extra prometheus.Gatherer) {
	ctx, cancel, err := scrapeContext(r, h.TimeoutOffset)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	defer cancel()

	reg := prometheus.NewRegistry()
	reg.MustRegister(&tenantCollector{ctx: ctx, scraper: h.Scraper, tenants: tenants})
	var g prometheus.Gatherer = reg
	if extra != nil {
		// Tenants first: their calls update the request metrics in extra.
		g = prometheus.Gatherers{reg, extra}
	}
	promhttp.HandlerFor(g, promhttp.HandlerOpts{
		ErrorLog:      promhttpLogger{h.Logger},
		ErrorHandling: promhttp.ContinueOnError,
	}).ServeHTTP(w, r)
}

// scrapeContext derives the scrape deadline from the header Prometheus sends,
// leaving TimeoutOffset for encoding and the network. Without the header the
// tenants' own timeouts are the only bound.
func scrapeContext(r *http.Request, offset time.Duration) (context.Context, context.CancelFunc, error) {
	v := r.Header.Get("X-Prometheus-Scrape-Timeout-Seconds")
	if v == "" {
		ctx, cancel := context.WithCancel(r.Context())
		return ctx, cancel, nil
	}
	seconds, err := strconv.ParseFloat(v, 64)
	if err != nil || seconds <= 0 {
		return nil, nil, fmt.Errorf("X-Prometheus-Scrape-Timeout-Seconds: %q is not a positive number of seconds", v)
	}
	timeout := time.Duration(seconds * float64(time.Second))
	if timeout > offset {
		timeout -= offset
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	return ctx, cancel, nil
}

// promhttpLogger adapts go-kit to promhttp's Println logger.
type promhttpLogger struct{ logger log.Logger }

func (l promhttpLogger) Println(v ...any) {
	_ = level.Error(l.logger).Log("msg", "Serving metrics failed", "err", fmt.Sprint(v...))
}
