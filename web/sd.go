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

// labelMetaPrefix goes before the name of each of a tenant's fixed labels
// in its target group, so that relabelling can copy them to the target (the
// series carry them anyway) or select tenants by them.
const labelMetaPrefix = "__meta_metastudio_label_"

// serviceDiscovery serves one target group per tenant, all pointing at this
// exporter, so that Prometheus can scrape /probe per tenant. The target is
// the host the caller reached us by, which is right behind proxies too.
func serviceDiscovery(set *tenants.Set) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		groups := []targetGroup{}
		for _, t := range set.Snapshot().Tenants() {
			labels := map[string]string{
				"__param_tenant":               t.Name,
				"__meta_metastudio_tenant":     t.Name,
				"__meta_metastudio_project_id": t.ProjectID,
				"__meta_metastudio_region":     t.Region,
			}
			for i, name := range t.Labels.Names() {
				labels[labelMetaPrefix+name] = t.Labels.Values()[i]
			}
			groups = append(groups, targetGroup{Targets: []string{r.Host}, Labels: labels})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(groups)
	})
}
