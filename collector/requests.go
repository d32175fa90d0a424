package collector

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// RequestMetrics counts and times upstream calls; its Observe method is the
// client's metastudio.Observer.
type RequestMetrics struct {
	// mu makes "is the tenant current? count it" one step against Forget,
	// so that a call still in flight when a reload removes its tenant
	// cannot bring the tenant's series back after Forget deleted them.
	mu sync.Mutex
	// current tells whether a tenant is in the tenant set now; calls of
	// other tenants are timed but not counted per tenant.
	current  func(tenant string) bool
	requests *prometheus.CounterVec
	duration prometheus.Histogram
}

// NewRequestMetrics returns the exporter's upstream call metrics. Until
// FollowTenants ties them to a tenant set they count every tenant.
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
	m.duration.Observe(seconds)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.current == nil || m.current(tenant) {
		m.requests.WithLabelValues(tenant, code).Inc()
	}
}

// Forget drops the request counters of a tenant that has left the tenant
// set, so that a reload that removes a tenant also removes its series. Call
// it after the tenant set changed.
func (m *RequestMetrics) Forget(tenant string) {
	m.mu.Lock()
	defer m.mu.Unlock()
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
