package web

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/tenants"
)

// TestServiceDiscovery: one target group per tenant, at the host the
// caller reached the exporter by, with the tenant's name, project and
// region, and __meta_metastudio_label_<name> for each of its fixed labels,
// so that relabelling can select tenants by them.
func TestServiceDiscovery(t *testing.T) {
	cfg, err := config.Parse([]byte(`defaults:
  credentials: main
  labels: {team: platform}
credentials:
  main: {access_key: AK, secret_key: SK-not-shown}
tenants:
  - {name: shop-a, project_id: p-shop-a, labels: {team: shop, env: prod}}
  - {name: studio, project_id: p-studio, region: ap-southeast-1}
`), "sd.yml", t.TempDir(), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	serviceDiscovery(tenants.NewStatic(cfg, tenants.Options{})).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://exporter.example:10036/sd", nil))
	want := `[{"targets":["exporter.example:10036"],"labels":{"__meta_metastudio_label_env":"prod","__meta_metastudio_label_team":"shop","__meta_metastudio_project_id":"p-shop-a","__meta_metastudio_region":"cn-north-4","__meta_metastudio_tenant":"shop-a","__param_tenant":"shop-a"}},` +
		`{"targets":["exporter.example:10036"],"labels":{"__meta_metastudio_label_team":"platform","__meta_metastudio_project_id":"p-studio","__meta_metastudio_region":"ap-southeast-1","__meta_metastudio_tenant":"studio","__param_tenant":"studio"}}]` + "\n"
	if got := rec.Body.String(); rec.Code != http.StatusOK || got != want || rec.Header().Get("Content-Type") != "application/json" {
		t.Errorf("/sd answered %d %s:\n%s\nwant\n%s", rec.Code, rec.Header().Get("Content-Type"), got, want)
	}
}
