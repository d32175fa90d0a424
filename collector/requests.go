package collector

import (
	"github.com/prometheus/client_golang/prometheus"
)

// RequestMetrics counts and times upstream calls; its Observe method is the
// client's metastudio.Observer.
type RequestMetrics struct {
	requests *prometheus.CounterVec
	duration prometheus.Histogram
}

// NewRequestMetrics returns the exporter's upstream call metrics.
func NewRequestMetrics() *RequestMetrics {
	return &RequestMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "metastudio_exporter_api_requests_total",
			Help: "MetaStudio API calls by tenant and HTTP status code, or timeout / network when no answer came.",
		}, []string{"tenant", "code"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "metastudio_exporter_api_request_duration_seconds",
			Help:    "Latency of MetaStudio API calls.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
	}
}

// Observe records one call.
func (m *RequestMetrics) Observe(tenant, code string, seconds float64) {
	m.requests.WithLabelValues(tenant, code).Inc()
	m.duration.Observe(seconds)
}

// Forget drops the request counters of tenants no longer configured, so that
// a reload that removes a tenant also removes its series.
func (m *RequestMetrics) Forget(tenant string) {
	m.requests.DeletePartialMatch(prometheus.Labels{"tenant": tenant})
}

func (m *RequestMetrics) Describe(ch chan<- *prometheus.Desc) {
	m.requests.Describe(ch)
	m.duration.Describe(ch)
}

func (m *RequestMetrics) Collect(ch chan<- prometheus.Metric) {
	m.requests.Collect(ch)
	m.duration.Collect(ch)
}
