package main

import (
	"fmt"
	"html"
	"net/http"
	"net/http/pprof"
	"net/url"
	"strings"
	"sync"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/metastudio-exporter/metastudio_exporter/collector"
	"github.com/metastudio-exporter/metastudio_exporter/config"
)

func routes(f *flags, holder *config.Holder, scraper *collector.Scraper, exporter prometheus.Gatherer, r *reloader, logger log.Logger) (*http.ServeMux, error) {
	handlers := &collector.Handlers{
		Source:        holder,
		Scraper:       scraper,
		Exporter:      exporter,
		TimeoutOffset: f.timeoutOffset,
		Logger:        logger,
	}
	mux := http.NewServeMux()
	mux.Handle(f.telemetryPath, handlers.Metrics())
	mux.Handle("/probe", handlers.Probe())
	mux.Handle("/sd", collector.ServiceDiscovery(holder))
	mux.Handle("/config", configHandler(holder, logger))
	mux.Handle("/-/reload", reloadHandler(r))
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "Healthy")
	})
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) {
		if holder.Config() == nil {
			http.Error(w, "No config loaded", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "Ready")
	})
	// Profiles, as in node_exporter and Prometheus itself; the landing page
	// links to them, and --web.config.file guards them like everything else.
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	if f.telemetryPath != "/" {
		mux.Handle("/", &landingPage{holder: holder, telemetryPath: f.telemetryPath, demo: f.demo})
	}
	return mux, nil
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

func reloadHandler(r *reloader) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, errMethod.Error(), http.StatusMethodNotAllowed)
			return
		}
		if err := r.reload(); err != nil {
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
