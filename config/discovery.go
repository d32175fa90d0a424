package config

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/discovery"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

// Defaults and bounds of a discovery entry.
const (
	DefaultIAMEndpoint       = metastudio.DefaultIAMEndpoint
	DefaultDiscoveryEndpoint = discovery.DefaultEndpointTemplate
	DefaultRefreshInterval   = discovery.DefaultRefreshInterval
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
// projects of, which projects to keep and how to serve them as tenants.
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
	NamePrefix  string
	// Endpoint is the MetaStudio endpoint of discovered tenants with
	// "{region}" not yet replaced.
	Endpoint        string
	RefreshInterval time.Duration

	nameRegex string      // as written, for /config
	cred      *credential // for the tenants' credentials, per region
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
	switch {
	case !tenantNameRE.MatchString(name):
		return nil, fmt.Errorf("tenant name %s does not match %s", quoteBounded(name), tenantNameRE)
	case !projectIDRE.MatchString(projectID):
		return nil, fmt.Errorf("tenant %s: project ID %s does not match %s", name, quoteBounded(projectID), projectIDRE)
	case !regionRE.MatchString(region):
		return nil, fmt.Errorf("tenant %s: region %s does not match %s", name, quoteBounded(region), regionRE)
	case src.cred == nil:
		return nil, fmt.Errorf("tenant %s: discovery entry %d was not loaded from a config file", name, src.Index)
	}
	d := c.defaults
	return NewTenant(Tenant{
		Target: metastudio.Target{
			Name:        name,
			ProjectID:   projectID,
			Endpoint:    strings.ReplaceAll(src.Endpoint, "{region}", region),
			Credentials: src.cred.forTenant(region),
		},
		Region:          region,
		Timeout:         d.timeout,
		MaxCacheAge:     d.maxCacheAge,
		Policy:          d.policy,
		Callback:        d.callback,
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
		s.nameRegex = orDefault(rd.nameRegex.val, DefaultNameRegex)
		s.NameRegex = r.nameRegex(s.nameRegex, rd.nameRegex.line, path+".name_regex")
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
	re, err := discovery.CompileNameRegex(expr)
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

// quoteBounded quotes at most 64 bytes of a value from IAM, so that a
// broken answer cannot fill a log line.
func quoteBounded(s string) string {
	const max = 64
	if len(s) <= max {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:max]) + "…"
}

func orDefault(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}
