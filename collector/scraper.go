package collector

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/metastudio-exporter/metastudio_exporter/config"
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
	MaxConcurrency int
	Logger         log.Logger
	// Now is the clock for durations; nil means time.Now.
	Now func() time.Time
}

// Scraper fetches tenants' settings for /metrics and /probe. One Scraper
// serves every request, so that its concurrency bound holds across scrapes.
type Scraper struct {
	fetcher Fetcher
	slots   chan struct{}
	logger  log.Logger
	now     func() time.Time
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
	return &Scraper{
		fetcher: f,
		slots:   make(chan struct{}, opts.MaxConcurrency),
		logger:  opts.Logger,
		now:     opts.Now,
	}
}

// result is one tenant's outcome in one scrape.
type result struct {
	settings metastudio.Settings
	err      error
	duration time.Duration
	age      time.Duration
}

// scrapeAll fetches every tenant and returns their results in order. It
// returns when every tenant has finished, which ctx bounds.
func (s *Scraper) scrapeAll(ctx context.Context, tenants []config.Tenant) []result {
	results := make([]result, len(tenants))
	// A worker per free slot rather than a goroutine per tenant: with
	// thousands of tenants most goroutines would only wait for a slot.
	workers := min(len(tenants), cap(s.slots))
	var next atomic.Int64
	done := make(chan struct{}, workers)
	for range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(tenants) {
					return
				}
				results[i] = s.scrapeOne(ctx, &tenants[i])
			}
		}()
	}
	for range workers {
		<-done
	}
	return results
}

// errNoSlot explains a timeout spent waiting for the concurrency bound.
var errNoSlot = errors.New("scrape deadline reached while waiting for a free upstream slot (see --scrape.max-concurrency)")

func (s *Scraper) scrapeOne(ctx context.Context, t *config.Tenant) result {
	start := s.now()
	r := s.fetch(ctx, t)
	r.duration = s.now().Sub(start)
	return r
}

func (s *Scraper) fetch(ctx context.Context, t *config.Tenant) result {
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return result{err: &metastudio.Error{Reason: metastudio.ReasonTimeout, Op: "get user config", Err: errNoSlot}}
	}
	defer func() { <-s.slots }()

	callCtx, cancel := context.WithTimeout(ctx, t.Timeout)
	defer cancel()
	uc, err := s.fetcher.GetUserConfig(callCtx, targetFor(t))
	if err != nil {
		s.logFailure(t, err)
		return result{err: err}
	}
	settings := uc.Effective()
	_ = level.Debug(s.logger).Log("msg", "Fetched tenant config", "tenant", t.Name, "config_hash", settings.Hash)
	return result{settings: settings}
}

// logFailure is the one place a failed call is logged.
func (s *Scraper) logFailure(t *config.Tenant, err error) {
	kv := []any{"msg", "Fetching tenant config failed", "tenant", t.Name,
		"reason", metastudio.ReasonOf(err)}
	var e *metastudio.Error
	if errors.As(err, &e) {
		if e.StatusCode != 0 {
			kv = append(kv, "status", e.StatusCode)
		}
		if e.ErrorCode != "" {
			kv = append(kv, "error_code", e.ErrorCode)
		}
		if e.RequestID != "" {
			kv = append(kv, "request_id", e.RequestID)
		}
	}
	kv = append(kv, "err", err)
	_ = level.Warn(s.logger).Log(kv...)
}

// targetFor copies a tenant into the plain values the client takes.
func targetFor(t *config.Tenant) metastudio.Target {
	c := t.Credentials
	target := metastudio.Target{
		Tenant:    t.Name,
		Endpoint:  t.Endpoint,
		ProjectID: t.ProjectID,
		Credentials: metastudio.Credentials{
			AccessKey:     c.AccessKey,
			SecretKey:     c.SecretKey,
			SecurityToken: c.SecurityToken,
		},
	}
	if c.IAM != nil {
		target.Credentials.IAM = &metastudio.IAMPassword{
			Endpoint: c.IAM.Endpoint,
			Domain:   c.IAM.Domain,
			User:     c.IAM.User,
			Password: c.IAM.Password,
		}
	}
	return target
}
