package fixedlabels

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Family is what a family's Desc is made of: its fully-qualified name, its
// help and its own label names, which the fixed labels follow.
type Family struct {
	Name, Help string
	Labels     []string
}

// maxNameSets bounds the sets of names Descs keeps the Descs of. A tenant
// set has one union, and /probe serves each tenant with its own names, of
// which configs have a few sets; past the bound everything is built again,
// which costs time, never correctness.
const maxNameSets = 64

// Descs are the Descs of a list of families for each set of fixed label
// names they are served with, built the first time a set is asked for:
// building them on every scrape would cost a /probe more than its series.
type Descs struct {
	families []Family
	plain    []*prometheus.Desc // without fixed labels

	mu     sync.Mutex
	byKey  map[string][]*prometheus.Desc
	keyBuf []byte // under mu
}

// NewDescs returns the Descs of families.
func NewDescs(families ...Family) *Descs {
	d := &Descs{families: families, byKey: map[string][]*prometheus.Desc{}}
	d.plain = d.build(nil)
	return d
}

// For returns the families' Descs with names after each family's own
// labels, in the order of the families. Every caller shares them.
func (d *Descs) For(names []string) []*prometheus.Desc {
	if len(names) == 0 {
		return d.plain
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.keyBuf = d.keyBuf[:0]
	for _, name := range names {
		// Label names hold no comma, so the key is unambiguous.
		d.keyBuf = append(append(d.keyBuf, name...), ',')
	}
	if descs, ok := d.byKey[string(d.keyBuf)]; ok { // converted without a copy
		return descs
	}
	if len(d.byKey) == maxNameSets {
		clear(d.byKey)
	}
	descs := d.build(names)
	d.byKey[string(d.keyBuf)] = descs
	return descs
}

// build makes the Descs for names. A name that clashes with a family's own
// label makes an invalid Desc, whose metrics client_golang refuses with
// that error; the config keeps such names out.
func (d *Descs) build(names []string) []*prometheus.Desc {
	descs := make([]*prometheus.Desc, len(d.families))
	for i, f := range d.families {
		labels := f.Labels
		if len(names) > 0 {
			labels = append(labels[:len(labels):len(labels)], names...)
		}
		descs[i] = prometheus.NewDesc(f.Name, f.Help, labels, nil)
	}
	return descs
}
