package inventory

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/internal/seriesorder"
)

// byName is the families' indexes in name order, the order a gathering
// serves them in.
var byName = func() []int {
	order := make([]int, numFamilies)
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(families[a].Name, families[b].Name) })
	return order
}()

// Families are one serving of the kinds of tenants' rooms and jobs, with
// the fixed labels under labelNames as Collector serves them: named up
// front, each family built only when asked for, as /metrics writes them.
// Every rooms and jobs family of a thousand tenants built at once, before
// the first was written, is what a scrape of them used to peak on; built
// one at a time, a scrape holds one family's series at most.
//
// Each family serves what Collector's registry would, without one: its
// series sorted by label values, a repeated series left out with an error,
// a label value that is not UTF-8 refused with the tenant's name. A
// registry's gathering (a goroutine and a channel send per series, then its
// checks) costs more than building the series, and so do const metrics
// (three allocations per label, then a copy): the series are written out
// as the exposition's own structures, from a few large blocks.
type Families struct {
	views      []view
	labelNames []string
	served     []int // the families of the kinds asked for, in name order
}

// Families loads what the kinds of tenants' rooms and jobs are served
// from; that counts as serving those tenants, as a collection of Collector
// does. Building a family later serves what was loaded here.
func (inv *Inventory) Families(kinds Kinds, labelNames []string, tenants ...*config.Tenant) *Families {
	fs := &Families{views: inv.views(kinds, tenants), labelNames: labelNames}
	if len(fs.views) == 0 {
		return fs
	}
	for _, f := range byName {
		if f < jobsUpFamily && kinds.Rooms || f >= jobsUpFamily && kinds.Jobs {
			fs.served = append(fs.served, f)
		}
	}
	return fs
}

// Len is how many families there are to build; some may have no series.
func (fs *Families) Len() int { return len(fs.served) }

// Name is the name of the i-th family, in name order.
func (fs *Families) Name(i int) string { return families[fs.served[i]].Name }

// Build builds the i-th family, nil if it has no series, with the errors
// of the series refused (a prometheus.MultiError of them if more than one).
func (fs *Families) Build(i int) (*dto.MetricFamily, error) {
	f := fs.served[i]
	g := newGathering(f, fs.labelNames)
	// Counting first costs a walk over the views without building any
	// series, and sizes the blocks exactly.
	var counted int
	emit(fs.views, fs.labelNames, f, sink{counted: &counted})
	g.blocks.next = counted
	g.metrics = make([]*dto.Metric, 0, counted)
	emit(fs.views, fs.labelNames, f, sink{gathering: g})
	return g.family()
}

// gathering is one family's series as they are built.
type gathering struct {
	f    int
	desc *prometheus.Desc // for the label names
	// names are the family's label names in name order, the order of a
	// series' label pairs; order maps them to the label values' places.
	names []string
	order []int

	metrics []*dto.Metric
	errs    prometheus.MultiError
	blocks  blocks
}

func newGathering(f int, labelNames []string) *gathering {
	g := &gathering{f: f, desc: descs.For(labelNames)[f]}
	names := append(slices.Clone(families[f].Labels), labelNames...)
	g.order = make([]int, len(names))
	for i := range g.order {
		g.order[i] = i
	}
	slices.SortFunc(g.order, func(a, b int) int { return strings.Compare(names[a], names[b]) })
	g.names = make([]string, len(names))
	for k, i := range g.order {
		g.names[k] = names[i]
	}
	return g
}

// gauge adds a sample with the label values lv, in the order of the
// family's labels, or the error a const metric of them would have.
func (g *gathering) gauge(v float64, tenant string, lv []string) {
	if err := g.desc.Err(); err != nil {
		g.errs = append(g.errs, fmt.Errorf("tenant %q: %w", tenant, err))
		return
	}
	for _, value := range lv {
		if !utf8.ValidString(value) {
			// client_golang's words, as a const metric refuses it.
			g.errs = append(g.errs, fmt.Errorf("tenant %q: label value %q is not valid UTF-8", tenant, value))
			return
		}
	}
	m := g.blocks.metric(v, len(lv))
	for k, i := range g.order {
		p := m.Label[k]
		p.Name = &g.names[k]
		p.Value = g.blocks.text(lv[i])
	}
	g.metrics = append(g.metrics, m)
}

func (g *gathering) refuse(err error) { g.errs = append(g.errs, err) }

// family returns the family gathered, sorted, or nil if it has no series.
func (g *gathering) family() (*dto.MetricFamily, error) {
	if len(g.metrics) == 0 {
		return nil, g.errs.MaybeUnwrap()
	}
	f := &families[g.f]
	ms := seriesorder.SortUnique(f.Name, g.metrics, &g.errs)
	return &dto.MetricFamily{Name: &f.Name, Help: &f.Help, Type: dto.MetricType_GAUGE.Enum(), Metric: ms}, g.errs.MaybeUnwrap()
}

// blocks hand out a family's metrics, gauges, label pairs and strings from
// blocks made for the series counted before they are built: a few
// allocations for a family rather than a dozen per series, none of it
// unused. Should more series come than were counted, blocks of blockSize
// series follow. Nothing handed out is ever moved or changed by them.
type blocks struct {
	next    int // series the next block is for
	metrics []dto.Metric
	gauges  []dto.Gauge
	values  []float64
	pairs   []dto.LabelPair
	labels  []*dto.LabelPair
	texts   []string
}

const blockSize = 1024

// metric returns a new metric, a gauge of v with n label pairs to fill in,
// and room for their n texts: every metric of a family has as many.
func (b *blocks) metric(v float64, n int) *dto.Metric {
	if len(b.metrics) == cap(b.metrics) {
		size := max(b.next, 1)
		b.next = blockSize
		b.metrics = make([]dto.Metric, 0, size)
		b.gauges = make([]dto.Gauge, 0, size)
		b.values = make([]float64, 0, size)
		b.pairs = make([]dto.LabelPair, 0, size*n)
		b.labels = make([]*dto.LabelPair, 0, size*n)
		b.texts = make([]string, 0, size*n)
	}
	b.metrics = b.metrics[:len(b.metrics)+1]
	b.gauges = b.gauges[:len(b.gauges)+1]
	b.values = append(b.values, v)
	m := &b.metrics[len(b.metrics)-1]
	m.Gauge = &b.gauges[len(b.gauges)-1]
	m.Gauge.Value = &b.values[len(b.values)-1]
	start := len(b.labels)
	for range n {
		b.pairs = b.pairs[:len(b.pairs)+1]
		b.labels = append(b.labels, &b.pairs[len(b.pairs)-1])
	}
	m.Label = b.labels[start:len(b.labels):len(b.labels)]
	return m
}

// text returns a pointer to a copy of s's header; s itself is not copied.
// metric made room for it.
func (b *blocks) text(s string) *string {
	b.texts = append(b.texts, s)
	return &b.texts[len(b.texts)-1]
}
