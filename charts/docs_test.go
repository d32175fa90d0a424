package charts

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// docYAMLBlocks returns the ```yaml blocks of a Markdown file, each
// un-indented by its fence's indentation.
func docYAMLBlocks(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	for _, m := range regexp.MustCompile("(?ms)^( *)```yaml\n(.*?)^ *```").FindAllStringSubmatch(string(b), -1) {
		indent, body := m[1], m[2]
		var lines []string
		for _, line := range strings.Split(body, "\n") {
			lines = append(lines, strings.TrimPrefix(line, indent))
		}
		blocks = append(blocks, strings.Join(lines, "\n"))
	}
	return blocks
}

// TestKubernetesDocValues renders the values docs/kubernetes.md tells users
// to install with, so that the page cannot drift from the chart.
func TestKubernetesDocValues(t *testing.T) {
	var install, route, webTLS string
	for _, b := range docYAMLBlocks(t, "../docs/kubernetes.md") {
		switch {
		case strings.Contains(b, "persistence:") && strings.Contains(b, "ingress:"):
			install = b
		case strings.Contains(b, "httpRoute:"):
			route = b
		case strings.Contains(b, "--web.config.file"):
			webTLS = b
		}
	}
	if install == "" || route == "" || webTLS == "" {
		t.Fatalf("docs/kubernetes.md lacks a values block: install %t, httpRoute %t, web TLS %t", install != "", route != "", webTLS != "")
	}

	o := renderRelease(t, "metastudio", install)
	if o.StatefulSet == nil || o.StatefulSet.Name != "metastudio" || o.HeadlessService.Name != "metastudio-headless" {
		t.Fatalf("the install example renders %v, want the StatefulSet metastudio", o.Kinds)
	}
	if got := stateFileArgs(o.container(t)); len(got) != 1 {
		t.Errorf("state file flags %q, want one", got)
	}
	if o.Ingress == nil || o.Ingress.Spec.Rules[0].Host != "mon.example.com" || len(o.Ingress.Spec.TLS) != 1 {
		t.Errorf("the install example's Ingress: %+v", o.Ingress)
	}
	if !strings.Contains(strings.Join(o.container(t).Args, " "), "--callback.external-url=https://mon.example.com") {
		t.Errorf("args %q lack the external URL the doc pastes into MetaStudio", o.container(t).Args)
	}

	// The HTTPRoute block replaces the Ingress in the install example.
	httpRoute := strings.TrimPrefix(route, "callback:\n")
	withRoute := install[:strings.Index(install, "  ingress:")] + httpRoute + install[strings.Index(install, "serviceMonitor:"):]
	o = renderRelease(t, "metastudio", withRoute)
	if o.Ingress != nil || o.HTTPRoute == nil {
		t.Errorf("install example with the HTTPRoute: %v", o.Kinds)
	}

	o = renderRelease(t, "metastudio", webTLS)
	for _, ep := range o.ServiceMonitor.Spec.Endpoints {
		if ep.Scheme == nil || ep.TLSConfig == nil {
			t.Errorf("the web TLS example's ServiceMonitor endpoint %+v", ep)
		}
	}
}
