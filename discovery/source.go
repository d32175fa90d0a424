// Package discovery lists the projects an account sees in IAM and keeps
// those a discovery entry asks for, as tenants to be. When to list, and how
// the lists join the file's tenants, is the tenant set's business.
package discovery

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

// Timeout bounds one listing.
const Timeout = 30 * time.Second

// Lister is the IAM call a listing makes; *metastudio.Client is one.
type Lister interface {
	ListProjects(ctx context.Context, iamEndpoint string, creds metastudio.Credentials, conn metastudio.Connection) ([]metastudio.Project, error)
}

// Project is a discovered project as a tenant to be.
type Project struct {
	TenantName  string // NamePrefix + ProjectName
	ProjectID   string
	ProjectName string
	Region      string // the listed region the project name starts with
}

// Skipped is a project that passed the filters but cannot be a tenant.
type Skipped struct {
	ProjectID   string
	ProjectName string
	Reason      string
}

// Listing is the outcome of one successful listing: how many projects IAM
// listed, how many of them were enabled and how many the filters matched,
// and of those the ones kept as tenants, sorted by tenant name.
type Listing struct {
	Listed, Enabled, Matched int
	Projects                 []Project
	Skipped                  []Skipped
}

// List lists the projects src's credentials see and selects them, within
// Timeout. The error names no secret.
func List(ctx context.Context, l Lister, src *config.DiscoverySource) (Listing, error) {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	projects, err := l.ListProjects(ctx, src.IAMEndpoint, src.Credentials, src.Settings.HTTPClient.Connection())
	if err != nil {
		return Listing{}, err
	}
	return Select(src, projects), nil
}

// Select keeps the enabled projects whose name is a listed region or
// region_suffix and matches NameRegex, as tenants sorted by name. Projects
// whose tenant name or id would not be valid in the config are Skipped;
// so is a second project of the same name (IAM names are unique, so that
// would be an IAM bug), the lower id winning.
func Select(src *config.DiscoverySource, projects []metastudio.Project) Listing {
	out := Listing{Listed: len(projects)}
	var kept []Project
	for _, p := range projects {
		if !p.Enabled {
			continue
		}
		out.Enabled++
		region := regionOf(p.Name, src.Regions)
		if region == "" || src.NameRegex != nil && !src.NameRegex.MatchString(p.Name) {
			continue
		}
		out.Matched++
		name := src.NamePrefix + p.Name
		if err := config.CheckTenantName(name); err != nil {
			out.Skipped = append(out.Skipped, Skipped{ProjectID: p.ID, ProjectName: p.Name, Reason: err.Error()})
			continue
		}
		if err := config.CheckProjectID(p.ID); err != nil {
			out.Skipped = append(out.Skipped, Skipped{ProjectID: p.ID, ProjectName: p.Name, Reason: err.Error()})
			continue
		}
		kept = append(kept, Project{TenantName: name, ProjectID: p.ID, ProjectName: p.Name, Region: region})
	}
	slices.SortFunc(kept, func(a, b Project) int {
		return cmp.Or(strings.Compare(a.TenantName, b.TenantName), strings.Compare(a.ProjectID, b.ProjectID))
	})
	for i, p := range kept {
		if i > 0 && p.TenantName == kept[i-1].TenantName {
			out.Skipped = append(out.Skipped, Skipped{ProjectID: p.ProjectID, ProjectName: p.ProjectName,
				Reason: "another project of this source has the same name"})
			continue
		}
		out.Projects = append(out.Projects, p)
	}
	return out
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
