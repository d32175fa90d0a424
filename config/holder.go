package config

import (
	"errors"
	"sync"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"github.com/prometheus/client_golang/prometheus"
)

var (
	reloadSuccessDesc = prometheus.NewDesc(
		"metastudio_exporter_config_last_reload_successful",
		"Whether the last configuration reload attempt was successful.",
		nil, nil,
	)
	reloadTimestampDesc = prometheus.NewDesc(
		"metastudio_exporter_config_last_reload_success_timestamp_seconds",
		"Timestamp of the last successful configuration reload.",
		nil, nil,
	)
)

// ErrNoConfigFile is what Reload returns for a static (demo mode) holder.
var ErrNoConfigFile = errors.New("demo mode has no config file to reload")

// Holder keeps the current Config and swaps it on reload. Readers get an
// immutable snapshot, so one scrape never mixes two configs; a failed reload
// leaves the previous snapshot serving.
type Holder struct {
	path      string
	lookupEnv func(string) (string, bool)
	logger    log.Logger
	now       func() time.Time // replaced in tests

	// reloadMu serializes reloads so that two overlapping ones (SIGHUP and
	// POST /-/reload) cannot install an older file over a newer one, and
	// so that subscribers see the changes in the order they happened.
	reloadMu    sync.Mutex
	subscribers []func(old, new *Config)
	file        *Config      // the file as last loaded, without discovered tenants
	found       []Discovered // what discovery serves now

	mu          sync.RWMutex
	cfg         *Config // served: file, then found
	lastOK      bool
	lastSuccess time.Time
}

// NewHolder returns a Holder for the file at path. It holds no config until
// the first successful Reload.
func NewHolder(path string, lookupEnv func(string) (string, bool), logger log.Logger) *Holder {
	if logger == nil {
		logger = log.NewNopLogger()
	}
	return &Holder{path: path, lookupEnv: lookupEnv, logger: logger, now: time.Now}
}

// NewStaticHolder holds c for good, for demo mode, which has no file.
func NewStaticHolder(c *Config) *Holder {
	return &Holder{logger: log.NewNopLogger(), now: time.Now, file: c, cfg: c, lastOK: true, lastSuccess: time.Now()}
}

// Subscribe has fn called whenever the served snapshot changes (a reload,
// or discovery finding other projects), with the snapshot it replaced (nil
// on the first) and the new one, so that what is kept per tenant can
// follow the tenant set. Calls are serialized; subscribe before the first
// Reload.
func (h *Holder) Subscribe(fn func(old, new *Config)) {
	h.reloadMu.Lock()
	defer h.reloadMu.Unlock()
	h.subscribers = append(h.subscribers, fn)
}

// Reload loads the file again. On success the new config replaces the old
// one; on failure the old one stays and the error is returned. Either way
// the outcome is logged once and shows in the reload gauges.
func (h *Holder) Reload() error {
	if h.path == "" {
		return ErrNoConfigFile
	}
	h.reloadMu.Lock()
	defer h.reloadMu.Unlock()

	file, err := LoadWithEnv(h.path, h.lookupEnv)
	if err != nil {
		h.mu.Lock()
		h.lastOK = false
		h.mu.Unlock()
		msg := "Error reloading config"
		if h.file == nil {
			msg = "Error loading config" // at start-up nothing is being reloaded
		}
		_ = level.Error(h.logger).Log("msg", msg, "file", h.path, "err", err)
		return err
	}
	h.file = file
	_ = level.Info(h.logger).Log("msg", "Loaded config file", "file", h.path, "summary", file.Summary())
	h.serve(true)
	return nil
}

// SetDiscovered serves found as tenants besides the file's, until the next
// call; a reload keeps them, with the new file's defaults.
func (h *Holder) SetDiscovered(found []Discovered) {
	h.reloadMu.Lock()
	defer h.reloadMu.Unlock()
	h.found = found
	if h.file != nil {
		h.serve(false)
	}
}

// serve installs h.file with h.found as the served snapshot and tells the
// subscribers; h.reloadMu is held. reloaded counts a successful reload in
// the reload gauges.
func (h *Holder) serve(reloaded bool) {
	cfg := h.file
	if len(h.found) > 0 {
		var errs []error
		cfg, errs = h.file.WithDiscovered(h.found)
		for _, err := range errs {
			_ = level.Warn(h.logger).Log("msg", "Not serving a discovered project", "err", err)
		}
	}
	h.mu.Lock()
	old := h.cfg
	h.cfg = cfg
	if reloaded {
		h.lastOK, h.lastSuccess = true, h.now()
	}
	h.mu.Unlock()
	for _, fn := range h.subscribers {
		fn(old, cfg)
	}
}

// File returns the file as last loaded, without discovered tenants: what
// discovery itself is configured by. Nil before the first load.
func (h *Holder) File() *Config {
	h.reloadMu.Lock()
	defer h.reloadMu.Unlock()
	return h.file
}

// Config returns the current snapshot, nil before the first successful
// load. Take it once per scrape.
func (h *Holder) Config() *Config {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.cfg
}

// Describe implements prometheus.Collector.
func (h *Holder) Describe(ch chan<- *prometheus.Desc) {
	ch <- reloadSuccessDesc
	ch <- reloadTimestampDesc
}

// Collect implements prometheus.Collector.
func (h *Holder) Collect(ch chan<- prometheus.Metric) {
	h.mu.RLock()
	ok, last := h.lastOK, h.lastSuccess
	h.mu.RUnlock()
	success, ts := 0.0, 0.0
	if ok {
		success = 1
	}
	if !last.IsZero() {
		ts = float64(last.UnixNano()) / 1e9
	}
	ch <- prometheus.MustNewConstMetric(reloadSuccessDesc, prometheus.GaugeValue, success)
	ch <- prometheus.MustNewConstMetric(reloadTimestampDesc, prometheus.GaugeValue, ts)
}
