package inventory

import (
	"context"
	"errors"

	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/internal/promlabel"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

// ErrJobNotListed is JobCallback's answer for a job the tenant's live jobs,
// as last listed, do not hold.
var ErrJobNotListed = errors.New("not among the tenant's WAITING and PROCESSING live jobs as last listed")

// errClosed is a listing asked for after Close.
var errClosed = errors.New("the inventory is closed")

// JobCallback returns the live event callback that job jobID of t runs
// with, key and URL included, as the tenant's live jobs were last listed:
// nil when the job reports none, and an error wrapping ErrJobNotListed
// when the listing does not hold the job. It serves the live-event
// receiver, which verifies a job's events with the job's own key.
//
// With refresh it lists t's WAITING and PROCESSING jobs first, one call
// within the background budget and t's timeout: into the watch's view if
// t is watched, else into a listing kept for these lookups alone until t
// leaves the tenant set. The caller bounds how often it asks for that;
// without refresh it makes no call.
func (inv *Inventory) JobCallback(ctx context.Context, t *config.Tenant, jobID string, refresh bool) (*metastudio.CallbackAuth, error) {
	if refresh {
		if err := inv.listJobsFor(ctx, t); err != nil {
			return nil, err
		}
	}
	id := promlabel.Bounded(jobID) // as the jobs hold their ids
	for _, j := range inv.jobsFor(t) {
		if j.id == id {
			return j.auth, nil
		}
	}
	return nil, ErrJobNotListed
}

// jobsFor returns t's WAITING and PROCESSING jobs as last listed: the
// watch's if it has listed them, else the receiver's own listing.
func (inv *Inventory) jobsFor(t *config.Tenant) []*liveJob {
	inv.mu.Lock()
	w := inv.watches[t.Key()]
	listed := inv.listedJobs[t.Key()]
	inv.mu.Unlock()
	if w != nil {
		if v := w.jobs.Load(); v != nil {
			return v.active
		}
	}
	return listed
}

// listJobsFor lists t's WAITING and PROCESSING jobs into its watch's view,
// or into listedJobs when no watch lists t's jobs.
func (inv *Inventory) listJobsFor(ctx context.Context, t *config.Tenant) error {
	inv.mu.Lock()
	closed := inv.closed
	w := inv.watches[t.Key()]
	inv.mu.Unlock()
	if closed {
		return errClosed
	}
	if w != nil && w.tenant.LiveJobs.RefreshInterval > 0 {
		w.jobsMu.Lock()
		defer w.jobsMu.Unlock()
	}
	var listed []metastudio.LiveJob
	err := inv.callFor(ctx, t, func(ctx context.Context) (err error) {
		listed, _, err = inv.api.ListLiveJobs(ctx, t.Target, metastudio.JobQuery{States: activeStates, Max: maxActiveJobs})
		return err
	})
	if err != nil {
		return err
	}
	active, waiting, processing := activeJobs(listed)
	if w != nil && w.tenant.LiveJobs.RefreshInterval > 0 {
		// The watch's view takes the new jobs; whether its last refresh
		// succeeded, and when, are the background refresh's to say.
		if prev := w.jobs.Load(); prev != nil {
			next := viewAfter(prev)
			next.active, next.waiting, next.processing = active, waiting, processing
			w.jobs.Store(next)
			return nil
		}
	}
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if inv.current != nil {
		if _, ok := inv.current[t.Key()]; !ok {
			return nil // left the tenant set meanwhile: keep nothing
		}
	}
	if inv.listedJobs == nil {
		inv.listedJobs = map[config.Key][]*liveJob{}
	}
	inv.listedJobs[t.Key()] = active
	return nil
}
