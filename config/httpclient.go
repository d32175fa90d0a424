package config

import (
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"slices"

	commoncfg "github.com/prometheus/common/config"
	"go.yaml.in/yaml/v3"
	"golang.org/x/net/http/httpguts"

	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
	"github.com/metastudio-exporter/metastudio_exporter/secret"
)

// HTTPClient is a resolved http_client block: the upstream connection of
// MetaStudio and IAM calls. Its files were read at load, so nothing reads
// them later; a reload reads them again.
type HTTPClient struct {
	// Config is the block as prometheus/common's HTTPClientConfig, with the
	// contents of ca_file, cert_file and key_file in its inline CA, Cert
	// and Key, and its defaults (redirects, HTTP/2) otherwise. Shared by
	// every tenant that uses the block: never change it.
	Config *commoncfg.HTTPClientConfig
	// Digest is the same for two blocks exactly when they say the same,
	// the files' contents included, so that callers can share a transport
	// between them. It holds no secret.
	Digest string

	written httpClientSection // for /config: paths as written, header names
}

// httpClientSection is the http_client block as written, with
// prometheus/common's key names; only these keys are taken.
type httpClientSection struct {
	ProxyURL             secret.String `yaml:"proxy_url,url" check:"proxy_url"`
	NoProxy              string        `yaml:"no_proxy"`
	ProxyFromEnvironment bool          `yaml:"proxy_from_environment"`
	ProxyConnectHeader   proxyHeader   `yaml:"proxy_connect_header"`
	TLSConfig            tlsSection    `yaml:"tls_config"`
}

type tlsSection struct {
	CAFile             string `yaml:"ca_file"`
	CertFile           string `yaml:"cert_file"`
	KeyFile            string `yaml:"key_file"`
	ServerName         string `yaml:"server_name"`
	MinVersion         string `yaml:"min_version" check:"tls_version"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`

	// What the files hold, read at load; part of the digest, never shown.
	ca, cert string
	key      secret.String
}

// maxTLSFileSize bounds a CA bundle, certificate or key file; a system CA
// bundle is about 200 KiB.
const maxTLSFileSize = 1 << 20

var httpClientSchema = schemaOf(reflect.TypeFor[httpClientSection]())

func (h *HTTPClient) keySchema() *schema { return httpClientSchema }

// decodeYAML reads a whole http_client block: the nearest level that
// writes one wins as a whole, so there is nothing below to build on.
func (h *HTTPClient) decodeYAML(d *decoder, line int, n *yaml.Node, path string) bool {
	before := d.count()
	w := d.section(n, line, path, reflect.ValueOf(&h.written).Elem(), httpClientSchema)
	if w.notMapping || len(w.keys) == 0 {
		return false
	}
	tw, tpath := w.sub["tls_config"], joinPath(path, "tls_config")
	t := &h.written.TLSConfig
	for _, f := range []struct {
		key  string
		dst  *string
		path string
	}{{"ca_file", &t.ca, t.CAFile}, {"cert_file", &t.cert, t.CertFile}, {"key_file", (*string)(&t.key), t.KeyFile}} {
		if f.path == "" {
			continue
		}
		content, err := readFile(d.baseDir, f.path, maxTLSFileSize)
		if err != nil {
			d.addCause(tw.lineOf(f.key), joinPath(tpath, f.key), err, "%s", err.Error())
			continue
		}
		*f.dst = content
	}
	if d.count() > before {
		return false
	}
	cfg := commoncfg.DefaultHTTPClientConfig
	cfg.ProxyConfig = h.written.proxyConfig()
	cfg.TLSConfig = commoncfg.TLSConfig{
		CA: t.ca, Cert: t.cert, Key: commoncfg.Secret(t.key.Reveal()),
		ServerName: t.ServerName, MinVersion: commoncfg.TLSVersions[t.MinVersion],
		InsecureSkipVerify: t.InsecureSkipVerify,
	}
	if err := cfg.ProxyConfig.Validate(); err != nil {
		d.add(line, path, "%s", err)
		return false
	}
	if !checkTLS(d, t, tw, tpath, d.baseDir) {
		return false
	}
	// The library's own checks of the whole block, so that what it would
	// refuse when a transport is built is refused at load instead.
	if _, err := commoncfg.NewTLSConfig(&cfg.TLSConfig); err != nil {
		d.add(tw.line, tpath, "%s", err)
		return false
	}
	if err := cfg.Validate(); err != nil {
		d.add(line, path, "%s", err)
		return false
	}
	h.Config = &cfg
	h.Digest = digestOf(appendValue(nil, reflect.ValueOf(h.written)))
	return true
}

func (s *httpClientSection) proxyConfig() commoncfg.ProxyConfig {
	p := commoncfg.ProxyConfig{NoProxy: s.NoProxy, ProxyFromEnvironment: s.ProxyFromEnvironment}
	if s.ProxyURL.IsSet() {
		u, _ := url.Parse(s.ProxyURL.Reveal()) // checked when read
		p.ProxyURL = commoncfg.URL{URL: u}
	}
	if s.ProxyConnectHeader.Len() > 0 {
		p.ProxyConnectHeader = commoncfg.ProxyHeader{}
		for i, name := range s.ProxyConnectHeader.names {
			for _, v := range s.ProxyConnectHeader.values[i] {
				p.ProxyConnectHeader[name] = append(p.ProxyConnectHeader[name], commoncfg.Secret(v.Reveal()))
			}
		}
	}
	return p
}

// checkTLS has the library check each file on its own, so that the error
// goes to the key that names it. Messages name the paths, never what the
// files hold.
func checkTLS(d *decoder, t *tlsSection, tw *written, tpath, baseDir string) bool {
	if t.ca != "" {
		if _, err := commoncfg.NewTLSConfig(&commoncfg.TLSConfig{CA: t.ca}); err != nil {
			d.add(tw.lineOf("ca_file"), joinPath(tpath, "ca_file"), "%q holds no usable PEM certificate", inDir(baseDir, t.CAFile))
			return false
		}
	}
	switch {
	case t.CertFile == "" && t.KeyFile == "":
		return true
	case t.KeyFile == "":
		d.add(tw.lineOf("cert_file"), joinPath(tpath, "cert_file"), "set without key_file; a client certificate needs its key")
		return false
	case t.CertFile == "":
		d.add(tw.lineOf("key_file"), joinPath(tpath, "key_file"), "set without cert_file; a client key needs its certificate")
		return false
	}
	_, err := commoncfg.NewTLSConfig(&commoncfg.TLSConfig{Cert: t.cert, Key: commoncfg.Secret(t.key.Reveal())})
	if err != nil {
		// The library's outer message says "inline" for what were files.
		if inner := errors.Unwrap(err); inner != nil {
			err = inner
		}
		d.add(tw.lineOf("cert_file"), joinPath(tpath, "cert_file"), "%q and %q are not a usable certificate and key: %s",
			inDir(baseDir, t.CertFile), inDir(baseDir, t.KeyFile), err)
		return false
	}
	return true
}

// Connection is the block as the client takes it; the zero Connection (the
// client's shared transport) for no block.
func (h *HTTPClient) Connection() metastudio.Connection {
	if h == nil {
		return metastudio.Connection{}
	}
	return metastudio.Connection{Config: h.Config, Digest: h.Digest}
}

func (h *HTTPClient) viewYAML() *yaml.Node {
	return renderSection(reflect.ValueOf(h.written), httpClientSchema, reflect.Value{})
}

func (h *HTTPClient) appendDigest(b []byte) []byte { return appendField(b, h.Digest) }

// proxyHeader is proxy_connect_header: header names, each with one value
// or a list of them, all kept as secrets (they usually authenticate to the
// proxy).
type proxyHeader struct {
	names  []string
	values [][]secret.String
}

func (p proxyHeader) Len() int { return len(p.names) }

func (p *proxyHeader) decodeYAML(d *decoder, _ int, n *yaml.Node, path string) bool {
	d.each(n, path, func(k, v *yaml.Node, kp string) {
		if !httpguts.ValidHeaderFieldName(k.Value) {
			d.add(k.Line, kp, "not a valid HTTP header name")
			return
		}
		var values []secret.String
		add := func(item *yaml.Node, ipath string) {
			s, ok, _ := d.scalar(item, ipath)
			switch {
			case !ok || s == "":
			case !httpguts.ValidHeaderFieldValue(s):
				d.add(item.Line, ipath, "not a valid HTTP header value")
			default:
				values = append(values, secret.String(s))
			}
		}
		if deref(v).Kind == yaml.SequenceNode {
			d.list(v, kp, add)
		} else {
			add(deref(v), kp)
		}
		if len(values) > 0 {
			i, _ := slices.BinarySearch(p.names, k.Value)
			p.names = slices.Insert(p.names, i, k.Value)
			p.values = slices.Insert(p.values, i, values)
		}
	})
	return p.Len() > 0
}

func (p proxyHeader) viewYAML() *yaml.Node {
	if p.Len() == 0 {
		return nil
	}
	m := &yaml.Node{Kind: yaml.MappingNode}
	for i, name := range p.names {
		seq := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		for range p.values[i] {
			seq.Content = append(seq.Content, strNode(secret.Redacted))
		}
		m.Content = append(m.Content, strNode(name), seq)
	}
	return m
}

func (p proxyHeader) appendDigest(b []byte) []byte {
	b = appendCount(b, p.Len())
	for i, name := range p.names {
		b = appendCount(appendField(b, name), len(p.values[i]))
		for _, v := range p.values[i] {
			b = appendField(b, v.Reveal())
		}
	}
	return b
}

// String keeps a block out of logs as a whole; %v of a tenant shows that
// one is set.
func (h *HTTPClient) String() string { return fmt.Sprintf("http_client %s", h.Digest) }
