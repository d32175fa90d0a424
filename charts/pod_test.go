package charts

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// checkPod asserts what every value set must keep: the hardening, the
// probes, the resources, the config mount and the selectors.
func checkPod(t *testing.T, o *objects) {
	t.Helper()
	_, appVersion := chartMeta(t)
	tmpl, selector := o.workload(t)
	pod := tmpl.Spec
	c := o.container(t)

	if c.Image != "ghcr.io/metastudio-exporter/metastudio_exporter:"+appVersion {
		t.Errorf("image %q", c.Image)
	}
	ps := pod.SecurityContext
	if ps == nil || !isTrue(ps.RunAsNonRoot) || ps.RunAsUser == nil || *ps.RunAsUser != 65532 ||
		ps.SeccompProfile == nil || ps.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod securityContext %+v", ps)
	}
	cs := c.SecurityContext
	if cs == nil {
		t.Fatal("container has no securityContext")
	}
	if !isTrue(cs.RunAsNonRoot) || cs.RunAsUser == nil || *cs.RunAsUser != 65532 {
		t.Errorf("container runs as non-root %v, user %v; want true, 65532 (distroless nonroot)", cs.RunAsNonRoot, cs.RunAsUser)
	}
	if !isTrue(cs.ReadOnlyRootFilesystem) {
		t.Error("readOnlyRootFilesystem is not true")
	}
	if cs.AllowPrivilegeEscalation == nil || *cs.AllowPrivilegeEscalation {
		t.Error("allowPrivilegeEscalation is not false")
	}
	if cs.Capabilities == nil || !reflect.DeepEqual(cs.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(cs.Capabilities.Add) != 0 {
		t.Errorf("capabilities %+v, want drop [ALL] and nothing added", cs.Capabilities)
	}
	if cs.SeccompProfile == nil || cs.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("container seccompProfile %+v", cs.SeccompProfile)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("the pod mounts a service account token it has no use for")
	}
	if pod.ServiceAccountName != fullname {
		t.Errorf("serviceAccountName %q", pod.ServiceAccountName)
	}

	for _, list := range []corev1.ResourceList{c.Resources.Requests, c.Resources.Limits} {
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if q, ok := list[r]; !ok || q.Cmp(resource.MustParse("0")) <= 0 {
				t.Errorf("resources %+v: no positive %s in requests and limits", c.Resources, r)
			}
		}
	}

	if got := c.Args[0]; got != "--config.file="+configDir+"/metastudio.yml" {
		t.Errorf("first arg %q", got)
	}
	if m := mount(c, "config"); m == nil || m.MountPath != configDir || !m.ReadOnly {
		t.Errorf("config mount %+v, want read-only at %s", m, configDir)
	}
	if v := volume(pod, "config"); v == nil || v.ConfigMap == nil || v.ConfigMap.Name != fullname {
		t.Errorf("config volume %+v", v)
	}
	if _, ok := o.ConfigMaps[fullname].Data["metastudio.yml"]; !ok {
		t.Error("the ConfigMap has no metastudio.yml")
	}
	if port := containerPort(c, "metrics"); port != 10036 {
		t.Errorf("container port metrics = %d, want 10036", port)
	}
	if sp := servicePort(o.Service, "metrics"); sp == nil || sp.Port != 10036 || sp.TargetPort != intstr.FromString("metrics") {
		t.Errorf("Service port metrics %+v", sp)
	}

	podLabels := tmpl.Labels
	if !selects(selector.MatchLabels, podLabels) || len(selector.MatchLabels) != 2 {
		t.Errorf("workload selector %v vs pod labels %v", selector.MatchLabels, podLabels)
	}
	for _, svc := range []*corev1.Service{o.Service, o.HeadlessService} {
		if svc != nil && !reflect.DeepEqual(svc.Spec.Selector, selector.MatchLabels) {
			t.Errorf("Service %s selector %v, workload selector %v", svc.Name, svc.Spec.Selector, selector.MatchLabels)
		}
	}
	if pdb := o.PodDisruptionBudget; pdb != nil && !selects(pdb.Spec.Selector.MatchLabels, podLabels) {
		t.Errorf("PodDisruptionBudget selector %v does not select the pods (%v)", pdb.Spec.Selector.MatchLabels, podLabels)
	}
	if np := o.NetworkPolicy; np != nil && !selects(np.Spec.PodSelector.MatchLabels, podLabels) {
		t.Errorf("NetworkPolicy podSelector %v does not select the pods (%v)", np.Spec.PodSelector.MatchLabels, podLabels)
	}
	if sm := o.ServiceMonitor; sm != nil && !selects(sm.Spec.Selector.MatchLabels, o.Service.Labels) {
		t.Errorf("ServiceMonitor selector %v does not select the Service's labels %v", sm.Spec.Selector.MatchLabels, o.Service.Labels)
	}
}

// checkProbes asserts the liveness and readiness probes: /-/healthy and
// /-/ready on port metrics, in the scheme the metrics port speaks.
func checkProbes(t *testing.T, c corev1.Container, scheme corev1.URIScheme) {
	t.Helper()
	for name, p := range map[string]*corev1.Probe{"/-/healthy": c.LivenessProbe, "/-/ready": c.ReadinessProbe} {
		if p == nil || p.HTTPGet == nil {
			t.Errorf("no HTTP probe for %s", name)
			continue
		}
		if p.HTTPGet.Path != name || p.HTTPGet.Port != intstr.FromString("metrics") || p.HTTPGet.Scheme != scheme {
			t.Errorf("probe %s: path %q port %v scheme %q, want port metrics scheme %q", name, p.HTTPGet.Path, p.HTTPGet.Port, p.HTTPGet.Scheme, scheme)
		}
	}
}

func (o *objects) metas() []*metaWithName {
	var out []*metaWithName
	add := func(name string, labels map[string]string, ns string) {
		out = append(out, &metaWithName{Name: name, Namespace: ns, Labels: labels})
	}
	if d := o.Deployment; d != nil {
		add(d.Name, d.Labels, d.Namespace)
		add(d.Name+" pod template", d.Spec.Template.Labels, namespace)
	}
	if s := o.StatefulSet; s != nil {
		add(s.Name, s.Labels, s.Namespace)
		add(s.Name+" pod template", s.Spec.Template.Labels, namespace)
	}
	for _, s := range []*corev1.Service{o.Service, o.HeadlessService} {
		if s != nil {
			add(s.Name, s.Labels, s.Namespace)
		}
	}
	if i := o.Ingress; i != nil {
		add(i.Name, i.Labels, i.Namespace)
	}
	if r := o.HTTPRoute; r != nil {
		add(r.Name, r.Labels, r.Namespace)
	}
	if s := o.ServiceAccount; s != nil {
		add(s.Name, s.Labels, s.Namespace)
	}
	for _, cm := range o.ConfigMaps {
		add(cm.Name, cm.Labels, cm.Namespace)
	}
	if n := o.NetworkPolicy; n != nil {
		add(n.Name, n.Labels, n.Namespace)
	}
	if p := o.PodDisruptionBudget; p != nil {
		add(p.Name, p.Labels, p.Namespace)
	}
	if s := o.ServiceMonitor; s != nil {
		add(s.Name, s.Labels, s.Namespace)
	}
	if p := o.PrometheusRule; p != nil {
		add(p.Name, p.Labels, p.Namespace)
	}
	return out
}

type metaWithName struct {
	Name, Namespace string
	Labels          map[string]string
}

func isTrue(b *bool) bool { return b != nil && *b }

func mount(c corev1.Container, name string) *corev1.VolumeMount {
	for i := range c.VolumeMounts {
		if c.VolumeMounts[i].Name == name {
			return &c.VolumeMounts[i]
		}
	}
	return nil
}

func volume(pod corev1.PodSpec, name string) *corev1.Volume {
	for i := range pod.Volumes {
		if pod.Volumes[i].Name == name {
			return &pod.Volumes[i]
		}
	}
	return nil
}

func containerPort(c corev1.Container, name string) int32 {
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	return 0
}

func servicePort(s *corev1.Service, name string) *corev1.ServicePort {
	for i := range s.Spec.Ports {
		if s.Spec.Ports[i].Name == name {
			return &s.Spec.Ports[i]
		}
	}
	return nil
}

// selects tells whether every selector label is among labels.
func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}
