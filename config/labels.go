package config

import (
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// ReservedLabels are the labels the exporter sets itself, on any series it
// exposes (build_info's and go_info's included), plus those Prometheus
// gives a meaning to: a tenant's labels: cannot use them, as a fixed label
// would clash with or shadow them. It is sorted; tests hold it to every
// label the exposition uses.
var ReservedLabels = []string{
	"auth_type", "branch", "code", "error_code", "event", "event_type", "goarch", "goos",
	"goversion", "instance", "job", "job_id", "le", "mode", "operation", "output_host",
	"project_id", "quantile", "reason", "region", "result", "revision", "room_id", "room_name",
	"room_state", "room_type", "scheme", "source", "state", "tags", "tenant",
	"used_resource_type", "version",
}

var labelNameRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// maxLabelValue bounds a fixed label's value, which every series of the
// tenant carries.
const maxLabelValue = 1024

// Labels are a tenant's fixed labels, resolved at load into names and
// values sorted by name, so that the scrape path neither sorts nor copies
// them. The zero value has none.
type Labels struct {
	names, values []string
}

// Names returns the label names in sorted order; Values the values in the
// same order. Both are shared by every caller: read them, never change
// them.
func (l Labels) Names() []string  { return l.names }
func (l Labels) Values() []string { return l.values }

// Len is the number of labels.
func (l Labels) Len() int { return len(l.names) }

// Get returns the value of the label name, if the tenant has it.
func (l Labels) Get(name string) (string, bool) {
	if i, ok := slices.BinarySearch(l.names, name); ok {
		return l.values[i], true
	}
	return "", false
}

// with returns l with name set to value, keeping the order.
func (l Labels) with(name, value string) Labels {
	i, found := slices.BinarySearch(l.names, name)
	names, values := slices.Clone(l.names), slices.Clone(l.values)
	if found {
		values[i] = value
	} else {
		names, values = slices.Insert(names, i, name), slices.Insert(values, i, value)
	}
	return Labels{names: names, values: values}
}

// decodeYAML applies a labels mapping over the labels of the level below,
// name by name: a level's own names win.
func (l *Labels) decodeYAML(d *decoder, _ int, n *yaml.Node, path string) bool {
	set := false
	d.each(n, path, func(k, v *yaml.Node, kp string) {
		name := k.Value
		if msg := checkLabelName(name); msg != "" {
			d.add(k.Line, kp, "%s", msg)
			return
		}
		s, ok, _ := d.scalar(v, kp)
		switch {
		case !ok || s == "":
			return
		case !utf8.ValidString(s):
			d.add(k.Line, kp, "must be UTF-8 text")
		case len(s) > maxLabelValue:
			d.add(k.Line, kp, "must be at most %d bytes", maxLabelValue)
		default:
			*l, set = l.with(name, s), true
		}
	})
	return set
}

func checkLabelName(name string) string {
	switch {
	case !labelNameRE.MatchString(name):
		return "label name must match " + labelNameRE.String()
	case strings.HasPrefix(name, "__"):
		return "label name must not start with __, which Prometheus reserves"
	case slices.Contains(ReservedLabels, name):
		return "the exporter sets this label itself; choose another name"
	}
	return ""
}

func (l Labels) viewYAML() *yaml.Node {
	if l.Len() == 0 {
		return nil
	}
	m := &yaml.Node{Kind: yaml.MappingNode}
	for i, name := range l.names {
		m.Content = append(m.Content, strNode(name), strNode(l.values[i]))
	}
	return m
}

func (l Labels) appendDigest(b []byte) []byte {
	b = appendCount(b, l.Len())
	for i, name := range l.names {
		b = appendField(appendField(b, name), l.values[i])
	}
	return b
}
