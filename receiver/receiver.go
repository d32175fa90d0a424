// Package receiver takes MetaStudio's live-event callbacks: it verifies each
// request against its tenant's own live settings, keeps a bounded table of
// stream states and jobs that survives restarts through a state file,
// relays verified events to the tenant's app, and exposes all of it as
// metrics.
package receiver

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
)

// Options are the receiver's settings from the command line. A zero value
// means the default.
type Options struct {
	MaxClockSkew time.Duration // accepted distance of hwTime from now; default 5m
	MaxStreams   int           // streams (and jobs) tracked at once; default 2000
	EndRetention time.Duration // how long a stream in END stays; default 15m
	StateFile    string        // where the table is kept across restarts; "" = nowhere

	Logger     log.Logger       // default: none
	Now        func() time.Time // default time.Now
	HTTPClient *http.Client     // for relays; default: one that follows no redirect
}

// Defaults of Options.
const (
	DefaultMaxClockSkew = 5 * time.Minute
	DefaultMaxStreams   = 2000
	DefaultEndRetention = 15 * time.Minute
)

// Receiver verifies, records and relays live events. Its methods are safe
// for concurrent use.
type Receiver struct {
	source SettingsSource
	logger log.Logger
	now    func() time.Time
	client *http.Client
	skew   time.Duration

	limiter refetchLimiter
	replay  replayCache

	mu       sync.Mutex
	table    *table
	counters counters
	dirty    bool // the table changed since the state file was last written

	state     *stateWriter // nil without a state file
	closeOnce sync.Once
	closeErr  error
}

// counters are the receiver's counters, keyed by their label values.
type counters struct {
	events      map[[2]string]uint64 // tenant, event_type
	requests    map[[2]string]uint64 // tenant, result
	forwards    map[[2]string]uint64 // tenant, code
	stateErrors map[string]uint64    // operation
}

// New builds a receiver that gets tenants' settings from source. With a
// state file it reads the file (a missing one is an empty table; an unusable
// one is logged, counted, set aside as <file>.corrupt and replaced by an
// empty table) and starts writing it; Close stops that.
func New(opts Options, source SettingsSource) (*Receiver, error) {
	if source == nil {
		return nil, errors.New("receiver: no settings source")
	}
	if opts.MaxClockSkew < 0 || opts.MaxStreams < 0 || opts.EndRetention < 0 {
		return nil, fmt.Errorf("receiver: max clock skew (%s), max streams (%d) and end retention (%s) must not be negative",
			opts.MaxClockSkew, opts.MaxStreams, opts.EndRetention)
	}
	if opts.MaxClockSkew == 0 {
		opts.MaxClockSkew = DefaultMaxClockSkew
	}
	if opts.MaxStreams == 0 {
		opts.MaxStreams = DefaultMaxStreams
	}
	if opts.EndRetention == 0 {
		opts.EndRetention = DefaultEndRetention
	}
	if opts.Logger == nil {
		opts.Logger = log.NewNopLogger()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = newRelayClient()
	}
	rc := &Receiver{
		source: source,
		logger: opts.Logger,
		now:    opts.Now,
		client: opts.HTTPClient,
		skew:   opts.MaxClockSkew,
		table:  newTable(opts.MaxStreams, opts.EndRetention),
		counters: counters{
			events:      map[[2]string]uint64{},
			requests:    map[[2]string]uint64{},
			forwards:    map[[2]string]uint64{},
			stateErrors: map[string]uint64{},
		},
	}
	if opts.StateFile != "" {
		rc.state = newStateWriter(opts.StateFile, rc)
		if rc.load(opts.StateFile) {
			rc.state.start()
		} else {
			rc.state = nil
		}
	}
	return rc, nil
}

// record applies an accepted event.
func (rc *Receiver) record(tenant string, ev *event, atMs int64) {
	rc.mu.Lock()
	rc.counters.events[[2]string{tenant, ev.typeLabel}]++
	rc.table.record(tenant, ev, atMs)
	rc.dirty = true
	rc.mu.Unlock()
	rc.kickState()
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

// Retain forgets every tenant not in tenants: their streams, jobs, counters
// and refetch slots. Call it with the full tenant list (configured and
// discovered) whenever that list changes, so that a removed tenant's
// streams do not linger until they expire.
func (rc *Receiver) Retain(tenants []string) {
	keep := make(map[string]bool, len(tenants)+1)
	for _, t := range tenants {
		keep[t] = true
	}
	rc.limiter.retain(keep)
	keep[""] = true // requests of no tenant
	rc.mu.Lock()
	changed := rc.table.retain(keep)
	for _, m := range []map[[2]string]uint64{rc.counters.events, rc.counters.requests, rc.counters.forwards} {
		for k := range m {
			if !keep[k[0]] {
				delete(m, k)
			}
		}
	}
	rc.dirty = rc.dirty || changed
	rc.mu.Unlock()
	if changed {
		rc.kickState()
	}
}

// Close writes the state file one last time if the table changed, and stops
// its writer. Requests served after Close are recorded but not written.
func (rc *Receiver) Close() error {
	rc.closeOnce.Do(func() {
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

func (rc *Receiver) countRequest(tenant string, res result) {
	rc.mu.Lock()
	rc.counters.requests[[2]string{tenant, string(res)}]++
	rc.mu.Unlock()
}

func (rc *Receiver) countForward(tenant, code string) {
	rc.mu.Lock()
	rc.counters.forwards[[2]string{tenant, code}]++
	rc.mu.Unlock()
}

func (rc *Receiver) countStateError(op string) {
	rc.mu.Lock()
	rc.counters.stateErrors[op]++
	rc.mu.Unlock()
}

// logStateError logs a state file problem once, at the edge.
func (rc *Receiver) logStateError(msg, path string, err error, kv ...any) {
	_ = level.Error(rc.logger).Log(append([]any{"msg", msg, "path", path, "err", err}, kv...)...)
}
