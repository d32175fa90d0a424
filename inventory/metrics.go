package inventory

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/internal/fixedlabels"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

// family is a per-tenant family: tenant is always its first label, and
// the tenant's fixed labels (labels:) follow its own.
func family(name, help string, labels ...string) fixedlabels.Family {
	return fixedlabels.Family{Name: "metastudio_" + name, Help: help, Labels: append([]string{"tenant"}, labels...)}
}

// The families, as indexes into families and into the Descs built for each
// set of fixed label names: the rooms' first, then the jobs'.
const (
	roomsUpFamily = iota
	roomsLastSuccessFamily
	roomsIntervalFamily
	roomsSkippedFamily
	roomInfoFamily
	roomRepeatsFamily
	roomMaxDurationFamily
	roomMaxExceptionWaitingFamily
	roomCallbackHTTPSFamily
	roomCallbackAuthTypeFamily
	roomCallbackCredentialsFamily
	jobsUpFamily
	jobsLastSuccessFamily
	jobsIntervalFamily
	jobsFamily
	jobInfoFamily
	jobDurationFamily
	jobStreamDurationFamily
	jobStartFamily
	jobMaxDurationFamily
	jobCallbackFamily
	jobFailedFamily
	numFamilies
)

var families = [numFamilies]fixedlabels.Family{
	roomsUpFamily: family("rooms_up",
		"1 if the last rooms call of this tenant (the listing or a room's detail) succeeded."),
	roomsLastSuccessFamily: family("rooms_last_success_timestamp_seconds",
		"When the last rooms call of this tenant that succeeded ended; 0 if none has."),
	roomsIntervalFamily: family("rooms_refresh_interval_seconds",
		"rooms.refresh_interval of this tenant: how often its rooms are listed, their details fetched in between."),
	roomsSkippedFamily: family("rooms_skipped",
		"Rooms of this tenant past rooms.max_rooms at the last listing: not watched."),
	roomInfoFamily: family("room_info",
		"One series per room; always 1.", "room_id", "room_name", "room_type", "room_state"),
	roomRepeatsFamily: family("room_play_repeats",
		"The room's play_policy.repeat_count; -1 means it repeats until stopped. Absent when the room sets none.", "room_id"),
	roomMaxDurationFamily: family("room_live_max_duration_seconds",
		"The room's own play_policy.live_exit_config.max_live_duration in seconds; 0 means none. Absent when the room sets none.", "room_id"),
	roomMaxExceptionWaitingFamily: family("room_live_max_exception_waiting_seconds",
		"The room's own play_policy.live_exit_config.max_exception_waiting_duration in seconds; 0 means none. Absent when the room sets none.", "room_id"),
	roomCallbackHTTPSFamily: family("room_event_callback_https",
		"1 if the room's own live event callback URL is https; only for a room with a callback URL of its own.", "room_id"),
	roomCallbackAuthTypeFamily: family("room_event_callback_auth_type_info",
		"The auth type of the room's own live event callback; always 1; only for a room with a callback URL of its own.", "room_id", "auth_type"),
	roomCallbackCredentialsFamily: family("room_event_callback_url_credentials",
		"1 if the room's own live event callback URL carries a query parameter with a value (a token, for auth type NONE); only for a room with a callback URL of its own.", "room_id"),
	jobsUpFamily: family("live_jobs_up",
		"1 if the last live jobs refresh of this tenant (both listings) succeeded."),
	jobsLastSuccessFamily: family("live_jobs_last_success_timestamp_seconds",
		"When the last live jobs refresh of this tenant that succeeded ended; 0 if none has."),
	jobsIntervalFamily: family("live_jobs_refresh_interval_seconds",
		"live_jobs.refresh_interval of this tenant: how often its live jobs are listed."),
	jobsFamily: family("live_jobs",
		"Live jobs of this tenant in this state now.", "state"),
	jobInfoFamily: family("live_job_info",
		"One series per WAITING or PROCESSING live job; always 1.", "room_id", "job_id", "state", "used_resource_type"),
	jobDurationFamily: family("live_job_duration_seconds",
		"How long the live job has been live, as reported.", "room_id", "job_id"),
	jobStreamDurationFamily: family("live_job_stream_duration_seconds",
		"How long the live job's RTMP push has been up, as reported.", "room_id", "job_id"),
	jobStartFamily: family("live_job_start_timestamp_seconds",
		"When the live job started; absent when not reported.", "room_id", "job_id"),
	jobMaxDurationFamily: family("live_job_max_duration_seconds",
		"The duration limit that applies to the live job: its room's if the room sets one, else the tenant's; 0 means none. Absent while neither is known.", "room_id", "job_id"),
	jobCallbackFamily: family("live_job_event_callback_info",
		"The live event callback the job runs with; always 1; absent when it reports none.", "room_id", "job_id", "auth_type", "scheme"),
	jobFailedFamily: family("live_job_failed_timestamp_seconds",
		"End (else last update) time of a FAILED or BLOCKED live job of the failed window; the newest 20 per tenant.", "room_id", "job_id", "state", "error_code"),
}

// descs are the families' Descs for each set of fixed label names served.
var descs = fixedlabels.NewDescs(families[:]...)

// Kinds are the parts a scrape asks for: collect[]=rooms and collect[]=jobs.
type Kinds struct{ Rooms, Jobs bool }

// Collector returns a Collector of the kinds of tenants, from memory. Each
// collection counts as serving those tenants: the first starts watching a
// tenant, and each keeps it watched for DemandWindow. It never waits for
// a refresh: a tenant whose first refresh has not ended yet has no series.
//
// Every series carries its tenant's fixed labels (labels:) under
// labelNames, after its own labels, with "" for a name the tenant lacks:
// labelNames are sorted and hold every label name of the tenants, as the
// tenant set's union (tenants.Snapshot.LabelNames) or, for one tenant, its
// own names do.
func (inv *Inventory) Collector(kinds Kinds, labelNames []string, tenants ...*config.Tenant) prometheus.Collector {
	return &collector{inv: inv, kinds: kinds, labelNames: labelNames, tenants: tenants}
}

type collector struct {
	inv        *Inventory
	kinds      Kinds
	labelNames []string
	tenants    []*config.Tenant
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	all := descs.For(c.labelNames)
	if c.kinds.Rooms {
		for _, d := range all[:jobsUpFamily] {
			ch <- d
		}
	}
	if c.kinds.Jobs {
		for _, d := range all[jobsUpFamily:] {
			ch <- d
		}
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	emit(c.inv.views(c.kinds, c.tenants), c.labelNames, allFamilies, sink{consts: &constMetrics{ch, descs.For(c.labelNames)}})
}

// sink takes the series emit makes: a sample of family f with the label
// values lv, in the family's order (tenant, its own labels, the fixed
// labels), or a series refused with err. It goes into a gathering, or as
// const metrics to a registry's channel, or is only counted, before a
// gathering, to size its blocks. Not an interface: the label values
// passed to one would escape to the heap, one allocation a series.
type sink struct {
	gathering *gathering
	consts    *constMetrics
	counted   *int // only counts the series, without making them
}

func (s sink) gauge(f int, v float64, tenant string, lv []string) {
	if s.gathering != nil {
		s.gathering.gauge(v, tenant, lv)
		return
	}
	s.consts.gauge(f, v, tenant, lv)
}

func (s sink) refuse(f int, err error) {
	if s.gathering != nil {
		s.gathering.refuse(err)
		return
	}
	s.consts.refuse(f, err)
}

// constMetrics sends each series as a const metric, for a registry.
type constMetrics struct {
	ch    chan<- prometheus.Metric
	descs []*prometheus.Desc // by family
}

// gauge sends a label value client_golang refuses (not UTF-8) as an
// invalid metric that names the tenant.
func (c *constMetrics) gauge(f int, v float64, tenant string, lv []string) {
	m, err := prometheus.NewConstMetric(c.descs[f], prometheus.GaugeValue, v, lv...)
	if err != nil {
		m = prometheus.NewInvalidMetric(c.descs[f], fmt.Errorf("tenant %q: %w", tenant, err))
	}
	c.ch <- m
}

func (c *constMetrics) refuse(f int, err error) { c.ch <- prometheus.NewInvalidMetric(c.descs[f], err) }

// view is what one tenant's rooms and jobs series are made from, loaded
// once a serving: a family built later comes from the same views as the
// families built before it, whatever a refresh stores meanwhile.
type view struct {
	t *config.Tenant
	// watched is the tenant the watch started for: its intervals.
	watched *config.Tenant
	rooms   *roomsView // nil when not served, or until the first rooms call ended
	jobs    *jobsView  // nil when not served, or until the first jobs refresh ended
	limits  jobLimits
}

// views loads what the kinds of tenants are served from. Each call counts
// as serving those tenants.
func (inv *Inventory) views(kinds Kinds, tenants []*config.Tenant) []view {
	if !kinds.Rooms && !kinds.Jobs {
		return nil
	}
	now := time.Now()
	out := make([]view, 0, len(tenants))
	for _, t := range tenants {
		w := inv.served(t, now)
		if w == nil {
			continue
		}
		v := view{t: t, watched: w.tenant}
		rooms := w.rooms.Load()
		if kinds.Rooms {
			v.rooms = rooms
		}
		if kinds.Jobs {
			if v.jobs = w.jobs.Load(); v.jobs != nil {
				tenantMax, known := inv.limits.maxDuration(t)
				v.limits = jobLimits{rooms, w.tenant.Rooms.RefreshInterval > 0, tenantMax, known}
			}
		}
		out = append(out, v)
	}
	return out
}

// allFamilies asks emit for the series of every family.
const allFamilies = -1

// emit hands out the series of family only (or of all families) that
// views make, tenant by tenant.
func emit(views []view, labelNames []string, only int, out sink) {
	e := emitter{out: out, labelNames: labelNames, only: only}
	rooms, jobs := only < jobsUpFamily, only == allFamilies || only >= jobsUpFamily
	for i := range views {
		v := &views[i]
		e.t = v.t
		if rooms && v.rooms != nil {
			e.rooms(v.rooms, v.watched.Rooms.RefreshInterval)
		}
		if jobs && v.jobs != nil {
			e.jobs(v.jobs, v.watched.LiveJobs.RefreshInterval, v.limits)
		}
	}
}

// emitter makes one tenant's series of family only (or of all families);
// every one starts with the tenant label and ends with the tenant's fixed
// labels.
type emitter struct {
	out        sink
	labelNames []string
	only       int
	t          *config.Tenant
}

// wants says whether a family from first to last is asked for.
func (e emitter) wants(first, last int) bool {
	return e.only == allFamilies || first <= e.only && e.only <= last
}

// gauge makes a sample of family f; values are f's labels besides tenant.
func (e emitter) gauge(f int, v float64, values ...string) {
	if !e.wants(f, f) {
		return
	}
	if e.out.counted != nil {
		*e.out.counted++
		return
	}
	// tenant, at most five more and a few fixed labels: kept off the heap.
	var buf [10]string
	lv, ok := fixedlabels.Append(append(append(buf[:0], e.t.Name), values...), e.labelNames, e.t.Labels.Names(), e.t.Labels.Values())
	if !ok {
		e.out.refuse(f, fixedlabels.NotServed(e.t.Name, e.t.Labels.Names(), e.labelNames))
		return
	}
	e.out.gauge(f, v, e.t.Name, lv)
}

func (e emitter) status(up, lastSuccess, interval int, ok bool, at time.Time, every time.Duration) {
	e.gauge(up, boolValue(ok))
	e.gauge(lastSuccess, unixSeconds(at))
	e.gauge(interval, every.Seconds())
}

func (e emitter) rooms(v *roomsView, interval time.Duration) {
	e.status(roomsUpFamily, roomsLastSuccessFamily, roomsIntervalFamily, v.up, v.lastSuccess, interval)
	e.gauge(roomsSkippedFamily, float64(v.skipped))
	if !e.wants(roomInfoFamily, roomCallbackCredentialsFamily) {
		return
	}
	for _, r := range v.rooms {
		e.gauge(roomInfoFamily, 1, r.idLabel, r.name, r.roomType, r.state)
		s := r.own
		if s == nil {
			continue
		}
		if s.repeats != nil {
			e.gauge(roomRepeatsFamily, *s.repeats, r.idLabel)
		}
		if s.maxDuration != nil {
			e.gauge(roomMaxDurationFamily, *s.maxDuration, r.idLabel)
		}
		if s.maxExceptionWaiting != nil {
			e.gauge(roomMaxExceptionWaitingFamily, *s.maxExceptionWaiting, r.idLabel)
		}
		if cb := s.callback; cb != nil {
			e.gauge(roomCallbackHTTPSFamily, boolValue(cb.https), r.idLabel)
			e.gauge(roomCallbackAuthTypeFamily, 1, r.idLabel, cb.authType)
			e.gauge(roomCallbackCredentialsFamily, boolValue(cb.credentials), r.idLabel)
		}
	}
}

// jobLimits are what decides each job's limit: its room's own setting, and
// the tenant's.
type jobLimits struct {
	rooms        *roomsView // nil until the first rooms call ended
	roomsWatched bool
	tenantMax    float64
	tenantKnown  bool
}

// jobs sends the jobs series of v; a serving that builds one family at a
// time walks the jobs only for the families that have a series a job.
func (e emitter) jobs(v *jobsView, interval time.Duration, limits jobLimits) {
	e.status(jobsUpFamily, jobsLastSuccessFamily, jobsIntervalFamily, v.up, v.lastSuccess, interval)
	e.gauge(jobsFamily, float64(v.waiting), metastudio.JobWaiting)
	e.gauge(jobsFamily, float64(v.processing), metastudio.JobProcessing)
	if e.wants(jobInfoFamily, jobCallbackFamily) {
		for _, j := range v.active {
			e.activeJob(j, limits)
		}
	}
	if e.wants(jobFailedFamily, jobFailedFamily) {
		for _, f := range v.failed {
			e.gauge(jobFailedFamily, f.at, f.roomLabel, f.id, f.state, f.errorCode)
		}
	}
}

func (e emitter) activeJob(j *liveJob, limits jobLimits) {
	e.gauge(jobInfoFamily, 1, j.roomLabel, j.id, j.state, j.resType)
	e.gauge(jobDurationFamily, j.duration, j.roomLabel, j.id)
	e.gauge(jobStreamDurationFamily, j.streamDuration, j.roomLabel, j.id)
	if j.start != 0 {
		e.gauge(jobStartFamily, j.start, j.roomLabel, j.id)
	}
	if e.wants(jobMaxDurationFamily, jobMaxDurationFamily) {
		if limit, ok := jobLimit(j, limits.rooms, limits.roomsWatched, limits.tenantMax, limits.tenantKnown); ok {
			e.gauge(jobMaxDurationFamily, limit, j.roomLabel, j.id)
		}
	}
	if cb := j.callback; cb != nil {
		e.gauge(jobCallbackFamily, 1, j.roomLabel, j.id, cb.authType, cb.scheme)
	}
}

// jobLimit is the duration limit that applies to j: its room's own if the
// room sets one, else the tenant's. It is not known while the job's room's
// detail is not (not fetched yet, or the room is past max_rooms), nor
// while the tenant's is; with rooms not watched it is the tenant's.
func jobLimit(j *liveJob, rooms *roomsView, roomsWatched bool, tenantMax float64, known bool) (float64, bool) {
	if !roomsWatched {
		return tenantMax, known
	}
	if rooms == nil {
		return 0, false
	}
	i, ok := rooms.index[j.roomID]
	if !ok || rooms.rooms[i].own == nil {
		return 0, false
	}
	if own := rooms.rooms[i].own; own.maxDuration != nil {
		return *own.maxDuration, true
	}
	return tenantMax, known
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
