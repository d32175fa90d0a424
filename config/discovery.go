package config

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

// Defaults and bounds of a discovery entry.
const (
	DefaultIAMEndpoint       = metastudio.DefaultIAMEndpoint
	DefaultDiscoveryEndpoint = "https://metastudio.{region}.myhuaweicloud.com"
	DefaultRefreshInterval   = 10 * time.Minute
	// MinRefreshInterval keeps a typo (1s for 1m) from spending the
	// account's IAM quota.
	MinRefreshInterval = 30 * time.Second
	DefaultNameRegex   = ".*"
)

var (
	// A prefix must keep every tenant name valid; "" is allowed.
	namePrefixRE = regexp.MustCompile(`^[a-zA-Z0-9_.-]*$`)
	// sampleRegion stands in for "{region}" when an endpoint template is
	// checked, so that a template is rejected at load and not per project.
	sampleRegion = "cn-north-4"
)

// DiscoverySource is one entry of the discovery list: which account to list
// projects of, which projects to keep and how to serve them as tenants. It
// is the one form an entry has once parsed: discovery lists and filters
// with it, the tenant set schedules it, and a discovered tenant points at
// it.
type DiscoverySource struct {
	// Index is the entry's position in the list, the source label of the
	// discovery metrics.
	Index           int
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

	cred *credential // for the tenants' credentials, per region
	key  string
}

// Key identifies the entry by what it says, not by where it stands: two
// entries have the same key exactly when they list the same account at the
// same IAM endpoint, keep the same projects, serve them at the same
// endpoint and refresh as often. The credentials count by their values, so
// a rotated secret makes another entry. The key is a digest: it holds no
// secret.
func (s *DiscoverySource) Key() string { return s.key }

// identity computes the entry's key once it is resolved.
func (s *DiscoverySource) identity() string {
	b := appendCredentials(nil, &s.Credentials)
	b = appendField(b, s.IAMEndpoint)
	b = binary.BigEndian.AppendUint64(b, uint64(len(s.Regions)))
	for _, r := range s.Regions {
		b = appendField(b, r)
	}
	b = appendField(b, s.NameRegexText)
	b = appendField(b, s.NamePrefix)
	b = appendField(b, s.Endpoint)
	b = binary.BigEndian.AppendUint64(b, uint64(s.RefreshInterval))
	// The tenants' own credentials are derived per region from the same
	// entry of credentials; what differs from the listing's (the IAM
	// endpoint of a password without one) follows from the fields above.
	sum := sha256.Sum256(b)
	return fmt.Sprintf("%x", sum[:16])
}

// EndpointFor is the MetaStudio endpoint of the entry's tenants in region.
func (s *DiscoverySource) EndpointFor(region string) string {
	template := s.Endpoint
	if template == "" {
		template = DefaultDiscoveryEndpoint
	}
	return strings.ReplaceAll(template, "{region}", region)
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

// DiscoveredTenant builds the tenant a discovered project is served as: the
// same resolved value a static entry with only name, project_id and region
// would get, with the source's credentials and endpoint. It fails for a
// name, project ID or region a static entry could not have; they come from
// IAM and are shown, as they are no secrets.
func (c *Config) DiscoveredTenant(src *DiscoverySource, name, projectID, region string) (*Tenant, error) {
	if err := CheckTenantName(name); err != nil {
		return nil, err
	}
	switch err := CheckProjectID(projectID); {
	case err != nil:
		return nil, fmt.Errorf("tenant %s: %w", name, err)
	case !regionRE.MatchString(region):
		return nil, fmt.Errorf("tenant %s: region %s does not match %s", name, QuoteBounded(region), regionRE)
	case src.cred == nil:
		return nil, fmt.Errorf("tenant %s: discovery entry %d was not loaded from a config file", name, src.Index)
	}
	settings := c.defaults.Settings
	settings.Region = region
	return NewTenant(Tenant{
		Target: metastudio.Target{
			Name:        name,
			ProjectID:   projectID,
			Endpoint:    src.EndpointFor(region),
			Credentials: src.cred.forTenant(region),
		},
		Settings:        settings,
		CredentialsName: src.CredentialsName,
		Source:          src,
	}), nil
}

// discovery validates the discovery entries. Credentials are the entry's or
// else the defaults'; unlike a static tenant, an entry never falls back to
// the environment, as listing every project of an account is a choice to
// make explicitly.
func (r *resolver) discovery(raw []*rawDiscovery, def effectiveDefaults, cfg *Config) []DiscoverySource {
	var out []DiscoverySource
	for i, rd := range raw {
		if rd == nil {
			continue // reported by the decoder
		}
		path := indexPath("discovery", i)
		s := DiscoverySource{
			Index:           i,
			NamePrefix:      rd.namePrefix.val,
			RefreshInterval: DefaultRefreshInterval,
		}
		// Problems are recorded; a config with any is rejected as a whole,
		// so the entry is kept either way.
		r.discoveryCredentials(rd, path, def, cfg, &s)
		iam, _ := r.endpoint(rd.iamEndpoint, path+".iam_endpoint")
		s.IAMEndpoint = orDefault(iam, DefaultIAMEndpoint)
		if s.Credentials.IAM != nil && s.Credentials.IAM.Endpoint == "" {
			s.Credentials.IAM.Endpoint = s.IAMEndpoint
		}
		r.discoveryRegions(rd, path, &s)
		s.NameRegexText = orDefault(rd.nameRegex.val, DefaultNameRegex)
		s.NameRegex = r.nameRegex(s.NameRegexText, rd.nameRegex.line, path+".name_regex")
		if !namePrefixRE.MatchString(s.NamePrefix) {
			r.add(rd.namePrefix.line, path+".name_prefix", "must match %s, to keep tenant names valid", namePrefixRE)
		}
		s.Endpoint = r.endpointTemplate(rd.endpoint, path+".endpoint")
		if rd.refreshInterval.set {
			s.RefreshInterval = rd.refreshInterval.val
			if s.RefreshInterval < MinRefreshInterval {
				r.add(rd.refreshInterval.line, path+".refresh_interval", "must be at least %s", MinRefreshInterval)
			}
		}
		s.key = s.identity()
		out = append(out, s)
	}
	return out
}

func (r *resolver) discoveryCredentials(rd *rawDiscovery, path string, def effectiveDefaults, cfg *Config, s *DiscoverySource) {
	switch {
	case rd.credentials.bad:
		return
	case rd.credentials.set():
		if !r.credentialRef(rd.credentials, path+".credentials") {
			return
		}
		s.CredentialsName = rd.credentials.val
	case def.credentials != "":
		s.CredentialsName = def.credentials
	default:
		r.add(rd.line, path+".credentials", "required (here or in defaults.credentials)")
		return
	}
	idx, ok := r.credIndex[s.CredentialsName]
	if !ok || !cfg.credentials[idx].ok {
		return // already reported where the name or the entry is
	}
	s.cred = &cfg.credentials[idx]
	// The listing is global: an IAM password without an endpoint of its own
	// is exchanged at iam_endpoint (set by the caller), not at a region's.
	s.Credentials = s.cred.creds
	if iam := s.Credentials.IAM; iam != nil {
		copied := *iam
		s.Credentials.IAM = &copied
	}
}

func (r *resolver) discoveryRegions(rd *rawDiscovery, path string, s *DiscoverySource) {
	if rd.regions.bad {
		return
	}
	seen := map[string]bool{}
	for i, reg := range rd.regions.items {
		p := indexPath(path+".regions", i)
		switch {
		case reg.bad:
		case !regionRE.MatchString(reg.val):
			r.add(reg.line, p, "must match %s", regionRE)
		case seen[reg.val]:
			r.add(reg.line, p, "duplicate region")
		default:
			seen[reg.val] = true
			s.Regions = append(s.Regions, reg.val)
		}
	}
	if len(rd.regions.items) == 0 {
		line := rd.regions.line
		if line == 0 {
			line = rd.line
		}
		r.add(line, path+".regions", "at least one region is required")
	}
}

// nameRegex compiles a name filter as discovery applies it, anchored at
// both ends as Prometheus anchors relabel regexes. The expression is no
// secret, and the error quotes the part of it that is wrong.
func (r *resolver) nameRegex(expr string, line int, path string) *regexp.Regexp {
	re, err := CompileNameRegex(expr)
	if err != nil {
		r.add(line, path, "not a valid regular expression: %s", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
		return nil
	}
	return re
}

// endpointTemplate checks an endpoint with "{region}" in it as the URL it
// becomes for a sample region.
func (r *resolver) endpointTemplate(s str, path string) string {
	if !s.set() {
		return DefaultDiscoveryEndpoint
	}
	if msg := checkEndpoint(strings.ReplaceAll(s.val, "{region}", sampleRegion)); msg != "" {
		r.add(s.line, path, "%s", msg)
		return ""
	}
	return strings.TrimRight(s.val, "/")
}

func orDefault(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}
