package main

import (
	"sync"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/discovery"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

// fleet runs project discovery as the loaded file configures it and serves
// what it finds through the holder, beside the file's tenants. It is also
// the collector of the discovery metrics, which outlive each Discoverer.
type fleet struct {
	holder *config.Holder
	client *metastudio.Client
	logger log.Logger

	// mu orders apply and publish; the holder's own lock is taken inside.
	mu      sync.Mutex
	current *discovery.Discoverer // nil without discovery entries
	loops   sync.WaitGroup
}

// apply starts discovery for the holder's file, handing the lists of the
// entries that did not change over from the Discoverer it replaces, so that
// a reload makes no tenant flap. Call it after every successful load.
func (f *fleet) apply() error {
	file := f.holder.File()
	entries := file.Discovery()
	f.mu.Lock()
	defer f.mu.Unlock()
	prev := f.current
	if len(entries) == 0 {
		f.current = nil
		if prev != nil {
			prev.Close()
			f.holder.SetDiscovered(nil)
		}
		return nil
	}
	sources := make([]discovery.Source, len(entries))
	for i, e := range entries {
		sources[i] = discovery.Source{
			Index:           e.Index,
			Credentials:     e.Credentials,
			IAMEndpoint:     e.IAMEndpoint,
			Regions:         e.Regions,
			NameRegex:       e.NameRegex,
			NamePrefix:      e.NamePrefix,
			Endpoint:        e.Endpoint,
			RefreshInterval: e.RefreshInterval,
		}
	}
	d, err := discovery.New(f.client, sources, discovery.Options{Logger: log.With(f.logger, "component", "discovery"), Previous: prev})
	if err != nil {
		return err
	}
	static := make([]string, 0, len(file.FileTenants()))
	for _, t := range file.FileTenants() {
		static = append(static, t.Name)
	}
	d.SetStatic(static)
	f.current = d
	f.publish(d)
	d.Start()
	if prev != nil {
		prev.Close()
	}
	f.loops.Add(1)
	go func() {
		defer f.loops.Done()
		for range d.Changes() { // closed by d.Close
			f.mu.Lock()
			if f.current == d {
				f.publish(d)
			}
			f.mu.Unlock()
		}
	}()
	return nil
}

// publish serves d's projects as tenants; f.mu is held.
func (f *fleet) publish(d *discovery.Discoverer) {
	projects := d.Projects()
	found := make([]config.Discovered, len(projects))
	for i, p := range projects {
		found[i] = config.Discovered{Source: p.Source, Name: p.TenantName, ProjectID: p.ProjectID, Region: p.Region}
	}
	f.holder.SetDiscovered(found)
	_ = level.Debug(f.logger).Log("msg", "Serving discovered tenants", "count", len(found))
}

// initialized is closed once every discovery entry has been tried once
// (at once without discovery), so that state kept across restarts is not
// pruned against a tenant set that discovery has not filled yet.
func (f *fleet) initialized() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.current == nil {
		done := make(chan struct{})
		close(done)
		return done
	}
	return f.current.Initialized()
}

// Close stops discovery.
func (f *fleet) Close() {
	f.mu.Lock()
	d := f.current
	f.current = nil
	f.mu.Unlock()
	if d != nil {
		d.Close()
	}
	f.loops.Wait()
}

func (f *fleet) Describe(ch chan<- *prometheus.Desc) { (*discovery.Discoverer)(nil).Describe(ch) }

func (f *fleet) Collect(ch chan<- prometheus.Metric) {
	f.mu.Lock()
	d := f.current
	f.mu.Unlock()
	d.Collect(ch)
}
