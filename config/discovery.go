package config

import (
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

// DiscoverySource is one entry of the discovery list: which account to list
// projects of, which projects to keep and how to serve them as tenants. It
// is the one form an entry has once parsed and resolved: the discovery
// package lists, filters and makes tenants with it, the tenant set
// schedules it, and a discovered tenant points at it.
type DiscoverySource struct {
	// Index is the entry's position in the list; Name its optional name.
	// Label is the source label of the discovery metrics.
	Index           int
	Name            string
	CredentialsName string
	// Credentials sign the project listing. An IAM password is exchanged
	// at the credential's own endpoint if it sets one, else at IAMEndpoint.
	Credentials metastudio.Credentials
	IAMEndpoint string
	Regions     []string
	NameRegex   *regexp.Regexp // anchored at both ends
	// NameRegexText is name_regex as written, for /config and the logs.
	NameRegexText string
	NamePrefix    string
	// Endpoint is the MetaStudio endpoint of discovered tenants with
	// "{region}" not yet replaced.
	Endpoint        string
	RefreshInterval time.Duration
	// Settings are what the entry's tenants get: the built-ins, defaults
	// and the entry's own keys, each over the one before. Region is empty:
	// each project's comes from its name. Settings.HTTPClient is also the
	// listing's connection to IAM.
	Settings Settings

	cred *credential // for the tenants' credentials, per region
	key  string
}

// Label is the entry's source label: its name, else its index.
func (s *DiscoverySource) Label() string {
	if s.Name != "" {
		return s.Name
	}
	return strconv.Itoa(s.Index)
}

// Key identifies the entry by what it says, not by where it stands: two
// entries have the same key exactly when they list the same account at the
// same IAM endpoint, keep the same projects and serve them at the same
// endpoint with the same settings, refreshing as often. The credentials
// count by their values, so a rotated secret makes another entry; the name
// does not count, so renaming an entry keeps its list. The key is a
// digest: it holds no secret.
func (s *DiscoverySource) Key() string { return s.key }

// identity computes the entry's key once it is resolved.
func (s *DiscoverySource) identity() string {
	b := appendCredentials(nil, &s.Credentials)
	b = appendField(b, s.IAMEndpoint)
	b = appendCount(b, len(s.Regions))
	for _, r := range s.Regions {
		b = appendField(b, r)
	}
	b = appendField(b, s.NameRegexText)
	b = appendField(b, s.NamePrefix)
	b = appendField(b, s.Endpoint)
	b = appendCount(b, int(s.RefreshInterval))
	// Every setting, walked, so that a key added to Settings is covered.
	b = appendValue(b, reflect.ValueOf(s.Settings))
	// The tenants' own credentials are derived per region from the same
	// entry of credentials; what differs from the listing's (the IAM
	// endpoint of a password without one) follows from the fields above.
	return digestOf(b)
}

// section is the entry in the shape of the file, for /config.
func (s *DiscoverySource) section() discoverySection {
	return discoverySection{
		Name: s.Name, Credentials: s.CredentialsName, IAMEndpoint: s.IAMEndpoint, Regions: s.Regions,
		NameRegex: s.NameRegexText, NamePrefix: s.NamePrefix, Endpoint: s.Endpoint,
		RefreshInterval: s.RefreshInterval, Settings: s.Settings,
	}
}

// CredentialsIn returns the credentials the entry's tenants in region
// call MetaStudio with: those of its credentials entry, an IAM password
// that names no endpoint of its own exchanged at the region's IAM (the
// listing's, in Credentials, is exchanged at IAMEndpoint). ok is false for
// an entry not loaded from a config file, which has no credentials entry.
func (s *DiscoverySource) CredentialsIn(region string) (creds metastudio.Credentials, ok bool) {
	if s.cred == nil {
		return metastudio.Credentials{}, false
	}
	return s.cred.forTenant(region), true
}

// CheckRegion tells why region cannot be a tenant's region (it is put into
// endpoints' host names), or nil if it can.
func CheckRegion(region string) error {
	if regionRE.MatchString(region) {
		return nil
	}
	return fmt.Errorf("region %s does not match %s", QuoteBounded(region), regionRE)
}

// CompileNameRegex compiles a name_regex fully anchored, as Prometheus
// relabelling does: "shop.*" matches "cn-north-4_shop1" only if written
// ".*shop.*".
func CompileNameRegex(expr string) (*regexp.Regexp, error) {
	// Compiled bare first so that an error quotes the expression as the
	// user wrote it, not wrapped in the anchors.
	if _, err := regexp.Compile(expr); err != nil {
		return nil, err
	}
	return regexp.Compile("^(?s:" + expr + ")$")
}

// Discovery returns the discovery entries in file order. Like the tenants,
// they are shared with every caller and must not be changed.
func (c *Config) Discovery() []DiscoverySource { return c.discovery }

// discovery resolves the discovery entries. Credentials are the entry's or
// else the defaults'; unlike a static tenant, an entry never falls back to
// the environment, as listing every project of an account is a choice to
// make explicitly.
func (r *resolver) discovery(raw *rawConfig, cfg *Config) []DiscoverySource {
	var out []DiscoverySource
	names := map[string]int{}
	for i, e := range raw.discovery {
		if e == nil {
			continue // not a mapping, reported
		}
		path := indexPath("discovery", i)
		r.discoveryName(e, path, names, i)
		s := DiscoverySource{
			Index: i, Name: e.Name, CredentialsName: e.Credentials,
			IAMEndpoint: e.IAMEndpoint, Regions: e.Regions,
			NameRegexText: e.NameRegex, NamePrefix: e.NamePrefix, Endpoint: e.Endpoint,
			RefreshInterval: e.RefreshInterval, Settings: e.Settings,
		}
		s.Settings.Region = ""
		// Checked as it was read; a wrong one has been reported.
		s.NameRegex, _ = CompileNameRegex(e.NameRegex)
		if len(s.Regions) == 0 && !e.w.bad["regions"] {
			r.add(e.w.lineOf("regions"), path+".regions", "at least one region is required")
		}
		// Problems are recorded; a config with any is rejected as a whole,
		// so the entry is kept either way.
		if s.cred = r.credentialsFor(e, path, cfg); s.cred != nil {
			// The listing is global: an IAM password without an endpoint of
			// its own is exchanged at iam_endpoint, not at a region's.
			s.Credentials = s.cred.creds
			if iam := s.Credentials.IAM; iam != nil {
				copied := *iam
				if copied.Endpoint == "" {
					copied.Endpoint = s.IAMEndpoint
				}
				s.Credentials.IAM = &copied
			}
			if s.cred.HTTPClient != nil {
				s.Settings.HTTPClient = s.cred.HTTPClient
			}
		}
		s.key = s.identity()
		out = append(out, s)
	}
	r.labelsClash(raw, names)
	return out
}

// labelsClash refuses a name that is the index of an entry without one:
// both would be the same source label, and their series one series.
func (r *resolver) labelsClash(raw *rawConfig, names map[string]int) {
	for i, e := range raw.discovery {
		if e == nil || e.Name != "" {
			continue
		}
		if j, clash := names[strconv.Itoa(i)]; clash {
			r.add(raw.discovery[j].w.lineOf("name"), indexPath("discovery", j)+".name",
				"%d is the source label of discovery[%d], which has no name: name that entry too, or choose another name", i, i)
		}
	}
}
