package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// scraper is one measured round: a /metrics scrape, or a /probe of every
// tenant.
type scraper interface {
	scrape(ctx context.Context) (scrapeResult, error)
}

// prober plays a sharded Prometheus setup: one /probe?tenant=NAME request
// per tenant, parallel at a time, each on its keep-alive connection as
// Prometheus keeps one per target. A round ends when every tenant has been
// probed; the exporter's allocation counter is then read from
// /metrics?collect[]=exporter, which fetches no tenant.
type prober struct {
	base     string
	timeout  time.Duration
	tenants  []string
	parallel int
	http     *http.Client
}

func newProber(base string, timeout time.Duration, tenants []string, parallel int) *prober {
	return &prober{
		base: base, timeout: timeout, tenants: tenants, parallel: parallel,
		http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: parallel, MaxConnsPerHost: parallel}},
	}
}

func (p *prober) scrape(ctx context.Context) (scrapeResult, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan string)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		bytes int
	)
	start := time.Now()
	for range p.parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for name := range next {
				n, err := p.probe(ctx, name)
				if err != nil {
					cancel(err)
					return
				}
				mu.Lock()
				bytes += n
				mu.Unlock()
			}
		}()
	}
feed:
	for _, name := range p.tenants {
		select {
		case next <- name:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	wall := time.Since(start)
	if err := context.Cause(ctx); err != nil {
		return scrapeResult{}, err
	}
	body, err := p.get(ctx, "/metrics?collect[]=exporter")
	if err != nil {
		return scrapeResult{}, err
	}
	_, alloc, err := readExposition(body)
	if err != nil {
		return scrapeResult{}, err
	}
	return scrapeResult{wall: wall, bytes: bytes, allocBytes: alloc}, nil
}

// probe fetches one tenant, which must be up.
func (p *prober) probe(ctx context.Context, name string) (int, error) {
	body, err := p.get(ctx, "/probe?tenant="+url.QueryEscape(name))
	if err != nil {
		return 0, err
	}
	if !strings.Contains(string(body), "\nmetastudio_up{tenant=\""+name+"\"} 1\n") {
		return 0, fmt.Errorf("/probe?tenant=%s: the tenant is not up", name)
	}
	return len(body), nil
}

func (p *prober) get(ctx context.Context, path string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout+10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.base+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", strconv.FormatFloat(p.timeout.Seconds(), 'f', -1, 64))
	resp, err := p.http.Do(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, errors.New(path + " answered " + resp.Status)
	}
	return body, nil
}
