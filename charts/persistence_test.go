package charts

import (
	"os"
	"path"
	"reflect"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
)

const stateFileFlag = "--callback.state-file="

// stateFileArgs returns the values of every --callback.state-file flag.
func stateFileArgs(c corev1.Container) []string {
	var out []string
	for _, a := range c.Args {
		if v, ok := strings.CutPrefix(a, stateFileFlag); ok {
			out = append(out, v)
		}
	}
	return out
}

// TestPersistenceKeepsTheStateFileOnAClaim renders the receiver with
// persistence: a StatefulSet whose one volumeClaimTemplate is mounted where
// --callback.state-file points, so the stream table outlives the pod.
func TestPersistenceKeepsTheStateFileOnAClaim(t *testing.T) {
	o := render(t, persistenceValues)
	if o.Deployment != nil {
		t.Fatalf("a Deployment with persistence on; objects %v", o.Kinds)
	}
	sts := o.StatefulSet
	if sts == nil {
		t.Fatalf("no StatefulSet with persistence on; objects %v", o.Kinds)
	}
	if r := sts.Spec.Replicas; r == nil || *r != 2 {
		t.Errorf("replicas %v, want 2", r)
	}
	if sts.Spec.PodManagementPolicy != appsv1.ParallelPodManagement {
		t.Errorf("podManagementPolicy %q, want Parallel: replicas do not wait for each other", sts.Spec.PodManagementPolicy)
	}
	if sts.Spec.Template.Annotations["checksum/config"] == "" {
		t.Error("the StatefulSet's pods have no checksum/config annotation, so a new config would not roll them")
	}

	if len(sts.Spec.VolumeClaimTemplates) != 1 {
		t.Fatalf("volumeClaimTemplates %+v, want one", sts.Spec.VolumeClaimTemplates)
	}
	claim := sts.Spec.VolumeClaimTemplates[0]
	if !reflect.DeepEqual(claim.Spec.AccessModes, []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}) {
		t.Errorf("accessModes %v, want [ReadWriteOnce]", claim.Spec.AccessModes)
	}
	if q := claim.Spec.Resources.Requests[corev1.ResourceStorage]; q.Cmp(resource.MustParse("2Gi")) != 0 {
		t.Errorf("storage request %v, want 2Gi", q.String())
	}
	if sc := claim.Spec.StorageClassName; sc == nil || *sc != "fast-ssd" {
		t.Errorf("storageClassName %v, want fast-ssd", sc)
	}
	// A StatefulSet's claim templates cannot change after install, so their
	// labels leave out the chart and app versions an upgrade would change.
	if !reflect.DeepEqual(claim.Labels, sts.Spec.Selector.MatchLabels) {
		t.Errorf("claim labels %v, want exactly the selector labels %v", claim.Labels, sts.Spec.Selector.MatchLabels)
	}

	c := o.container(t)
	m := mount(c, claim.Name)
	if m == nil || m.ReadOnly {
		t.Fatalf("the claim %q is mounted %+v, want a writable mount", claim.Name, m)
	}
	if v := volume(o.pod(t), claim.Name); v != nil {
		t.Errorf("a pod volume %+v shadows the claim %q", v, claim.Name)
	}
	files := stateFileArgs(c)
	if len(files) != 1 {
		t.Fatalf("args %q: want one %s", c.Args, stateFileFlag)
	}
	if f := files[0]; path.Clean(f) != f || !strings.HasPrefix(f, strings.TrimSuffix(m.MountPath, "/")+"/") {
		t.Errorf("state file %q is not under the claim's mountPath %q", f, m.MountPath)
	}

	h := o.HeadlessService
	if h == nil || sts.Spec.ServiceName != h.Name {
		t.Fatalf("serviceName %q, headless Service %v", sts.Spec.ServiceName, h)
	}
	// The headless Service publishes no port, so that a ServiceMonitor,
	// whose selector matches it too, scrapes each pod once through the
	// chart's Service.
	if len(h.Spec.Ports) != 0 {
		t.Errorf("headless Service ports %+v, want none", h.Spec.Ports)
	}
	np := o.NetworkPolicy.Spec
	if len(np.Ingress) != 2 || *np.Ingress[1].Ports[0].Port != intstr.FromString("callback") {
		t.Errorf("NetworkPolicy ingress %+v, want metrics and callback", np.Ingress)
	}
}

func TestPersistenceDefaultsAndStorageClass(t *testing.T) {
	for _, tc := range []struct {
		name, storageClass string
		want               *string
	}{
		{"cluster default", "", nil},
		{"named", "storageClass: standard-rwo", ptr("standard-rwo")},
		{"dash turns dynamic provisioning off", `storageClass: "-"`, ptr("")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := render(t, "callback: {enabled: true, persistence: {enabled: true, "+tc.storageClass+"}}")
			claim := o.StatefulSet.Spec.VolumeClaimTemplates[0]
			if q := claim.Spec.Resources.Requests[corev1.ResourceStorage]; q.Cmp(resource.MustParse("1Gi")) != 0 {
				t.Errorf("storage request %v, want 1Gi", q.String())
			}
			if !reflect.DeepEqual(claim.Spec.StorageClassName, tc.want) {
				t.Errorf("storageClassName %v, want %v", deref(claim.Spec.StorageClassName), deref(tc.want))
			}
			if r := o.StatefulSet.Spec.Replicas; r == nil || *r != 1 {
				t.Errorf("replicas %v, want 1", r)
			}
		})
	}
}

// TestWithoutPersistence: the receiver alone keeps its table in memory, in
// a Deployment, with no state file that would pretend otherwise.
func TestWithoutPersistence(t *testing.T) {
	for _, values := range []string{"", callbackValues, everythingValues} {
		o := render(t, values)
		if o.StatefulSet != nil || o.HeadlessService != nil || o.Deployment == nil {
			t.Errorf("objects %v, want a Deployment and no StatefulSet", o.Kinds)
		}
		if got := stateFileArgs(o.container(t)); len(got) != 0 {
			t.Errorf("state file %q without persistence", got)
		}
	}
}

// TestValuesSuggestNoEmptyDirForState: an emptyDir dies with its pod, so
// it must not be offered as a home for the state file.
func TestValuesSuggestNoEmptyDirForState(t *testing.T) {
	b, err := os.ReadFile(chartDir + "/values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "emptyDir") {
		t.Error("values.yaml mentions emptyDir; the state file belongs on callback.persistence")
	}
}

func TestPersistenceRefusedValues(t *testing.T) {
	for _, tc := range []struct{ release, values, want string }{
		{release, "callback: {persistence: {enabled: true}}",
			"callback.persistence.enabled: the state file holds the receiver's stream table; set callback.enabled too"},
		{release, "callback: {enabled: true, persistence: {enabled: true}}\nextraArgs: [--callback.state-file=/tmp/x.json]",
			"extraArgs: --callback.state-file is set by callback.persistence; drop it from extraArgs"},
		{strings.Repeat("r", 50), "callback: {enabled: true, persistence: {enabled: true}}",
			"callback.persistence.enabled: the StatefulSet name " + strings.Repeat("r", 50) + "-metastudio-e is longer than 52 characters"},
		{release, "callback: {enabled: true, persistence: {enabled: true, size: 1 GB}}",
			"- at '/callback/persistence/size': '1 GB' does not match pattern"},
	} {
		_, err := helmTemplateRelease(t, tc.release, tc.values)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want it to contain %q", tc.values, err, tc.want)
		}
	}
	// Without persistence a long name is fine: a Deployment's pods take a
	// hash of its name.
	long := strings.Repeat("r", 52)
	if o := renderRelease(t, long, callbackValues); o.Deployment.Name != long+"-metastudio" {
		t.Errorf("name %q, want the 63 characters %q", o.Deployment.Name, long+"-metastudio")
	}
}

func ptr[T any](v T) *T { return &v }

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return `"` + *s + `"`
}
