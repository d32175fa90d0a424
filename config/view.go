package config

import (
	"bytes"
	"fmt"
	"reflect"
	"strconv"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/metastudio-exporter/metastudio_exporter/secret"
)

// The /config view has the shape of the config file, so an operator can
// read it as one, with every default spelled out. It is rendered from the
// same section descriptions the file is read with: durations as
// Prometheus durations, secret.String as <secret>, a value read from a
// *_file as the path written (the access key's too, to keep one rule), and
// URLs that may carry credentials through RedactURL.

// viewable is a field type that renders itself; nil leaves the key out.
type viewable interface{ viewYAML() *yaml.Node }

var viewableType = reflect.TypeFor[viewable]()

// renderSection renders v, a struct of schema s. def, when valid, is the
// built-in value of v, for the sections shown only when they differ.
func renderSection(v reflect.Value, s *schema, def reflect.Value) *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode}
	for _, f := range s.fields {
		key, fv := f.key, v.FieldByIndex(f.index)
		var node *yaml.Node
		if f.fileKey != "" && v.FieldByIndex(f.fileIndex).String() != "" {
			key, node = f.fileKey, strNode(v.FieldByIndex(f.fileIndex).String())
		} else {
			var fdef reflect.Value
			if def.IsValid() {
				fdef = def.FieldByIndex(f.index)
			}
			node = renderValue(f, fv, fdef)
		}
		if node != nil {
			m.Content = append(m.Content, strNode(key), node)
		}
	}
	return m
}

func renderValue(f *field, v, def reflect.Value) *yaml.Node {
	if v.Type().Implements(viewableType) {
		if v.Kind() == reflect.Pointer && v.IsNil() {
			return nil
		}
		return v.Interface().(viewable).viewYAML()
	}
	switch f.kind {
	case kindString:
		if f.omitempty && v.String() == "" {
			return nil
		}
		return strNode(v.String())
	case kindSecret:
		switch s := v.Interface().(secret.String); {
		case !s.IsSet():
			return nil
		case f.url:
			return strNode(RedactURL(s.Reveal()))
		}
		return strNode(secret.Redacted)
	case kindDuration:
		return strNode(model.Duration(v.Int()).String())
	case kindInt:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(v.Int(), 10)}
	case kindBool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(v.Bool())}
	case kindStrings:
		seq := &yaml.Node{Kind: yaml.SequenceNode}
		if f.flow {
			seq.Style = yaml.FlowStyle
		}
		for i := range v.Len() {
			seq.Content = append(seq.Content, strNode(v.Index(i).String()))
		}
		return seq
	case kindSection:
		if f.omitDef && def.IsValid() && reflect.DeepEqual(v.Interface(), def.Interface()) {
			return nil
		}
		return renderSection(v, f.sub, def)
	case kindBlock:
		if v.IsNil() {
			return nil
		}
		return renderSection(v.Elem(), f.sub, reflect.Value{})
	}
	panic("config: cannot show a " + v.Type().String())
}

func strNode(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}

// render renders a section value of type T with its schema.
func render[T any](v T, def *T) *yaml.Node {
	rv := reflect.ValueOf(v)
	var dv reflect.Value
	if def != nil {
		dv = reflect.ValueOf(*def)
	}
	return renderSection(rv, schemaOf(rv.Type()), dv)
}

// Redacted renders the effective config for GET /config: the file's
// tenants, then discovered, those the tenant set serves besides them.
func (c *Config) Redacted(discovered ...*Tenant) ([]byte, error) {
	builtin := BuiltinSettings()
	root := &yaml.Node{Kind: yaml.MappingNode}
	add := func(key string, n *yaml.Node) { root.Content = append(root.Content, strNode(key), n) }

	add("defaults", render(c.defaults, &defaultsSection{Settings: builtin}))
	if len(c.credentials) > 0 {
		creds := &yaml.Node{Kind: yaml.MappingNode}
		for _, cr := range c.credentials {
			creds.Content = append(creds.Content, strNode(cr.name), render(cr.credentialSection, nil))
		}
		add("credentials", creds)
	}
	if len(c.discovery) > 0 {
		list := &yaml.Node{Kind: yaml.SequenceNode}
		for i := range c.discovery {
			s := &c.discovery[i]
			list.Content = append(list.Content, render(s.section(), &discoverySection{Settings: builtin}))
		}
		add("discovery", list)
	}
	tenants := &yaml.Node{Kind: yaml.SequenceNode}
	for _, t := range append(c.tenants[:len(c.tenants):len(c.tenants)], discovered...) {
		n := render(tenantSection{
			Name: t.Name, ProjectID: t.ProjectID, Endpoint: t.Endpoint, Credentials: t.CredentialsName, Settings: t.Settings,
		}, &tenantSection{Settings: builtin})
		if t.Source != nil {
			// The source label: the entry's name, else its index.
			label := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: t.Source.Label()}
			if t.Source.Name == "" {
				label.Tag = "!!int"
			}
			n.Content = append(n.Content, strNode("discovered_by"), label)
		}
		tenants.Content = append(tenants.Content, n)
	}
	add("tenants", tenants)

	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return nil, fmt.Errorf("encoding config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encoding config: %w", err)
	}
	return buf.Bytes(), nil
}
