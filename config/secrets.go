package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
	"github.com/metastudio-exporter/metastudio_exporter/secret"
)

// maxSecretFileSize bounds what a misconfigured *_file (say /dev/zero or a
// log file) can make the exporter read into memory.
const maxSecretFileSize = 64 << 10

// credential is one entry of the credentials section, validated and with
// its secret files read, in the shape the client takes. An IAM password
// without an endpoint gets each tenant's regional one (forTenant).
type credential struct {
	raw   *rawCredential // for Redacted: which keys were set, paths as given
	creds metastudio.Credentials
	ok    bool
}

// forTenant returns the credentials as a tenant in region uses them.
func (c *credential) forTenant(region string) metastudio.Credentials {
	creds := c.creds
	if creds.IAM != nil && creds.IAM.Endpoint == "" {
		iam := *creds.IAM
		iam.Endpoint = "https://iam." + region + ".myhuaweicloud.com"
		creds.IAM = &iam
	}
	return creds
}

// readSecretFile reads a secret from path, relative paths starting at
// baseDir. Errors name the path and never the content.
func readSecretFile(baseDir, path string) (string, error) {
	if !filepath.IsAbs(path) {
		path = filepath.Join(baseDir, path)
	}
	f, err := os.Open(path)
	if err != nil {
		return "", fileError(path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSecretFileSize+1))
	if err != nil {
		return "", fileError(path, err)
	}
	if len(data) > maxSecretFileSize {
		return "", fmt.Errorf("%q is larger than %d bytes", path, maxSecretFileSize)
	}
	// Editors and `echo > file` leave a trailing newline that is never part
	// of a key; leading whitespace is kept as it might be.
	value := strings.TrimRight(string(data), " \t\r\n")
	if value == "" {
		return "", fmt.Errorf("%q is empty", path)
	}
	return value, nil
}

// fileError drops the path os already put into a *PathError so that it is
// named once, quoted.
func fileError(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("cannot read %q: %w", path, err)
}

// secretValue resolves a value that may be given inline or in a file,
// reporting both-set, missing (when required) and unreadable files.
func (r *resolver) secretValue(inline, file str, credLine int, credPath, key string, required bool) (string, bool) {
	switch {
	case inline.bad || file.bad:
		return "", false
	case inline.set() && file.set():
		r.add(file.line, joinPath(credPath, key+"_file"), "set together with %s; use only one", key)
		return "", false
	case inline.set():
		return inline.val, true
	case file.set():
		v, err := readSecretFile(r.baseDir, file.val)
		if err != nil {
			r.addCause(file.line, joinPath(credPath, key+"_file"), err, "%s", err.Error())
			return "", false
		}
		return v, true
	case required:
		r.add(credLine, joinPath(credPath, key), "required (or %s_file)", key)
		return "", false
	}
	return "", true
}

func (r *resolver) credential(c *rawCredential) credential {
	path := joinPath("credentials", c.name)
	out := credential{raw: c}
	hasAKSK := false
	for _, s := range []str{c.accessKey, c.accessKeyFile, c.secretKey, c.secretKeyFile, c.securityToken, c.securityTokenFile} {
		hasAKSK = hasAKSK || s.set() || s.bad
	}
	switch {
	case hasAKSK && c.iam != nil:
		r.add(c.line, path, "both access_key/secret_key and iam_password are set; use one")
		return out
	case c.iam != nil:
		out.creds.IAM, out.ok = r.iamCredential(c.iam, joinPath(path, "iam_password"))
		return out
	case !hasAKSK:
		r.add(c.line, path, "neither access_key/secret_key nor iam_password is set")
		return out
	}
	ak, akOK := r.secretValue(c.accessKey, c.accessKeyFile, c.line, path, "access_key", true)
	sk, skOK := r.secretValue(c.secretKey, c.secretKeyFile, c.line, path, "secret_key", true)
	token, tokenOK := r.secretValue(c.securityToken, c.securityTokenFile, c.line, path, "security_token", false)
	out.creds = metastudio.Credentials{AccessKey: ak, SecretKey: secret.String(sk), SecurityToken: secret.String(token)}
	out.ok = akOK && skOK && tokenOK
	return out
}

func (r *resolver) iamCredential(c *rawIAM, path string) (*metastudio.IAMPassword, bool) {
	ok := true
	for _, f := range []struct {
		name string
		v    str
	}{{"domain", c.domain}, {"user", c.user}} {
		if f.v.missing() {
			r.add(c.line, joinPath(path, f.name), "required")
			ok = false
		}
	}
	pw, pwOK := r.secretValue(c.password, c.passwordFile, c.line, path, "password", true)
	endpoint, epOK := r.endpoint(c.endpoint, joinPath(path, "endpoint"))
	return &metastudio.IAMPassword{
		Domain:   c.domain.val,
		User:     c.user.val,
		Password: secret.String(pw),
		Endpoint: endpoint,
	}, ok && pwOK && epOK
}

// envCredentials reads the SDK environment variables once per load, so all
// tenants of one snapshot see the same values.
type envCredentials struct {
	creds   metastudio.Credentials
	missing []string
}

func (r *resolver) env() *envCredentials {
	if r.envCache != nil {
		return r.envCache
	}
	lookup := func(name string) string {
		if r.lookupEnv == nil {
			return ""
		}
		v, _ := r.lookupEnv(name)
		return v
	}
	e := &envCredentials{creds: metastudio.Credentials{
		AccessKey:     lookup(EnvAccessKey),
		SecretKey:     secret.String(lookup(EnvSecretKey)),
		SecurityToken: secret.String(lookup(EnvSecurityToken)),
	}}
	if e.creds.AccessKey == "" {
		e.missing = append(e.missing, EnvAccessKey)
	}
	if !e.creds.SecretKey.IsSet() {
		e.missing = append(e.missing, EnvSecretKey)
	}
	r.envCache = e
	return e
}
