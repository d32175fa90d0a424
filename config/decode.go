package config

import (
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"
)

// The file is decoded by walking the yaml.Node tree instead of unmarshalling
// into structs: that is what lets every problem carry the line of its key,
// lets all problems be collected in one pass, and keeps the decoder from ever
// quoting a value (a misplaced secret) in a type error.

// str is a scalar as found in the file. An empty value counts as not set, so
// that `security_token_file: ""` reads the same as leaving the key out.
type str struct {
	val  string
	line int
	bad  bool // present but not a scalar; already reported
}

func (s str) set() bool { return s.val != "" }

// missing tells whether "required" should be reported: a value of the wrong
// type already has its own problem.
func (s str) missing() bool { return s.val == "" && !s.bad }

type dur struct {
	val  time.Duration
	line int
	set  bool
}

type rawPolicy struct {
	maxLive, maxExceptionWaiting dur
}

// rawSettings are the keys a tenant shares with defaults.
type rawSettings struct {
	region, credentials  str
	timeout, maxCacheAge dur
	policy               rawPolicy
}

type rawTenant struct {
	line                      int
	name, projectID, endpoint str
	rawSettings
}

type rawIAM struct {
	line                                           int
	domain, user, password, passwordFile, endpoint str
}

type rawCredential struct {
	name                                               string
	line                                               int
	accessKey, accessKeyFile, secretKey, secretKeyFile str
	securityToken, securityTokenFile                   str
	iam                                                *rawIAM
}

type rawConfig struct {
	defaults    rawSettings
	credentials []*rawCredential // file order
	tenants     []*rawTenant
	rootLine    int
	tenantsLine int  // 0 when the key is missing
	tenantsBad  bool // not a list; already reported
}

type decoder struct {
	*problems
}

// handler decodes the value of one key; key is passed for its line.
type handler func(key, val *yaml.Node, path string)

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

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
// duplicate keys. A null value (`defaults:` with nothing under it) is an
// empty mapping.
func (d *decoder) each(n *yaml.Node, path string, fn handler) {
	n = deref(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.add(n.Line, path, "must be a mapping")
		return
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
}

// mapping decodes a mapping with a fixed set of keys; any other key is an
// error, which is what catches typos like `regoin`.
func (d *decoder) mapping(n *yaml.Node, path string, fields map[string]handler) {
	d.each(n, path, func(k, v *yaml.Node, kp string) {
		h, ok := fields[k.Value]
		if !ok {
			d.add(k.Line, kp, "unknown key")
			return
		}
		h(k, v, kp)
	})
}

// scalar accepts any scalar as text: an all-digit password must not be
// rejected for looking like a number.
func (d *decoder) scalar(v *yaml.Node, path string) (string, bool) {
	v = deref(v)
	if isNull(v) {
		return "", false
	}
	if v.Kind != yaml.ScalarNode {
		d.add(v.Line, path, "must be a string")
		return "", false
	}
	return v.Value, true
}

func (d *decoder) str(dst *str) handler {
	return func(k, v *yaml.Node, path string) {
		s, ok := d.scalar(v, path)
		*dst = str{val: s, line: k.Line, bad: !ok && !isNull(deref(v))}
	}
}

func (d *decoder) dur(dst *dur) handler {
	return func(k, v *yaml.Node, path string) {
		s, ok := d.scalar(v, path)
		if !ok {
			return
		}
		// The value is not repeated: whatever was typed here may be a
		// secret pasted into the wrong line.
		if strings.HasPrefix(s, "-") {
			if _, err := model.ParseDuration(s[1:]); err == nil {
				d.add(k.Line, path, "must not be negative")
				return
			}
		}
		md, err := model.ParseDuration(s)
		if err != nil {
			d.add(k.Line, path, "not a valid duration (use e.g. 30s, 5m, 72h, 1d)")
			return
		}
		*dst = dur{val: time.Duration(md), line: k.Line, set: true}
	}
}

func (d *decoder) policy(dst *rawPolicy) handler {
	return func(_, v *yaml.Node, path string) {
		d.mapping(v, path, map[string]handler{
			"max_live_duration":     d.dur(&dst.maxLive),
			"max_exception_waiting": d.dur(&dst.maxExceptionWaiting),
		})
	}
}

func (d *decoder) settingsFields(s *rawSettings) map[string]handler {
	return map[string]handler{
		"region":        d.str(&s.region),
		"timeout":       d.dur(&s.timeout),
		"credentials":   d.str(&s.credentials),
		"max_cache_age": d.dur(&s.maxCacheAge),
		"policy":        d.policy(&s.policy),
	}
}

func (d *decoder) credential(k, v *yaml.Node, path string) *rawCredential {
	c := &rawCredential{name: k.Value, line: k.Line}
	d.mapping(v, path, map[string]handler{
		"access_key":          d.str(&c.accessKey),
		"access_key_file":     d.str(&c.accessKeyFile),
		"secret_key":          d.str(&c.secretKey),
		"secret_key_file":     d.str(&c.secretKeyFile),
		"security_token":      d.str(&c.securityToken),
		"security_token_file": d.str(&c.securityTokenFile),
		"iam_password": func(ik, iv *yaml.Node, ipath string) {
			if isNull(deref(iv)) {
				return
			}
			iam := &rawIAM{line: ik.Line}
			d.mapping(iv, ipath, map[string]handler{
				"domain":        d.str(&iam.domain),
				"user":          d.str(&iam.user),
				"password":      d.str(&iam.password),
				"password_file": d.str(&iam.passwordFile),
				"endpoint":      d.str(&iam.endpoint),
			})
			c.iam = iam
		},
	})
	return c
}

func (d *decoder) tenants(v *yaml.Node, path string) ([]*rawTenant, bool) {
	v = deref(v)
	if isNull(v) {
		return nil, false
	}
	if v.Kind != yaml.SequenceNode {
		d.add(v.Line, path, "must be a list")
		return nil, true
	}
	var out []*rawTenant
	for i, item := range v.Content {
		item = deref(item)
		t := &rawTenant{line: item.Line}
		fields := d.settingsFields(&t.rawSettings)
		fields["name"] = d.str(&t.name)
		fields["project_id"] = d.str(&t.projectID)
		fields["endpoint"] = d.str(&t.endpoint)
		d.mapping(item, path+"["+strconv.Itoa(i)+"]", fields)
		out = append(out, t)
	}
	return out, false
}

// decode parses the document. A syntax error or a top level that is not a
// mapping stops there (nil): nothing after it can be located reliably.
func decode(data []byte, ps *problems) *rawConfig {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		ps.list = append(ps.list, syntaxProblem(ps.file, err))
		return nil
	}
	d := &decoder{ps}
	raw := &rawConfig{rootLine: 1}
	if doc.Kind == 0 {
		return raw
	}
	root := deref(doc.Content[0])
	raw.rootLine = root.Line
	if root.Kind != yaml.MappingNode && !isNull(root) {
		ps.add(root.Line, "", "the file must be a YAML mapping")
		return nil
	}
	d.mapping(root, "", map[string]handler{
		"defaults": func(_, v *yaml.Node, path string) {
			d.mapping(v, path, d.settingsFields(&raw.defaults))
		},
		"credentials": func(_, v *yaml.Node, path string) {
			d.each(v, path, func(ck, cv *yaml.Node, cpath string) {
				raw.credentials = append(raw.credentials, d.credential(ck, cv, cpath))
			})
		},
		"tenants": func(k, v *yaml.Node, path string) {
			raw.tenantsLine = k.Line
			raw.tenants, raw.tenantsBad = d.tenants(v, path)
		},
	})
	return raw
}
