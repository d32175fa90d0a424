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

	// ready is closed once the tenant set is whole: at the first apply
	// without discovery, or once discovery's first lists are served.
	ready     chan struct{}
	readyOnce sync.Once
}

func newFleet(holder *config.Holder, client *metastudio.Client, logger log.Logger) *fleet {
	return &fleet{holder: holder, client: client, logger: logger, ready: make(chan struct{})}
}

func (f *fleet) markReady() { f.readyOnce.Do(func() { close(f.ready) }) }

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
		f.markReady()
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
	d.Start()
	if prev != nil {
		prev.Close()
	}
	f.loops.Add(1)
	go f.follow(d)
	return nil
}

// follow serves d's projects once every entry has been tried, and again on
// every change, until d is closed. Until then the tenants found before (by
// the Discoverer d replaces, across a reload) stay served: an entry that
// changed lists nothing until its first refresh, and serving that gap would
// drop its tenants' state and streams only to bring the tenants back.
func (f *fleet) follow(d *discovery.Discoverer) {
	defer f.loops.Done()
	initialized, changes := d.Initialized(), d.Changes()
	for {
		select {
		case <-initialized:
			initialized = nil // served from here on; a nil channel never fires
		case _, open := <-changes:
			if !open {
				return
			}
			if initialized != nil {
				continue
			}
		}
		f.mu.Lock()
		if f.current == d {
			f.publish(d)
			f.markReady()
		}
		f.mu.Unlock()
	}
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

// initialized is closed once the tenant set is whole (discovery, if any,
// has served its first lists), so that state kept across restarts is not
// pruned against a tenant set that discovery has not filled yet, and a
// replica does not report ready with a partial one.
func (f *fleet) initialized() <-chan struct{} { return f.ready }

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
