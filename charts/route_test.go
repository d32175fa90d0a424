package charts

import (
	"reflect"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

const callbackPath = "/callback/"

// TestIngressRoutesOnlyTheReceiver: the public route carries /callback/ to
// Service port callback and nothing else, so /metrics, /probe and /sd stay
// inside the cluster.
func TestIngressRoutesOnlyTheReceiver(t *testing.T) {
	o := render(t, persistenceValues)
	ing := o.Ingress
	if ing == nil {
		t.Fatalf("no Ingress; objects %v", o.Kinds)
	}
	if c := ing.Spec.IngressClassName; c == nil || *c != "nginx" {
		t.Errorf("ingressClassName %v, want nginx", c)
	}
	if ing.Annotations["cert-manager.io/cluster-issuer"] != "letsencrypt" {
		t.Errorf("annotations %v", ing.Annotations)
	}
	wantTLS := []networkingv1.IngressTLS{{Hosts: []string{"mon.example.com"}, SecretName: "mon-example-com-tls"}}
	if !reflect.DeepEqual(ing.Spec.TLS, wantTLS) {
		t.Errorf("tls %+v, want %+v", ing.Spec.TLS, wantTLS)
	}
	checkIngressRule(t, o, "mon.example.com")

	o = render(t, "callback: {enabled: true, ingress: {enabled: true, host: cb.example.org, tls: [{secretName: s, hosts: [a.example.org]}]}}")
	if o.Ingress.Spec.IngressClassName != nil || len(o.Ingress.Annotations) != 0 {
		t.Errorf("className %v annotations %v, want neither", o.Ingress.Spec.IngressClassName, o.Ingress.Annotations)
	}
	if want := []networkingv1.IngressTLS{{Hosts: []string{"a.example.org"}, SecretName: "s"}}; !reflect.DeepEqual(o.Ingress.Spec.TLS, want) {
		t.Errorf("tls %+v, want the hosts given %+v", o.Ingress.Spec.TLS, want)
	}
	checkIngressRule(t, o, "cb.example.org")

	if o := render(t, "callback: {enabled: true, ingress: {enabled: true, host: cb.example.org}}"); o.Ingress.Spec.TLS != nil {
		t.Errorf("tls %+v without callback.ingress.tls", o.Ingress.Spec.TLS)
	}
}

func checkIngressRule(t *testing.T, o *objects, host string) {
	t.Helper()
	spec := o.Ingress.Spec
	if spec.DefaultBackend != nil {
		t.Errorf("defaultBackend %+v would route every other path", spec.DefaultBackend)
	}
	if len(spec.Rules) != 1 || spec.Rules[0].Host != host || spec.Rules[0].HTTP == nil {
		t.Fatalf("rules %+v, want one for host %s", spec.Rules, host)
	}
	paths := spec.Rules[0].HTTP.Paths
	if len(paths) != 1 {
		t.Fatalf("paths %+v, want only %s", paths, callbackPath)
	}
	p := paths[0]
	if p.Path != callbackPath || p.PathType == nil || *p.PathType != networkingv1.PathTypePrefix {
		t.Errorf("path %q type %v, want %s Prefix", p.Path, p.PathType, callbackPath)
	}
	b := p.Backend.Service
	if b == nil || b.Name != o.Service.Name || b.Port.Name != "callback" || b.Port.Number != 0 {
		t.Errorf("backend %+v, want Service %s port callback", p.Backend, o.Service.Name)
	}
	if servicePort(o.Service, "callback") == nil {
		t.Error("the Service has no port callback")
	}
}

func TestHTTPRouteRoutesOnlyTheReceiver(t *testing.T) {
	for _, tc := range []struct {
		name, values string
		port         gatewayv1.PortNumber
	}{
		{"default port", httpRouteValues, 10037},
		{"own port", strings.Replace(httpRouteValues, "enabled: true\n  externalURL", "enabled: true\n  port: 10100\n  externalURL", 1), 10100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := render(t, tc.values)
			r := o.HTTPRoute
			if r == nil {
				t.Fatalf("no HTTPRoute; objects %v", o.Kinds)
			}
			wantParents := []gatewayv1.ParentReference{{Name: "public", Namespace: ptr(gatewayv1.Namespace("gateways")), SectionName: ptr(gatewayv1.SectionName("https"))}}
			if !reflect.DeepEqual(r.Spec.ParentRefs, wantParents) {
				t.Errorf("parentRefs %+v, want %+v", r.Spec.ParentRefs, wantParents)
			}
			if want := []gatewayv1.Hostname{"mon.example.com"}; !reflect.DeepEqual(r.Spec.Hostnames, want) {
				t.Errorf("hostnames %v, want %v", r.Spec.Hostnames, want)
			}
			if len(r.Spec.Rules) != 1 {
				t.Fatalf("rules %+v, want one", r.Spec.Rules)
			}
			rule := r.Spec.Rules[0]
			wantMatch := []gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{Type: ptr(gatewayv1.PathMatchPathPrefix), Value: ptr(callbackPath)}}}
			if !reflect.DeepEqual(rule.Matches, wantMatch) {
				t.Errorf("matches %+v, want PathPrefix %s only", rule.Matches, callbackPath)
			}
			if len(rule.BackendRefs) != 1 {
				t.Fatalf("backendRefs %+v, want one", rule.BackendRefs)
			}
			ref := rule.BackendRefs[0].BackendObjectReference
			if ref.Name != gatewayv1.ObjectName(o.Service.Name) || ref.Port == nil || *ref.Port != tc.port ||
				ref.Kind != nil && *ref.Kind != "Service" || ref.Group != nil && *ref.Group != "" {
				t.Errorf("backendRef %+v, want Service %s port %d", ref, o.Service.Name, tc.port)
			}
			// A backendRef names a Service port by number: it must be the
			// receiver's, not the metrics port.
			if sp := servicePort(o.Service, "callback"); sp == nil || gatewayv1.PortNumber(sp.Port) != tc.port {
				t.Errorf("Service port callback %+v, want %d", sp, tc.port)
			}
		})
	}
	o := render(t, "callback: {enabled: true, httpRoute: {enabled: true, parentRefs: [{name: public}]}}")
	if len(o.HTTPRoute.Spec.Hostnames) != 0 {
		t.Errorf("hostnames %v, want none (the Gateway's listeners decide)", o.HTTPRoute.Spec.Hostnames)
	}
}

func TestRouteRefusedValues(t *testing.T) {
	for _, tc := range []struct{ values, want string }{
		{"callback: {ingress: {enabled: true, host: cb.example.org}}",
			"callback.ingress.enabled: the Ingress routes to the receiver; set callback.enabled too"},
		{"callback: {enabled: true, ingress: {enabled: true}}",
			"callback.ingress.host: the receiver's public host name is required, e.g. mon.example.com"},
		{"callback: {httpRoute: {enabled: true, parentRefs: [{name: public}]}}",
			"callback.httpRoute.enabled: the HTTPRoute routes to the receiver; set callback.enabled too"},
		{"callback: {enabled: true, httpRoute: {enabled: true}}",
			"callback.httpRoute.parentRefs: name the Gateway (and listener) that carries the route"},
		{"callback: {enabled: true, ingress: {enabled: true, host: 'https://cb.example.org'}}",
			"- at '/callback/ingress/host': 'https://cb.example.org' does not match pattern"},
		{"callback: {enabled: true, ingress: {enabled: true, host: cb.example.org, tls: {secretName: s}}}",
			"- at '/callback/ingress/tls': got object, want array"},
	} {
		_, err := helmTemplate(t, tc.values)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want it to contain %q", tc.values, err, tc.want)
		}
	}
}
