package config

import (
	"go.yaml.in/yaml/v3"
)

// The keys of the file, as decoded before validation.

type rawPolicy struct {
	maxLive, maxExceptionWaiting dur
}

type rawCallback struct {
	line                 int
	key, keyFile         str
	forwardURL           str
	forwardTimeout       dur
	allowUnauthenticated boolean
}

// rawSettings are the keys a tenant shares with defaults.
type rawSettings struct {
	region, credentials  str
	timeout, maxCacheAge dur
	policy               rawPolicy
	callback             rawCallback
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

type rawDiscovery struct {
	line                  int
	credentials           str
	iamEndpoint, endpoint str
	regions               strList
	nameRegex, namePrefix str
	refreshInterval       dur
}

type rawConfig struct {
	defaults    rawSettings
	credentials []*rawCredential // file order
	tenants     []*rawTenant
	discovery   []*rawDiscovery // nil for an entry that is not a mapping
	rootLine    int
	tenantsLine int  // 0 when the key is missing
	tenantsBad  bool // not a list; already reported
}

func (d *decoder) policy(dst *rawPolicy) handler {
	return func(_, v *yaml.Node, path string) {
		d.mapping(v, path, map[string]handler{
			"max_live_duration":     d.dur(&dst.maxLive),
			"max_exception_waiting": d.dur(&dst.maxExceptionWaiting),
		})
	}
}

func (d *decoder) callback(dst *rawCallback) handler {
	return func(k, v *yaml.Node, path string) {
		dst.line = k.Line
		d.mapping(v, path, map[string]handler{
			"key":                   d.str(&dst.key),
			"key_file":              d.str(&dst.keyFile),
			"forward_url":           d.str(&dst.forwardURL),
			"forward_timeout":       d.dur(&dst.forwardTimeout),
			"allow_unauthenticated": d.boolean(&dst.allowUnauthenticated),
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
		"callback":      d.callback(&s.callback),
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
			if isUnset(deref(iv)) {
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

func (d *decoder) tenant(item *yaml.Node, path string) *rawTenant {
	t := &rawTenant{line: item.Line}
	fields := d.settingsFields(&t.rawSettings)
	fields["name"] = d.str(&t.name)
	fields["project_id"] = d.str(&t.projectID)
	fields["endpoint"] = d.str(&t.endpoint)
	d.mapping(item, path, fields)
	return t
}

// discoverySource returns nil for an entry that is not a mapping, so that
// it is reported once and not also for every key it lacks.
func (d *decoder) discoverySource(item *yaml.Node, path string) *rawDiscovery {
	s := &rawDiscovery{line: item.Line}
	ok := d.mapping(item, path, map[string]handler{
		"credentials":      d.str(&s.credentials),
		"iam_endpoint":     d.str(&s.iamEndpoint),
		"regions":          d.strList(&s.regions),
		"name_regex":       d.str(&s.nameRegex),
		"name_prefix":      d.str(&s.namePrefix),
		"endpoint":         d.str(&s.endpoint),
		"refresh_interval": d.dur(&s.refreshInterval),
	})
	if !ok || isUnset(item) {
		return nil
	}
	return s
}

// decode parses the document. A syntax error or a top level that is not a
// mapping stops there (nil): nothing after it can be located reliably.
func decode(data []byte, ps *problems) *rawConfig {
	doc, unquoted, err := parseYAML(data)
	if err != nil {
		ps.list = append(ps.list, syntaxProblems(ps.file, err)...)
		return nil
	}
	d := &decoder{problems: ps, unquoted: unquoted}
	raw := &rawConfig{rootLine: 1}
	if doc.Kind == 0 {
		return raw
	}
	root := deref(doc.Content[0])
	raw.rootLine = root.Line
	if root.Kind != yaml.MappingNode && !isUnset(root) {
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
			raw.tenantsBad = !d.list(v, path, func(item *yaml.Node, ipath string) {
				raw.tenants = append(raw.tenants, d.tenant(item, ipath))
			})
		},
		"discovery": func(_, v *yaml.Node, path string) {
			d.list(v, path, func(item *yaml.Node, ipath string) {
				raw.discovery = append(raw.discovery, d.discoverySource(item, ipath))
			})
		},
	})
	return raw
}
