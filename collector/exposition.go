package collector

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"google.golang.org/protobuf/proto"

	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/internal/seriesorder"
)

// Families is one scrape's outcome for its tenants, turned into metric
// families only as they are written. Every family of every tenant gathered
// at once, before the first byte went out, is what a scrape of thousands
// of tenants used to peak on; built one family at a time from these
// compact results, a scrape holds one family's metrics at most.
type Families struct {
	tenants []*config.Tenant
	results []result
	// labelNames are the fixed label names every family carries.
	labelNames []string
	// receiverRoute is the Scraper's: CallbackRoute of
	// --callback.external-url followed by /callback/, or "".
	receiverRoute string
}

// Scrape fetches tenants within ctx and returns their outcome. It returns
// once every tenant has one, which ctx bounds: the tenants whose calls
// could not start or finish in time are down with reason timeout.
//
// Every series of a tenant carries its fixed labels (labels:) under
// labelNames, after its own labels, with "" for a name the tenant lacks:
// labelNames are sorted and hold every label name of the tenants, as the
// tenant set's union (tenants.Snapshot.LabelNames) or, for one tenant, its
// own names do. A tenant with a label that labelNames lack has no series,
// and Encode returns an error that names it.
func (s *Scraper) Scrape(ctx context.Context, labelNames []string, tenants ...*config.Tenant) *Families {
	return &Families{tenants: tenants, results: s.scrapeAll(ctx, tenants), labelNames: labelNames, receiverRoute: s.receiverRoute}
}

// Extra is a family served along with the tenants', named before it is
// built: Build runs only when its turn to be written comes, and returns nil
// for a family without series, with the errors of the series it refused.
type Extra struct {
	Name  string
	Build func() (*dto.MetricFamily, error)
}

// Gathered are families a Gatherer returned, as Extra.
func Gathered(mfs []*dto.MetricFamily) []Extra {
	out := make([]Extra, len(mfs))
	for i, mf := range mfs {
		out[i] = Extra{Name: mf.GetName(), Build: func() (*dto.MetricFamily, error) { return mf, nil }}
	}
	return out
}

// Encode writes the tenants' metric families and extra to enc, together in
// name order as one exposition. extra must be sorted by name with unique
// names; a family of extra named like a tenant family is merged with it
// the way prometheus.Gatherers merges families. Each family, the tenants'
// and extra's, is built just before it is written, and each of extra is
// let go (its slot in extra cleared) once built.
//
// Encode stops at the first error of enc and returns it, and it starts no
// family once ctx, the client's request, is done. A family that fails
// client_golang's checks is written without the series at fault; those
// errors, and extra's, are returned together after everything else is
// written.
func (fs *Families) Encode(ctx context.Context, enc expfmt.Encoder, extra []Extra) error {
	gone := func(next string) error {
		if ctx.Err() == nil {
			return nil
		}
		return fmt.Errorf("client went away before %s was written: %w", next, context.Cause(ctx))
	}
	var checks prometheus.MultiError
	// next builds extra's first family and lets go of it.
	next := func() *dto.MetricFamily {
		mf, err := extra[0].Build()
		checks = seriesorder.AppendErrors(checks, err)
		extra[0], extra = Extra{}, extra[1:]
		return mf
	}
	// writeExtra writes extra's families named before name ("" for all).
	writeExtra := func(name string) error {
		for len(extra) > 0 && (name == "" || extra[0].Name < name) {
			if err := gone(extra[0].Name); err != nil {
				return err
			}
			if mf := next(); mf != nil {
				if err := enc.Encode(mf); err != nil {
					return err
				}
			}
		}
		return nil
	}
	descs := tenantDescs.For(fs.labelNames)
	for i := range tenantFamilies {
		f := &tenantFamilies[i]
		if err := writeExtra(f.name); err != nil {
			return err
		}
		var same *dto.MetricFamily
		if len(extra) > 0 && extra[0].Name == f.name {
			if err := gone(f.name); err != nil {
				return err
			}
			same = next()
		}
		if len(fs.tenants) == 0 && same == nil {
			continue
		}
		if err := gone(f.name); err != nil {
			return err
		}
		mf, refused := fs.gather(f, descs[i], same)
		checks = append(checks, refused...)
		if mf == nil {
			continue
		}
		if err := enc.Encode(mf); err != nil {
			return err
		}
	}
	if err := writeExtra(""); err != nil {
		return err
	}
	return checks.MaybeUnwrap()
}

// gather builds family f, with desc, for every tenant: client_golang's
// const metrics, whose label values it checks as they are made, written
// into one family and sorted as a registry sorts them, with a repeated
// series refused as a registry refuses it. A registry of its own per
// family would do the same at a cost per gathering (two channels of a
// thousand metrics) that a one-tenant /probe pays for every family. same,
// when not nil, is a family of the same name from elsewhere, merged in as
// prometheus.Gatherers merges.
func (fs *Families) gather(f *tenantFamily, desc *prometheus.Desc, same *dto.MetricFamily) (*dto.MetricFamily, prometheus.MultiError) {
	e := tenantEmitter{desc: desc, labelNames: fs.labelNames, receiverRoute: fs.receiverRoute, metrics: make([]*dto.Metric, 0, len(fs.tenants))}
	for i, t := range fs.tenants {
		e.t, e.r = t, &fs.results[i]
		f.series(&e)
	}
	e.metrics = seriesorder.SortUnique(f.name, e.metrics, &e.errs)
	var mf *dto.MetricFamily
	if len(e.metrics) > 0 {
		mf = &dto.MetricFamily{Name: proto.String(f.name), Help: proto.String(f.help), Type: dto.MetricType_GAUGE.Enum(), Metric: e.metrics}
	}
	if same != nil {
		mfs, err := prometheus.Gatherers{gathered(mf), gathered(same)}.Gather()
		if err != nil {
			e.errs = append(e.errs, err)
		}
		mf = nil
		if len(mfs) > 0 {
			mf = mfs[0]
		}
	}
	return mf, e.errs
}

// gathered is a Gatherer of mf alone (of nothing if it is nil).
func gathered(mf *dto.MetricFamily) prometheus.Gatherer {
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		if mf == nil {
			return nil, nil
		}
		return []*dto.MetricFamily{mf}, nil
	})
}
