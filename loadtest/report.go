package main

import (
	"context"
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
}

// columns are the report's table header; the test checks every row has
// one cell for each.
var columns = []string{
	"tenants", "scrapes", "ideal scrape", "median scrape", "median / ideal",
	"CPU per tenant fetch", "allocated per tenant fetch", "peak RSS", "exposition per tenant",
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

func writeReport(w io.Writer, opts options, m machine, loadBefore, loadAfter string, rows []row) {
	fmt.Fprintf(w, "Machine: %d CPUs, %s, %s/%s, %s; load average (1, 5, 15 min) %s before, %s after.\n",
		m.cpus, m.model, runtime.GOOS, runtime.GOARCH, m.goVersion, loadBefore, loadAfter)
	fmt.Fprintf(w, "Exporter: a separate process with default flags (--scrape.max-concurrency=%d), text exposition. "+
		"Upstream: the simulator in the harness process, %s per call, every signature verified.\n",
		opts.concurrency, opts.latency)
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
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
	}
	fmt.Fprintln(w, "\nkB and MB are 1000 and 1000² bytes. CPU and allocations cover everything the exporter "+
		"process did during the measured scrapes (signing, HTTP, decoding, metrics, encoding, GC), divided by tenant fetches.")
}
