// Package receiver takes MetaStudio's live-event callbacks: it verifies each
// request against its tenant's own live settings, keeps a bounded table of
// stream states and jobs that survives restarts through a state file,
// relays verified events to the tenant's app, and exposes all of it as
// metrics.
package receiver

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"golang.org/x/sync/singleflight"

	"github.com/metastudio-exporter/metastudio_exporter/internal/fixedlabels"
)

// Options are the receiver's settings from the command line. A zero value
// means the default.
type Options struct {
	MaxClockSkew time.Duration // accepted distance of hwTime from now; default 5m
	MaxStreams   int           // streams (and jobs) tracked at once; default 2000
	EndRetention time.Duration // how long a stream in END stays; default 15m
	StateFile    string        // where the table is kept across restarts; "" = nowhere
	// SettingsMaxAge is the oldest tenant settings a verification may use;
	// older ones are refetched first. Default 5m.
	SettingsMaxAge time.Duration
	// ForwardTimeout bounds a relay whose tenant's settings carry no
	// timeout of their own. Default 5s.
	ForwardTimeout time.Duration

	Logger log.Logger       // default: none
	Now    func() time.Time // default time.Now
	// AfterFunc is time.AfterFunc, returning the timer's Stop: the timer
	// that writes the per-minute warn lines' counts. Tests pass a fake
	// clock's. Default time.AfterFunc.
	AfterFunc  func(d time.Duration, f func()) (stop func() bool)
	HTTPClient *http.Client // for relays; default: one that follows no redirect
}

// Defaults of Options.
const (
	DefaultMaxClockSkew   = 5 * time.Minute
	DefaultMaxStreams     = 2000
	DefaultEndRetention   = 15 * time.Minute
	DefaultSettingsMaxAge = 5 * time.Minute
	DefaultForwardTimeout = 5 * time.Second
)

// Receiver verifies, records and relays live events. Its methods are safe
// for concurrent use.
type Receiver struct {
	source SettingsSource
	logger log.Logger
	now    func() time.Time
	after  afterFunc
	client *http.Client
	skew   time.Duration
	maxAge time.Duration
	// forwardTimeout is Options.ForwardTimeout.
	forwardTimeout time.Duration

	limiter   refetchLimiter
	refetches singleflight.Group
	// jobLimiter and jobRefreshes are the same for listing a tenant's
	// live jobs to find a job's callback key.
	jobLimiter   refetchLimiter
	jobRefreshes singleflight.Group
	replay       replayCache

	// rejections and relayFailures say at warn level, once a minute per
	// kind, what debug says per request.
	rejections, relayFailures *rateLog

	conns connMetrics // the listener's, once Listen is called

	// labels are the tenant set's fixed labels, for the series.
	labels atomic.Pointer[fixedlabels.Lookup]

	mu        sync.Mutex
	table     *table
	counters  counters
	dirty     bool // the table changed since the state file was last written
	recent    recentRing
	lastEvent map[string]time.Time // receipt of each tenant's last accepted event

	state     *stateWriter // nil without a state file
	closeOnce sync.Once
	closeErr  error
}

// New builds a receiver that gets tenants' settings from source. With a
// state file it reads the file (a missing one is an empty table; an unusable
// one is logged, counted, set aside as <file>.corrupt and replaced by an
// empty table) and starts writing it; Close stops that.
func New(opts Options, source SettingsSource) (*Receiver, error) {
	if source == nil {
		return nil, errors.New("receiver: no settings source")
	}
	if opts.MaxClockSkew < 0 || opts.MaxStreams < 0 || opts.EndRetention < 0 || opts.SettingsMaxAge < 0 || opts.ForwardTimeout < 0 {
		return nil, fmt.Errorf("receiver: max clock skew (%s), max streams (%d), end retention (%s), settings max age (%s) and forward timeout (%s) must not be negative",
			opts.MaxClockSkew, opts.MaxStreams, opts.EndRetention, opts.SettingsMaxAge, opts.ForwardTimeout)
	}
	opts.SettingsMaxAge = cmp.Or(opts.SettingsMaxAge, DefaultSettingsMaxAge)
	opts.MaxClockSkew = cmp.Or(opts.MaxClockSkew, DefaultMaxClockSkew)
	opts.MaxStreams = cmp.Or(opts.MaxStreams, DefaultMaxStreams)
	opts.EndRetention = cmp.Or(opts.EndRetention, DefaultEndRetention)
	opts.ForwardTimeout = cmp.Or(opts.ForwardTimeout, DefaultForwardTimeout)
	if opts.Logger == nil {
		opts.Logger = log.NewNopLogger()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.AfterFunc == nil {
		opts.AfterFunc = timeAfterFunc
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = newRelayClient()
	}
	rc := &Receiver{
		source: source,
		logger: opts.Logger,
		now:    opts.Now,
		after:  opts.AfterFunc,
		client: opts.HTTPClient,
		skew:   opts.MaxClockSkew,
		maxAge: opts.SettingsMaxAge,

		forwardTimeout: opts.ForwardTimeout,
		table:          newTable(opts.MaxStreams, opts.EndRetention),

		rejections:    newRateLog(level.Warn(opts.Logger), opts.Now, opts.AfterFunc),
		relayFailures: newRateLog(level.Warn(opts.Logger), opts.Now, opts.AfterFunc),
		lastEvent:     map[string]time.Time{},
		counters:      newCounters(),
		conns:         newConnMetrics(),
	}
	if opts.StateFile != "" {
		if file, writable := rc.load(opts.StateFile); writable {
			rc.state = newStateWriter(file, rc)
			rc.state.start()
			if rc.dirty {
				rc.state.kick()
			}
		}
	}
	return rc, nil
}

// record applies an accepted event that happened at atMs and was received
// at now, unless its tenant has left the tenant set meanwhile: then it
// reports false and keeps nothing. Asking under rc.mu, which Retain takes
// too, leaves no gap between the check and the record for a removal.
func (rc *Receiver) record(tenant string, ev *event, atMs int64, now time.Time) bool {
	rc.mu.Lock()
	if !rc.source.Serves(tenant) {
		rc.mu.Unlock()
		return false
	}
	rc.counters.count(rc.counters.events, tenant, ev.typeLabel)
	rc.table.record(tenant, ev, atMs)
	rc.lastEvent[tenant] = now
	rc.dirty = true
	rc.mu.Unlock()
	rc.kickState()
	return true
}

// LastEvent is when the last event of tenant was accepted; zero if none was
// since the start or since the tenant was removed.
func (rc *Receiver) LastEvent(tenant string) time.Time {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.lastEvent[tenant]
}

// prune drops what has outlived its retention; the collectors call it, so
// that retention holds at every scrape without a timer of its own.
func (rc *Receiver) prune() {
	rc.mu.Lock()
	changed := rc.table.prune(rc.now().UnixMilli())
	rc.dirty = rc.dirty || changed
	rc.mu.Unlock()
	if changed {
		rc.kickState()
	}
}

// Retain forgets every tenant not in tenants: their streams, jobs, counters,
// replay memory, recent callbacks and refetch slots. Call it with the full
// tenant list (configured and discovered) whenever that list changes, after
// the SettingsSource serves the new list, so that a removed tenant's
// streams do not linger until they expire.
func (rc *Receiver) Retain(tenants []string) {
	keep := make(map[string]bool, len(tenants)+1)
	for _, t := range tenants {
		keep[t] = true
	}
	rc.limiter.retain(keep)
	rc.jobLimiter.retain(keep)
	rc.replay.retain(keep)
	keep[""] = true // requests of no tenant
	byTenant := func(key string) bool {
		t, _, _ := strings.Cut(key, rateKeySep)
		return keep[t]
	}
	rc.rejections.retain(byTenant)
	rc.relayFailures.retain(byTenant)
	rc.mu.Lock()
	changed := rc.table.retain(keep)
	rc.recent.retain(keep)
	for t := range rc.lastEvent {
		if !keep[t] {
			delete(rc.lastEvent, t)
		}
	}
	rc.counters.retain(keep)
	rc.dirty = rc.dirty || changed
	rc.mu.Unlock()
	if changed {
		rc.kickState()
	}
}

// Close writes the state file one last time if the table changed, and stops
// its writer; it stops the timer of the per-minute warn lines and writes the
// counts they hold. Requests served after Close are recorded but not
// written.
func (rc *Receiver) Close() error {
	rc.closeOnce.Do(func() {
		rc.rejections.close()
		rc.relayFailures.close()
		if rc.state != nil {
			rc.closeErr = rc.state.stop()
		}
	})
	return rc.closeErr
}

func (rc *Receiver) kickState() {
	if rc.state != nil {
		rc.state.kick()
	}
}

// countForward counts a relay, unless its tenant left the tenant set while
// it ran: Retain has deleted the tenant's series, and they stay deleted.
func (rc *Receiver) countForward(tenant, code string) {
	rc.mu.Lock()
	if rc.source.Serves(tenant) {
		rc.counters.count(rc.counters.forwards, tenant, code)
	}
	rc.mu.Unlock()
}

func (rc *Receiver) countStateError(op string) { rc.counters.stateErrors.WithLabelValues(op).Inc() }

// logStateError logs a state file problem once, at the edge.
func (rc *Receiver) logStateError(msg, path string, err error, kv ...any) {
	_ = level.Error(rc.logger).Log(append([]any{"msg", msg, "path", path, "err", err}, kv...)...)
}
