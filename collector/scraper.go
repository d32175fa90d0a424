package collector

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/metastudio-exporter/metastudio_exporter/callslots"
	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/internal/failstreak"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

// Fetcher is the one thing the collector needs from MetaStudio.
// *metastudio.Client implements it; benchmarks and tests may use others.
type Fetcher interface {
	GetUserConfig(ctx context.Context, t metastudio.Target) (*metastudio.UserConfig, error)
}

// Options tune a Scraper.
type Options struct {
	// MaxConcurrency bounds upstream calls in flight across all scrapes.
	// It is ignored when Slots is set.
	MaxConcurrency int
	// Slots is the bound on upstream calls in flight that scrapes share
	// with background calls, ahead of them; nil means a pool of
	// MaxConcurrency slots for scrapes alone.
	Slots  *callslots.Pool
	Logger log.Logger
	// Now is the clock for durations, cache ages and backoff windows; nil
	// means time.Now. Call deadlines always use the real clock.
	Now func() time.Time
	// Rand returns a number in [0, 1) for the jitter of backoff windows;
	// nil means math/rand/v2.
	Rand func() float64
	// CallbackExternalURL is the live-event receiver's public base URL
	// (--callback.external-url); when set, every tenant gets
	// metastudio_live_event_callback_routed_here.
	CallbackExternalURL string
}

// Scraper fetches tenants' settings for /metrics and /probe. One Scraper
// serves every request, so that its concurrency bound holds across scrapes
// and scrapes of one tenant share its state (state.go): a call in flight,
// the last good answer and the throttling backoff.
type Scraper struct {
	fetcher Fetcher
	slots   *callslots.Pool
	logger  log.Logger
	now     func() time.Time
	rand    func() float64
	states  stateTable
	// receiverRoute is CallbackRoute(CallbackExternalURL) + "/callback/",
	// resolved once; "" without an external URL.
	receiverRoute string
	// onJoin, when set by a test, runs when a scrape starts waiting for
	// another scrape's call, so tests can line scrapes up without sleeps.
	onJoin func(tenant string)
}

// NewScraper returns a Scraper that calls f.
func NewScraper(f Fetcher, opts Options) *Scraper {
	if opts.MaxConcurrency < 1 {
		opts.MaxConcurrency = 1
	}
	if opts.Logger == nil {
		opts.Logger = log.NewNopLogger()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Rand == nil {
		opts.Rand = rand.Float64
	}
	if opts.Slots == nil {
		opts.Slots = callslots.New(opts.MaxConcurrency, 1)
	}
	s := &Scraper{
		fetcher: f,
		slots:   opts.Slots,
		logger:  opts.Logger,
		now:     opts.Now,
		rand:    opts.Rand,
	}
	if route := strings.TrimSuffix(metastudio.CallbackRoute(opts.CallbackExternalURL), "/"); route != "" {
		s.receiverRoute = route + "/callback/"
	}
	return s
}

// Retain forgets the state of every tenant not in tenants, which must be
// the whole current tenant set, so that state does not pile up as tenants
// come and go across reloads.
func (s *Scraper) Retain(tenants []*config.Tenant) { s.states.retain(tenants) }

// result is one tenant's outcome in one scrape.
type result struct {
	settings metastudio.Settings
	auth     metastudio.CallbackAuth // only from a call, not from the cache
	err      error
	duration time.Duration
	age      time.Duration
}

var (
	// errNotStarted is a tenant whose call never started because the
	// scrape that wanted it had ended: its deadline passed or its client
	// went away. Nothing new starts for a scrape nobody waits for.
	errNotStarted = errors.New("scrape ended before this tenant's call could start (see --scrape.max-concurrency and the scrape timeout)")
	// errNoSlot is a call that waited for the concurrency bound until the
	// tenant's own timeout.
	errNoSlot = errors.New("no free upstream slot within the tenant's timeout (see --scrape.max-concurrency)")
	// errWaitCall is a scrape that ran out of time (or whose client went
	// away) while the tenant's call, its own or one it shares with other
	// scrapes, was still going; the call itself logs how it ends.
	errWaitCall = errors.New("scrape ended while waiting for the tenant's upstream call")

	// The errors of calls that never left the process are shared values:
	// a scrape that reaches no tenant allocates nothing per tenant for it.
	notStartedErr = &metastudio.Error{Reason: metastudio.ReasonTimeout, Op: metastudio.OpGetUserConfig, Err: errNotStarted}
	noSlotErr     = &metastudio.Error{Reason: metastudio.ReasonTimeout, Op: metastudio.OpGetUserConfig, Err: errNoSlot}
)

// notReached reports whether err is a call that never left the process.
// Such calls are not the tenant's failure: they are neither logged one by
// one nor recorded in its state, and the scrape sums them up in one line.
func notReached(err error) bool { return err == notStartedErr || err == noSlotErr }

// scrapeAll fetches every tenant and returns their results in order. It
// returns when every tenant has finished, which ctx bounds. Once ctx is
// done no call starts; the tenants left are reported as not reached.
func (s *Scraper) scrapeAll(ctx context.Context, tenants []*config.Tenant) []result {
	results := make([]result, len(tenants))
	// A worker per free slot rather than a goroutine per tenant: with
	// thousands of tenants most goroutines would only wait for a slot.
	workers := min(len(tenants), s.slots.Size())
	var next, unreached atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(tenants); i = int(next.Add(1) - 1) {
				r := &results[i]
				if ctx.Err() != nil {
					r.err = notStartedErr
				} else {
					*r = s.fetch(ctx, tenants[i], true)
				}
				if notReached(r.err) {
					unreached.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if n := unreached.Load(); n > 0 {
		cause := "deadline"
		if errors.Is(ctx.Err(), context.Canceled) {
			cause = "client went away"
		}
		_ = level.Warn(s.logger).Log("msg", "Scrape ended before some tenants' calls could start; they report up 0 with reason timeout",
			"not_reached", n, "tenants", len(tenants), "cause", cause,
			"hint", "raise the scrape timeout or --scrape.max-concurrency")
	}
	return results
}

// fetch returns t's outcome for one scrape, and how long it took: from
// its cache (if useCache) or its backoff if it can, and otherwise from a
// call, its own or one another scrape started, which it waits for. The
// checks run under the tenant's lock, so that no answer slips between them.
//
// A shared call runs to the deadline of the scrape that started it (the
// leader), capped by the tenant's timeout. When the leader's scrape deadline
// is shorter than a waiter's and the call times out, the waiter starts a
// call of its own with the time it has left: waiting must never leave a
// scrape worse off than calling alone, and a waiter with less time than the
// leader simply stops waiting at its own deadline. The same holds when the
// leader's scrape ended before its call could start. A call that hit the
// tenant's own timeout is not repeated: that is the tenant's verdict.
func (s *Scraper) fetch(ctx context.Context, t *config.Tenant, useCache bool) (r result) {
	start := s.now()
	defer func() { r.duration = s.now().Sub(start) }()
	st := s.states.get(t.Key())
	for now := start; ; now = s.now() {
		st.mu.Lock()
		if settings, age, ok := st.cached(t, now); ok && useCache {
			st.mu.Unlock()
			return result{settings: settings, age: age}
		}
		if err := st.backingOff(now); err != nil {
			st.mu.Unlock()
			_ = level.Debug(s.logger).Log("msg", "Not calling a throttled tenant", "tenant", t.Name, "err", err)
			return result{err: err}
		}
		f := st.flight
		switch {
		case f != nil:
			st.mu.Unlock()
			if s.onJoin != nil {
				s.onJoin(t.Name)
			}
		case ctx.Err() != nil:
			st.mu.Unlock()
			return result{err: notStartedErr}
		default:
			// This scrape leads a call, which runs to its deadline capped
			// by the tenant's timeout, for every scrape that joins it.
			f = &flight{tenant: t, state: st, done: make(chan struct{}), deadline: time.Now().Add(t.Timeout)}
			if d, ok := ctx.Deadline(); ok && d.Before(f.deadline) {
				f.deadline, f.cutShort = d, true
			}
			st.flight = f
			st.mu.Unlock()
			go s.call(ctx, f)
		}
		select {
		case <-f.done:
		case <-ctx.Done():
			if !awaitEnding(ctx, f) {
				err := &metastudio.Error{Reason: metastudio.ReasonTimeout, Op: metastudio.OpGetUserConfig, Err: errWaitCall}
				_ = level.Debug(s.logger).Log("msg", "Scrape ended before the tenant's call", "tenant", t.Name, "err", err)
				return result{err: err}
			}
		}
		if f.err == nil {
			return result{settings: f.settings, auth: f.auth}
		}
		if !retries(ctx, f) {
			return result{err: f.err}
		}
	}
}

// callEndGrace is how long a scrape whose deadline has passed waits for a
// call bounded by that same deadline to notice it. The call's own outcome
// says more than "ran out of time", and the request metrics gathered after
// the tenants then count it; the grace only matters if a Fetcher is slow to
// honour its context, and --scrape.timeout-offset leaves room for it.
const callEndGrace = 200 * time.Millisecond

// awaitEnding reports whether f ended, waiting up to callEndGrace if ctx
// reached a deadline that f's call shares (or precedes). A scrape whose
// client went away, or that gave up before a longer call, does not wait.
func awaitEnding(ctx context.Context, f *flight) bool {
	d, ok := ctx.Deadline()
	if !ok || !errors.Is(ctx.Err(), context.DeadlineExceeded) || f.deadline.After(d) {
		select {
		case <-f.done:
			return true
		default:
			return false
		}
	}
	t := time.NewTimer(callEndGrace)
	defer t.Stop()
	select {
	case <-f.done:
		return true
	case <-t.C:
		return false
	}
}

// retries reports whether a scrape with ctx should lead a call of its own
// after f failed: f's leader left before the call started, or f timed out
// at its leader's shorter deadline, and this scrape still has time.
func retries(ctx context.Context, f *flight) bool {
	if ctx.Err() != nil {
		return false
	}
	if f.err == notStartedErr {
		return true
	}
	if !f.cutShort || metastudio.ReasonOf(f.err) != metastudio.ReasonTimeout {
		return false
	}
	d, ok := ctx.Deadline()
	return !ok || d.After(f.deadline)
}

// call makes f's upstream call within the concurrency bound, records its
// outcome in the tenant's state and wakes every scrape waiting for it. A
// failure is logged here, once per call, however many scrapes waited.
// startCtx is the leader's scrape: until the call starts, its end stops the
// call; once started, only f's deadline bounds it, so that the scrapes
// sharing the call still get its answer. The leader's own cancellation
// (its client went away) does not end a started call: waiters may still
// want it.
func (s *Scraper) call(startCtx context.Context, f *flight) {
	callCtx, cancel := context.WithDeadline(context.WithoutCancel(startCtx), f.deadline)
	defer cancel()
	if f.err = s.takeSlot(startCtx, callCtx); f.err == nil {
		uc, err := s.fetcher.GetUserConfig(callCtx, f.tenant.Target)
		s.slots.Release(callslots.Scrape)
		if f.err = err; err == nil {
			f.settings, f.auth = uc.Effective(), uc.CallbackAuth()
		}
	}
	r := s.rand()
	st := f.state
	st.mu.Lock()
	st.flight = nil
	var window time.Duration
	var notice failstreak.Notice
	if !notReached(f.err) {
		now := s.now()
		window = st.record(f, now, r)
		if f.err != nil {
			notice = st.fails.Failed(metastudio.ReasonOf(f.err), now)
		} else {
			notice = st.fails.Succeeded(now)
		}
	}
	st.mu.Unlock()
	// Logged before the waiters wake, so that a scrape's failure is in the
	// log by the time its answer is.
	switch {
	case notReached(f.err):
		// The scrape's summary line counts it.
	case f.err != nil:
		s.logFailure(f.tenant.Name, f.err, window, notice)
	default:
		s.logSuccess(f.tenant.Name, f.settings.Hash, notice)
	}
	close(f.done)
}

// takeSlot waits for a slot of the concurrency bound, or says why the call
// may not start. A free slot is taken without looking at the contexts, so
// they are asked again once it is: a call must never start for a scrape
// that has ended.
func (s *Scraper) takeSlot(startCtx, callCtx context.Context) error {
	if startCtx.Err() != nil {
		return notStartedErr
	}
	if !s.slots.Acquire(callslots.Scrape, startCtx.Done(), callCtx.Done()) {
		return notStartable(startCtx, callCtx)
	}
	if err := notStartable(startCtx, callCtx); err != nil {
		s.slots.Release(callslots.Scrape)
		return err
	}
	return nil
}

// notStartable says why a call may not start now, or nil if it may: the
// leader's scrape has ended, or the tenant's own timeout passed while the
// call waited for a slot.
func notStartable(startCtx, callCtx context.Context) error {
	switch {
	case startCtx.Err() != nil:
		return notStartedErr
	case callCtx.Err() != nil:
		return noSlotErr
	}
	return nil
}
