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

// Gatherer returns the kinds of tenants' rooms and jobs, with the fixed
// labels under labelNames as Collector serves them, as a Gatherer that
// serves what Collector's registry would, without one: each family's series
// sorted by label values, a repeated series left out with an error, a label
// value that is not UTF-8 refused with the tenant's name. A registry's
// gathering (a goroutine and a channel send per series, then its checks)
// costs more than building the series, and so do const metrics (three
// allocations per label, then a copy): the series are written out as the
// exposition's own structures, from a few large blocks.
func (inv *Inventory) Gatherer(kinds Kinds, labelNames []string, tenants ...*config.Tenant) prometheus.Gatherer {
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		g := newGathering(labelNames)
		inv.emit(kinds, labelNames, tenants, sink{gathering: g})
		return g.families()
	})
}

// gathering is one Gather's series, by family.
type gathering struct {
	descs []*prometheus.Desc // for the label names, by family
	// names are each family's label names in name order, the order of a
	// series' label pairs; order maps them to the label values' places.
	names [numFamilies][]string
	order [numFamilies][]int

	metrics [numFamilies][]*dto.Metric
	errs    prometheus.MultiError
	blocks  blocks
}

func newGathering(labelNames []string) *gathering {
	g := &gathering{descs: descs.For(labelNames)}
	for f := range families {
		names := append(slices.Clone(families[f].Labels), labelNames...)
		order := make([]int, len(names))
		for i := range order {
			order[i] = i
		}
		slices.SortFunc(order, func(a, b int) int { return strings.Compare(names[a], names[b]) })
		g.order[f] = order
		for _, i := range order {
			g.names[f] = append(g.names[f], names[i])
		}
	}
	return g
}

// gauge adds a sample of family f with the label values lv, in the order
// of the family's labels, or the error a const metric of them would have.
func (g *gathering) gauge(f int, v float64, tenant string, lv []string) {
	if err := g.descs[f].Err(); err != nil {
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
	names := g.names[f]
	for k, i := range g.order[f] {
		p := m.Label[k]
		p.Name = &names[k]
		p.Value = g.blocks.text(lv[i])
	}
	g.metrics[f] = append(g.metrics[f], m)
}

func (g *gathering) refuse(err error) { g.errs = append(g.errs, err) }

// families returns the families gathered, in name order, each sorted.
func (g *gathering) families() ([]*dto.MetricFamily, error) {
	var out []*dto.MetricFamily
	for _, f := range byName {
		ms := g.metrics[f]
		if len(ms) == 0 {
			continue
		}
		ms = seriesorder.SortUnique(families[f].Name, ms, &g.errs)
		out = append(out, &dto.MetricFamily{Name: &families[f].Name, Help: &families[f].Help, Type: dto.MetricType_GAUGE.Enum(), Metric: ms})
	}
	return out, g.errs.MaybeUnwrap()
}

// blocks hand out a gathering's metrics, gauges, label pairs and strings
// from blocks of blockSize: a few allocations for every series rather than
// a dozen per series. Nothing handed out is ever moved or changed by them.
type blocks struct {
	metrics []dto.Metric
	gauges  []dto.Gauge
	values  []float64
	pairs   []dto.LabelPair
	labels  []*dto.LabelPair
	texts   []string
}

const blockSize = 1024

// metric returns a new metric, a gauge of v with n label pairs to fill in.
func (b *blocks) metric(v float64, n int) *dto.Metric {
	if len(b.metrics) == cap(b.metrics) {
		b.metrics = make([]dto.Metric, 0, blockSize)
		b.gauges = make([]dto.Gauge, 0, blockSize)
		b.values = make([]float64, 0, blockSize)
	}
	if cap(b.pairs)-len(b.pairs) < n {
		b.pairs = make([]dto.LabelPair, 0, max(n, 4*blockSize))
		b.labels = make([]*dto.LabelPair, 0, max(n, 4*blockSize))
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
func (b *blocks) text(s string) *string {
	if len(b.texts) == cap(b.texts) {
		b.texts = make([]string, 0, 4*blockSize)
	}
	b.texts = append(b.texts, s)
	return &b.texts[len(b.texts)-1]
}
