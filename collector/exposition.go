package collector

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/metastudio-exporter/metastudio_exporter/config"
)

// Families is one scrape's outcome for its tenants, turned into metric
// families only as they are written. Every family of every tenant gathered
// at once, before the first byte went out, is what a scrape of thousands
// of tenants used to peak on; built one family at a time from these
// compact results, a scrape holds one family's metrics at most.
type Families struct {
	tenants []*config.Tenant
	results []result
	// receiverRoute is the Scraper's: CallbackRoute of
	// --callback.external-url followed by /callback/, or "".
	receiverRoute string
}

// Scrape fetches tenants within ctx and returns their outcome. It returns
// once every tenant has one, which ctx bounds: the tenants whose calls
// could not start or finish in time are down with reason timeout.
func (s *Scraper) Scrape(ctx context.Context, tenants ...*config.Tenant) *Families {
	return &Families{tenants: tenants, results: s.scrapeAll(ctx, tenants), receiverRoute: s.receiverRoute}
}

// Encode writes the tenants' metric families and extra to enc, together in
// name order as one exposition. extra must be sorted by name with unique
// names, as a Gatherer returns it; a family of extra named like a tenant
// family is merged with it the way prometheus.Gatherers merges families.
// Each tenant family is built just before it is written, and each family of
// extra is let go (its slot in extra set to nil) once written.
//
// Encode stops at the first error of enc and returns it, and it starts no
// family once ctx, the client's request, is done. A family that fails
// client_golang's checks is written without the series at fault; those
// errors are returned together after everything else is written.
func (fs *Families) Encode(ctx context.Context, enc expfmt.Encoder, extra []*dto.MetricFamily) error {
	write := func(mf *dto.MetricFamily) error {
		if ctx.Err() != nil {
			return fmt.Errorf("client went away before %s was written: %w", mf.GetName(), context.Cause(ctx))
		}
		return enc.Encode(mf)
	}
	var checks prometheus.MultiError
	for i := range tenantFamilies {
		f := &tenantFamilies[i]
		for len(extra) > 0 && extra[0].GetName() < f.name {
			if err := write(extra[0]); err != nil {
				return err
			}
			extra[0], extra = nil, extra[1:]
		}
		var same *dto.MetricFamily
		if len(extra) > 0 && extra[0].GetName() == f.name {
			same = extra[0]
			extra[0], extra = nil, extra[1:]
		}
		if len(fs.tenants) == 0 && same == nil {
			continue
		}
		mf, err := fs.gather(f, same)
		if err != nil {
			checks = append(checks, err)
		}
		if mf == nil {
			continue
		}
		if err := write(mf); err != nil {
			return err
		}
	}
	for i, mf := range extra {
		if err := write(mf); err != nil {
			return err
		}
		extra[i] = nil
	}
	return checks.MaybeUnwrap()
}

// gather builds family f for every tenant through a registry of its own,
// which checks and sorts it as it does any collector's. same, when not nil,
// is a family of the same name from elsewhere, merged in.
func (fs *Families) gather(f *tenantFamily, same *dto.MetricFamily) (*dto.MetricFamily, error) {
	reg := prometheus.NewRegistry()
	if err := reg.Register(familyCollector{f, fs}); err != nil {
		return nil, err
	}
	var g prometheus.Gatherer = reg
	if same != nil {
		g = prometheus.Gatherers{reg, prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
			return []*dto.MetricFamily{same}, nil
		})}
	}
	mfs, err := g.Gather()
	if len(mfs) == 0 {
		return nil, err
	}
	return mfs[0], err
}

// familyCollector collects one family for every tenant of a scrape.
type familyCollector struct {
	f  *tenantFamily
	fs *Families
}

func (c familyCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.f.desc }

func (c familyCollector) Collect(ch chan<- prometheus.Metric) {
	e := tenantEmitter{ch: ch, desc: c.f.desc, receiverRoute: c.fs.receiverRoute}
	for i, t := range c.fs.tenants {
		e.t, e.r = t, &c.fs.results[i]
		c.f.series(&e)
	}
}
