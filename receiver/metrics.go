package receiver

import (
	"maps"

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
	eventsDesc = prometheus.NewDesc("metastudio_live_events_total",
		"Accepted live events; types this exporter does not know count as other.",
		[]string{"tenant", "event_type"}, nil)

	requestsDesc = prometheus.NewDesc("metastudio_exporter_callback_requests_total",
		"Callback requests by result; tenant is empty when the request names no tenant.",
		[]string{"tenant", "result"}, nil)
	forwardsDesc = prometheus.NewDesc("metastudio_exporter_callback_forwards_total",
		"Relays to the tenant's forward_url by HTTP status, or timeout / network.",
		[]string{"tenant", "code"}, nil)
	trackedStreamsDesc = prometheus.NewDesc("metastudio_exporter_callback_tracked_streams",
		"Streams in the receiver's table.", nil, nil)
	evictedStreamsDesc = prometheus.NewDesc("metastudio_exporter_callback_evicted_streams_total",
		"Streams dropped because the table held max-streams; the least recently updated goes first.", nil, nil)
	trackedJobsDesc = prometheus.NewDesc("metastudio_exporter_callback_tracked_jobs",
		"Jobs in the receiver's table.", nil, nil)
	evictedJobsDesc = prometheus.NewDesc("metastudio_exporter_callback_evicted_jobs_total",
		"Jobs dropped because the table held max-streams jobs; the least recently updated goes first.", nil, nil)
	stateFileErrorsDesc = prometheus.NewDesc("metastudio_exporter_callback_state_file_errors_total",
		"State file failures: load (unreadable or corrupt at start; the file is set aside as .corrupt) or save.",
		[]string{"operation"}, nil)
)

// StreamCollector exposes the live series: stream states, jobs and event
// counts (for /metrics and /metrics?collect[]=streams).
func (rc *Receiver) StreamCollector() prometheus.Collector { return streamCollector{rc} }

// ReceiverCollector exposes the receiver's own metastudio_exporter_callback_*
// series.
func (rc *Receiver) ReceiverCollector() prometheus.Collector { return receiverCollector{rc} }

type streamCollector struct{ rc *Receiver }

func (streamCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- streamStateDesc
	ch <- streamStateTimeDesc
	ch <- jobLastEventDesc
	ch <- scriptParagraphDesc
	ch <- eventsDesc
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
	events := make(map[[2]string]uint64, len(rc.counters.events))
	maps.Copy(events, rc.counters.events)
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
	for k, n := range events {
		ch <- prometheus.MustNewConstMetric(eventsDesc, prometheus.CounterValue, float64(n), k[0], k[1])
	}
}

type receiverCollector struct{ rc *Receiver }

func (receiverCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- requestsDesc
	ch <- forwardsDesc
	ch <- trackedStreamsDesc
	ch <- evictedStreamsDesc
	ch <- trackedJobsDesc
	ch <- evictedJobsDesc
	ch <- stateFileErrorsDesc
}

func (c receiverCollector) Collect(ch chan<- prometheus.Metric) {
	rc := c.rc
	rc.prune()
	rc.mu.Lock()
	ms := []prometheus.Metric{
		prometheus.MustNewConstMetric(trackedStreamsDesc, prometheus.GaugeValue, float64(len(rc.table.streams))),
		prometheus.MustNewConstMetric(evictedStreamsDesc, prometheus.CounterValue, float64(rc.table.evictedStreams)),
		prometheus.MustNewConstMetric(trackedJobsDesc, prometheus.GaugeValue, float64(len(rc.table.jobs))),
		prometheus.MustNewConstMetric(evictedJobsDesc, prometheus.CounterValue, float64(rc.table.evictedJobs)),
	}
	for k, n := range rc.counters.requests {
		ms = append(ms, prometheus.MustNewConstMetric(requestsDesc, prometheus.CounterValue, float64(n), k[0], k[1]))
	}
	for k, n := range rc.counters.forwards {
		ms = append(ms, prometheus.MustNewConstMetric(forwardsDesc, prometheus.CounterValue, float64(n), k[0], k[1]))
	}
	for _, op := range []string{stateOpLoad, stateOpSave} {
		ms = append(ms, prometheus.MustNewConstMetric(stateFileErrorsDesc, prometheus.CounterValue, float64(rc.counters.stateErrors[op]), op))
	}
	rc.mu.Unlock()
	for _, m := range ms {
		ch <- m
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func seconds(ms int64) float64 { return float64(ms) / 1000 }
