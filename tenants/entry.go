package tenants

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/go-kit/log/level"

	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/discovery"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

// entry is one discovery entry, known by its key: it outlives a reload
// that keeps it unchanged, list and schedule included. Every field but key
// is guarded by Set.mu.
type entry struct {
	key    string
	src    *config.DiscoverySource // the current file's entry of this key
	cancel context.CancelFunc      // stops its run
	// stopped: the entry left the set; a listing in flight lands nothing.
	stopped bool

	// own is this version's last successful list; nil until it has one.
	own *list
	// previous is what the entry served before a reload changed it: served
	// until own is set, then dropped.
	previous *list

	lastErr    string // of the last listing; "" once one succeeds
	failures   int    // in a row
	nextRetry  time.Time
	served     int    // of the list served, the tenants the set serves
	outcome    string // of the last listing logged, to log changes only
	attempts   int    // listings landed, successful or not
	skipLogged map[string]string
}

// list is one successful listing of one version of an entry, and the
// tenants its projects are served as: with that version's settings,
// credentials and endpoint, and only ever with them.
type list struct {
	// src is the version that listed, labelled as the entry serving the
	// list now.
	src     *config.DiscoverySource
	listing discovery.Listing
	tenants []*config.Tenant // by name
	at      time.Time        // when it was listed
}

func newEntry(src *config.DiscoverySource) *entry {
	return &entry{key: src.Key(), src: src, skipLogged: map[string]string{}}
}

func (e *entry) stop() {
	e.stopped = true
	if e.cancel != nil {
		e.cancel()
	}
}

// serving is the list the entry serves: its own, else its previous
// version's; nil while it has neither.
func (e *entry) serving() *list {
	if e.own != nil {
		return e.own
	}
	return e.previous
}

// label is the entry's source label: its name, else its index.
func (e *entry) label() string { return e.src.Label() }

// newList makes the tenants of listing as src serves them. A project that
// cannot be served is logged; the listing's filters skip those already.
func (s *Set) newList(src *config.DiscoverySource, listing discovery.Listing, at time.Time) *list {
	l := &list{src: src, listing: listing, at: at, tenants: make([]*config.Tenant, 0, len(listing.Projects))}
	for _, p := range listing.Projects {
		t, err := discovery.Tenant(src, p)
		if err != nil {
			_ = level.Warn(s.logger).Log("msg", "Not serving a discovered project", "source", src.Label(), "err", err)
			continue
		}
		l.tenants = append(l.tenants, t)
	}
	return l
}

// servedBy is l as e serves it now, labelled with e's name or place in
// the current file: e's own list points at e's entry of that file; the
// list of a previous version keeps that version's settings and
// credentials, under e's label.
func (s *Set) servedBy(l *list, e *entry) *list {
	src := e.src
	if l.src.Key() != e.key {
		relabelled := *l.src
		relabelled.Index, relabelled.Name = e.src.Index, e.src.Name
		src = &relabelled
	}
	return s.newList(src, l.listing, l.at)
}

// run lists e now, and again every refresh interval after a success or
// with backoff after a failure, until ctx is done.
func (s *Set) run(ctx context.Context, e *entry) {
	defer s.runs.Done()
	var wait time.Duration
	for {
		if wait > 0 {
			timer := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				timer.Stop()
				return
			case <-timer.C:
			}
		}
		s.mu.Lock()
		src := e.src
		s.mu.Unlock()
		listing, err := discovery.List(ctx, s.lister, src)
		if ctx.Err() != nil {
			return // stopped: a listing cut short counts as nothing
		}
		wait = s.record(e, listing, err)
	}
}

// record lands one listing's outcome and returns the wait before the next.
func (s *Set) record(e *entry, listing discovery.Listing, err error) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	refresh := cmp.Or(e.src.RefreshInterval, config.DefaultRefreshInterval)
	if e.stopped || s.closed {
		return refresh
	}
	e.attempts++
	if err != nil {
		e.failures++
		e.lastErr = err.Error()
		s.errors[e.label()]++
		wait := s.retryBase
		for i := 1; i < e.failures && wait < refresh; i++ {
			wait *= 2
		}
		wait = min(wait, refresh)
		e.nextRetry = s.now().Add(wait)
		kept := 0
		if l := e.serving(); l != nil {
			kept = len(l.listing.Projects)
		}
		kv := metastudio.AppendLogFields([]any{"msg", "Listing projects failed; retrying, and keeping the last list meanwhile",
			"source", e.label(), "credentials", e.src.CredentialsName}, err)
		kv = append(kv, "kept_tenants", kept, "retry_in", wait, "err", err)
		_ = level.Warn(s.logger).Log(kv...)
		e.outcome = "" // the next success is news
		return wait
	}
	// The first list of this version replaces the previous version's in
	// one step, even with the same projects: they are served with this
	// version's settings and credentials from now on.
	changed := e.own == nil || !slices.Equal(e.own.listing.Projects, listing.Projects)
	if changed {
		e.own = s.newList(e.src, listing, s.now())
	} else {
		e.own = &list{src: e.own.src, listing: listing, tenants: e.own.tenants, at: s.now()}
	}
	e.previous = nil
	e.lastErr, e.failures, e.nextRetry = "", 0, time.Time{}
	s.logSkippedLocked(e)
	if changed {
		s.publishLocked()
	}
	s.logListingLocked(e)
	return refresh
}
