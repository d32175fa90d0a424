// Package collector turns tenants into metrics. A Scraper fetches each
// tenant's live settings from MetaStudio and keeps what the scrapes of a
// tenant share, whichever endpoint or Prometheus replica they come from: the
// one upstream call in flight, the last good answer and the throttling
// backoff, with one bound on calls in flight across all scrapes. Per request,
// Collector gives a prometheus.Collector that scrapes a set of tenants within
// the request's deadline and emits their metastudio_* series, built fresh
// each time. RequestMetrics counts the API calls, CallbackAuth hands the
// live-event receiver a tenant's callback settings through the same shared
// calls, and FollowTenants keeps all of it in step with the tenant set.
//
// It serves no HTTP: the web package puts it behind /metrics and /probe.
package collector
