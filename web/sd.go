package web

import (
	"encoding/json"
	"net/http"

	"github.com/metastudio-exporter/metastudio_exporter/tenants"
)

// targetGroup is one entry of Prometheus HTTP service discovery.
type targetGroup struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels"`
}

// serviceDiscovery serves one target group per tenant, all pointing at this
// exporter, so that Prometheus can scrape /probe per tenant. The target is
// the host the caller reached us by, which is right behind proxies too.
func serviceDiscovery(set *tenants.Set) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		groups := []targetGroup{}
		for _, t := range set.Snapshot().Tenants() {
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
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(groups)
	})
}
