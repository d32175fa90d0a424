package charts

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

const (
	configDir  = "/etc/metastudio_exporter/config"
	secretsDir = "/etc/metastudio_exporter/secrets"
	fullname   = "mon-metastudio-exporter"
)

// chartMeta reads Chart.yaml, for the versions the chart must stamp.
func chartMeta(t *testing.T) (version, appVersion string) {
	t.Helper()
	b, err := os.ReadFile(chartDir + "/Chart.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Version    string `json:"version"`
		AppVersion string `json:"appVersion"`
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c.Version, c.AppVersion
}

func TestEveryValueSetRendersStrictlyDecodableObjects(t *testing.T) {
	want := map[string][]string{
		"defaults":        {"ServiceAccount/" + fullname, "ConfigMap/" + fullname, "Service/" + fullname, "Deployment/" + fullname},
		"callback":        {"ServiceAccount/" + fullname, "ConfigMap/" + fullname, "Service/" + fullname, "Deployment/" + fullname},
		"secret and args": {"ServiceAccount/" + fullname, "ConfigMap/" + fullname, "Service/" + fullname, "Deployment/" + fullname},
		"scaled out": {"NetworkPolicy/" + fullname, "PodDisruptionBudget/" + fullname, "ServiceAccount/" + fullname,
			"ConfigMap/" + fullname, "Service/" + fullname, "Deployment/" + fullname},
		"everything": {"NetworkPolicy/" + fullname, "PodDisruptionBudget/" + fullname, "ServiceAccount/" + fullname,
			"ConfigMap/" + fullname, "Service/" + fullname, "Deployment/" + fullname, "PrometheusRule/" + fullname, "ServiceMonitor/" + fullname},
		"persistence and ingress": {"NetworkPolicy/" + fullname, "PodDisruptionBudget/" + fullname, "ServiceAccount/" + fullname,
			"ConfigMap/" + fullname, "Service/" + fullname, "Service/" + fullname + "-headless", "StatefulSet/" + fullname,
			"Ingress/" + fullname, "ServiceMonitor/" + fullname},
		"http route": {"ServiceAccount/" + fullname, "ConfigMap/" + fullname, "Service/" + fullname, "Deployment/" + fullname,
			"HTTPRoute/" + fullname},
		"web tls": {"ServiceAccount/" + fullname, "ConfigMap/" + fullname, "Service/" + fullname, "Deployment/" + fullname,
			"ServiceMonitor/" + fullname},
	}
	// One ConfigMap per dashboard.
	for _, name := range baseNames(t, "../dashboards/*.json") {
		want["everything"] = append(want["everything"], "ConfigMap/"+dashboardConfigMap(fullname, name))
	}
	if len(want["everything"]) < 9 {
		t.Fatal("no ../dashboards/*.json")
	}
	chartVersion, appVersion := chartMeta(t)
	for _, vs := range valueSets {
		t.Run(vs.name, func(t *testing.T) {
			o := render(t, vs.values)
			got := slices.Clone(o.Kinds)
			slices.Sort(got)
			w := slices.Clone(want[vs.name])
			slices.Sort(w)
			if !slices.Equal(got, w) {
				t.Errorf("objects:\n got %v\nwant %v", got, w)
			}
			for _, meta := range o.metas() {
				if meta.Namespace != namespace {
					t.Errorf("%s: namespace %q, want %q", meta.Name, meta.Namespace, namespace)
				}
				for k, v := range map[string]string{
					"app.kubernetes.io/name":       "metastudio-exporter",
					"app.kubernetes.io/instance":   release,
					"app.kubernetes.io/version":    appVersion,
					"app.kubernetes.io/managed-by": "Helm",
					"helm.sh/chart":                "metastudio-exporter-" + chartVersion,
				} {
					if meta.Labels[k] != v {
						t.Errorf("%s: label %s=%q, want %q", meta.Name, k, meta.Labels[k], v)
					}
				}
			}
			checkPod(t, o)
			if vs.values == webTLSValues {
				checkProbes(t, o.container(t), corev1.URISchemeHTTPS)
			} else {
				checkProbes(t, o.container(t), corev1.URISchemeHTTP)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	o := render(t, "")
	c := o.container(t)
	if r := o.Deployment.Spec.Replicas; r == nil || *r != 1 {
		t.Errorf("replicas %v, want 1", r)
	}
	if want := []string{"--config.file=" + configDir + "/metastudio.yml", "--web.listen-address=:10036"}; !slices.Equal(c.Args, want) {
		t.Errorf("args %q, want %q", c.Args, want)
	}
	if len(c.Ports) != 1 || len(o.Service.Spec.Ports) != 1 {
		t.Errorf("ports: container %+v, Service %+v; want metrics only", c.Ports, o.Service.Spec.Ports)
	}
	if mount(c, "secrets") != nil || volume(o.Deployment.Spec.Template.Spec, "secrets") != nil {
		t.Error("a secret is mounted though existingSecret is empty")
	}
	values, err := os.ReadFile(chartDir + "/values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Config string `json:"config"`
	}
	if err := yaml.Unmarshal(values, &v); err != nil {
		t.Fatal(err)
	}
	if got := o.ConfigMaps[fullname].Data["metastudio.yml"]; got != v.Config {
		t.Errorf("ConfigMap metastudio.yml:\n%s\nwant values.yaml's config:\n%s", got, v.Config)
	}
	if strings.Contains(v.Config, "demo") {
		t.Error("the default config mentions the demo")
	}
}

func TestCallback(t *testing.T) {
	for _, tc := range []struct {
		name, values string
		port         int32
		wantArgs     []string
	}{
		{"with external URL", callbackValues, 10037, []string{"--callback.listen-address=:10037", "--callback.external-url=https://mon.example.com"}},
		{"without external URL", "callback: {enabled: true}", 10037, []string{"--callback.listen-address=:10037"}},
		{"own port", "callback: {enabled: true, port: 8443, externalURL: 'https://mon.example.com:8443'}", 8443,
			[]string{"--callback.listen-address=:8443", "--callback.external-url=https://mon.example.com:8443"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := render(t, tc.values)
			c := o.container(t)
			if got := c.Args[2:]; !slices.Equal(got, tc.wantArgs) {
				t.Errorf("args after the config and listen address: %q, want %q", got, tc.wantArgs)
			}
			if got := containerPort(c, "callback"); got != tc.port {
				t.Errorf("container port callback = %d, want %d", got, tc.port)
			}
			sp := servicePort(o.Service, "callback")
			if sp == nil || sp.Port != tc.port || sp.TargetPort != intstr.FromString("callback") || sp.Protocol != corev1.ProtocolTCP {
				t.Errorf("Service port callback %+v, want %d -> callback", sp, tc.port)
			}
		})
	}
}

func TestExistingSecretAndExtraArgs(t *testing.T) {
	o := render(t, secretValues)
	c := o.container(t)
	m := mount(c, "secrets")
	if m == nil || m.MountPath != secretsDir || !m.ReadOnly {
		t.Fatalf("secret mount %+v, want read-only at %s", m, secretsDir)
	}
	v := volume(o.Deployment.Spec.Template.Spec, "secrets")
	if v == nil || v.Secret == nil || v.Secret.SecretName != "metastudio-credentials" {
		t.Fatalf("secret volume %+v", v)
	}
	if v.Secret.DefaultMode == nil || *v.Secret.DefaultMode != 0o440 {
		t.Errorf("secret files mode %v, want 0440 (the exporter's group reads them, nobody else)", v.Secret.DefaultMode)
	}
	if fs := o.Deployment.Spec.Template.Spec.SecurityContext.FSGroup; fs == nil || *fs != 65532 {
		t.Errorf("fsGroup %v, want 65532 so that the exporter can read the secret files", fs)
	}
	want := []string{"--config.file=" + configDir + "/metastudio.yml", "--web.listen-address=:10036", "--log.level=debug", "--scrape.max-concurrency=64"}
	if !slices.Equal(c.Args, want) {
		t.Errorf("args %q, want %q", c.Args, want)
	}
}

func TestScaledOut(t *testing.T) {
	o := render(t, scaledOutValues)
	if r := o.Deployment.Spec.Replicas; r == nil || *r != 3 {
		t.Errorf("replicas %v, want 3", r)
	}
	pdb := o.PodDisruptionBudget
	if pdb.Spec.MaxUnavailable == nil || *pdb.Spec.MaxUnavailable != intstr.FromInt32(1) || pdb.Spec.MinAvailable != nil {
		t.Errorf("PodDisruptionBudget maxUnavailable %v minAvailable %v, want 1 and unset", pdb.Spec.MaxUnavailable, pdb.Spec.MinAvailable)
	}
	np := o.NetworkPolicy.Spec
	if len(np.PolicyTypes) != 1 || np.PolicyTypes[0] != "Ingress" {
		t.Errorf("policyTypes %v, want [Ingress]", np.PolicyTypes)
	}
	if len(np.Ingress) != 1 {
		t.Fatalf("ingress rules %+v, want one for port metrics", np.Ingress)
	}
	rule := np.Ingress[0]
	if len(rule.Ports) != 1 || *rule.Ports[0].Port != intstr.FromString("metrics") {
		t.Errorf("ingress ports %+v, want metrics", rule.Ports)
	}
	if len(rule.From) != 1 || rule.From[0].NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] != "monitoring" {
		t.Errorf("ingress from %+v, want the monitoring namespace", rule.From)
	}

	o = render(t, "podDisruptionBudget: {enabled: true, minAvailable: 2}")
	if pdb := o.PodDisruptionBudget; pdb.Spec.MinAvailable == nil || *pdb.Spec.MinAvailable != intstr.FromInt32(2) || pdb.Spec.MaxUnavailable != nil {
		t.Errorf("with minAvailable 2: minAvailable %v maxUnavailable %v", pdb.Spec.MinAvailable, pdb.Spec.MaxUnavailable)
	}
}

func TestNetworkPolicyOpensTheReceiver(t *testing.T) {
	o := render(t, everythingValues)
	np := o.NetworkPolicy.Spec
	if len(np.Ingress) != 2 {
		t.Fatalf("ingress rules %+v, want metrics and callback", np.Ingress)
	}
	for i, port := range []string{"metrics", "callback"} {
		r := np.Ingress[i]
		if len(r.Ports) != 1 || *r.Ports[0].Port != intstr.FromString(port) || len(r.From) != 0 {
			t.Errorf("rule %d: %+v, want port %s from anywhere", i, r, port)
		}
	}
}

func TestConfigChecksumRollsPods(t *testing.T) {
	checksum := func(values string) string {
		t.Helper()
		return render(t, values).Deployment.Spec.Template.Annotations["checksum/config"]
	}
	const a = "config: |\n  tenants:\n    - name: shop-a\n      project_id: p1\n"
	const b = "config: |\n  tenants:\n    - name: shop-a\n      project_id: p2\n"
	sum := sha256.Sum256([]byte("tenants:\n  - name: shop-a\n    project_id: p1\n"))
	if got, want := checksum(a), hex.EncodeToString(sum[:]); got != want {
		t.Errorf("checksum/config = %q, want the config's SHA-256 %q", got, want)
	}
	if checksum(a) == checksum(b) {
		t.Error("a changed config leaves checksum/config unchanged, so pods would not roll")
	}
	if checksum(a) != checksum(a+"replicaCount: 2\n") {
		t.Error("checksum/config changes with a value other than config")
	}
	if got := render(t, everythingValues).Deployment.Spec.Template.Annotations["example.com/team"]; got != "live" {
		t.Errorf("podAnnotations not rendered: %q", got)
	}
}

func TestSchedulingValues(t *testing.T) {
	pod := render(t, everythingValues).Deployment.Spec.Template.Spec
	if pod.NodeSelector["kubernetes.io/os"] != "linux" {
		t.Errorf("nodeSelector %v", pod.NodeSelector)
	}
	if len(pod.Tolerations) != 1 || pod.Tolerations[0].Key != "dedicated" || pod.Tolerations[0].Effect != corev1.TaintEffectNoSchedule {
		t.Errorf("tolerations %+v", pod.Tolerations)
	}
	if a := pod.Affinity; a == nil || a.PodAntiAffinity == nil || len(a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution) != 1 {
		t.Errorf("affinity %+v", a)
	}
}

// TestRefusedValues holds the chart to a clear error, naming the value, for
// values that cannot work.
func TestRefusedValues(t *testing.T) {
	for _, tc := range []struct{ values, want string }{
		{"callback: {externalURL: 'https://mon.example.com'}",
			"callback.externalURL is set but callback.enabled is false; enable the receiver or drop the URL"},
		{"config: ''", "config: must hold the exporter's metastudio.yml; it is empty"},
		{"callback: {enabled: true, port: 10036}", "callback.port: 10036 is the metrics port too; the receiver needs a port of its own"},
		{"callback: {enabled: true, port: 9000}\nservice: {port: 9000}", "callback.port: 9000 is the metrics port too; the receiver needs a port of its own"},
		{"replicacount: 2", "- at '': additional properties 'replicacount' not allowed"},
		{"callback: {enabled: true, externalURL: mon.example.com}", "- at '/callback/externalURL': 'mon.example.com' does not match pattern '^(https?://.+)?$'"},
		{"extraArgs: --log.level=debug", "- at '/extraArgs': got string, want array"},
		{"serviceMonitor: {enabled: true, interval: 1 minute}", "- at '/serviceMonitor/interval': '1 minute' does not match pattern"},
	} {
		_, err := helmTemplate(t, tc.values)
		if err == nil {
			t.Errorf("%q rendered; want an error with %q", tc.values, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error\n%v\nwant it to contain %q", tc.values, err, tc.want)
		}
	}
}
