package config

import (
	"reflect"

	"go.yaml.in/yaml/v3"
)

// The file as decoded: every section applied over the level below it, with
// what each level wrote, before the resolver turns it into tenants.

type rawTenant struct {
	tenantSection
	w *written
}

type rawCredential struct {
	name string
	credentialSection
	w   *written
	bad bool // a problem was reported inside it
}

type rawDiscovery struct {
	discoverySection
	w *written
}

type rawConfig struct {
	defaults    defaultsSection
	defaultsW   *written
	credentials []*rawCredential // file order
	// tenants and discovery hold nil for an item that is not a mapping,
	// which has been reported, so that indexes stay those of the file.
	tenants     []*rawTenant
	discovery   []*rawDiscovery
	rootLine    int
	tenantsLine int  // 0 when the key is missing
	tenantsBad  bool // not a list; already reported
}

// decode parses the document. A syntax error or a top level that is not a
// mapping stops there (nil): nothing after it can be located reliably.
func decode(data []byte, baseDir string, ps *problems) *rawConfig {
	doc, unquoted, syntax := parseYAML(data, ps.file)
	ps.list = append(ps.list, syntax...)
	if doc == nil {
		return nil
	}
	d := &decoder{problems: ps, unquoted: unquoted, baseDir: baseDir}
	raw := &rawConfig{rootLine: 1, defaults: defaultsSection{Settings: BuiltinSettings()}}
	raw.defaultsW = newWritten(1)
	if doc.Kind == 0 {
		return raw
	}
	root := deref(doc.Content[0])
	raw.rootLine = root.Line
	if root.Kind != yaml.MappingNode && !isUnset(root) {
		ps.add(root.Line, "", "the file must be a YAML mapping")
		return nil
	}
	// Defaults first, wherever they stand: the other sections build on them.
	top := map[string]pair{}
	d.each(root, "", func(k, v *yaml.Node, path string) {
		if placeOf(k.Value) == nil {
			d.unknownKey(k.Line, path, k.Value, nil)
			d.hint(deref(v), path)
			return
		}
		top[k.Value] = pair{k, v}
	})
	if p, ok := top["defaults"]; ok {
		raw.defaultsW = d.section(p.val, p.key.Line, "defaults", reflect.ValueOf(&raw.defaults).Elem(), placeOf("defaults").schema)
	}
	if p, ok := top["credentials"]; ok {
		d.each(p.val, "credentials", func(k, v *yaml.Node, path string) {
			c := &rawCredential{name: k.Value}
			before := d.count()
			c.w = d.section(v, k.Line, path, reflect.ValueOf(&c.credentialSection).Elem(), placeOf("credentials").schema)
			c.bad = d.count() > before
			raw.credentials = append(raw.credentials, c)
		})
	}
	if p, ok := top["discovery"]; ok {
		d.list(p.val, "discovery", func(item *yaml.Node, path string) {
			e := &rawDiscovery{discoverySection: builtinDiscovery(&raw.defaults)}
			e.w = d.section(item, item.Line, path, reflect.ValueOf(&e.discoverySection).Elem(), placeOf("discovery").schema)
			if e.w.notMapping || isUnset(item) {
				e = nil
			}
			raw.discovery = append(raw.discovery, e)
		})
	}
	if p, ok := top["tenants"]; ok {
		raw.tenantsLine = p.key.Line
		raw.tenantsBad = !d.list(p.val, "tenants", func(item *yaml.Node, path string) {
			t := &rawTenant{tenantSection: tenantSection{Credentials: raw.defaults.Credentials, Settings: raw.defaults.Settings}}
			t.w = d.section(item, item.Line, path, reflect.ValueOf(&t.tenantSection).Elem(), placeOf("tenants").schema)
			if t.w.notMapping {
				t = nil
			}
			raw.tenants = append(raw.tenants, t)
		})
	}
	return raw
}
