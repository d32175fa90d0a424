// Package tenants owns the tenant set: the file's tenants plus every
// discovery entry's matches. It loads the file, runs each entry's listing,
// and installs a reloaded file in one step with the lists of the entries
// that survive it and, for an entry it changed, the list of its previous
// version until the new one lists: no project is ever served with another
// entry's credentials or endpoint, and none disappears because a reload
// met an IAM outage. Everything else (scrapes, /sd, /probe, the receiver,
// the status page) reads its Snapshot and subscribes to changes.
package tenants

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/discovery"
)

var (
	// ErrNoConfigFile is what Reload returns for a set made of a config
	// held for good (demo mode).
	ErrNoConfigFile = errors.New("demo mode has no config file to reload")
	// ErrClosed is what Reload returns once Close has begun: nothing starts
	// after shutdown begins.
	ErrClosed = errors.New("shutting down: not reloading")
)

// DefaultRetryBase is the wait before the first retry of a failed listing;
// it doubles with every failure in a row, up to the entry's refresh
// interval.
const DefaultRetryBase = 10 * time.Second

// Options tune a Set; the zero value lists with nothing (no discovery).
type Options struct {
	Lister    discovery.Lister            // IAM; *metastudio.Client is one
	LookupEnv func(string) (string, bool) // nil = no environment
	Logger    log.Logger                  // nil = no logs
	Now       func() time.Time            // nil = time.Now
	RetryBase time.Duration               // 0 = DefaultRetryBase
}

// Set is the tenant set. Its methods are safe for concurrent use.
type Set struct {
	path      string
	lister    discovery.Lister
	lookupEnv func(string) (string, bool)
	logger    log.Logger
	now       func() time.Time
	retryBase time.Duration

	snap atomic.Pointer[Snapshot]

	// reloadMu serialises reloads, file read included, so that two that
	// overlap (SIGHUP and POST /-/reload) cannot install an older file over
	// a newer one.
	reloadMu sync.Mutex

	// mu orders every change of the set (a reload's install, a listing's
	// result, Close) and the subscribers' calls, which it is held for.
	mu          sync.Mutex
	ctx         context.Context
	cancel      context.CancelFunc
	closed      bool
	runs        sync.WaitGroup
	subscribers []func(old, new *Snapshot)
	file        *config.Config
	entries     []*entry // the current file's, in its order
	// errors counts failed listings by source label for the life of the
	// process, so that each series stays monotonic across reloads.
	errors      map[string]float64
	clashLogged map[string]bool // names logged as held by a file tenant
	dupLogged   map[string]bool // source+"\x00"+name logged as served by an earlier entry
	sameLogged  map[string]bool // source+"\x00"+name logged as a file tenant's project
	lastOK      bool
	lastSuccess time.Time
	// reloadErr and reloadFailed are the last reload's error and time
	// while it failed; nil once one succeeds.
	reloadErr    error
	reloadFailed time.Time
}

// New returns the set of the file at path. It holds nothing until the
// first successful Reload.
func New(path string, opts Options) *Set {
	s := newSet(opts)
	s.path = path
	if s.lookupEnv == nil {
		s.lookupEnv = func(string) (string, bool) { return "", false }
	}
	return s
}

// NewStatic returns the set of cfg, held for good (demo mode): Reload
// refuses with ErrNoConfigFile.
func NewStatic(cfg *config.Config, opts Options) *Set {
	s := newSet(opts)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastOK, s.lastSuccess = true, s.now()
	s.installLocked(cfg)
	return s
}

func newSet(opts Options) *Set {
	s := &Set{
		lister:      opts.Lister,
		lookupEnv:   opts.LookupEnv,
		logger:      opts.Logger,
		now:         opts.Now,
		retryBase:   opts.RetryBase,
		errors:      map[string]float64{},
		clashLogged: map[string]bool{},
		dupLogged:   map[string]bool{},
		sameLogged:  map[string]bool{},
	}
	if s.logger == nil {
		s.logger = log.NewNopLogger()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.retryBase <= 0 {
		s.retryBase = DefaultRetryBase
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s
}

// Snapshot returns the set served now; nil before the first load.
func (s *Set) Snapshot() *Snapshot { return s.snap.Load() }

// Subscribe has fn called with the snapshot replaced (nil on the first)
// and the new one whenever the set changes; if the set holds a snapshot
// already, fn is called with it (and a nil old) at once, so that a
// subscriber never misses the set it starts from. Calls are serialised and
// made with the set's lock held: fn may read snapshots but must not call
// back into the Set's other methods.
func (s *Set) Subscribe(fn func(old, new *Snapshot)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subscribers = append(s.subscribers, fn)
	if snap := s.snap.Load(); snap != nil {
		fn(nil, snap)
	}
}

// Reload loads the file again. On success the new file and the lists of
// the entries it keeps unchanged are served together, and entries new or
// changed start listing; on failure the old set stays and the error is
// returned. Either way the outcome is logged once and shows in the reload
// gauges.
func (s *Set) Reload() error {
	if s.path == "" {
		return ErrNoConfigFile
	}
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	if s.isClosed() {
		return ErrClosed
	}
	file, err := config.LoadWithEnv(s.path, s.lookupEnv)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if err != nil {
		s.lastOK, s.reloadErr, s.reloadFailed = false, err, s.now()
		msg := "Error reloading config"
		if s.file == nil {
			msg = "Error loading config" // at start-up nothing is being reloaded
		}
		_ = level.Error(s.logger).Log("msg", msg, "file", s.path, "err", err)
		return err
	}
	_ = level.Info(s.logger).Log("msg", "Loaded config file", "file", s.path, "summary", file.Summary())
	s.lastOK, s.lastSuccess, s.reloadErr = true, s.now(), nil
	s.installLocked(file)
	return nil
}

func (s *Set) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Close stops every listing and waits for them. A Reload or a listing that
// races it does nothing; the last snapshot stays readable.
func (s *Set) Close() {
	s.mu.Lock()
	s.closed = true
	s.cancel()
	s.mu.Unlock()
	s.runs.Wait()
}
