package fixedlabels

import (
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Counters count by tenant and one label of their own (a status code, a
// result) and serve each count with its tenant's fixed labels as they are
// at collection. A CounterVec alone cannot: its label names are fixed when
// it is made, and a reload may change the names a set of tenants carries.
// One counts here all the same, and without fixed labels it is served as
// it is; with them each count is served as a const metric that carries
// them. A tenant's count goes on across a change of its labels: the series
// with the new labels starts at that count, which rate() and increase()
// read as a new series.
type Counters struct {
	vec   *prometheus.CounterVec
	descs *Descs

	mu       sync.RWMutex
	children map[counterKey]prometheus.Counter
}

type counterKey struct{ tenant, value string }

// NewCounters returns counters of the family name with the labels tenant
// and label.
func NewCounters(name, help, label string) *Counters {
	return &Counters{
		vec:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{"tenant", label}),
		descs:    NewDescs(Family{Name: name, Help: help, Labels: []string{"tenant", label}}),
		children: map[counterKey]prometheus.Counter{},
	}
}

// Inc adds one to the count of tenant and value.
func (c *Counters) Inc(tenant, value string) {
	k := counterKey{tenant, value}
	c.mu.RLock()
	child, ok := c.children[k]
	c.mu.RUnlock()
	if !ok {
		c.mu.Lock()
		if child, ok = c.children[k]; !ok {
			child = c.vec.WithLabelValues(tenant, value)
			c.children[k] = child
		}
		c.mu.Unlock()
	}
	child.Inc()
}

// Retain drops the counts of every tenant keep refuses.
func (c *Counters) Retain(keep func(tenant string) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.children {
		if !keep(k.tenant) {
			c.vec.DeleteLabelValues(k.tenant, k.value)
			delete(c.children, k)
		}
	}
}

// Collect sends every count with its tenant's fixed labels under l.Names. A
// tenant l does not know gets "" for each; one with a label l.Names lacks is
// sent as an invalid metric, which fails the gathering with its error
// rather than serving the tenant's series without the label.
func (c *Counters) Collect(ch chan<- prometheus.Metric, l Lookup) {
	if len(l.Names) == 0 {
		c.vec.Collect(ch)
		return
	}
	desc := c.descs.For(l.Names)[0]
	c.mu.RLock()
	defer c.mu.RUnlock()
	for k, child := range c.children {
		var names, values []string
		if l.Of != nil {
			names, values = l.Of(k.tenant)
		}
		var buf [8]string
		lv, ok := Append(append(buf[:0], k.tenant, k.value), l.Names, names, values)
		if !ok {
			ch <- prometheus.NewInvalidMetric(desc, NotServed(k.tenant, names, l.Names))
			continue
		}
		var count dto.Metric
		if err := child.Write(&count); err != nil {
			ch <- prometheus.NewInvalidMetric(desc, err)
			continue
		}
		m, err := prometheus.NewConstMetricWithCreatedTimestamp(desc, prometheus.CounterValue,
			count.GetCounter().GetValue(), count.GetCounter().GetCreatedTimestamp().AsTime(), lv...)
		if err != nil {
			m = prometheus.NewInvalidMetric(desc, fmt.Errorf("tenant %q: %w", k.tenant, err))
		}
		ch <- m
	}
}
