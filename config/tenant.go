package config

import (
	"crypto/sha256"

	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

// Tenant is one MetaStudio project to scrape, resolved once when the file is
// loaded: defaults applied, the endpoint derived from the region, secret
// files read and environment credentials looked up. It is the one value the
// scrape path uses; a Config shares its tenants by pointer and never
// changes them.
type Tenant struct {
	// Target is what the client calls: Name (the tenant label), Endpoint,
	// ProjectID and Credentials.
	metastudio.Target
	Settings
	CredentialsName string // "" = taken from the environment
	// Source is the discovery entry that found the tenant; nil for a
	// tenant written in the file.
	Source *DiscoverySource

	key Key
}

// Key identifies a tenant's state (its call in flight, cached answer and
// backoff) across reloads. Besides the name it holds a digest of everything
// that decides whose data an answer is, so that a reload that points a name
// at another project, endpoint or credentials (a rotated secret file
// included) starts from nothing instead of serving the old tenant's cached
// answer or backoff. The digest keeps secrets out of the key itself.
type Key struct {
	name     string
	identity [sha256.Size]byte
}

// Key returns the key computed when the tenant was resolved.
func (t *Tenant) Key() Key { return t.key }

// NewTenant resolves t's key and returns it as the immutable value the rest
// of the exporter shares. Every tenant, from the file or found later, is
// made through it.
func NewTenant(t Tenant) *Tenant {
	if t.HTTPClient != nil {
		t.Connection = t.HTTPClient.Connection()
	}
	t.key = Key{name: t.Name, identity: identityOf(&t.Target)}
	return &t
}

// identityOf digests every field of target but the name; the test in
// tenant_test.go walks the struct so that a field added later cannot be
// left out.
func identityOf(target *metastudio.Target) [sha256.Size]byte {
	b := appendField(nil, target.Endpoint)
	b = appendField(b, target.ProjectID)
	b = appendCredentials(b, &target.Credentials)
	// Another connection is another tenant too, so that its watches and
	// calls move to the new connection at once.
	b = appendField(b, target.Connection.Digest)
	return sha256.Sum256(b)
}

// appendCredentials appends every value of c, secrets included: what is
// appended only ever goes into a digest.
func appendCredentials(b []byte, c *metastudio.Credentials) []byte {
	b = appendField(b, c.AccessKey)
	b = appendField(b, c.SecretKey.Reveal())
	b = appendField(b, c.SecurityToken.Reveal())
	if c.IAM != nil {
		b = append(b, 1)
		b = appendField(b, c.IAM.Endpoint)
		b = appendField(b, c.IAM.Domain)
		b = appendField(b, c.IAM.User)
		b = appendField(b, c.IAM.Password.Reveal())
	}
	return b
}
