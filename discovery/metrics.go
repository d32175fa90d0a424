package discovery

import (
	"github.com/prometheus/client_golang/prometheus"
)

var (
	tenantsDesc = prometheus.NewDesc("metastudio_exporter_discovery_tenants",
		"Tenants this discovery source serves now; names held by a configured tenant or an earlier source are not counted.",
		[]string{"source"}, nil)
	lastSuccessDesc = prometheus.NewDesc("metastudio_exporter_discovery_last_success_timestamp_seconds",
		"Unix time of the last successful project list of this discovery source; 0 if none yet.",
		[]string{"source"}, nil)
	errorsDesc = prometheus.NewDesc("metastudio_exporter_discovery_errors_total",
		"Failed project list refreshes of this discovery source.",
		[]string{"source"}, nil)
)

// Describe sends the descriptors of the discovery metrics. Every
// Discoverer has the same, and d may be nil: a collector that forwards to
// whichever Discoverer is current across reloads describes itself with
// (*Discoverer)(nil).Describe.
func (d *Discoverer) Describe(ch chan<- *prometheus.Desc) {
	ch <- tenantsDesc
	ch <- lastSuccessDesc
	ch <- errorsDesc
}

// Collect sends one series of each metric per source, labelled with the
// source's index; a nil Discoverer (discovery not configured) sends none.
func (d *Discoverer) Collect(ch chan<- prometheus.Metric) {
	if d == nil {
		return
	}
	type sample struct {
		label        string
		served, errs float64
		last         float64
	}
	d.mu.Lock()
	samples := make([]sample, len(d.sources))
	for i, st := range d.sources {
		s := sample{label: st.label, served: float64(st.served), errs: float64(st.errors)}
		if !st.lastSuccess.IsZero() {
			s.last = float64(st.lastSuccess.UnixNano()) / 1e9
		}
		samples[i] = s
	}
	d.mu.Unlock()
	for _, s := range samples {
		ch <- prometheus.MustNewConstMetric(tenantsDesc, prometheus.GaugeValue, s.served, s.label)
		ch <- prometheus.MustNewConstMetric(lastSuccessDesc, prometheus.GaugeValue, s.last, s.label)
		ch <- prometheus.MustNewConstMetric(errorsDesc, prometheus.CounterValue, s.errs, s.label)
	}
}
