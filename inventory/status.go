package inventory

import (
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/config"
)

// Status is what the inventory holds of one tenant now, for the status
// page: the same memory the scrapes are served from, read without a call
// and without counting as demand. It holds no secret: of a callback, only
// its auth type, scheme and whether its URL carries credentials.
type Status struct {
	// Watched says the tenant's rooms or jobs are refreshed now: it was
	// scraped for them within DemandWindow.
	Watched bool
	// Rooms and Jobs are nil while that kind is not watched or its first
	// refresh has not ended.
	Rooms *RoomsStatus
	Jobs  *JobsStatus
}

// RoomsStatus is a tenant's rooms as last listed.
type RoomsStatus struct {
	Up          bool // the last rooms call succeeded
	LastSuccess time.Time
	Interval    time.Duration // rooms.refresh_interval
	// Listed rooms are watched, Detailed of them have had their detail
	// fetched; Skipped are past max_rooms.
	Listed, Detailed, Skipped int
	// Own are the rooms with settings of their own, in listing order.
	Own []RoomStatus
}

// RoomStatus is a room that sets something itself. A nil field is a
// setting it leaves to its tenant.
type RoomStatus struct {
	ID, Name, Type, State string // label values, bounded
	// Repeats is play_policy.repeat_count, -1 for until stopped.
	Repeats *int
	// MaxDuration and MaxExceptionWaiting are the room's
	// live_exit_config; 0 is no limit.
	MaxDuration, MaxExceptionWaiting *time.Duration
	Callback                         *CallbackStatus
}

// CallbackStatus is what may be shown of a callback URL of a room's or a
// job's own.
type CallbackStatus struct {
	AuthType string
	Scheme   string // https, http or other
	// Credentials says the URL's query carries a value (rooms only).
	Credentials bool
}

// JobsStatus is a tenant's live jobs as last listed.
type JobsStatus struct {
	Up          bool // the last refresh, both listings, succeeded
	LastSuccess time.Time
	Interval    time.Duration // live_jobs.refresh_interval
	// Running are the WAITING and PROCESSING jobs in listing order;
	// Failed the FAILED and BLOCKED ones of the failed window, newest
	// first.
	Running []JobStatus
	Failed  []FailedJobStatus
}

// JobStatus is a WAITING or PROCESSING job.
type JobStatus struct {
	ID, RoomID, State, ResourceType string
	Duration, StreamDuration        time.Duration // as reported
	Start                           time.Time     // zero when not reported
	// MaxDuration is the limit that applies, the room's or else the
	// tenant's (0 = none); MaxDurationKnown is false while neither is
	// known, as for metastudio_live_job_max_duration_seconds.
	MaxDuration      time.Duration
	MaxDurationKnown bool
	// Callback is the callback the job runs with; nil when it reports
	// none.
	Callback *CallbackStatus
}

// FailedJobStatus is a FAILED or BLOCKED job.
type FailedJobStatus struct {
	ID, RoomID, State, ErrorCode string
	At                           time.Time // end, else last update
}

// Status returns what the inventory holds of t. It calls nothing and does
// not keep t watched.
func (inv *Inventory) Status(t *config.Tenant) Status {
	inv.mu.Lock()
	w := inv.watches[t.Key()]
	inv.mu.Unlock()
	if w == nil {
		return Status{}
	}
	out := Status{Watched: true}
	rooms := w.rooms.Load()
	if rooms != nil {
		out.Rooms = roomsStatus(rooms, w.tenant.Rooms.RefreshInterval)
	}
	if jobs := w.jobs.Load(); jobs != nil {
		tenantMax, known := inv.limits.maxDuration(t)
		out.Jobs = jobsStatus(jobs, w.tenant.LiveJobs.RefreshInterval,
			jobLimits{rooms, w.tenant.Rooms.RefreshInterval > 0, tenantMax, known})
	}
	return out
}

func roomsStatus(v *roomsView, interval time.Duration) *RoomsStatus {
	s := &RoomsStatus{Up: v.up, LastSuccess: v.lastSuccess, Interval: interval, Listed: len(v.rooms), Skipped: v.skipped}
	for _, r := range v.rooms {
		if r.own == nil {
			continue
		}
		s.Detailed++
		o := r.own
		if o.repeats == nil && o.maxDuration == nil && o.maxExceptionWaiting == nil && o.callback == nil {
			continue
		}
		rs := RoomStatus{ID: r.idLabel, Name: r.name, Type: r.roomType, State: r.state,
			MaxDuration: seconds(o.maxDuration), MaxExceptionWaiting: seconds(o.maxExceptionWaiting)}
		if o.repeats != nil {
			n := int(*o.repeats)
			rs.Repeats = &n
		}
		if cb := o.callback; cb != nil {
			rs.Callback = &CallbackStatus{AuthType: cb.authType, Scheme: cb.scheme, Credentials: cb.credentials}
		}
		s.Own = append(s.Own, rs)
	}
	return s
}

func jobsStatus(v *jobsView, interval time.Duration, limits jobLimits) *JobsStatus {
	s := &JobsStatus{Up: v.up, LastSuccess: v.lastSuccess, Interval: interval}
	for _, j := range v.active {
		js := JobStatus{ID: j.id, RoomID: j.roomLabel, State: j.state, ResourceType: j.resType,
			Duration: duration(j.duration), StreamDuration: duration(j.streamDuration)}
		if j.start != 0 {
			js.Start = time.Unix(0, int64(j.start*1e9))
		}
		if limit, ok := jobLimit(j, limits.rooms, limits.roomsWatched, limits.tenantMax, limits.tenantKnown); ok {
			js.MaxDuration, js.MaxDurationKnown = duration(limit), true
		}
		if cb := j.callback; cb != nil {
			js.Callback = &CallbackStatus{AuthType: cb.authType, Scheme: cb.scheme}
		}
		s.Running = append(s.Running, js)
	}
	for _, f := range v.failed {
		s.Failed = append(s.Failed, FailedJobStatus{ID: f.id, RoomID: f.roomLabel, State: f.state, ErrorCode: f.errorCode,
			At: time.Unix(0, int64(f.at*1e9))})
	}
	return s
}

// duration turns seconds as the API reports them into a Duration.
func duration(seconds float64) time.Duration { return time.Duration(seconds * float64(time.Second)) }

func seconds(v *float64) *time.Duration {
	if v == nil {
		return nil
	}
	d := duration(*v)
	return &d
}
