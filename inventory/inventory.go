// Package inventory watches what runs in each tenant: its rooms (with each
// room's own play policy and callback) and its live jobs. It refreshes them
// in the background, within a budget of upstream calls shared with the
// scrapes, and serves them from memory, so that a scrape never waits for
// them and still makes exactly one user-config call per tenant.
//
// Refresh follows demand: a tenant is watched while it is served, that is
// scraped with rooms or jobs selected, and for DemandWindow after; the
// first such scrape starts it. Replicas behind hashmod sharding thus each
// watch their own share, and the API calls do not multiply with them.
package inventory

import (
	"context"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/metastudio-exporter/metastudio_exporter/callslots"
	"github.com/metastudio-exporter/metastudio_exporter/config"
)

// DemandWindow is how long a tenant is watched after the last scrape that
// served its rooms or jobs. Past it the refreshes stop and the cache is
// dropped: nobody reads it, and this replica may no longer be the one that
// scrapes the tenant.
const DemandWindow = 10 * time.Minute

// idleCheckEvery is how often watches are checked against DemandWindow, so
// a tenant stops being watched between DemandWindow and this much later.
const idleCheckEvery = time.Minute

// DefaultMaxConcurrency is --background.max-concurrency's default: the most
// background calls in flight at once, across all tenants.
const DefaultMaxConcurrency = 4

// Options tune an Inventory; the zero value is usable.
type Options struct {
	// Slots bounds the upstream calls in flight, shared with the scrapes,
	// which go first. nil means a pool of DefaultMaxConcurrency slots of
	// its own.
	Slots  *callslots.Pool
	Logger log.Logger
}

// Inventory is every watched tenant's rooms and jobs. Its methods are safe
// for concurrent use.
type Inventory struct {
	api    API
	slots  *callslots.Pool
	logger log.Logger
	limits tenantLimits

	mu      sync.Mutex
	closed  bool
	watches map[config.Key]*watch
	// current is the key set of the tenant set last passed to Retain;
	// nil until then, when every tenant served may be watched.
	current map[config.Key]struct{}
	// listedJobs are the WAITING and PROCESSING jobs JobCallback listed
	// for tenants whose jobs no watch lists, for its lookups alone.
	listedJobs map[config.Key][]*liveJob
	// idleCheck is whether the goroutine that stops idle watches runs; it
	// runs while any watch does.
	idleCheck bool
	// done is closed by Close.
	done chan struct{}
	// running counts every goroutine started, for Close to wait on.
	running sync.WaitGroup
}

// New returns an Inventory that calls api. It watches nothing until a
// scrape serves a tenant.
func New(api API, opts Options) *Inventory {
	if opts.Slots == nil {
		opts.Slots = callslots.New(DefaultMaxConcurrency, DefaultMaxConcurrency)
	}
	if opts.Logger == nil {
		opts.Logger = log.NewNopLogger()
	}
	return &Inventory{
		api:     api,
		slots:   opts.Slots,
		logger:  opts.Logger,
		watches: map[config.Key]*watch{},
		done:    make(chan struct{}),
	}
}

// served marks t as served at now and returns its watch, started by this
// call if none runs. It returns nil for a tenant that watches nothing, one
// that left the tenant set (a scrape that began before a reload), and
// after Close: nothing starts then.
func (inv *Inventory) served(t *config.Tenant, now time.Time) *watch {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if w := inv.watches[t.Key()]; w != nil {
		w.servedAt.Store(now.UnixNano())
		return w
	}
	if inv.closed {
		return nil
	}
	if inv.current != nil {
		if _, ok := inv.current[t.Key()]; !ok {
			return nil
		}
	}
	if !watched(t) {
		return nil
	}
	w := newWatch(t)
	w.servedAt.Store(now.UnixNano())
	inv.watches[t.Key()] = w
	ctx, cancel := context.WithCancel(context.Background())
	w.stop = cancel
	if t.Rooms.RefreshInterval > 0 {
		inv.running.Go(func() { inv.watchRooms(ctx, w) })
	}
	if t.LiveJobs.RefreshInterval > 0 {
		inv.running.Go(func() { inv.watchJobs(ctx, w) })
	}
	if !inv.idleCheck {
		inv.idleCheck = true
		inv.running.Go(inv.stopIdle)
	}
	_ = level.Debug(inv.logger).Log("msg", "Watching rooms and live jobs", "tenant", t.Name,
		"rooms_interval", t.Rooms.RefreshInterval, "live_jobs_interval", t.LiveJobs.RefreshInterval)
	return w
}

// stopIdle stops, every idleCheckEvery, the watches no scrape has served
// for DemandWindow, and returns once none is left.
func (inv *Inventory) stopIdle() {
	t := time.NewTicker(idleCheckEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-inv.done:
			return
		}
		now := time.Now()
		inv.mu.Lock()
		for k, w := range inv.watches {
			if idle := now.Sub(time.Unix(0, w.servedAt.Load())); idle > DemandWindow {
				inv.forgetLocked(k, w)
				_ = level.Debug(inv.logger).Log("msg", "Stopped watching rooms and live jobs: not scraped for them", "tenant", w.tenant.Name, "idle", idle.Round(time.Second))
			}
		}
		if len(inv.watches) == 0 {
			inv.idleCheck = false
			inv.mu.Unlock()
			return
		}
		inv.mu.Unlock()
	}
}

// forgetLocked stops w and drops it with its cache.
func (inv *Inventory) forgetLocked(k config.Key, w *watch) {
	w.stop()
	delete(inv.watches, k)
}

// Retain stops watching every tenant not in tenants, which must be the
// whole current tenant set, and every tenant whose settings changed; their
// series go at once. A tenant whose Key changed (another project, endpoint
// or credentials behind its name) is another tenant: it starts afresh at
// its next scrape.
func (inv *Inventory) Retain(tenants []*config.Tenant) {
	keep := make(map[config.Key]*config.Tenant, len(tenants))
	names := make(map[string]bool, len(tenants))
	for _, t := range tenants {
		keep[t.Key()] = t
		names[t.Name] = true
	}
	inv.mu.Lock()
	for k, w := range inv.watches {
		t, ok := keep[k]
		if !ok || !sameWatch(t, w.tenant) {
			inv.forgetLocked(k, w)
		}
	}
	inv.current = make(map[config.Key]struct{}, len(keep))
	for k := range keep {
		inv.current[k] = struct{}{}
	}
	for k := range inv.listedJobs {
		if _, ok := keep[k]; !ok {
			delete(inv.listedJobs, k)
		}
	}
	inv.mu.Unlock()
	inv.limits.retain(names)
}

// watched reports whether t's rooms: or live_jobs: keys watch anything.
func watched(t *config.Tenant) bool {
	return t.Rooms.RefreshInterval > 0 || t.LiveJobs.RefreshInterval > 0
}

// sameWatch reports whether a watch started for old runs as one for t
// would: the same rooms: and live_jobs: keys and the same timeout, which
// bounds each call.
func sameWatch(t, old *config.Tenant) bool {
	return t.Rooms == old.Rooms && t.LiveJobs == old.LiveJobs && t.Timeout == old.Timeout
}

// Close stops every refresh and waits for them; nothing starts after it.
func (inv *Inventory) Close() {
	inv.mu.Lock()
	if !inv.closed {
		inv.closed = true
		close(inv.done)
	}
	for k, w := range inv.watches {
		inv.forgetLocked(k, w)
	}
	inv.listedJobs = nil
	inv.mu.Unlock()
	inv.running.Wait()
}

// watching returns how many tenants are watched now.
func (inv *Inventory) watching() int {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	return len(inv.watches)
}
