package collector

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/metastudio-exporter/metastudio_exporter/config"
)

// tenantCollector collects a fixed set of tenants within one request's
// deadline. It is built per request, so Collect can take the request's
// context, and it never outlives the request.
type tenantCollector struct {
	ctx     context.Context
	scraper *Scraper
	tenants []*config.Tenant
}

// Collector returns a Collector that scrapes tenants within ctx. The web
// layer builds one per request, so that Collect takes the request's deadline;
// it must not outlive that request.
func (s *Scraper) Collector(ctx context.Context, tenants ...*config.Tenant) prometheus.Collector {
	return &tenantCollector{ctx: ctx, scraper: s, tenants: tenants}
}

func (c *tenantCollector) Describe(ch chan<- *prometheus.Desc) { describeTenantMetrics(ch) }

func (c *tenantCollector) Collect(ch chan<- prometheus.Metric) {
	results := c.scraper.scrapeAll(c.ctx, c.tenants)
	for i, t := range c.tenants {
		emitTenant(ch, t, &results[i], c.scraper.receiverRoute)
	}
}
