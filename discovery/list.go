// Package discovery lists the projects an account sees in IAM, keeps those
// a discovery entry asks for, and makes each the tenant it is served as.
// When to list, and how the lists join the file's tenants, is the tenant
// set's business.
package discovery

import (
	"context"
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
