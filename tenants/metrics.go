package tenants

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

var (
	reloadSuccessDesc = prometheus.NewDesc(
		"metastudio_exporter_config_last_reload_successful",
		"Whether the last configuration reload attempt was successful.",
		nil, nil,
	)
	reloadTimestampDesc = prometheus.NewDesc(
		"metastudio_exporter_config_last_reload_success_timestamp_seconds",
		"Timestamp of the last successful configuration reload.",
		nil, nil,
	)
	discoveryTenantsDesc = prometheus.NewDesc("metastudio_exporter_discovery_tenants",
		"Tenants this discovery source serves now; a project a configured tenant serves, or a name it or an earlier source holds, is not counted.",
		[]string{"source"}, nil)
	discoveryLastSuccessDesc = prometheus.NewDesc("metastudio_exporter_discovery_last_success_timestamp_seconds",
		"Unix time of the last successful project list of this discovery source; 0 if none yet.",
		[]string{"source"}, nil)
	discoveryErrorsDesc = prometheus.NewDesc("metastudio_exporter_discovery_errors_total",
		"Failed project list refreshes of this discovery source.",
		[]string{"source"}, nil)
)

// Describe implements prometheus.Collector.
func (s *Set) Describe(ch chan<- *prometheus.Desc) {
	ch <- reloadSuccessDesc
	ch <- reloadTimestampDesc
	ch <- discoveryTenantsDesc
	ch <- discoveryLastSuccessDesc
	ch <- discoveryErrorsDesc
}

// Collect sends the reload gauges and, per discovery entry of the current
// file labelled with its name or else its index, the discovery metrics.
// The last success is that of the list the entry serves: while a changed
// entry serves its previous version's list, the time that one was listed.
func (s *Set) Collect(ch chan<- prometheus.Metric) {
	type sample struct {
		label              string
		served, last, errs float64
	}
	s.mu.Lock()
	ok, last := s.lastOK, s.lastSuccess
	samples := make([]sample, len(s.entries))
	for i, e := range s.entries {
		samples[i] = sample{label: e.label(), served: float64(e.served), errs: s.errors[e.label()]}
		if l := e.serving(); l != nil {
			samples[i].last = seconds(l.at)
		}
	}
	s.mu.Unlock()
	success := 0.0
	if ok {
		success = 1
	}
	ch <- prometheus.MustNewConstMetric(reloadSuccessDesc, prometheus.GaugeValue, success)
	ch <- prometheus.MustNewConstMetric(reloadTimestampDesc, prometheus.GaugeValue, seconds(last))
	for _, x := range samples {
		ch <- prometheus.MustNewConstMetric(discoveryTenantsDesc, prometheus.GaugeValue, x.served, x.label)
		ch <- prometheus.MustNewConstMetric(discoveryLastSuccessDesc, prometheus.GaugeValue, x.last, x.label)
		ch <- prometheus.MustNewConstMetric(discoveryErrorsDesc, prometheus.CounterValue, x.errs, x.label)
	}
}

// seconds is t as a Unix timestamp gauge: 0 for never.
func seconds(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}
