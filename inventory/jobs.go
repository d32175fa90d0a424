package inventory

import (
	"context"
	"slices"
	"time"

	"github.com/go-kit/log/level"

	"github.com/metastudio-exporter/metastudio_exporter/internal/promlabel"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

// jobsView is a tenant's live jobs as last refreshed; like roomsView it
// never changes once stored.
type jobsView struct {
	// up is whether the last refresh, both listings, succeeded;
	// lastSuccess is when the last one that did ended.
	up          bool
	lastSuccess time.Time
	// active are the WAITING and PROCESSING jobs, counted by state.
	active              []*liveJob
	waiting, processing int
	// failed are the newest FAILED and BLOCKED jobs of the failed window,
	// newest first.
	failed []*failedJob
}

// liveJob is one WAITING or PROCESSING job, its labels bounded once.
type liveJob struct {
	roomID                        string // as the API spells it, to find its room
	roomLabel, id, state, resType string
	duration, streamDuration      float64
	start                         float64 // Unix seconds; 0 when not reported
	callback                      *jobCallback
	// auth is the callback the job runs with, key and URL included, for
	// the receiver to verify the job's events with; nil when it reports
	// none. It never becomes a label.
	auth *metastudio.CallbackAuth
}

// jobCallback is what monitoring keeps of the callback a job runs with.
type jobCallback struct{ authType, scheme string }

// failedJob is one FAILED or BLOCKED job.
type failedJob struct {
	roomLabel, id, state, errorCode string
	at                              float64 // Unix seconds: end, else last update
}

// watchJobs refreshes t's live jobs every JobsInterval.
func (inv *Inventory) watchJobs(ctx context.Context, w *watch) {
	for {
		inv.refreshJobs(ctx, w)
		if !w.wait(ctx, w.tenant.LiveJobs.RefreshInterval) {
			return
		}
	}
}

// refreshJobs lists the WAITING and PROCESSING jobs, then the FAILED and
// BLOCKED ones created within the failed window. A listing that fails
// keeps what the last one found, and the refresh stops there: the second
// call would most likely fail alike, and a throttled tenant must slow down.
func (inv *Inventory) refreshJobs(ctx context.Context, w *watch) {
	w.jobsMu.Lock()
	defer w.jobsMu.Unlock()
	next := viewAfter(w.jobs.Load())
	var listed []metastudio.LiveJob
	var total int
	err := inv.call(ctx, w, func(ctx context.Context) (err error) {
		listed, total, err = inv.api.ListLiveJobs(ctx, w.tenant.Target, metastudio.JobQuery{States: activeStates, Max: maxActiveJobs})
		return err
	})
	if err == nil {
		next.active, next.waiting, next.processing = activeJobs(listed)
		if total > maxActiveJobs {
			inv.warnTooManyJobs(w, total)
		}
		since := time.Now().Add(-w.tenant.LiveJobs.FailedWindow)
		err = inv.call(ctx, w, func(ctx context.Context) (err error) {
			listed, _, err = inv.api.ListLiveJobs(ctx, w.tenant.Target, metastudio.JobQuery{States: failedStates, CreateSince: since, Max: maxFailedListed})
			return err
		})
		if err == nil {
			next.failed = failedJobs(listed)
		}
	}
	if ctx.Err() != nil {
		return
	}
	inv.logOutcome(w, &w.jobFails, jobsLog, err)
	next.up = err == nil
	if err == nil {
		next.lastSuccess = time.Now()
	}
	w.jobs.Store(next)
}

// warnTooManyJobs logs, once per watch, that the tenant lists more active
// jobs than are watched.
func (inv *Inventory) warnTooManyJobs(w *watch, total int) {
	if w.firstTime(&w.warnedTooManyJobs) {
		_ = level.Warn(inv.logger).Log("msg", "Tenant runs more live jobs than are watched; the rest have no series",
			"tenant", w.tenant.Name, "jobs", total, "watched", maxActiveJobs)
	}
}

// activeJobs keeps the WAITING and PROCESSING jobs of a listing (a job
// that changed state while it was paged through is left for the next
// one), counts them by state, and leaves out a job whose bounded id
// repeats an earlier one's.
func activeJobs(listed []metastudio.LiveJob) (jobs []*liveJob, waiting, processing int) {
	jobs = make([]*liveJob, 0, len(listed))
	seen := make(map[string]bool, len(listed))
	for i := range listed {
		l := &listed[i]
		if l.State != metastudio.JobWaiting && l.State != metastudio.JobProcessing {
			continue
		}
		j := &liveJob{
			roomID:         l.RoomID,
			roomLabel:      promlabel.Bounded(l.RoomID),
			id:             promlabel.Bounded(l.JobID),
			state:          l.State,
			resType:        promlabel.Bounded(l.UsedResourceType),
			duration:       l.Duration,
			streamDuration: l.StreamDuration,
			start:          unixSeconds(l.StartTime),
		}
		if seen[j.id] {
			continue
		}
		seen[j.id] = true
		j.auth = l.Callback
		if cb := l.Callback; cb != nil && cb.URL.Reveal() != "" {
			j.callback = &jobCallback{authType: authTypeLabel(cb.AuthType), scheme: schemeOf(cb.URL.Reveal())}
		}
		if j.state == metastudio.JobWaiting {
			waiting++
		} else {
			processing++
		}
		jobs = append(jobs, j)
	}
	return jobs, waiting, processing
}

// failedJobs keeps the newest maxFailedJobs FAILED and BLOCKED jobs of a
// listing, newest first by end time, else last update time; a job with
// neither cannot be placed and is left out, as is a repeated id.
func failedJobs(listed []metastudio.LiveJob) []*failedJob {
	jobs := make([]*failedJob, 0, len(listed))
	for i := range listed {
		l := &listed[i]
		if l.State != metastudio.JobFailed && l.State != metastudio.JobBlocked {
			continue
		}
		at := l.EndTime
		if at.IsZero() {
			at = l.LastUpdateTime
		}
		if at.IsZero() {
			continue
		}
		jobs = append(jobs, &failedJob{
			roomLabel: promlabel.Bounded(l.RoomID),
			id:        promlabel.Bounded(l.JobID),
			state:     l.State,
			errorCode: promlabel.Bounded(l.ErrorCode),
			at:        unixSeconds(at),
		})
	}
	slices.SortStableFunc(jobs, func(a, b *failedJob) int {
		switch {
		case a.at > b.at:
			return -1
		case a.at < b.at:
			return 1
		}
		return 0
	})
	seen := make(map[string]bool, maxFailedJobs)
	out := jobs[:0]
	for _, j := range jobs {
		if len(out) == maxFailedJobs {
			break
		}
		if !seen[j.id] {
			seen[j.id] = true
			out = append(out, j)
		}
	}
	return slices.Clip(out)
}

// unixSeconds is t as a sample value; 0 for the zero time.
func unixSeconds(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}
