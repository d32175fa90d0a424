package charts

import (
	"strings"
	"testing"
)

// TestNames holds object names to the rule: the release name alone when it
// already says metastudio, {release}-metastudio-exporter otherwise, never
// metastudio-metastudio-exporter; fullnameOverride and nameOverride as in
// every chart (nameOverride takes metastudio's place in the test).
func TestNames(t *testing.T) {
	for _, tc := range []struct {
		release, values string
		want, wantName  string
	}{
		{"metastudio", "", "metastudio", "metastudio-exporter"},
		{"metastudio-exporter", "", "metastudio-exporter", "metastudio-exporter"},
		{"prod-metastudio", "", "prod-metastudio", "metastudio-exporter"},
		{"metastudio-eu", "", "metastudio-eu", "metastudio-exporter"},
		{"prod", "", "prod-metastudio-exporter", "metastudio-exporter"},
		{"prod", "fullnameOverride: live-monitor", "live-monitor", "metastudio-exporter"},
		{"metastudio", "fullnameOverride: live-monitor", "live-monitor", "metastudio-exporter"},
		{"prod", "nameOverride: msx", "prod-msx", "msx"},
		{"msx-prod", "nameOverride: msx", "msx-prod", "msx"},
		{"metastudio", "nameOverride: msx", "metastudio-msx", "msx"},
	} {
		t.Run(tc.release+" "+tc.values, func(t *testing.T) {
			for _, persistence := range []bool{false, true} {
				values := tc.values
				if persistence {
					values += "\ncallback: {enabled: true, persistence: {enabled: true}, ingress: {enabled: true, host: mon.example.com}, httpRoute: {enabled: true, parentRefs: [{name: public}]}}\n"
				}
				values += "\nnetworkPolicy: {enabled: true}\npodDisruptionBudget: {enabled: true}\nserviceMonitor: {enabled: true}\nprometheusRule: {enabled: true}\n"
				o := renderRelease(t, tc.release, values)
				for _, m := range o.metas() {
					if strings.HasSuffix(m.Name, " pod template") {
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
