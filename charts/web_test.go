package charts

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// TestTLSOnTheMetricsPort: with --web.config.file serving TLS, plain-HTTP
// probes would fail and the pods never get ready; web.tls.enabled turns the
// probes and the ServiceMonitor to HTTPS.
func TestTLSOnTheMetricsPort(t *testing.T) {
	o := render(t, webTLSValues)
	checkProbes(t, o.container(t), corev1.URISchemeHTTPS)
	if len(o.ServiceMonitor.Spec.Endpoints) != 2 {
		t.Fatalf("endpoints %+v, want the settings' and the live streams'", o.ServiceMonitor.Spec.Endpoints)
	}
	for i, ep := range o.ServiceMonitor.Spec.Endpoints {
		if ep.Scheme == nil || ep.Scheme.String() != "https" {
			t.Errorf("ServiceMonitor endpoint %d: scheme %v, want https", i, ep.Scheme)
		}
		tls := ep.TLSConfig
		if tls == nil || tls.ServerName == nil || *tls.ServerName != "metastudio.observability.svc" ||
			tls.CA.Secret == nil || tls.CA.Secret.Name != "metastudio-web" || tls.CA.Secret.Key != "ca.crt" {
			t.Errorf("ServiceMonitor endpoint %d: tlsConfig %+v, want serviceMonitor.tlsConfig", i, tls)
		}
	}

	o = render(t, "serviceMonitor: {enabled: true}")
	checkProbes(t, o.container(t), corev1.URISchemeHTTP)
	for i, ep := range o.ServiceMonitor.Spec.Endpoints {
		if ep.Scheme != nil && *ep.Scheme != "http" || ep.TLSConfig != nil {
			t.Errorf("without web.tls, endpoint %d: scheme %v tlsConfig %+v, want plain HTTP", i, ep.Scheme, ep.TLSConfig)
		}
	}

	// The operator also takes a CA from a ConfigMap and skips verification
	// on request; the chart passes tlsConfig through as it is.
	o = render(t, "web: {tls: {enabled: true}}\nserviceMonitor: {enabled: true, tlsConfig: {insecureSkipVerify: true}}")
	for i, ep := range o.ServiceMonitor.Spec.Endpoints {
		if tls := ep.TLSConfig; tls == nil || tls.InsecureSkipVerify == nil || !*tls.InsecureSkipVerify {
			t.Errorf("endpoint %d: tlsConfig %+v, want insecureSkipVerify", i, tls)
		}
	}

	_, err := helmTemplate(t, "serviceMonitor: {enabled: true, tlsConfig: {insecureSkipVerify: true}}")
	if want := "serviceMonitor.tlsConfig is set but web.tls.enabled is false; the metrics port speaks plain HTTP"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("tlsConfig without web.tls: %v, want %q", err, want)
	}
}
