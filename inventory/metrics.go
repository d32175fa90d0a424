package inventory

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

// tenantDesc is a per-tenant Desc: tenant is always its first label. It
// records the family's name and help in described.
func tenantDesc(name, help string, labels ...string) *prometheus.Desc {
	d := prometheus.NewDesc("metastudio_"+name, help, append([]string{"tenant"}, labels...), nil)
	described[d] = family{name: "metastudio_" + name, help: help}
	return d
}

// family is one family of series the inventory serves.
type family struct{ name, help string }

// described is every Desc's family, which a Desc does not tell.
var described = map[*prometheus.Desc]family{}

var (
	roomsUpDesc = tenantDesc("rooms_up",
		"1 if the last rooms call of this tenant (the listing or a room's detail) succeeded.")
	roomsLastSuccessDesc = tenantDesc("rooms_last_success_timestamp_seconds",
		"When the last rooms call of this tenant that succeeded ended; 0 if none has.")
	roomsIntervalDesc = tenantDesc("rooms_refresh_interval_seconds",
		"rooms.refresh_interval of this tenant: how often its rooms are listed, their details fetched in between.")
	roomsSkippedDesc = tenantDesc("rooms_skipped",
		"Rooms of this tenant past rooms.max_rooms at the last listing: not watched.")
	roomInfoDesc = tenantDesc("room_info",
		"One series per room; always 1.", "room_id", "room_name", "room_type", "room_state")
	roomRepeatsDesc = tenantDesc("room_play_repeats",
		"The room's play_policy.repeat_count; -1 means it repeats until stopped. Absent when the room sets none.", "room_id")
	roomMaxDurationDesc = tenantDesc("room_live_max_duration_seconds",
		"The room's own play_policy.live_exit_config.max_live_duration in seconds; 0 means none. Absent when the room sets none.", "room_id")
	roomMaxExceptionWaitingDesc = tenantDesc("room_live_max_exception_waiting_seconds",
		"The room's own play_policy.live_exit_config.max_exception_waiting_duration in seconds; 0 means none. Absent when the room sets none.", "room_id")
	roomCallbackHTTPSDesc = tenantDesc("room_event_callback_https",
		"1 if the room's own live event callback URL is https; only for a room with a callback URL of its own.", "room_id")
	roomCallbackAuthTypeDesc = tenantDesc("room_event_callback_auth_type_info",
		"The auth type of the room's own live event callback; always 1; only for a room with a callback URL of its own.", "room_id", "auth_type")
	roomCallbackCredentialsDesc = tenantDesc("room_event_callback_url_credentials",
		"1 if the room's own live event callback URL carries a query parameter with a value (a token, for auth type NONE); only for a room with a callback URL of its own.", "room_id")

	jobsUpDesc = tenantDesc("live_jobs_up",
		"1 if the last live jobs refresh of this tenant (both listings) succeeded.")
	jobsLastSuccessDesc = tenantDesc("live_jobs_last_success_timestamp_seconds",
		"When the last live jobs refresh of this tenant that succeeded ended; 0 if none has.")
	jobsIntervalDesc = tenantDesc("live_jobs_refresh_interval_seconds",
		"live_jobs.refresh_interval of this tenant: how often its live jobs are listed.")
	jobsDesc = tenantDesc("live_jobs",
		"Live jobs of this tenant in this state now.", "state")
	jobInfoDesc = tenantDesc("live_job_info",
		"One series per WAITING or PROCESSING live job; always 1.", "room_id", "job_id", "state", "used_resource_type")
	jobDurationDesc = tenantDesc("live_job_duration_seconds",
		"How long the live job has been live, as reported.", "room_id", "job_id")
	jobStreamDurationDesc = tenantDesc("live_job_stream_duration_seconds",
		"How long the live job's RTMP push has been up, as reported.", "room_id", "job_id")
	jobStartDesc = tenantDesc("live_job_start_timestamp_seconds",
		"When the live job started; absent when not reported.", "room_id", "job_id")
	jobMaxDurationDesc = tenantDesc("live_job_max_duration_seconds",
		"The duration limit that applies to the live job: its room's if the room sets one, else the tenant's; 0 means none. Absent while neither is known.", "room_id", "job_id")
	jobCallbackDesc = tenantDesc("live_job_event_callback_info",
		"The live event callback the job runs with; always 1; absent when it reports none.", "room_id", "job_id", "auth_type", "scheme")
	jobFailedDesc = tenantDesc("live_job_failed_timestamp_seconds",
		"End (else last update) time of a FAILED or BLOCKED live job of the failed window; the newest 20 per tenant.", "room_id", "job_id", "state", "error_code")
)

var (
	roomsDescs = []*prometheus.Desc{
		roomsUpDesc, roomsLastSuccessDesc, roomsIntervalDesc, roomsSkippedDesc, roomInfoDesc,
		roomRepeatsDesc, roomMaxDurationDesc, roomMaxExceptionWaitingDesc,
		roomCallbackHTTPSDesc, roomCallbackAuthTypeDesc, roomCallbackCredentialsDesc,
	}
	jobsDescs = []*prometheus.Desc{
		jobsUpDesc, jobsLastSuccessDesc, jobsIntervalDesc, jobsDesc, jobInfoDesc,
		jobDurationDesc, jobStreamDurationDesc, jobStartDesc, jobMaxDurationDesc,
		jobCallbackDesc, jobFailedDesc,
	}
)

// families are every family served, in name order; familyIndex finds a
// Desc's place among them.
var (
	families, familyIndex = sortedFamilies(append(slices.Clone(roomsDescs), jobsDescs...))
)

func sortedFamilies(descs []*prometheus.Desc) ([]family, map[*prometheus.Desc]int) {
	slices.SortFunc(descs, func(a, b *prometheus.Desc) int { return strings.Compare(described[a].name, described[b].name) })
	fs := make([]family, len(descs))
	index := make(map[*prometheus.Desc]int, len(descs))
	for i, d := range descs {
		fs[i], index[d] = described[d], i
	}
	return fs, index
}

// Kinds are the parts a scrape asks for: collect[]=rooms and collect[]=jobs.
type Kinds struct{ Rooms, Jobs bool }

// Collector returns a Collector of the kinds of tenants, from memory. Each
// collection counts as serving those tenants: the first starts watching a
// tenant, and each keeps it watched for DemandWindow. It never waits for
// a refresh: a tenant whose first refresh has not ended yet has no series.
func (inv *Inventory) Collector(kinds Kinds, tenants ...*config.Tenant) prometheus.Collector {
	return &collector{inv: inv, kinds: kinds, tenants: tenants}
}

type collector struct {
	inv     *Inventory
	kinds   Kinds
	tenants []*config.Tenant
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	if c.kinds.Rooms {
		for _, d := range roomsDescs {
			ch <- d
		}
	}
	if c.kinds.Jobs {
		for _, d := range jobsDescs {
			ch <- d
		}
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	c.inv.emit(c.kinds, c.tenants, func(_ *prometheus.Desc, m prometheus.Metric) { ch <- m })
}

// Gatherer returns the kinds of tenants' rooms and jobs as a Gatherer that
// serves them as Collector's registry would, without one: each family's
// const metrics written out and sorted by label values, a repeated series
// left out with an error. A registry's gathering (a goroutine and a channel
// send per series, then its checks) cost more than building the series.
func (inv *Inventory) Gatherer(kinds Kinds, tenants ...*config.Tenant) prometheus.Gatherer {
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		metrics := make([][]*dto.Metric, len(families))
		var errs prometheus.MultiError
		inv.emit(kinds, tenants, func(d *prometheus.Desc, m prometheus.Metric) {
			dm := new(dto.Metric)
			if err := m.Write(dm); err != nil {
				errs = append(errs, err)
				return
			}
			i := familyIndex[d]
			metrics[i] = append(metrics[i], dm)
		})
		var out []*dto.MetricFamily
		for i, ms := range metrics {
			if len(ms) == 0 {
				continue
			}
			slices.SortFunc(ms, compareLabelValues)
			ms = slices.CompactFunc(ms, func(a, b *dto.Metric) bool {
				if compareLabelValues(a, b) != 0 {
					return false
				}
				errs = append(errs, fmt.Errorf("collected metric %s was collected before with the same name and label values", series(families[i].name, b)))
				return true
			})
			out = append(out, &dto.MetricFamily{Name: &families[i].name, Help: &families[i].help, Type: dto.MetricType_GAUGE.Enum(), Metric: ms})
		}
		return out, errs.MaybeUnwrap()
	})
}

// compareLabelValues orders the series of one family, whose label pairs
// are sorted by name, as client_golang orders them: by their label values
// in that order.
func compareLabelValues(a, b *dto.Metric) int {
	for i, lp := range a.GetLabel() {
		if c := strings.Compare(lp.GetValue(), b.GetLabel()[i].GetValue()); c != 0 {
			return c
		}
	}
	return 0
}

// series is a series as an exposition shows it, name{label="value",...}.
func series(name string, m *dto.Metric) string {
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('{')
	for i, lp := range m.GetLabel() {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%q", lp.GetName(), lp.GetValue())
	}
	b.WriteByte('}')
	return b.String()
}

// emit hands put every series of the kinds of tenants, with its Desc, or
// an invalid metric for a series client_golang refuses. Each call counts
// as serving those tenants.
func (inv *Inventory) emit(kinds Kinds, tenants []*config.Tenant, put func(*prometheus.Desc, prometheus.Metric)) {
	if !kinds.Rooms && !kinds.Jobs {
		return
	}
	now := time.Now()
	for _, t := range tenants {
		w := inv.served(t, now)
		if w == nil {
			continue
		}
		e := emitter{put: put, tenant: t.Name}
		rooms := w.rooms.Load()
		if kinds.Rooms && rooms != nil {
			e.rooms(rooms, w.settings.RoomsInterval)
		}
		if jobs := w.jobs.Load(); kinds.Jobs && jobs != nil {
			tenantMax, known := inv.limits.maxDuration(t)
			e.jobs(jobs, w.settings.JobsInterval, jobLimits{rooms, w.settings.RoomsInterval > 0, tenantMax, known})
		}
	}
}

// emitter sends one tenant's series; every one starts with the tenant label.
type emitter struct {
	put    func(*prometheus.Desc, prometheus.Metric)
	tenant string
}

// gauge sends a sample of d; values are d's labels besides tenant. A
// label value client_golang refuses (not UTF-8) becomes an invalid metric
// that names the tenant.
func (e emitter) gauge(d *prometheus.Desc, v float64, values ...string) {
	var buf [6]string // tenant and at most five more: kept off the heap
	m, err := prometheus.NewConstMetric(d, prometheus.GaugeValue, v, append(append(buf[:0], e.tenant), values...)...)
	if err != nil {
		m = prometheus.NewInvalidMetric(d, fmt.Errorf("tenant %q: %w", e.tenant, err))
	}
	e.put(d, m)
}

func (e emitter) status(up, lastSuccess, interval *prometheus.Desc, ok bool, at time.Time, every time.Duration) {
	e.gauge(up, boolValue(ok))
	e.gauge(lastSuccess, unixSeconds(at))
	e.gauge(interval, every.Seconds())
}

func (e emitter) rooms(v *roomsView, interval time.Duration) {
	e.status(roomsUpDesc, roomsLastSuccessDesc, roomsIntervalDesc, v.up, v.lastSuccess, interval)
	e.gauge(roomsSkippedDesc, float64(v.skipped))
	for _, r := range v.rooms {
		e.gauge(roomInfoDesc, 1, r.idLabel, r.name, r.roomType, r.state)
		s := r.own
		if s == nil {
			continue
		}
		if s.repeats != nil {
			e.gauge(roomRepeatsDesc, *s.repeats, r.idLabel)
		}
		if s.maxDuration != nil {
			e.gauge(roomMaxDurationDesc, *s.maxDuration, r.idLabel)
		}
		if s.maxExceptionWaiting != nil {
			e.gauge(roomMaxExceptionWaitingDesc, *s.maxExceptionWaiting, r.idLabel)
		}
		if cb := s.callback; cb != nil {
			e.gauge(roomCallbackHTTPSDesc, boolValue(cb.https), r.idLabel)
			e.gauge(roomCallbackAuthTypeDesc, 1, r.idLabel, cb.authType)
			e.gauge(roomCallbackCredentialsDesc, boolValue(cb.credentials), r.idLabel)
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

// jobs sends the jobs series of v.
func (e emitter) jobs(v *jobsView, interval time.Duration, limits jobLimits) {
	e.status(jobsUpDesc, jobsLastSuccessDesc, jobsIntervalDesc, v.up, v.lastSuccess, interval)
	e.gauge(jobsDesc, float64(v.waiting), metastudio.JobWaiting)
	e.gauge(jobsDesc, float64(v.processing), metastudio.JobProcessing)
	for _, j := range v.active {
		e.gauge(jobInfoDesc, 1, j.roomLabel, j.id, j.state, j.resType)
		e.gauge(jobDurationDesc, j.duration, j.roomLabel, j.id)
		e.gauge(jobStreamDurationDesc, j.streamDuration, j.roomLabel, j.id)
		if j.start != 0 {
			e.gauge(jobStartDesc, j.start, j.roomLabel, j.id)
		}
		if limit, ok := jobLimit(j, limits.rooms, limits.roomsWatched, limits.tenantMax, limits.tenantKnown); ok {
			e.gauge(jobMaxDurationDesc, limit, j.roomLabel, j.id)
		}
		if cb := j.callback; cb != nil {
			e.gauge(jobCallbackDesc, 1, j.roomLabel, j.id, cb.authType, cb.scheme)
		}
	}
	for _, f := range v.failed {
		e.gauge(jobFailedDesc, f.at, f.roomLabel, f.id, f.state, f.errorCode)
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
