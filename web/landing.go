package web

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/metastudio-exporter/metastudio_exporter/tenants"
)

// landingPage renders exporter-toolkit's landing page with the current
// tenants. The tenant list changes on reload, so the page is rebuilt when the
// tenant set changes rather than once at start-up.
type landingPage struct {
	tenants       *tenants.Set
	telemetryPath string
	demo          bool

	mu      sync.Mutex
	builtOf *tenants.Snapshot
	page    http.Handler
}

func (l *landingPage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cfg := l.tenants.Snapshot()
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

func (l *landingPage) build(cfg *tenants.Snapshot) (http.Handler, error) {
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
		Name:        "metastudio_exporter",
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
