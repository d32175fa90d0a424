package main

import (
	"context"
	"time"

	"github.com/prometheus/common/version"

	"github.com/metastudio-exporter/metastudio_exporter/collector"
	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/discovery"
	"github.com/metastudio-exporter/metastudio_exporter/receiver"
	"github.com/metastudio-exporter/metastudio_exporter/web"
)

// docsURL is where the reference documentation lives.
const docsURL = "https://github.com/metastudio-exporter/metastudio_exporter/tree/main/docs"

// statusSources gathers the status page from the running program: the
// tenant set, the scrapes' per-tenant state, discovery and the receiver.
type statusSources struct {
	f       *flags
	holder  *config.Holder
	scraper *collector.Scraper
	fleet   *fleet
	// receiverAddress is where the receiver listens; "" while it is off,
	// when callbacks is nil too.
	receiverAddress string
	callbacks       web.CallbackLog
}

func (s *statusSources) page(context.Context) web.StatusPage {
	page := web.StatusPage{
		Name:        exporterName,
		Description: "Prometheus exporter for Huawei Cloud MetaStudio live-streaming settings",
		Version:     version.Info(),
		Now:         time.Now(),
		Links: []web.Link{
			{Address: s.f.telemetryPath, Text: "Metrics", Description: "every tenant and the exporter's own metrics"},
			{Address: "/sd", Text: "Service discovery", Description: "HTTP SD target groups, one per tenant, for /probe"},
			{Address: "/config", Text: "Config", Description: "the loaded config, secrets hidden"},
			{Address: docsURL, Text: "Documentation"},
			{Address: "/debug/pprof/", Text: "Profiles", Description: "the Go runtime's pprof reports"},
		},
	}
	if s.f.demo {
		page.Description = "DEMO MODE: these tenants live in the built-in MetaStudio simulator, not the real cloud. " +
			"To monitor real tenants, run metastudio_exporter --config.file=metastudio.yml"
	}
	if cfg := s.holder.Config(); cfg != nil {
		for _, t := range cfg.Tenants() {
			page.Tenants = append(page.Tenants, s.tenant(t))
		}
	}
	for _, d := range s.fleet.discoveryStatus() {
		page.Discovery = append(page.Discovery, web.DiscoveryStatus(d))
	}
	if s.receiverAddress != "" {
		page.Receiver = &web.ReceiverStatus{ListenAddress: s.receiverAddress, ExternalURL: s.f.callback.externalURL}
		page.Recent = s.callbacks.Recent()
	}
	return page
}

func (s *statusSources) tenant(t *config.Tenant) web.TenantStatus {
	st := s.scraper.Status(t)
	out := web.TenantStatus{
		Name:          t.Name,
		ProjectID:     t.ProjectID,
		Region:        t.Region,
		Called:        st.Called,
		Up:            st.Up,
		Reason:        st.Reason,
		ErrorCode:     st.ErrorCode,
		Error:         st.Error,
		LastSuccess:   st.LastSuccess,
		MaxCacheAge:   t.MaxCacheAge,
		Cached:        st.Cached,
		CacheAge:      st.CacheAge,
		CallbackKnown: st.CallbackKnown,
		CallbackRoute: st.CallbackRoute,
		RoutedHere:    st.RoutedHere,
	}
	if t.Source != nil {
		out.Discovered, out.DiscoveryEntry = true, t.Source.Index
	}
	if s.callbacks != nil {
		out.LastEvent = s.callbacks.LastEvent(t.Name)
	}
	return out
}

// discoveryStatus is the status of every discovery entry now served.
func (f *fleet) discoveryStatus() []discovery.SourceStatus {
	f.mu.Lock()
	d := f.current
	f.mu.Unlock()
	return d.Status()
}

// receiverLog is the receiver's record of recent callbacks as the status
// page reads it.
type receiverLog struct{ rc *receiver.Receiver }

func (l receiverLog) Recent() []web.CallbackStatus {
	recs := l.rc.Recent()
	out := make([]web.CallbackStatus, len(recs))
	for i, r := range recs {
		out[i] = web.CallbackStatus(r)
	}
	return out
}

func (l receiverLog) LastEvent(tenant string) time.Time { return l.rc.LastEvent(tenant) }
