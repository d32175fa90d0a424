package main

import (
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/http/pprof"
	"net/url"
	"path"
	"strings"
	"sync"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/metastudio-exporter/metastudio_exporter/collector"
	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/receiver"
)

// routes serves the fixed endpoints, the telemetry path (which
// checkTelemetryPath has kept clear of them) and the landing page.
func routes(f *flags, holder *config.Holder, scraper *collector.Scraper, exporter *prometheus.Registry, live *receiver.Receiver, r *reloader, logger log.Logger) *http.ServeMux {
	scrapes := &scrapeHandlers{
		source:        holder,
		scraper:       scraper,
		exporter:      exporter,
		live:          live,
		timeoutOffset: f.timeoutOffset,
		logger:        logger,
	}
	mux := http.NewServeMux()
	for _, route := range fixedRoutes(holder, scrapes, r, logger) {
		mux.Handle(route.pattern, route.handler)
	}
	// As node_exporter: the bound counts every /metrics request, and the
	// instrumentation counts the 503s it answers too.
	mux.Handle(f.telemetryPath, promhttp.InstrumentMetricHandler(exporter,
		getOnly(limitInFlight(f.maxRequests, scrapes.metrics()))))
	if f.telemetryPath != "/" {
		mux.Handle("/", &landingPage{holder: holder, telemetryPath: f.telemetryPath, demo: f.demo})
	}
	return mux
}

type route struct {
	pattern string
	handler http.Handler
}

// fixedRoutes are the endpoints besides the telemetry path and the landing
// page. Building a handler must not touch the dependencies yet:
// checkTelemetryPath reads the patterns with none.
func fixedRoutes(holder *config.Holder, scrapes *scrapeHandlers, r *reloader, logger log.Logger) []route {
	return []route{
		{"/probe", getOnly(scrapes.probe())},
		{"/sd", getOnly(serviceDiscovery(holder))},
		{"/config", getOnly(configHandler(holder, logger))},
		{"/-/reload", reloadHandler(r)},
		{"/-/healthy", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprintln(w, "Healthy")
		})},
		{"/-/ready", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			if holder.Config() == nil {
				http.Error(w, "No config loaded", http.StatusServiceUnavailable)
				return
			}
			// A replica that has not listed the projects yet would serve
			// a partial tenant set.
			select {
			case <-r.fleet.initialized():
			default:
				http.Error(w, "Project discovery has not listed the projects yet", http.StatusServiceUnavailable)
				return
			}
			fmt.Fprintln(w, "Ready")
		})},
		// Profiles, as in node_exporter and Prometheus itself; the landing
		// page links to them, and --web.config.file guards them like
		// everything else.
		{"/debug/pprof/", http.HandlerFunc(pprof.Index)},
		{"/debug/pprof/cmdline", http.HandlerFunc(pprof.Cmdline)},
		{"/debug/pprof/profile", http.HandlerFunc(pprof.Profile)},
		{"/debug/pprof/symbol", http.HandlerFunc(pprof.Symbol)},
		{"/debug/pprof/trace", http.HandlerFunc(pprof.Trace)},
	}
}

// checkTelemetryPath rejects a --web.telemetry-path that http.ServeMux
// would refuse (it panics) or that would hide another endpoint.
func checkTelemetryPath(p string) error {
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
// each request builds its own promhttp handler. 0 means no limit.
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

func configHandler(holder *config.Holder, logger log.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		cfg := holder.Config()
		if cfg == nil {
			http.Error(w, "No config loaded", http.StatusServiceUnavailable)
			return
		}
		out, err := cfg.Redacted()
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

func reloadHandler(r *reloader) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, errMethod.Error(), http.StatusMethodNotAllowed)
			return
		}
		var discoveryErr *discoveryError
		if err := r.reload(); errors.Is(err, config.ErrNoConfigFile) {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		} else if errors.As(err, &discoveryErr) {
			http.Error(w, "config reloaded, but project discovery did not restart; the projects found before stay served:\n"+err.Error(), http.StatusInternalServerError)
			return
		} else if err != nil {
			http.Error(w, "failed to reload config, the previous config is still in use:\n"+err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "config reloaded")
	})
}

// landingPage renders exporter-toolkit's landing page with the current
// tenants. The tenant list changes on reload, so the page is rebuilt when the
// config snapshot changes rather than once at start-up.
type landingPage struct {
	holder        *config.Holder
	telemetryPath string
	demo          bool

	mu      sync.Mutex
	builtOf *config.Config
	page    http.Handler
}

func (l *landingPage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cfg := l.holder.Config()
	l.mu.Lock()
	if l.page == nil || l.builtOf != cfg {
		page, err := l.build(cfg)
		if err != nil {
			l.mu.Unlock()
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		l.page, l.builtOf = page, cfg
	}
	page := l.page
	l.mu.Unlock()
	page.ServeHTTP(w, r)
}

func (l *landingPage) build(cfg *config.Config) (http.Handler, error) {
	description := "Prometheus exporter for Huawei Cloud MetaStudio live-streaming settings"
	if l.demo {
		description = "DEMO MODE: these tenants live in the built-in MetaStudio simulator, not the real cloud. " +
			"To monitor real tenants, run metastudio_exporter --config.file=metastudio.yml"
	}
	var tenants strings.Builder
	tenants.WriteString("<h2>Tenants</h2>\n<table><tr><th>tenant</th><th>project_id</th><th>region</th><th></th></tr>\n")
	if cfg != nil {
		for _, t := range cfg.Tenants() {
			name := html.EscapeString(t.Name)
			fmt.Fprintf(&tenants, "<tr><td>%s</td><td>%s</td><td>%s</td><td><a href=\"probe?tenant=%s\">probe</a></td></tr>\n",
				name, html.EscapeString(t.ProjectID), html.EscapeString(t.Region), html.EscapeString(url.QueryEscape(t.Name)))
		}
	}
	tenants.WriteString("</table>\n")
	return web.NewLandingPage(web.LandingConfig{
		Name:        exporterName,
		Description: description,
		Version:     version.Info(),
		HeaderColor: "#c7000b",
		Form: web.LandingForm{
			Action: "probe",
			Inputs: []web.LandingFormInput{{Label: "Tenant", Type: "text", Name: "tenant", Placeholder: "tenant name"}},
		},
		Links: []web.LandingLinks{
			{Address: strings.TrimPrefix(l.telemetryPath, "/"), Text: "Metrics", Description: "every tenant and the exporter's own metrics"},
			{Address: "sd", Text: "Service discovery", Description: "HTTP SD target groups, one per tenant, for /probe"},
			{Address: "config", Text: "Config", Description: "the loaded config, secrets hidden"},
		},
		ExtraHTML: tenants.String(),
		ExtraCSS:  "table { border-collapse: collapse; margin-bottom: 1em } th, td { padding: 0.1em 0.8em; text-align: left }",
	})
}
