package discovery

import (
	"cmp"
	"slices"
	"strings"

	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

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

// Select keeps the enabled projects whose name is a listed region or
// region_suffix and matches NameRegex, as tenants sorted by name. Projects
// that could not be served as a tenant (see Tenant) are Skipped; so is a
// second project of the same name (IAM names are unique, so that would be
// an IAM bug), the lower id winning.
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
		project := Project{TenantName: src.NamePrefix + p.Name, ProjectID: p.ID, ProjectName: p.Name, Region: region}
		err := config.CheckTenantName(project.TenantName)
		if err == nil {
			err = checkTarget(project)
		}
		if err != nil {
			out.Skipped = append(out.Skipped, Skipped{ProjectID: p.ID, ProjectName: p.Name, Reason: err.Error()})
			continue
		}
		kept = append(kept, project)
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
