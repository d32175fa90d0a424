package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// row is one tenant count's measurements.
type row struct {
	tenants        int
	scrapes        int
	ideal          time.Duration
	median         time.Duration
	cpuPerFetch    time.Duration
	allocPerFetch  float64 // bytes
	peakRSS        int64   // bytes
	bytesPerTenant float64
	walls          []time.Duration // every measured scrape, in order
	// The machine's load average (1, 5, 15 min) around the measured
	// scrapes.
	loadBefore, loadAfter string
}

// columns are the report's table header; the test checks every row has
// one cell for each.
var columns = []string{
	"tenants", "scrapes", "ideal scrape", "median scrape", "median / ideal",
	"CPU per tenant fetch", "allocated per tenant fetch", "peak RSS", "exposition per tenant",
	"load (1 min) before → after",
}

type machine struct {
	cpus      int
	model     string
	goVersion string
}

func machineInfo(ctx context.Context) machine {
	m := machine{cpus: runtime.NumCPU(), model: "unknown CPU", goVersion: runtime.Version()}
	if raw, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(raw)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.model = strings.TrimSpace(v)
				break
			}
		}
	}
	// The exporter is built with the go on PATH, which may differ from the
	// toolchain that built this harness.
	if out, err := exec.CommandContext(ctx, "go", "env", "GOVERSION").Output(); err == nil {
		m.goVersion = strings.TrimSpace(string(out))
	}
	return m
}

func loadAverage() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(raw))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// oneMinute is the 1-minute figure of a load average.
func oneMinute(load string) string {
	f := strings.Fields(load)
	if len(f) == 0 {
		return "unknown"
	}
	return f[0]
}

func writeReport(w io.Writer, opts options, m machine, loadBefore, loadAfter string, rows []row) {
	fmt.Fprintf(w, "Machine: %d CPUs, %s, %s/%s, %s; load average (1, 5, 15 min) %s before, %s after.\n",
		m.cpus, m.model, runtime.GOOS, runtime.GOARCH, m.goVersion, loadBefore, loadAfter)
	fmt.Fprintf(w, "Exporter: a separate process with default flags but --scrape.max-concurrency=%d, text exposition. "+
		"Upstream: the simulator in the harness process, %s per call, every signature verified.\n",
		opts.concurrency, opts.latency)
	if opts.probe {
		fmt.Fprintf(w, "Each scrape is a round of one /probe?tenant=NAME per tenant, %d in flight, as sharded Prometheus servers scrape; "+
			"the exposition figure is a probe answer's size.\n", opts.concurrency)
	} else {
		fmt.Fprintln(w, "Each scrape is one /metrics of every tenant.")
	}
	fmt.Fprintf(w, "Command: `%s`\n\n", opts.command)
	fmt.Fprintf(w, "| %s |\n", strings.Join(columns, " | "))
	fmt.Fprintf(w, "|%s\n", strings.Repeat("---:|", len(columns)))
	for _, r := range rows {
		cells := []string{
			fmt.Sprint(r.tenants),
			fmt.Sprint(r.scrapes),
			fmt.Sprintf("%.3f s", r.ideal.Seconds()),
			fmt.Sprintf("%.3f s", r.median.Seconds()),
			fmt.Sprintf("%.2f×", r.median.Seconds()/r.ideal.Seconds()),
			fmt.Sprintf("%.1f µs", float64(r.cpuPerFetch.Nanoseconds())/1e3),
			fmt.Sprintf("%.1f kB", r.allocPerFetch/1e3),
			fmt.Sprintf("%.1f MB", float64(r.peakRSS)/1e6),
			fmt.Sprintf("%.0f B", r.bytesPerTenant),
			oneMinute(r.loadBefore) + " → " + oneMinute(r.loadAfter),
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
	}
	fmt.Fprintln(w, "\nkB and MB are 1000 and 1000² bytes. CPU and allocations cover everything the exporter "+
		"process did during the measured scrapes (signing, HTTP, decoding, metrics, encoding, GC), divided by tenant fetches.")
}

// jsonReport is the report for scripts that compare or aggregate runs.
type jsonReport struct {
	Command     string    `json:"command"`
	CPUs        int       `json:"cpus"`
	CPUModel    string    `json:"cpu_model"`
	GoVersion   string    `json:"go_version"`
	OS          string    `json:"os"`
	Arch        string    `json:"arch"`
	Concurrency int       `json:"scrape_max_concurrency"`
	Endpoint    string    `json:"endpoint"`
	LatencySecs float64   `json:"upstream_latency_seconds"`
	LoadBefore  string    `json:"load_average_before"`
	LoadAfter   string    `json:"load_average_after"`
	Rows        []jsonRow `json:"rows"`
}

type jsonRow struct {
	Tenants              int       `json:"tenants"`
	Scrapes              int       `json:"scrapes"`
	IdealSeconds         float64   `json:"ideal_scrape_seconds"`
	MedianSeconds        float64   `json:"median_scrape_seconds"`
	ScrapeSeconds        []float64 `json:"scrape_seconds"`
	CPUPerFetchSeconds   float64   `json:"cpu_per_tenant_fetch_seconds"`
	AllocPerFetchBytes   float64   `json:"allocated_per_tenant_fetch_bytes"`
	PeakRSSBytes         int64     `json:"peak_rss_bytes"`
	ExpositionPerTenantB float64   `json:"exposition_bytes_per_tenant"`
	LoadBefore           string    `json:"load_average_before"`
	LoadAfter            string    `json:"load_average_after"`
}

func writeJSON(path string, opts options, m machine, loadBefore, loadAfter string, rows []row) error {
	rep := jsonReport{
		Command: opts.command, CPUs: m.cpus, CPUModel: m.model, GoVersion: m.goVersion,
		OS: runtime.GOOS, Arch: runtime.GOARCH, Concurrency: opts.concurrency, Endpoint: "/metrics",
		LatencySecs: opts.latency.Seconds(), LoadBefore: loadBefore, LoadAfter: loadAfter,
		Rows: make([]jsonRow, 0, len(rows)),
	}
	if opts.probe {
		rep.Endpoint = "/probe"
	}
	for _, r := range rows {
		walls := make([]float64, len(r.walls))
		for i, w := range r.walls {
			walls[i] = w.Seconds()
		}
		rep.Rows = append(rep.Rows, jsonRow{
			Tenants: r.tenants, Scrapes: r.scrapes,
			IdealSeconds: r.ideal.Seconds(), MedianSeconds: r.median.Seconds(), ScrapeSeconds: walls,
			CPUPerFetchSeconds: r.cpuPerFetch.Seconds(), AllocPerFetchBytes: r.allocPerFetch,
			PeakRSSBytes: r.peakRSS, ExpositionPerTenantB: r.bytesPerTenant,
			LoadBefore: r.loadBefore, LoadAfter: r.loadAfter,
		})
	}
	return writeJSONFile(path, rep)
}

// writeJSONFile writes rep to path, indented, for -json.
func writeJSONFile(path string, rep any) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("-json: %w", err)
	}
	return nil
}
