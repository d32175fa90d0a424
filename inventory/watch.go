package inventory

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/callslots"
	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/internal/failstreak"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

// maxSlowdown is how far throttling stretches a tenant's background
// intervals: each throttled answer doubles them, up to this factor, until
// a call succeeds. A Retry-After is honoured within the same cap.
const maxSlowdown = 4

// watch is one tenant's refreshes and what they found. The rooms and jobs
// views are immutable once stored: a refresh stores a new one, and a scrape
// serves whichever it loads, without a lock or a copy.
type watch struct {
	// tenant is the tenant the watch started for: its rooms: and
	// live_jobs: keys are the watch's settings, and a reload that changes
	// them starts another watch.
	tenant *config.Tenant
	stop   context.CancelFunc
	// servedAt is when a scrape last served the tenant, in Unix nanoseconds.
	servedAt atomic.Int64

	rooms atomic.Pointer[roomsView] // nil until the first rooms call ended
	jobs  atomic.Pointer[jobsView]  // nil until the first jobs refresh ended
	// jobsMu runs one jobs refresh at a time, the watch's own or one the
	// receiver asks for, so that neither stores a view older than the
	// other's.
	jobsMu sync.Mutex

	mu sync.Mutex // guards what follows
	// slowdown stretches every interval of the tenant while it is
	// throttled: 1, 2 or maxSlowdown.
	slowdown int
	// holdUntil is the end of the last Retry-After.
	holdUntil           time.Time
	roomFails, jobFails failstreak.Streak
	warnedSkipped       bool // the rooms past max_rooms were logged
	warnedTooManyJobs   bool // the jobs past maxActiveJobs were logged
}

func newWatch(t *config.Tenant) *watch {
	return &watch{tenant: t, slowdown: 1}
}

// viewAfter returns a copy of prev, the rooms or jobs view a refresh
// found, for the next refresh to change and store; an empty view before
// the first.
func viewAfter[V roomsView | jobsView](prev *V) *V {
	next := new(V)
	if prev != nil {
		*next = *prev
	}
	return next
}

// firstTime sets flag, one of the watch's warned flags, and reports
// whether it was unset: the warning it stands for is logged once a watch.
func (w *watch) firstTime(flag *bool) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	first := !*flag
	*flag = true
	return first
}

// wait waits for base stretched by the tenant's slowdown, or to the end of
// its Retry-After (within maxSlowdown × base) if that is later, and
// reports whether the watch still runs.
func (w *watch) wait(ctx context.Context, base time.Duration) bool {
	w.mu.Lock()
	d := base * time.Duration(w.slowdown)
	if hold := time.Until(w.holdUntil); hold > d {
		d = min(hold, maxSlowdown*base)
	}
	w.mu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// throttled records a call's outcome for the slowdown: a throttled answer
// doubles it (and holds calls for its Retry-After), a success ends it.
func (w *watch) throttled(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err == nil {
		w.slowdown, w.holdUntil = 1, time.Time{}
		return
	}
	if metastudio.ReasonOf(err) != metastudio.ReasonThrottled {
		return
	}
	w.slowdown = min(w.slowdown*2, maxSlowdown)
	var e *metastudio.Error
	if errors.As(err, &e) && e.RetryAfter > 0 {
		w.holdUntil = time.Now().Add(e.RetryAfter)
	}
}

// call makes one background call for w within the budget: it waits for a
// slot behind every scrape, and fn runs for at most the tenant's timeout.
// Once the watch has stopped it returns the watch's error without calling;
// callers then record nothing.
func (inv *Inventory) call(ctx context.Context, w *watch, fn func(context.Context) error) error {
	return inv.callFor(ctx, w.tenant, func(ctx context.Context) error {
		err := fn(ctx)
		w.throttled(err)
		return err
	})
}

// callFor makes one background call for t within the budget, as call does,
// whether a watch runs for t or not.
func (inv *Inventory) callFor(ctx context.Context, t *config.Tenant, fn func(context.Context) error) error {
	if !inv.slots.Acquire(callslots.Background, ctx.Done(), nil) {
		return ctx.Err()
	}
	defer inv.slots.Release(callslots.Background)
	if err := ctx.Err(); err != nil {
		return err
	}
	timeout := t.Timeout
	if timeout <= 0 {
		timeout = config.DefaultTimeout
	}
	callCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return fn(callCtx)
}

// How each kind's refreshes log.
var (
	roomsLog = failstreak.Lines{Failed: "Refreshing rooms failed", Still: "Refreshing rooms still failing", Recovered: "Refreshing rooms succeeded again"}
	jobsLog  = failstreak.Lines{Failed: "Refreshing live jobs failed", Still: "Refreshing live jobs still failing", Recovered: "Refreshing live jobs succeeded again"}
)

// logOutcome logs a call of one kind as its failure streak says: a warn
// line when the kind starts failing or fails for another reason, at most
// one every failstreak.WarnEvery while it goes on, an info line when it
// recovers, debug otherwise.
func (inv *Inventory) logOutcome(w *watch, streak *failstreak.Streak, lines failstreak.Lines, err error) {
	now := time.Now()
	w.mu.Lock()
	var n failstreak.Notice
	if err != nil {
		n = streak.Failed(metastudio.ReasonOf(err), now)
	} else {
		n = streak.Succeeded(now)
	}
	slowdown := w.slowdown
	w.mu.Unlock()

	if err == nil {
		lines.Recovery(inv.logger, w.tenant.Name, n)
		return
	}
	logger, kv := lines.Failure(inv.logger, w.tenant.Name, n)
	kv = metastudio.AppendLogFields(kv, err)
	if slowdown > 1 {
		kv = append(kv, "slowdown", slowdown)
	}
	kv = append(kv, "err", err)
	_ = logger.Log(kv...)
}
