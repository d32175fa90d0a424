package tenants

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
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

	listed      bool              // listing holds a successful list
	listing     discovery.Listing // the last successful one
	lastSuccess time.Time
	lastErr     string // of the last listing; "" once one succeeds
	failures    int    // in a row
	nextRetry   time.Time
	served      int    // of listing's projects, those the set serves
	outcome     string // of the last listing logged, to log changes only
	attempts    int    // listings landed, successful or not
	skipLogged  map[string]string
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

func (e *entry) label() string { return strconv.Itoa(e.src.Index) }

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
		s.errors[e.src.Index]++
		wait := s.retryBase
		for i := 1; i < e.failures && wait < refresh; i++ {
			wait *= 2
		}
		wait = min(wait, refresh)
		e.nextRetry = s.now().Add(wait)
		kv := metastudio.AppendLogFields([]any{"msg", "Listing projects failed; retrying, and keeping the last list meanwhile",
			"source", e.label(), "credentials", e.src.CredentialsName}, err)
		kv = append(kv, "kept_tenants", len(e.listing.Projects), "retry_in", wait, "err", err)
		_ = level.Warn(s.logger).Log(kv...)
		e.outcome = "" // the next success is news
		return wait
	}
	changed := !e.listed || !slices.Equal(e.listing.Projects, listing.Projects)
	e.listed, e.listing, e.lastSuccess = true, listing, s.now()
	e.lastErr, e.failures, e.nextRetry = "", 0, time.Time{}
	s.logSkippedLocked(e)
	if changed {
		s.publishLocked()
	}
	s.logListingLocked(e)
	return refresh
}

// logListingLocked logs a listing whose outcome differs from the last one
// logged: one info line, and a warning when the filters matched nothing.
func (s *Set) logListingLocked(e *entry) {
	l := &e.listing
	names := make([]string, len(l.Projects))
	for i, p := range l.Projects {
		names[i] = p.TenantName
	}
	// What is served also depends on the file and the other entries: the
	// listing's own outcome is what IAM answered and the filters kept.
	outcome := fmt.Sprintf("%d %d %d %s", l.Listed, l.Enabled, l.Matched, strings.Join(names, ","))
	if outcome == e.outcome {
		return
	}
	e.outcome = outcome
	_ = level.Info(s.logger).Log("msg", "Listed projects", "source", e.label(), "credentials", e.src.CredentialsName,
		"listed", l.Listed, "enabled", l.Enabled, "matched", l.Matched, "served", e.served)
	if l.Matched == 0 {
		_ = level.Warn(s.logger).Log("msg", "Discovery entry matched no project: check its filters", "source", e.label(),
			"credentials", e.src.CredentialsName, "regions", strings.Join(e.src.Regions, ","),
			"name_regex", e.src.NameRegexText, "name_prefix", e.src.NamePrefix, "listed", l.Listed, "enabled", l.Enabled)
	}
}

// logSkippedLocked logs a skipped project when it is first skipped (or
// skipped for a new reason), not on every listing.
func (s *Set) logSkippedLocked(e *entry) {
	now := make(map[string]string, len(e.listing.Skipped))
	for _, sk := range e.listing.Skipped {
		now[sk.ProjectID] = sk.Reason
		if e.skipLogged[sk.ProjectID] != sk.Reason {
			_ = level.Warn(s.logger).Log("msg", "Discovered project skipped", "source", e.label(),
				"project", sk.ProjectName, "project_id", sk.ProjectID, "reason", sk.Reason)
		}
	}
	e.skipLogged = now
}
