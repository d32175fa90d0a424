package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/metastudio/simulator"
)

// Every tenant shares one made-up AK/SK, as tenants of one agency account
// do; the simulator accepts one AK on many projects.
const (
	loadAK = "LOADTESTACCESSKEY001"
	loadSK = "loadtest-secret-key-not-a-real-one"
)

// tenantBody sets every field, so that each tenant costs what the largest
// ordinary answer costs and has every series a tenant can have.
const tenantBody = `{"live_exit_config":{"max_live_duration":12,"auto_stop_mode":"SEGMENT_END","max_exception_waiting_duration":5},` +
	`"live_event_callback_config":{"live_event_type_callback_url":"https://hooks.example.com/metastudio/events?token=loadtest-token",` +
	`"auth_type":"MSS_A_HEAD","key":"loadtest-callback-key","callback_event_type":["SHOOT_SCRIPT_SWITCH","RTMP_STREAM_STATE_CHANGE","REPLY_COMMAND_FINISH"]},` +
	`"live_notify_config":{"notify_events":["AUTO_EXIT"]}}`

// buildExporter compiles this module's main package into dir.
func buildExporter(ctx context.Context, dir string) (string, error) {
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	bin := filepath.Join(dir, "metastudio_exporter")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %w\n%s", err, out)
	}
	return bin, nil
}

func projectID(i int) string { return fmt.Sprintf("%032x", i+1) }

func tenantName(i int) string { return fmt.Sprintf("tenant-%05d", i) }

// measure runs one tenant count: simulator, config, exporter process, one
// warm-up scrape, then the measured scrapes.
func measure(ctx context.Context, opts options, exporterBin, work string, n int, progress io.Writer) (row, error) {
	tenants := make([]simulator.Tenant, n)
	for i := range tenants {
		tenants[i] = simulator.Tenant{ProjectID: projectID(i), AccessKey: loadAK, SecretKey: loadSK, Config: []byte(tenantBody)}
	}
	sim, err := simulator.Start(simulator.Options{Latency: opts.latency}, tenants...)
	if err != nil {
		return row{}, err
	}
	defer sim.Close()

	cfgPath := filepath.Join(work, fmt.Sprintf("metastudio-%d.yml", n))
	if err := writeConfig(cfgPath, sim.URL, n); err != nil {
		return row{}, err
	}
	proc, err := startExporter(ctx, exporterBin, cfgPath, filepath.Join(work, fmt.Sprintf("exporter-%d.log", n)), opts.concurrency)
	if err != nil {
		return row{}, err
	}
	defer proc.stop()

	r := row{
		tenants: n,
		scrapes: max(opts.scrapes, (opts.minFetches+n-1)/n),
		ideal:   time.Duration((n+opts.concurrency-1)/opts.concurrency) * opts.latency,
	}
	// Prometheus would be told a timeout; make it so long that only the
	// exporter's speed decides the wall time.
	timeout := max(60*time.Second, 10*r.ideal)
	var scraper scraper = &scrapeClient{url: proc.url + "/metrics", timeout: timeout, tenants: n}
	if opts.probe {
		names := make([]string, n)
		for i := range names {
			names[i] = tenantName(i)
		}
		// As many probes in flight as the exporter makes calls, so that
		// the ideal is the same as for /metrics.
		scraper = newProber(proc.url, timeout, names, opts.concurrency)
	}

	// The warm-up opens the keep-alive connections and grows the heap; a
	// Prometheus scraping every 15 s to 1 min keeps both, so the steady
	// state is what is measured.
	if _, err := scraper.scrape(ctx); err != nil {
		return row{}, proc.explain(fmt.Errorf("warm-up scrape: %w", err))
	}
	r.loadBefore = loadAverage()
	cpuBefore, err := processCPU(proc.pid())
	if err != nil {
		return row{}, err
	}
	walls := make([]time.Duration, 0, r.scrapes)
	var firstAlloc, lastAlloc float64
	var bodyBytes []int
	for k := range r.scrapes {
		s, err := scraper.scrape(ctx)
		if err != nil {
			return row{}, proc.explain(fmt.Errorf("scrape %d of %d: %w", k+1, r.scrapes, err))
		}
		walls = append(walls, s.wall)
		bodyBytes = append(bodyBytes, s.bytes)
		if k == 0 {
			firstAlloc = s.allocBytes
		}
		lastAlloc = s.allocBytes
	}
	cpuAfter, err := processCPU(proc.pid())
	if err != nil {
		return row{}, err
	}
	r.loadAfter = loadAverage()
	if r.peakRSS, err = peakRSS(proc.pid()); err != nil {
		return row{}, err
	}
	fetches := float64(r.scrapes * n)
	r.median = median(walls)
	r.walls = walls
	r.cpuPerFetch = time.Duration(float64(cpuAfter-cpuBefore) / fetches)
	// go_memstats_alloc_bytes_total is read during each scrape, so the
	// difference between the first and the last spans scrapes-1 whole scrapes.
	r.allocPerFetch = (lastAlloc - firstAlloc) / float64((r.scrapes-1)*n)
	r.bytesPerTenant = float64(medianInt(bodyBytes)) / float64(n)
	fmt.Fprintf(progress, "  %d scrapes, median %.3f s\n", r.scrapes, r.median.Seconds())
	if opts.heapDir != "" {
		path := filepath.Join(opts.heapDir, fmt.Sprintf("heap-%d.pb.gz", n))
		if err := heldHeapProfile(ctx, proc, timeout, path); err != nil {
			return row{}, proc.explain(fmt.Errorf("heap profile: %w", err))
		}
		fmt.Fprintf(progress, "  heap profile in %s\n", path)
	}
	return r, nil
}

func writeConfig(path, endpoint string, n int) error { return writeConfigWith(path, endpoint, n, "") }

// writeConfigWith writes a config of n tenants on endpoint whose defaults:
// also hold defaults, indented YAML keys.
func writeConfigWith(path, endpoint string, n int, defaults string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "defaults:\n  credentials: load\n%scredentials:\n  load:\n    access_key: %s\n    secret_key: %s\ntenants:\n", defaults, loadAK, loadSK)
	for i := range n {
		fmt.Fprintf(&b, "  - name: %s\n    project_id: %s\n    endpoint: %s\n", tenantName(i), projectID(i), endpoint)
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}

// exporterProcess is a running exporter with its log file.
type exporterProcess struct {
	cmd    *exec.Cmd
	url    string
	log    string
	exited chan struct{}
}

func (p *exporterProcess) pid() int { return p.cmd.Process.Pid }

func startExporter(ctx context.Context, bin, cfgPath, logPath string, concurrency int) (*exporterProcess, error) {
	addr, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--config.file="+cfgPath, "--web.listen-address="+addr,
		"--scrape.max-concurrency="+strconv.Itoa(concurrency))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	p := &exporterProcess{cmd: cmd, url: "http://" + addr, log: logPath, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		logFile.Close()
		close(p.exited)
	}()
	if err := p.waitReady(ctx); err != nil {
		p.stop()
		return nil, p.explain(err)
	}
	return p, nil
}

// freeLoopbackAddr asks the kernel for a free port. Another process could
// take it before the exporter binds; the exporter then exits and its log
// says so.
func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

func (p *exporterProcess) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	client := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return errors.New("exporter exited during start-up")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		resp, err := client.Get(p.url + "/-/ready")
		if err != nil {
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return nil
		}
	}
	return errors.New("exporter not ready after 30s")
}

// stop asks for a graceful shutdown and kills the process if it takes too
// long; it only ever signals the process this harness started.
func (p *exporterProcess) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// explain appends the end of the exporter's log, which says why it failed;
// the exporter never logs secrets.
func (p *exporterProcess) explain(err error) error {
	raw, rerr := os.ReadFile(p.log)
	if rerr != nil || len(raw) == 0 {
		return err
	}
	if len(raw) > 2000 {
		raw = raw[len(raw)-2000:]
	}
	return fmt.Errorf("%w\nexporter log (end):\n%s", err, raw)
}

type scrapeClient struct {
	url     string
	timeout time.Duration
	tenants int
	// families are series prefixes to count in each answer; nil for none.
	families []string
	http     http.Client
}

type scrapeResult struct {
	wall       time.Duration
	bytes      int
	allocBytes float64 // the exporter's go_memstats_alloc_bytes_total
	// series counts the lines starting with each of the client's
	// families.
	series []int
}

// scrape fetches /metrics once. A scrape in which any tenant was not up
// is an error, not a data point: it would measure failures, not work.
func (c *scrapeClient) scrape(ctx context.Context) (scrapeResult, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout+10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return scrapeResult{}, err
	}
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", strconv.FormatFloat(c.timeout.Seconds(), 'f', -1, 64))
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		return scrapeResult{}, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	wall := time.Since(start)
	if err != nil {
		return scrapeResult{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return scrapeResult{}, fmt.Errorf("/metrics answered %s", resp.Status)
	}
	up, alloc, err := readExposition(body)
	if err != nil {
		return scrapeResult{}, err
	}
	if up != c.tenants {
		return scrapeResult{}, fmt.Errorf("%d of %d tenants up", up, c.tenants)
	}
	return scrapeResult{wall: wall, bytes: len(body), allocBytes: alloc, series: countSeries(body, c.families)}, nil
}

// countSeries counts the lines of an exposition that start with each
// prefix; nil for no prefixes.
func countSeries(body []byte, prefixes []string) []int {
	if len(prefixes) == 0 {
		return nil
	}
	counts := make([]int, len(prefixes))
	for line := range bytes.Lines(body) {
		for i, p := range prefixes {
			if bytes.HasPrefix(line, []byte(p)) {
				counts[i]++
			}
		}
	}
	return counts
}

// readExposition counts tenants that are up and reads the exporter's
// cumulative allocation counter from a text exposition.
func readExposition(body []byte) (up int, allocBytes float64, err error) {
	found := false
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "metastudio_up{") && strings.HasSuffix(line, "} 1"):
			up++
		case strings.HasPrefix(line, "go_memstats_alloc_bytes_total "):
			allocBytes, err = strconv.ParseFloat(strings.TrimPrefix(line, "go_memstats_alloc_bytes_total "), 64)
			if err != nil {
				return 0, 0, fmt.Errorf("go_memstats_alloc_bytes_total: %w", err)
			}
			found = true
		}
	}
	if err := sc.Err(); err != nil {
		return 0, 0, err
	}
	if !found {
		return 0, 0, errors.New("the exposition has no go_memstats_alloc_bytes_total")
	}
	return up, allocBytes, nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func medianInt(xs []int) int {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
