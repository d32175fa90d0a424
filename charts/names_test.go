package charts

import (
	"strings"
	"testing"
)

// TestNames holds object names to the rule: the release name alone when it
// already says metastudio, {release}-metastudio-exporter otherwise, never
// metastudio-metastudio-...; fullnameOverride and nameOverride as in every
// chart (nameOverride takes metastudio's place in the test). The
// dashboards' ConfigMaps add -dashboard- and the dashboard's name.
func TestNames(t *testing.T) {
	for _, tc := range []struct {
		release, values string
		want, wantName  string
		// a dashboard ConfigMap's name, as users find it in kubectl get cm
		wantLive string
	}{
		{"metastudio", "", "metastudio", "metastudio-exporter", "metastudio-dashboard-live"},
		{"metastudio-exporter", "", "metastudio-exporter", "metastudio-exporter", "metastudio-exporter-dashboard-live"},
		{"prod-metastudio", "", "prod-metastudio", "metastudio-exporter", "prod-metastudio-dashboard-live"},
		{"metastudio-eu", "", "metastudio-eu", "metastudio-exporter", "metastudio-eu-dashboard-live"},
		{"prod", "", "prod-metastudio-exporter", "metastudio-exporter", "prod-metastudio-exporter-dashboard-live"},
		{"shop", "", "shop-metastudio-exporter", "metastudio-exporter", "shop-metastudio-exporter-dashboard-live"},
		{"prod", "fullnameOverride: live-monitor", "live-monitor", "metastudio-exporter", "live-monitor-dashboard-live"},
		{"metastudio", "fullnameOverride: live-monitor", "live-monitor", "metastudio-exporter", "live-monitor-dashboard-live"},
		{"prod", "nameOverride: msx", "prod-msx", "msx", "prod-msx-dashboard-live"},
		{"msx-prod", "nameOverride: msx", "msx-prod", "msx", "msx-prod-dashboard-live"},
		{"metastudio", "nameOverride: msx", "metastudio-msx", "msx", "metastudio-msx-dashboard-live"},
	} {
		t.Run(tc.release+" "+tc.values, func(t *testing.T) {
			for _, persistence := range []bool{false, true} {
				values := tc.values
				if persistence {
					values += "\ncallback: {enabled: true, persistence: {enabled: true}, ingress: {enabled: true, host: mon.example.com}, httpRoute: {enabled: true, parentRefs: [{name: public}]}}\n"
				}
				values += "\nnetworkPolicy: {enabled: true}\npodDisruptionBudget: {enabled: true}\nserviceMonitor: {enabled: true}\nprometheusRule: {enabled: true}\ndashboards: {enabled: true}\n"
				o := renderRelease(t, tc.release, values)
				dashboards := 0
				for _, m := range o.metas() {
					if strings.Contains(m.Name, "metastudio-metastudio") {
						t.Errorf("object named %q", m.Name)
					}
					if strings.HasSuffix(m.Name, " pod template") {
						continue
					}
					if m.Labels["grafana_dashboard"] == "1" {
						dashboards++
						if prefix := strings.TrimSuffix(tc.wantLive, "live"); !strings.HasPrefix(m.Name, prefix) {
							t.Errorf("dashboard ConfigMap %q, want %s<dashboard>", m.Name, prefix)
						}
						continue
					}
					want := tc.want
					if h := o.HeadlessService; h != nil && m.Name == h.Name {
						want = tc.want + "-headless"
					}
					if m.Name != want {
						t.Errorf("persistence %v: object named %q, want %q (objects %v)", persistence, m.Name, want, o.Kinds)
					}
				}
				if o.ConfigMaps[tc.wantLive] == nil {
					t.Errorf("no ConfigMap %s among %v", tc.wantLive, o.Kinds)
				}
				if n := len(baseNames(t, "../dashboards/*.json")); dashboards != n {
					t.Errorf("%d dashboard ConfigMaps, want %d", dashboards, n)
				}
				tmpl, selector := o.workload(t)
				if got := selector.MatchLabels["app.kubernetes.io/name"]; got != tc.wantName {
					t.Errorf("app.kubernetes.io/name %q, want %q", got, tc.wantName)
				}
				if got := tmpl.Spec.Volumes[0].ConfigMap.Name; got != tc.want {
					t.Errorf("the config volume names ConfigMap %q, want %q", got, tc.want)
				}
				if persistence {
					if o.StatefulSet.Spec.ServiceName != tc.want+"-headless" {
						t.Errorf("serviceName %q", o.StatefulSet.Spec.ServiceName)
					}
					if got := o.Ingress.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Name; got != tc.want {
						t.Errorf("the Ingress sends to Service %q, want %q", got, tc.want)
					}
					if got := string(o.HTTPRoute.Spec.Rules[0].BackendRefs[0].Name); got != tc.want {
						t.Errorf("the HTTPRoute sends to Service %q, want %q", got, tc.want)
					}
				}
			}
		})
	}
}

func TestServiceAccountAndImageValues(t *testing.T) {
	o := render(t, "serviceAccount: {create: false, name: shared}")
	if o.ServiceAccount != nil || o.pod(t).ServiceAccountName != "shared" {
		t.Errorf("serviceAccount.create false: %v, pod uses %q", o.Kinds, o.pod(t).ServiceAccountName)
	}
	o = render(t, "image: {tag: v9.9.9}")
	if c := o.container(t); c.Image != "ghcr.io/metastudio-exporter/metastudio_exporter:v9.9.9" {
		t.Errorf("image.tag: %q", c.Image)
	}
}
