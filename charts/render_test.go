// Package charts holds the tests of the Helm chart in metastudio-exporter/:
// they run the helm binary on value sets, decode every rendered object
// strictly into the Kubernetes, Gateway API and prometheus-operator API
// types, and hold
// the chart's copies of the alert rules and dashboards to the originals.
package charts

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

const (
	chartDir  = "metastudio-exporter"
	release   = "mon"
	namespace = "observability"
)

// helmBinary finds helm on PATH or where `go install` puts it. Without it
// the chart tests skip on a workstation and fail in CI, which installs it
// (charts/ci.sh).
func helmBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("helm"); err == nil {
		return p
	}
	gopath, err := exec.Command("go", "env", "GOPATH").Output()
	if err == nil {
		for _, dir := range filepath.SplitList(strings.TrimSpace(string(gopath))) {
			p := filepath.Join(dir, "bin", "helm")
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("helm is neither on PATH nor in $(go env GOPATH)/bin; charts/ci.sh installs it")
	}
	t.Skip("helm not installed; run charts/ci.sh or go install helm.sh/helm/v3/cmd/helm@v3.22.0")
	return ""
}

// writeValues puts a values document into a temporary file for -f.
func writeValues(t *testing.T, values string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(f, []byte(values), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// helm runs the helm binary and returns its standard output, or an error
// carrying its standard error.
func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(helmBinary(t), args...)
	// A private home, so that no repository or plugin of the machine's
	// user changes what the chart renders.
	home := t.TempDir()
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("helm %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// helmTemplate renders the chart as release "mon" in namespace "observability"
// with the given values document.
func helmTemplate(t *testing.T, values string) (string, error) {
	t.Helper()
	return helmTemplateRelease(t, release, values)
}

func helmTemplateRelease(t *testing.T, releaseName, values string) (string, error) {
	t.Helper()
	return helm(t, "template", releaseName, chartDir, "--namespace", namespace, "-f", writeValues(t, values))
}

// objects is a rendered chart, every object decoded into its API type.
type objects struct {
	Deployment  *appsv1.Deployment
	StatefulSet *appsv1.StatefulSet
	// Service is the Service with a cluster IP; HeadlessService the
	// StatefulSet's governing Service (clusterIP None).
	Service             *corev1.Service
	HeadlessService     *corev1.Service
	Ingress             *networkingv1.Ingress
	HTTPRoute           *gatewayv1.HTTPRoute
	ServiceAccount      *corev1.ServiceAccount
	ConfigMaps          map[string]*corev1.ConfigMap
	NetworkPolicy       *networkingv1.NetworkPolicy
	PodDisruptionBudget *policyv1.PodDisruptionBudget
	ServiceMonitor      *monitoringv1.ServiceMonitor
	PrometheusRule      *monitoringv1.PrometheusRule
	// Kinds lists "Kind/name" of every object, in rendering order.
	Kinds []string
}

// render templates the chart and decodes its output, failing the test on
// any error.
func render(t *testing.T, values string) *objects {
	t.Helper()
	return renderRelease(t, release, values)
}

// renderRelease is render with another release name.
func renderRelease(t *testing.T, releaseName, values string) *objects {
	t.Helper()
	out, err := helmTemplateRelease(t, releaseName, values)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := decodeAll(out)
	if err != nil {
		t.Fatalf("%v\nrendered:\n%s", err, out)
	}
	return objs
}

// decodeAll splits helm's output into documents and decodes each strictly:
// unknown, duplicate and wrongly cased fields are errors, as they are for
// the API server's strict field validation.
func decodeAll(rendered string) (*objects, error) {
	objs := &objects{ConfigMaps: map[string]*corev1.ConfigMap{}}
	r := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(rendered)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if isBlank(doc) {
			continue
		}
		js, err := yaml.YAMLToJSONStrict(doc)
		if err != nil {
			return nil, fmt.Errorf("%w in:\n%s", err, doc)
		}
		var tm metav1.TypeMeta
		if err := kjson.UnmarshalCaseSensitivePreserveInts(js, &tm); err != nil {
			return nil, err
		}
		var target any
		var meta *metav1.ObjectMeta
		switch tm.APIVersion + " " + tm.Kind {
		case "apps/v1 Deployment":
			if objs.Deployment != nil {
				return nil, errors.New("two Deployments")
			}
			objs.Deployment = &appsv1.Deployment{}
			target, meta = objs.Deployment, &objs.Deployment.ObjectMeta
		case "apps/v1 StatefulSet":
			if objs.StatefulSet != nil {
				return nil, errors.New("two StatefulSets")
			}
			objs.StatefulSet = &appsv1.StatefulSet{}
			target, meta = objs.StatefulSet, &objs.StatefulSet.ObjectMeta
		case "v1 Service":
			svc := &corev1.Service{}
			target, meta = svc, &svc.ObjectMeta
		case "networking.k8s.io/v1 Ingress":
			objs.Ingress = &networkingv1.Ingress{}
			target, meta = objs.Ingress, &objs.Ingress.ObjectMeta
		case "gateway.networking.k8s.io/v1 HTTPRoute":
			objs.HTTPRoute = &gatewayv1.HTTPRoute{}
			target, meta = objs.HTTPRoute, &objs.HTTPRoute.ObjectMeta
		case "v1 ServiceAccount":
			objs.ServiceAccount = &corev1.ServiceAccount{}
			target, meta = objs.ServiceAccount, &objs.ServiceAccount.ObjectMeta
		case "v1 ConfigMap":
			cm := &corev1.ConfigMap{}
			target, meta = cm, &cm.ObjectMeta
		case "networking.k8s.io/v1 NetworkPolicy":
			objs.NetworkPolicy = &networkingv1.NetworkPolicy{}
			target, meta = objs.NetworkPolicy, &objs.NetworkPolicy.ObjectMeta
		case "policy/v1 PodDisruptionBudget":
			objs.PodDisruptionBudget = &policyv1.PodDisruptionBudget{}
			target, meta = objs.PodDisruptionBudget, &objs.PodDisruptionBudget.ObjectMeta
		case "monitoring.coreos.com/v1 ServiceMonitor":
			objs.ServiceMonitor = &monitoringv1.ServiceMonitor{}
			target, meta = objs.ServiceMonitor, &objs.ServiceMonitor.ObjectMeta
		case "monitoring.coreos.com/v1 PrometheusRule":
			objs.PrometheusRule = &monitoringv1.PrometheusRule{}
			target, meta = objs.PrometheusRule, &objs.PrometheusRule.ObjectMeta
		default:
			return nil, fmt.Errorf("the chart renders %s %s, which the tests do not know; add its type to decodeAll", tm.APIVersion, tm.Kind)
		}
		if err := strictUnmarshal(js, target); err != nil {
			return nil, fmt.Errorf("%s: %w", tm.Kind, err)
		}
		if svc, ok := target.(*corev1.Service); ok {
			if err := objs.addService(svc); err != nil {
				return nil, err
			}
		}
		if objs.Deployment != nil && objs.StatefulSet != nil {
			return nil, errors.New("a Deployment and a StatefulSet: the pods would run twice")
		}
		if cm, ok := target.(*corev1.ConfigMap); ok {
			if objs.ConfigMaps[cm.Name] != nil {
				return nil, fmt.Errorf("two ConfigMaps named %s", cm.Name)
			}
			objs.ConfigMaps[cm.Name] = cm
		}
		objs.Kinds = append(objs.Kinds, tm.Kind+"/"+meta.Name)
	}
	return objs, nil
}

// addService files a Service as the chart's Service or its headless one,
// refusing a second of either.
func (o *objects) addService(svc *corev1.Service) error {
	slot := &o.Service
	if svc.Spec.ClusterIP == corev1.ClusterIPNone {
		slot = &o.HeadlessService
	}
	if *slot != nil {
		return fmt.Errorf("two Services with clusterIP %q: %s and %s", svc.Spec.ClusterIP, (*slot).Name, svc.Name)
	}
	*slot = svc
	return nil
}

// strictUnmarshal decodes JSON as the API server does with strict field
// validation on.
func strictUnmarshal(js []byte, v any) error {
	strictErrs, err := kjson.UnmarshalStrict(js, v, kjson.DisallowUnknownFields)
	if err != nil {
		return err
	}
	return errors.Join(strictErrs...)
}

// yamlStrict decodes one YAML document strictly into v.
func yamlStrict(doc []byte, v any) error {
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	return strictUnmarshal(js, v)
}

func isBlank(doc []byte) bool {
	for _, line := range strings.Split(string(doc), "\n") {
		line = strings.TrimSpace(line)
		if line != "" && line != "---" && !strings.HasPrefix(line, "#") {
			return false
		}
	}
	return true
}

// workload returns the pod template and selector of the one workload the
// chart renders, a Deployment or (with persistence) a StatefulSet.
func (o *objects) workload(t *testing.T) (*corev1.PodTemplateSpec, *metav1.LabelSelector) {
	t.Helper()
	switch {
	case o.Deployment != nil:
		return &o.Deployment.Spec.Template, o.Deployment.Spec.Selector
	case o.StatefulSet != nil:
		return &o.StatefulSet.Spec.Template, o.StatefulSet.Spec.Selector
	}
	t.Fatal("neither a Deployment nor a StatefulSet rendered")
	return nil, nil
}

// pod returns the workload's pod spec.
func (o *objects) pod(t *testing.T) corev1.PodSpec {
	t.Helper()
	tmpl, _ := o.workload(t)
	return tmpl.Spec
}

// container returns the workload's only container.
func (o *objects) container(t *testing.T) corev1.Container {
	t.Helper()
	cs := o.pod(t).Containers
	if len(cs) != 1 {
		t.Fatalf("want 1 container, got %d", len(cs))
	}
	return cs[0]
}
