package web

import (
	"context"
	"time"

	"github.com/prometheus/common/version"

	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/receiver"
)

// docsURL is where the reference documentation lives.
const docsURL = "https://github.com/metastudio-exporter/metastudio_exporter/tree/main/docs"

// statusSources gathers the status page from the running program: the
// tenant set, the scrapes' per-tenant state, discovery and the receiver.
type statusSources struct{ o Options }

func (s *statusSources) page(context.Context) StatusPage {
	o := s.o
	page := StatusPage{
		Name:        "metastudio_exporter",
		Description: "Prometheus exporter for Huawei Cloud MetaStudio live-streaming settings",
		Build:       buildInfo(),
		Now:         time.Now(),
		Links: []Link{
			{Address: o.TelemetryPath, Text: "Metrics", Description: "every tenant and the exporter's own metrics"},
			{Address: "/sd", Text: "Service discovery", Description: "HTTP SD target groups, one per tenant, for /probe"},
			{Address: "/config", Text: "Config", Description: "the loaded config, secrets hidden"},
			{Address: docsURL, Text: "Documentation"},
			{Address: "/debug/pprof/", Text: "Profiles", Description: "the Go runtime's pprof reports"},
		},
	}
	if o.Demo {
		page.Description = "DEMO MODE: these tenants live in the built-in MetaStudio simulator, not the real cloud. " +
			"To monitor real tenants, run metastudio_exporter --config.file=metastudio.yml"
	}
	if at, err := o.Tenants.LastReloadFailure(); err != nil {
		page.ReloadFailure = &ReloadFailure{At: at, Error: err.Error()}
	}
	var streams map[string][]receiver.StreamStatus
	if r := o.Receiver; r != nil {
		page.Receiver = &ReceiverStatus{ListenAddress: r.ListenAddress, ExternalURL: r.ExternalURL}
		page.Recent = r.Callbacks.Recent()
		streams = r.Callbacks.Streams()
	}
	for _, t := range o.Tenants.Snapshot().Tenants() {
		page.Tenants = append(page.Tenants, s.tenant(t, streams[t.Name], page.Now))
	}
	for _, e := range o.Tenants.Entries() {
		page.Discovery = append(page.Discovery, DiscoveryStatus{e})
	}
	return page
}

func (s *statusSources) tenant(t *config.Tenant, streams []receiver.StreamStatus, now time.Time) TenantStatus {
	out := TenantStatus{
		Name:          t.Name,
		ProjectID:     t.ProjectID,
		Region:        t.Region,
		TenantStatus:  s.o.Scraper.Status(t),
		MaxCacheAge:   t.MaxCacheAge,
		Streams:       streams,
		RoomsInterval: t.Rooms.RefreshInterval,
		JobsInterval:  t.LiveJobs.RefreshInterval,
	}
	if t.Source != nil {
		out.Discovered, out.DiscoveryEntry = true, t.Source.Label()
	}
	if s.o.Inventory != nil {
		out.Inventory = s.o.Inventory.Status(t)
	}
	in := FindingInput{Settings: out.Settings, Policy: t.Policy, RoutedHere: out.RoutedHere, Inventory: out.Inventory, Now: now}
	if r := s.o.Receiver; r != nil {
		out.LastEvent = r.Callbacks.LastEvent(t.Name)
		in.ExternalURL = r.ExternalURL
	}
	out.Findings = Findings(in)
	return out
}

// buildInfo is what the binary knows of its build. A revision Go could not
// read from version control is "unknown": as good as empty.
func buildInfo() BuildInfo {
	b := BuildInfo{
		Version:   version.Version,
		Revision:  version.GetRevision(),
		Branch:    version.Branch,
		BuildDate: version.BuildDate,
		GoVersion: version.GoVersion,
	}
	if b.Revision == "unknown" {
		b.Revision = ""
	}
	return b
}
