package discovery

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

// Tenant builds the tenant p is served as by src: what a file's tenant
// with only a name, project_id and region would be, with src's settings
// for the defaults, src's credentials for p's region and src's endpoint
// with {region} replaced. It fails for a name, project ID or region a
// file's tenant could not have; they come from IAM and are quoted, as they
// are no secrets.
func Tenant(src *config.DiscoverySource, p Project) (*config.Tenant, error) {
	if err := config.CheckTenantName(p.TenantName); err != nil {
		return nil, err
	}
	if err := checkTarget(p); err != nil {
		return nil, fmt.Errorf("tenant %s: %w", p.TenantName, err)
	}
	creds, ok := src.CredentialsIn(p.Region)
	if !ok {
		return nil, fmt.Errorf("tenant %s: discovery entry %s was not loaded from a config file", p.TenantName, src.Label())
	}
	settings := src.Settings
	settings.Region = p.Region
	return config.NewTenant(config.Tenant{
		Target: metastudio.Target{
			Name:        p.TenantName,
			ProjectID:   p.ProjectID,
			Endpoint:    EndpointFor(src, p.Region),
			Credentials: creds,
		},
		Settings:        settings,
		CredentialsName: src.CredentialsName,
		Source:          src,
	}), nil
}

// checkTarget tells why p's project ID or region cannot be a tenant's, or
// nil if they can.
func checkTarget(p Project) error {
	if err := config.CheckProjectID(p.ProjectID); err != nil {
		return err
	}
	return config.CheckRegion(p.Region)
}

// EndpointFor is the MetaStudio endpoint of src's tenants in region.
func EndpointFor(src *config.DiscoverySource, region string) string {
	return strings.ReplaceAll(cmp.Or(src.Endpoint, config.DefaultDiscoveryEndpoint), "{region}", region)
}
