package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// heldHeapProfile saves the exporter's heap profile to path while one
// /metrics answer is held half read: uncompressed, through a small socket
// buffer, and read no further than its headers, so that once the socket
// buffers are full the exporter waits in the middle of writing it. That is
// when a scrape holds the most: every tenant's outcome, and whatever the
// exposition has built and not yet written. The profile is taken after a
// garbage collection (?gc=1), so its in-use figures are what is live then;
// its allocation figures count everything since the exporter started.
func heldHeapProfile(ctx context.Context, proc *exporterProcess, timeout time.Duration, path string) error {
	ctx, cancel := context.WithTimeout(ctx, timeout+10*time.Second)
	defer cancel()
	held := &http.Client{Transport: &http.Transport{
		DisableCompression: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			// A receive buffer of a few kB, not the megabytes Linux
			// grows it to on loopback, so that the answer stalls early.
			return conn, conn.(*net.TCPConn).SetReadBuffer(4 << 10)
		},
	}}
	defer held.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, proc.url+"/metrics", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept-Encoding", "identity")
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", strconv.FormatFloat(timeout.Seconds(), 'f', -1, 64))
	// The headers come once every tenant is in and writing has begun.
	resp, err := held.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("/metrics answered %s", resp.Status)
	}
	if err := waitIdle(ctx, proc.pid()); err != nil {
		return err
	}
	prof, err := http.NewRequestWithContext(ctx, http.MethodGet, proc.url+"/debug/pprof/heap?gc=1", nil)
	if err != nil {
		return err
	}
	pr, err := http.DefaultClient.Do(prof)
	if err != nil {
		return err
	}
	defer pr.Body.Close()
	if pr.StatusCode != http.StatusOK {
		return fmt.Errorf("/debug/pprof/heap answered %s", pr.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, pr.Body); err != nil {
		f.Close()
		return err
	}
	// The held answer is dropped unread (through so small a window it
	// would take minutes to read), and the exporter stopped with it.
	return f.Close()
}

// idleFor is how long the exporter's CPU time must stand still for it to
// count as waiting: a few of the 10 ms ticks /proc counts in, many times
// over, so that a busy machine's scheduling pauses are not taken for it.
const idleFor = time.Second

// waitIdle returns once process pid has used no CPU for idleFor: it is
// waiting for the held answer to be read.
func waitIdle(ctx context.Context, pid int) error {
	last, err := processCPU(pid)
	if err != nil {
		return err
	}
	since := time.Now()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for time.Since(since) < idleFor {
		select {
		case <-ctx.Done():
			return errors.New("the exporter kept working while its answer was held; no heap profile taken")
		case <-tick.C:
		}
		cpu, err := processCPU(pid)
		if err != nil {
			return err
		}
		if cpu != last {
			last, since = cpu, time.Now()
		}
	}
	return nil
}

// startProfiles starts a CPU profile of every variant over d, when dir is
// set, and returns a function that waits for them and saves them as
// dir/cpu-VARIANT-N-runR.pb.gz.
func (r *roomsJobsRun) startProfiles(ctx context.Context, dir string, d time.Duration, n, run int) func() error {
	if dir == "" {
		return func() error { return nil }
	}
	var wg sync.WaitGroup
	errs := make([]error, len(r.order))
	seconds := strconv.Itoa(max(1, int(d.Round(time.Second)/time.Second)))
	for i, v := range r.order {
		path := filepath.Join(dir, fmt.Sprintf("cpu-%s-%d-run%d.pb.gz", v.name, n, run+1))
		wg.Go(func() { errs[i] = saveProfile(ctx, v.proc.url+"/debug/pprof/profile?seconds="+seconds, path) })
	}
	return func() error {
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return fmt.Errorf("CPU profile: %w", err)
			}
		}
		return nil
	}
}

func saveProfile(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
