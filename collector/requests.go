package collector

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/metastudio-exporter/metastudio_exporter/internal/fixedlabels"
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
	current func(tenant string) bool
	// labels are the tenant set's fixed labels now; none until
	// FollowTenants ties the metrics to a set.
	labels   func() fixedlabels.Lookup
	requests *fixedlabels.Counters
	duration prometheus.Histogram
}

// NewRequestMetrics returns the exporter's upstream call metrics. Until
// FollowTenants ties them to a tenant set they count every tenant.
//
// The per-tenant counter carries the tenant's fixed labels, as every series
// that describes one tenant does: a tenant's call volume can be summed by
// team like its settings. (kube-state-metrics leaves its own telemetry
// without its objects' labels, but none of its telemetry is per object.)
func NewRequestMetrics() *RequestMetrics {
	return &RequestMetrics{
		labels: func() fixedlabels.Lookup { return fixedlabels.Lookup{} },
		requests: fixedlabels.NewCounters("metastudio_exporter_api_requests_total",
			"MetaStudio API calls by tenant and HTTP status code, or timeout / network when no answer came.", "code"),
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
		m.requests.Inc(tenant, code)
	}
}

// Retain drops the request counters of every tenant keep refuses, so that
// a reload that removes a tenant also removes its series. Call it with the
// new tenant set after it changed.
func (m *RequestMetrics) Retain(keep func(tenant string) bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests.Retain(keep)
}

// Describe sends nothing: the counter's label names follow the tenant
// set's fixed labels, so the metrics are an unchecked collector's.
func (m *RequestMetrics) Describe(chan<- *prometheus.Desc) {}

func (m *RequestMetrics) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	labels := m.labels
	m.mu.Unlock()
	m.requests.Collect(ch, labels())
	m.duration.Collect(ch)
}
