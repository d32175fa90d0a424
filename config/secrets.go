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
// its secret files read: as written (for /config) and in the shape the
// client takes. An IAM password without an endpoint gets each tenant's
// regional one (forTenant).
type credential struct {
	name string
	credentialSection
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
	return readFile(baseDir, path, maxSecretFileSize)
}

// readFile reads a file the config names, up to limit bytes.
func readFile(baseDir, path string, limit int) (string, error) {
	path = inDir(baseDir, path)
	f, err := os.Open(path)
	if err != nil {
		return "", fileError(path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, int64(limit)+1))
	if err != nil {
		return "", fileError(path, err)
	}
	if len(data) > limit {
		return "", fmt.Errorf("%q is larger than %d bytes", path, limit)
	}
	// Editors and `echo > file` leave a trailing newline that is never part
	// of a key; leading whitespace is kept as it might be.
	value := strings.TrimRight(string(data), " \t\r\n")
	if value == "" {
		return "", fmt.Errorf("%q is empty", path)
	}
	return value, nil
}

// inDir is path as the loader opens it: relative paths start at baseDir,
// the config file's directory.
func inDir(baseDir, path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(baseDir, path)
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

func (r *resolver) credential(c *rawCredential) credential {
	path := joinPath("credentials", c.name)
	out := credential{name: c.name, credentialSection: c.credentialSection}
	if c.w.notMapping {
		return out
	}
	hasAKSK := false
	for _, k := range []string{"access_key", "access_key_file", "secret_key", "secret_key_file", "security_token", "security_token_file"} {
		hasAKSK = hasAKSK || c.w.set(k) || c.w.bad[k]
	}
	hasIAM := c.w.set("iam_password") || c.w.bad["iam_password"]
	switch {
	case hasAKSK && hasIAM:
		r.add(c.w.line, path, "both access_key/secret_key and iam_password are set; use one")
		return out
	case hasIAM:
		if iam := c.IAMPassword; iam != nil {
			out.creds.IAM = &metastudio.IAMPassword{Domain: iam.Domain, User: iam.User, Password: iam.Password, Endpoint: iam.Endpoint}
		}
		out.ok = !c.bad && out.creds.IAM != nil
		return out
	case !hasAKSK:
		r.add(c.w.line, path, "neither access_key/secret_key nor iam_password is set")
		return out
	}
	ok := !c.bad
	for _, k := range []string{"access_key", "secret_key"} {
		if c.w.missing(k) && c.w.missing(k+"_file") {
			r.add(c.w.line, joinPath(path, k), "required (or %s_file)", k)
			ok = false
		}
	}
	out.creds = metastudio.Credentials{AccessKey: c.AccessKey, SecretKey: c.SecretKey, SecurityToken: c.SecurityToken}
	out.ok = ok
	return out
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
