package receiver

import (
	"github.com/prometheus/client_golang/prometheus"
)

var (
	streamLabels = []string{"tenant", "room_id", "job_id", "output_host", "state"}
	jobLabels    = []string{"tenant", "room_id", "job_id"}

	streamStateDesc = prometheus.NewDesc("metastudio_live_stream_state",
		"1 for the latest state this exporter saw of the stream, 0 for the other known states; state=\"other\" stands for every state this exporter does not know and appears once seen.",
		streamLabels, nil)
	streamStateTimeDesc = prometheus.NewDesc("metastudio_live_stream_state_timestamp_seconds",
		"Time of the last event with this state (hwTime when signed, else receipt); max by over replicas gives the fleet's truth.",
		streamLabels, nil)
	jobLastEventDesc = prometheus.NewDesc("metastudio_live_job_last_event_timestamp_seconds",
		"Time of the last live event of any type for the job.", jobLabels, nil)
	scriptParagraphDesc = prometheus.NewDesc("metastudio_live_script_paragraph",
		"shoot_script_sequence_no of the job's last SHOOT_SCRIPT_SWITCH event.", jobLabels, nil)
	trackedStreamsDesc = prometheus.NewDesc("metastudio_exporter_callback_tracked_streams",
		"Streams in the receiver's table.", nil, nil)
	evictedStreamsDesc = prometheus.NewDesc("metastudio_exporter_callback_evicted_streams_total",
		"Streams dropped because the table held max-streams; the least recently updated goes first.", nil, nil)
	trackedJobsDesc = prometheus.NewDesc("metastudio_exporter_callback_tracked_jobs",
		"Jobs in the receiver's table.", nil, nil)
	evictedJobsDesc = prometheus.NewDesc("metastudio_exporter_callback_evicted_jobs_total",
		"Jobs dropped because the table held max-streams jobs; the least recently updated goes first.", nil, nil)
)

// counters are the receiver's counters. Those with a tenant label are
// counted under Receiver.mu, so that Retain, which deletes a removed
// tenant's series under the same lock, leaves none behind.
type counters struct {
	events      *prometheus.CounterVec // tenant, event_type
	requests    *prometheus.CounterVec // tenant, result
	forwards    *prometheus.CounterVec // tenant, code
	stateErrors *prometheus.CounterVec // operation
	// tenants are the tenants that have series in the vectors above, for
	// Retain to delete them by name.
	tenants map[string]struct{}
}

func newCounters() counters {
	c := counters{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "metastudio_live_events_total",
			Help: "Accepted live events; types this exporter does not know count as other.",
		}, []string{"tenant", "event_type"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "metastudio_exporter_callback_requests_total",
			Help: "Callback requests by result; tenant is empty when the request names no tenant.",
		}, []string{"tenant", "result"}),
		forwards: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "metastudio_exporter_callback_forwards_total",
			Help: "Relays to the tenant's forward_url by HTTP status, or timeout / network.",
		}, []string{"tenant", "code"}),
		stateErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "metastudio_exporter_callback_state_file_errors_total",
			Help: "State file failures: load (unreadable or corrupt at start; the file is set aside as .corrupt) or save.",
		}, []string{"operation"}),
		tenants: map[string]struct{}{},
	}
	// Both operations show from the start: an alert on their increase
	// needs the 0 before the first failure.
	c.stateErrors.WithLabelValues(stateOpLoad)
	c.stateErrors.WithLabelValues(stateOpSave)
	return c
}

// connMetrics are the receiver's listener's series; Listen feeds them.
type connMetrics struct {
	open   prometheus.Gauge
	max    prometheus.Gauge
	closed *prometheus.CounterVec // reason
}

func newConnMetrics() connMetrics {
	m := connMetrics{
		open: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "metastudio_exporter_callback_open_connections",
			Help: "Connections the receiver holds now.",
		}),
		max: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "metastudio_exporter_callback_max_connections",
			Help: "Connections the receiver holds at most (--callback.max-connections); at it, the longest-idle keep-alive connection is closed to admit a new one.",
		}),
		closed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "metastudio_exporter_callback_connections_closed_total",
			Help: "Connections the receiver closed: idle_at_capacity (the longest idle, to admit a new one at max connections), timeout (header, request or idle timeout) or header_too_large (answered 431).",
		}, []string{"reason"}),
	}
	for _, r := range closedReasons {
		m.closed.WithLabelValues(r)
	}
	return m
}

// count adds one to vec's series of tenant and the other label's value.
// The caller holds Receiver.mu.
func (c *counters) count(vec *prometheus.CounterVec, tenant, value string) {
	vec.WithLabelValues(tenant, value).Inc()
	c.tenants[tenant] = struct{}{}
}

// retain deletes the series of tenants not in keep. The caller holds
// Receiver.mu.
func (c *counters) retain(keep map[string]bool) {
	for t := range c.tenants {
		if keep[t] {
			continue
		}
		for _, vec := range []*prometheus.CounterVec{c.events, c.requests, c.forwards} {
			vec.DeletePartialMatch(prometheus.Labels{"tenant": t})
		}
		delete(c.tenants, t)
	}
}

// StreamCollector exposes the live series: stream states, jobs and event
// counts (for /metrics and /metrics?collect[]=streams).
func (rc *Receiver) StreamCollector() prometheus.Collector { return streamCollector{rc} }

// ReceiverCollector exposes the receiver's own metastudio_exporter_callback_*
// series.
func (rc *Receiver) ReceiverCollector() prometheus.Collector { return receiverCollector{rc} }

type streamCollector struct{ rc *Receiver }

func (c streamCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- streamStateDesc
	ch <- streamStateTimeDesc
	ch <- jobLastEventDesc
	ch <- scriptParagraphDesc
	c.rc.counters.events.Describe(ch)
}

func (c streamCollector) Collect(ch chan<- prometheus.Metric) {
	rc := c.rc
	rc.prune()
	// Copy under the lock, build metrics outside it: building is the slow
	// part, and requests must not wait for a scrape.
	rc.mu.Lock()
	streams := make([]stream, 0, len(rc.table.streams))
	for _, s := range rc.table.streams {
		streams = append(streams, *s)
	}
	jobs := make([]job, 0, len(rc.table.jobs))
	for _, j := range rc.table.jobs {
		jobs = append(jobs, *j)
	}
	rc.mu.Unlock()

	for i := range streams {
		s := &streams[i]
		k := &s.key
		for st := range numStates {
			if st < knownStates || s.at[st] != 0 {
				ch <- prometheus.MustNewConstMetric(streamStateDesc, prometheus.GaugeValue,
					boolValue(s.latest == st), k.tenant, k.roomID, k.jobID, k.outputHost, stateNames[st])
			}
			if s.at[st] != 0 {
				ch <- prometheus.MustNewConstMetric(streamStateTimeDesc, prometheus.GaugeValue,
					seconds(s.at[st]), k.tenant, k.roomID, k.jobID, k.outputHost, stateNames[st])
			}
		}
	}
	for i := range jobs {
		j := &jobs[i]
		k := &j.key
		ch <- prometheus.MustNewConstMetric(jobLastEventDesc, prometheus.GaugeValue,
			seconds(j.lastEventMs), k.tenant, k.roomID, k.jobID)
		if j.paragraphMs != 0 {
			ch <- prometheus.MustNewConstMetric(scriptParagraphDesc, prometheus.GaugeValue,
				j.paragraph, k.tenant, k.roomID, k.jobID)
		}
	}
	rc.counters.events.Collect(ch)
}

type receiverCollector struct{ rc *Receiver }

func (c receiverCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- trackedStreamsDesc
	ch <- evictedStreamsDesc
	ch <- trackedJobsDesc
	ch <- evictedJobsDesc
	c.rc.counters.requests.Describe(ch)
	c.rc.counters.forwards.Describe(ch)
	c.rc.counters.stateErrors.Describe(ch)
	c.rc.conns.open.Describe(ch)
	c.rc.conns.max.Describe(ch)
	c.rc.conns.closed.Describe(ch)
}

func (c receiverCollector) Collect(ch chan<- prometheus.Metric) {
	rc := c.rc
	rc.prune()
	rc.mu.Lock()
	streams, evictedStreams := len(rc.table.streams), rc.table.evictedStreams
	jobs, evictedJobs := len(rc.table.jobs), rc.table.evictedJobs
	rc.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(trackedStreamsDesc, prometheus.GaugeValue, float64(streams))
	ch <- prometheus.MustNewConstMetric(evictedStreamsDesc, prometheus.CounterValue, float64(evictedStreams))
	ch <- prometheus.MustNewConstMetric(trackedJobsDesc, prometheus.GaugeValue, float64(jobs))
	ch <- prometheus.MustNewConstMetric(evictedJobsDesc, prometheus.CounterValue, float64(evictedJobs))
	rc.counters.requests.Collect(ch)
	rc.counters.forwards.Collect(ch)
	rc.counters.stateErrors.Collect(ch)
	rc.conns.open.Collect(ch)
	rc.conns.max.Collect(ch)
	rc.conns.closed.Collect(ch)
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func seconds(ms int64) float64 { return float64(ms) / 1000 }
