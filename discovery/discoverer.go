package discovery

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

// Options tune a Discoverer; the zero value is usable.
type Options struct {
	Logger log.Logger       // nil = no logs
	Now    func() time.Time // nil = time.Now; stamps the last success
	// NewTicker returns the refresh ticks of one source and a stop
	// function; nil = time.NewTicker. Tests drive refreshes with it.
	NewTicker func(time.Duration) (<-chan time.Time, func())
	// Previous is the Discoverer this one replaces on a config reload. A
	// source at the same index with the same settings starts from its list
	// and last success, so that reloading drops no tenant; every source at
	// an index keeps its error count, so the counter stays monotonic.
	// Names already logged as clashing are not logged again. Close
	// Previous after New returns.
	Previous *Discoverer
}

// Discoverer refreshes its sources in the background and serves the merged
// list of discovered tenants. Its methods are safe for concurrent use.
type Discoverer struct {
	client    *metastudio.Client
	logger    log.Logger
	now       func() time.Time
	newTicker func(time.Duration) (<-chan time.Time, func())
	sources   []*sourceState // by Index

	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	startOnce sync.Once
	closeOnce sync.Once
	initDone  chan struct{}

	mu          sync.Mutex
	initPending int
	static      map[string]bool
	merged      []Project
	clashLogged map[string]bool // names logged as held by a static tenant
	dupLogged   map[string]bool // name+"\x00"+source logged as served by an earlier source
	changes     chan struct{}
	stopping    bool // Close has begun: Start must not add goroutines
	closed      bool // changes is closed
}

type sourceState struct {
	src       Source
	label     string
	refreshMu sync.Mutex // one refresh of a source at a time, so results land in order

	// Guarded by Discoverer.mu.
	projects    []Project
	lastSuccess time.Time
	listed      int   // projects the last successful list held, for Status
	lastErr     error // of the last refresh; nil once one succeeds
	errors      int
	failing     bool
	served      int
	skipLogged  map[string]string // project id → reason already logged
}

// New returns a Discoverer for sources; it calls nothing until Start.
// Sources are served in Index order: of two sources that find the same
// tenant name, the lower index wins.
func New(client *metastudio.Client, sources []Source, opts Options) (*Discoverer, error) {
	d := &Discoverer{
		client:      client,
		logger:      opts.Logger,
		now:         opts.Now,
		newTicker:   opts.NewTicker,
		initDone:    make(chan struct{}),
		static:      map[string]bool{},
		clashLogged: map[string]bool{},
		dupLogged:   map[string]bool{},
		changes:     make(chan struct{}, 1),
	}
	if d.logger == nil {
		d.logger = log.NewNopLogger()
	}
	if d.now == nil {
		d.now = time.Now
	}
	if d.newTicker == nil {
		d.newTicker = func(p time.Duration) (<-chan time.Time, func()) {
			t := time.NewTicker(p)
			return t.C, t.Stop
		}
	}
	seen := map[int]bool{}
	for _, src := range sources {
		switch {
		case seen[src.Index]:
			return nil, fmt.Errorf("discovery[%d]: index used twice", src.Index)
		case len(src.Regions) == 0:
			return nil, fmt.Errorf("discovery[%d]: no regions", src.Index)
		case src.RefreshInterval < 0 || src.Timeout < 0:
			return nil, fmt.Errorf("discovery[%d]: negative refresh interval or timeout", src.Index)
		}
		seen[src.Index] = true
		d.sources = append(d.sources, &sourceState{src: src, label: strconv.Itoa(src.Index), skipLogged: map[string]string{}})
	}
	slices.SortFunc(d.sources, func(a, b *sourceState) int { return cmp.Compare(a.src.Index, b.src.Index) })
	d.ctx, d.cancel = context.WithCancel(context.Background())
	if opts.Previous != nil {
		d.inherit(opts.Previous)
	}
	d.mu.Lock()
	d.mergeLocked()
	d.mu.Unlock()
	return d, nil
}

// inherit takes over what a reload must not lose from prev.
func (d *Discoverer) inherit(prev *Discoverer) {
	prev.mu.Lock()
	defer prev.mu.Unlock()
	old := map[int]*sourceState{}
	for _, st := range prev.sources {
		old[st.src.Index] = st
	}
	for _, st := range d.sources {
		o := old[st.src.Index]
		if o == nil {
			continue
		}
		st.errors = o.errors
		if sameSettings(o.src, st.src) {
			st.projects, st.lastSuccess, st.failing = o.projects, o.lastSuccess, o.failing
			st.listed, st.lastErr = o.listed, o.lastErr
			for k, v := range o.skipLogged {
				st.skipLogged[k] = v
			}
		}
	}
	for k := range prev.static {
		d.static[k] = true
	}
	for k := range prev.clashLogged {
		d.clashLogged[k] = true
	}
	for k := range prev.dupLogged {
		d.dupLogged[k] = true
	}
}

// sameSettings tells whether b lists and filters exactly as a does.
func sameSettings(a, b Source) bool {
	ca, cb := a.Credentials, b.Credentials
	sameIAM := ca.IAM == cb.IAM || ca.IAM != nil && cb.IAM != nil && *ca.IAM == *cb.IAM
	sameRegex := a.NameRegex == nil && b.NameRegex == nil ||
		a.NameRegex != nil && b.NameRegex != nil && a.NameRegex.String() == b.NameRegex.String()
	return ca.AccessKey == cb.AccessKey && ca.SecretKey == cb.SecretKey && ca.SecurityToken == cb.SecurityToken && sameIAM &&
		a.IAMEndpoint == b.IAMEndpoint && slices.Equal(a.Regions, b.Regions) && sameRegex &&
		a.NamePrefix == b.NamePrefix && a.Endpoint == b.Endpoint
}

// Start refreshes every source now and then every RefreshInterval, each in
// its own goroutine, until Close. Calls after the first do nothing.
func (d *Discoverer) Start() {
	d.startOnce.Do(func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.stopping {
			return
		}
		d.initPending = len(d.sources)
		if d.initPending == 0 {
			close(d.initDone)
		}
		for _, st := range d.sources {
			d.wg.Add(1)
			go d.run(st)
		}
	})
}

func (d *Discoverer) run(st *sourceState) {
	defer d.wg.Done()
	d.refreshSource(d.ctx, st)
	d.mu.Lock()
	if d.initPending--; d.initPending == 0 {
		close(d.initDone)
	}
	d.mu.Unlock()
	ticks, stop := d.newTicker(cmp.Or(st.src.RefreshInterval, DefaultRefreshInterval))
	defer stop()
	for {
		select {
		case <-d.ctx.Done():
			return
		case <-ticks:
			d.refreshSource(d.ctx, st)
		}
	}
}

// Initialized is closed once every source has finished its first refresh
// after Start, successfully or not: a readiness check can wait for it.
func (d *Discoverer) Initialized() <-chan struct{} { return d.initDone }

// Refresh refreshes every source now, one after the other in index order,
// so that the outcome and its log lines do not depend on which IAM answer
// comes first (the background refreshes run concurrently). Failures are
// logged and counted as in the background; a refresh that ctx or Close
// cuts short counts as nothing.
func (d *Discoverer) Refresh(ctx context.Context) {
	for _, st := range d.sources {
		d.refreshSource(ctx, st)
	}
}

// Close stops the background refreshes, waits for them and closes the
// Changes channel. The last list stays readable.
func (d *Discoverer) Close() {
	d.closeOnce.Do(func() {
		d.mu.Lock()
		d.stopping = true
		d.mu.Unlock()
		d.cancel()
		d.wg.Wait()
		d.mu.Lock()
		d.closed = true
		close(d.changes)
		d.mu.Unlock()
	})
}

// Changes receives a value whenever the merged list of Projects changed;
// changes that come faster than they are read coalesce into one. It is
// closed by Close.
func (d *Discoverer) Changes() <-chan struct{} { return d.changes }

// SetStatic sets the names of the tenants configured by hand. A discovered
// project of the same name is not served (the static tenant wins) and is
// logged once.
func (d *Discoverer) SetStatic(names []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.static = make(map[string]bool, len(names))
	for _, n := range names {
		d.static[n] = true
	}
	d.mergeLocked()
}

// Projects returns the discovered tenants served now, sorted by tenant
// name: no name a static tenant holds, each name once.
func (d *Discoverer) Projects() []Project {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.merged)
}

// refreshSource lists the source's projects once; on failure the last list
// stays.
func (d *Discoverer) refreshSource(parent context.Context, st *sourceState) {
	st.refreshMu.Lock()
	defer st.refreshMu.Unlock()
	if d.ctx.Err() != nil {
		return
	}
	ctx, cancel := context.WithTimeout(parent, cmp.Or(st.src.Timeout, DefaultTimeout))
	stopOnClose := context.AfterFunc(d.ctx, cancel)
	list, err := d.client.ListProjects(ctx, st.src.IAMEndpoint, st.src.Credentials)
	stopOnClose()
	cancel()
	if err != nil {
		if parent.Err() != nil || d.ctx.Err() != nil {
			return
		}
		d.mu.Lock()
		st.errors++
		st.failing = true
		st.lastErr = err
		kept := len(st.projects)
		d.mu.Unlock()
		d.logFailure(st, err, kept)
		return
	}
	kept, skipped := Select(st.src, list)
	d.mu.Lock()
	defer d.mu.Unlock()
	if st.failing {
		_ = level.Info(d.logger).Log("msg", "Discovery refresh succeeded again", "source", st.label, "tenants", len(kept))
		st.failing = false
	}
	d.logSkippedLocked(st, skipped)
	added, removed := diffNames(st.projects, kept)
	if len(added)+len(removed) > 0 {
		_ = level.Info(d.logger).Log("msg", "Discovered projects changed", "source", st.label,
			"tenants", len(kept), "added", len(added), "removed", len(removed))
		_ = level.Debug(d.logger).Log("msg", "Discovered projects changed", "source", st.label,
			"added", strings.Join(added, ","), "removed", strings.Join(removed, ","))
	}
	st.projects = kept
	st.lastSuccess = d.now()
	st.listed, st.lastErr = len(list), nil
	d.mergeLocked()
}
