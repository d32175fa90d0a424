package receiver

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/metastudio-exporter/metastudio_exporter/internal/fixedlabels"
)

// The live series' families, as indexes into streamFamilies and into the
// Descs built for each set of fixed label names.
const (
	streamStateFamily = iota
	streamStateTimeFamily
	jobLastEventFamily
	scriptParagraphFamily
	numStreamFamilies
)

var (
	streamLabels = []string{"tenant", "room_id", "job_id", "output_host", "state"}
	jobLabels    = []string{"tenant", "room_id", "job_id"}

	// streamFamilies describe the live series, which carry each tenant's
	// fixed labels (labels:) after their own.
	streamFamilies = [numStreamFamilies]fixedlabels.Family{
		streamStateFamily: {Name: "metastudio_live_stream_state",
			Help:   "1 for the latest state this exporter saw of the stream, 0 for the other known states; state=\"other\" stands for every state this exporter does not know and appears once seen.",
			Labels: streamLabels},
		streamStateTimeFamily: {Name: "metastudio_live_stream_state_timestamp_seconds",
			Help:   "Time of the last event with this state (hwTime when signed, else receipt); max by over replicas gives the fleet's truth.",
			Labels: streamLabels},
		jobLastEventFamily: {Name: "metastudio_live_job_last_event_timestamp_seconds",
			Help: "Time of the last live event of any type for the job.", Labels: jobLabels},
		scriptParagraphFamily: {Name: "metastudio_live_script_paragraph",
			Help: "shoot_script_sequence_no of the job's last SHOOT_SCRIPT_SWITCH event.", Labels: jobLabels},
	}
	streamDescs = fixedlabels.NewDescs(streamFamilies[:]...)

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
// tenant's series under the same lock, leaves none behind. They carry the
// tenant's fixed labels too: the bundled alerts on callbacks rejected and
// relays failing are about one tenant, and reach its owners by them.
type counters struct {
	events      *fixedlabels.Counters  // tenant, event_type
	requests    *fixedlabels.Counters  // tenant, result
	forwards    *fixedlabels.Counters  // tenant, code
	stateErrors *prometheus.CounterVec // operation
}

func newCounters() counters {
	c := counters{
		events: fixedlabels.NewCounters("metastudio_live_events_total",
			"Accepted live events; types this exporter does not know count as other.", "event_type"),
		requests: fixedlabels.NewCounters("metastudio_exporter_callback_requests_total",
			"Callback requests by result; tenant is empty when the request names no tenant.", "result"),
		forwards: fixedlabels.NewCounters("metastudio_exporter_callback_forwards_total",
			"Relays to the tenant's forward_url by HTTP status, or timeout / network.", "code"),
		stateErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "metastudio_exporter_callback_state_file_errors_total",
			Help: "State file failures: load (unreadable or corrupt at start; the file is set aside as .corrupt) or save.",
		}, []string{"operation"}),
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

// count adds one to the counters' series of tenant and the other label's
// value. The caller holds Receiver.mu.
func (c *counters) count(counters *fixedlabels.Counters, tenant, value string) {
	counters.Inc(tenant, value)
}

// retain deletes the series of tenants not in keep. The caller holds
// Receiver.mu.
func (c *counters) retain(keep map[string]bool) {
	kept := func(tenant string) bool { return keep[tenant] }
	for _, counters := range []*fixedlabels.Counters{c.events, c.requests, c.forwards} {
		counters.Retain(kept)
	}
}

// SetTenantLabels gives the receiver the fixed labels (labels:) of the
// tenant set: the live series and the per-tenant counters carry them from
// the next collection on. Call it whenever the tenant set changes; until
// the first call the series carry none. A tenant the set does not know
// (its streams read from the state file before discovery lists it, say)
// gets "" for each name.
func (rc *Receiver) SetTenantLabels(l fixedlabels.Lookup) { rc.labels.Store(&l) }

// tenantLabels are the fixed labels set last.
func (rc *Receiver) tenantLabels() fixedlabels.Lookup {
	if l := rc.labels.Load(); l != nil {
		return *l
	}
	return fixedlabels.Lookup{}
}

// StreamCollector exposes the live series: stream states, jobs and event
// counts (for /metrics and /metrics?collect[]=streams).
func (rc *Receiver) StreamCollector() prometheus.Collector { return streamCollector{rc} }

// ReceiverCollector exposes the receiver's own metastudio_exporter_callback_*
// series.
func (rc *Receiver) ReceiverCollector() prometheus.Collector { return receiverCollector{rc} }

type streamCollector struct{ rc *Receiver }

// Describe sends nothing: the series' label names follow the tenant set's
// fixed labels, so this is an unchecked collector.
func (c streamCollector) Describe(chan<- *prometheus.Desc) {}

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

	labels := rc.tenantLabels()
	e := streamEmitter{ch: ch, labels: labels, descs: streamDescs.For(labels.Names)}
	for i := range streams {
		s := &streams[i]
		k := &s.key
		e.tenant(k.tenant)
		for st := range numStates {
			if st < knownStates || s.at[st] != 0 {
				e.gauge(streamStateFamily, boolValue(s.latest == st), k.tenant, k.roomID, k.jobID, k.outputHost, stateNames[st])
			}
			if s.at[st] != 0 {
				e.gauge(streamStateTimeFamily, seconds(s.at[st]), k.tenant, k.roomID, k.jobID, k.outputHost, stateNames[st])
			}
		}
	}
	for i := range jobs {
		j := &jobs[i]
		k := &j.key
		e.tenant(k.tenant)
		e.gauge(jobLastEventFamily, seconds(j.lastEventMs), k.tenant, k.roomID, k.jobID)
		if j.paragraphMs != 0 {
			e.gauge(scriptParagraphFamily, j.paragraph, k.tenant, k.roomID, k.jobID)
		}
	}
	rc.counters.events.Collect(ch, labels)
}

// streamEmitter sends the live series of one tenant after another, each with
// the tenant's fixed labels after its own.
type streamEmitter struct {
	ch     chan<- prometheus.Metric
	labels fixedlabels.Lookup
	descs  []*prometheus.Desc // for labels.Names, by family
	// names and values are the current tenant's fixed labels.
	names, values []string
}

// tenant makes the series sent next those of tenant.
func (e *streamEmitter) tenant(tenant string) {
	e.names, e.values = nil, nil
	if e.labels.Of != nil {
		e.names, e.values = e.labels.Of(tenant)
	}
}

// gauge sends a sample of family f; values are its own labels, tenant
// first.
func (e *streamEmitter) gauge(f int, v float64, values ...string) {
	var buf [10]string // the labels and a few fixed ones: kept off the heap
	lv, ok := fixedlabels.Append(append(buf[:0], values...), e.labels.Names, e.names, e.values)
	if !ok {
		e.ch <- prometheus.NewInvalidMetric(e.descs[f], fixedlabels.NotServed(values[0], e.names, e.labels.Names))
		return
	}
	e.ch <- prometheus.MustNewConstMetric(e.descs[f], prometheus.GaugeValue, v, lv...)
}

type receiverCollector struct{ rc *Receiver }

// Describe sends nothing: the per-tenant counters' label names follow the
// tenant set's fixed labels, so this is an unchecked collector.
func (c receiverCollector) Describe(chan<- *prometheus.Desc) {}

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
	labels := rc.tenantLabels()
	rc.counters.requests.Collect(ch, labels)
	rc.counters.forwards.Collect(ch, labels)
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
