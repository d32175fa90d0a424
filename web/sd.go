package main

import (
	"encoding/json"
	"net/http"
)

// targetGroup is one entry of Prometheus HTTP service discovery.
type targetGroup struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels"`
}

// serviceDiscovery serves one target group per tenant, all pointing at this
// exporter, so that Prometheus can scrape /probe per tenant. The target is
// the host the caller reached us by, which is right behind proxies too.
func serviceDiscovery(source configSource) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		groups := []targetGroup{}
		if cfg := source.Config(); cfg != nil {
			for _, t := range cfg.Tenants() {
				groups = append(groups, targetGroup{
					Targets: []string{r.Host},
					Labels: map[string]string{
						"__param_tenant":               t.Name,
						"__meta_metastudio_tenant":     t.Name,
						"__meta_metastudio_project_id": t.ProjectID,
						"__meta_metastudio_region":     t.Region,
					},
				})
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(groups)
	})
}
