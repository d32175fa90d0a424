package config

import (
	"strconv"

	"go.yaml.in/yaml/v3"
)

// The file is parsed by yaml.v3 into a yaml.Node tree and decoded by walking
// that tree, not by unmarshalling into structs with Decoder.KnownFields.
// Decoding into structs was tried (leaves implementing yaml.Unmarshaler to
// keep their lines) and loses what users see:
//   - yaml.v3's errors name a line and a Go type ("field regoin not found in
//     type config.rawTenant", "cannot unmarshal !!str `cn-nort...` into
//     config.rawSettings"), never the key path, and quote up to seven
//     characters of the value, which may be a secret on the wrong line;
//     rebuilding the path means walking the node tree anyway.
//   - A duplicate key makes yaml.v3 drop the whole mapping holding it: a
//     repeated top-level key hid every other problem in the file, and a
//     dropped list item shifted the index of every later tenant.
//   - Alias trouble (a mapping merging itself, excessive aliasing, an
//     unknown anchor) aborts the decode with no line, and the unknown
//     anchor's message repeats its name: the rest of a secret that starts
//     with "*".
// The walker collects every problem with its key path in one pass and never
// quotes a value. What it walks is driven by the sections' struct
// descriptions (schema.go, overlay.go); this file holds the node-level
// parts: mappings with merge keys and duplicates, lists and scalars.

type decoder struct {
	*problems
	// unquoted maps the lines whose value no parser could have read (an
	// unquoted value starting with a YAML indicator) to the hint for it;
	// the value was blanked before parsing (syntax.go) so that the rest of
	// the file could be checked.
	unquoted map[int]string
	// baseDir is where relative paths of files the config names start.
	baseDir string
}

// handler decodes the value of one key; key is passed for its line.
type handler func(key, val *yaml.Node, path string)

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func indexPath(parent string, i int) string { return parent + "[" + strconv.Itoa(i) + "]" }

// deref follows aliases so that anchors can be used anywhere in the file.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// isUnset tells whether a value counts as left out: null, or an empty
// string, which the file's documentation promises means the same for every
// key, sections and lists included.
func isUnset(n *yaml.Node) bool {
	return isNull(n) || (n.Kind == yaml.ScalarNode && n.Tag == "!!str" && n.Value == "")
}

type pair struct{ key, val *yaml.Node }

// pairs lists a mapping's entries with YAML merge keys (`<<: *anchor`)
// expanded; keys written out explicitly win over merged ones.
func (d *decoder) pairs(n *yaml.Node, path string) []pair {
	return d.mergedPairs(n, path, &merges{expanding: map[*yaml.Node]bool{}, done: map[*yaml.Node][]pair{}})
}

// merges tracks merge-key expansion within one mapping. A mapping that
// merges itself, directly or through others, would recurse until the
// stack overflows and kill the process on reload; one that merges the same
// anchor many times over, level upon level, would take exponential time.
type merges struct {
	expanding map[*yaml.Node]bool
	done      map[*yaml.Node][]pair
}

func (d *decoder) mergedPairs(n *yaml.Node, path string, m *merges) []pair {
	if out, ok := m.done[n]; ok {
		return out
	}
	m.expanding[n] = true
	defer delete(m.expanding, n)
	var explicit, merged []pair
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Tag != "!!merge" {
			explicit = append(explicit, pair{k, v})
			continue
		}
		v = deref(v)
		sources := []*yaml.Node{v}
		if v.Kind == yaml.SequenceNode {
			sources = v.Content
		}
		for _, src := range sources {
			src = deref(src)
			switch {
			case src.Kind != yaml.MappingNode:
				d.add(k.Line, joinPath(path, "<<"), "can only merge mappings")
			case m.expanding[src]:
				d.add(k.Line, joinPath(path, "<<"), "merges a mapping into itself")
			default:
				merged = append(merged, d.mergedPairs(src, path, m)...)
			}
		}
	}
	seen := make(map[string]bool, len(explicit))
	for _, p := range explicit {
		seen[p.key.Value] = true
	}
	out := explicit
	for _, p := range merged {
		if !seen[p.key.Value] {
			seen[p.key.Value] = true
			out = append(out, p)
		}
	}
	m.done[n] = out
	return out
}

// each calls fn for every entry of a mapping, rejecting non-string and
// duplicate keys. A null or empty value (`defaults:` with nothing under it)
// is an empty mapping.
// It reports whether the value was a mapping (or left out).
func (d *decoder) each(n *yaml.Node, path string, fn handler) bool {
	n = deref(n)
	if d.hint(n, path) {
		return false
	}
	if isUnset(n) {
		return true
	}
	if n.Kind != yaml.MappingNode {
		d.add(n.Line, path, "must be a mapping")
		return false
	}
	first := map[string]int{}
	for _, p := range d.pairs(n, path) {
		if p.key.Kind != yaml.ScalarNode {
			d.add(p.key.Line, path, "keys must be plain strings")
			continue
		}
		kp := joinPath(path, p.key.Value)
		if line, dup := first[p.key.Value]; dup {
			d.add(p.key.Line, kp, "duplicate key, first set on line %d", line)
			continue
		}
		first[p.key.Value] = p.key.Line
		fn(p.key, p.val, kp)
	}
	return true
}

// list calls fn for every item of a sequence; it reports whether the value
// was a list (or left out).
func (d *decoder) list(n *yaml.Node, path string, fn func(item *yaml.Node, path string)) bool {
	n = deref(n)
	if d.hint(n, path) {
		return false
	}
	if isUnset(n) {
		return true
	}
	if n.Kind != yaml.SequenceNode {
		d.add(n.Line, path, "must be a list")
		return false
	}
	for i, item := range n.Content {
		fn(deref(item), indexPath(path, i))
	}
	return true
}

// scalar accepts any scalar as text: an all-digit password must not be
// rejected for looking like a number. bad means a value is there but is not
// usable text, and has been reported.
func (d *decoder) scalar(v *yaml.Node, path string) (s string, ok, bad bool) {
	v = deref(v)
	switch {
	case d.hint(v, path):
		return "", false, true
	case isNull(v):
		return "", false, false
	case v.Kind != yaml.ScalarNode:
		d.add(v.Line, path, "must be a string")
		return "", false, true
	}
	return v.Value, true, false
}
