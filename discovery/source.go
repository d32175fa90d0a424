// Package discovery turns the projects IAM lists into tenants: each source
// (one entry of the config's discovery list, given here as plain values)
// is refreshed in the background, filtered by region and name, and merged
// with the other sources and the static tenants into one list.
package discovery

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

// Defaults for the zero values of Source.
const (
	DefaultEndpointTemplate = "https://metastudio.{region}.myhuaweicloud.com"
	DefaultRefreshInterval  = 10 * time.Minute
	DefaultTimeout          = 30 * time.Second
	regionPlaceholder       = "{region}"
)

var (
	// tenantNameRE and projectIDRE are the rules a configured tenant's
	// name and project id follow; a discovered one follows the same.
	tenantNameRE = regexp.MustCompile(`^[a-zA-Z0-9_.-]+$`)
	projectIDRE  = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)
)

// Source is one discovery source.
type Source struct {
	Index       int // position in the config's discovery list; the "source" label
	Credentials metastudio.Credentials
	IAMEndpoint string   // "" = metastudio.DefaultIAMEndpoint
	Regions     []string // a project named R or R_suffix, for a listed R, is kept
	// NameRegex must match the whole project name; build it with
	// CompileNameRegex. nil keeps every name.
	NameRegex       *regexp.Regexp
	NamePrefix      string        // tenant name = NamePrefix + project name
	Endpoint        string        // MetaStudio endpoint, "{region}" replaced; "" = DefaultEndpointTemplate
	RefreshInterval time.Duration // 0 = DefaultRefreshInterval
	Timeout         time.Duration // bound on one refresh; 0 = DefaultTimeout
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

// Project is a discovered project as a tenant.
type Project struct {
	Source      int    // Source.Index of the source that found it
	TenantName  string // NamePrefix + ProjectName
	ProjectID   string
	ProjectName string
	Region      string // the listed region the project name starts with
	Endpoint    string // the source's endpoint template for Region
}

// Skipped is a project that passed the filters but cannot be a tenant.
type Skipped struct {
	ProjectID   string
	ProjectName string
	Reason      string
}

// Select keeps the enabled projects whose name is a listed region or
// region_suffix and matches NameRegex, as tenants sorted by name. Projects
// whose tenant name or id would not be valid in the config are returned as
// Skipped; so is a second project of the same name (IAM names are unique,
// so that would be an IAM bug), the lower id winning.
func Select(src Source, projects []metastudio.Project) ([]Project, []Skipped) {
	template := cmp.Or(src.Endpoint, DefaultEndpointTemplate)
	var kept []Project
	var skipped []Skipped
	for _, p := range projects {
		if !p.Enabled {
			continue
		}
		region := regionOf(p.Name, src.Regions)
		if region == "" || src.NameRegex != nil && !src.NameRegex.MatchString(p.Name) {
			continue
		}
		name := src.NamePrefix + p.Name
		switch {
		case !tenantNameRE.MatchString(name):
			skipped = append(skipped, Skipped{ProjectID: p.ID, ProjectName: p.Name,
				Reason: fmt.Sprintf("tenant name %q does not match %s", name, tenantNameRE)})
			continue
		case !projectIDRE.MatchString(p.ID):
			skipped = append(skipped, Skipped{ProjectID: p.ID, ProjectName: p.Name,
				Reason: fmt.Sprintf("project id does not match %s", projectIDRE)})
			continue
		}
		kept = append(kept, Project{
			Source:      src.Index,
			TenantName:  name,
			ProjectID:   p.ID,
			ProjectName: p.Name,
			Region:      region,
			Endpoint:    strings.ReplaceAll(template, regionPlaceholder, region),
		})
	}
	slices.SortFunc(kept, func(a, b Project) int {
		return cmp.Or(strings.Compare(a.TenantName, b.TenantName), strings.Compare(a.ProjectID, b.ProjectID))
	})
	out := kept[:0]
	for i, p := range kept {
		if i > 0 && p.TenantName == kept[i-1].TenantName {
			skipped = append(skipped, Skipped{ProjectID: p.ProjectID, ProjectName: p.ProjectName,
				Reason: "another project of this source has the same name"})
			continue
		}
		out = append(out, p)
	}
	return out, skipped
}

// regionOf returns the listed region that name is, or is a subproject of
// (region_suffix with a non-empty suffix); the longest wins, so that a
// listed "a" never claims "a_b_c" from a listed "a_b".
func regionOf(name string, regions []string) string {
	best := ""
	for _, r := range regions {
		if r == "" || len(r) <= len(best) {
			continue
		}
		if name == r || strings.HasPrefix(name, r+"_") && len(name) > len(r)+1 {
			best = r
		}
	}
	return best
}
