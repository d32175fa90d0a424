package main

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/config"
)

// roomsJobsRow is one exporter's measurements in one run of -rooms-jobs.
type roomsJobsRow struct {
	tenants, run int
	variant      string
	scrapes      int
	window       time.Duration
	median       time.Duration
	// cpuPerScrape is the exporter's CPU time over the window, background
	// included, divided by scrapes × tenants; inScrapes is the part spent
	// while a scrape of it was in flight.
	cpuPerScrape, inScrapes time.Duration
	allocPerScrape          float64 // bytes
	peakRSS                 int64   // bytes
	bytesPerTenant          float64
	seriesPerTenant         float64 // rooms and jobs series
	calls                   apiCalls
	loadBefore, loadAfter   string
}

// roomsJobsColumns and callColumns are the report's table headers.
var (
	roomsJobsColumns = []string{
		"tenants", "run", "exporter", "scrapes", "median scrape", "CPU per tenant per scrape", "of it in scrapes",
		"allocated per tenant per scrape", "peak RSS", "exposition per tenant", "rooms and jobs series per tenant",
		"load (1 min) before → after",
	}
	callColumns = []string{"tenants", "run", "exporter", "window", "user-config", "rooms list", "room detail", "jobs list active", "jobs list failed"}
)

func writeRoomsJobsReport(w io.Writer, opts options, m machine, loadBefore, loadAfter string, rows []roomsJobsRow) {
	rj := opts.roomsJobs
	fmt.Fprintf(w, "Machine: %d CPUs, %s, %s/%s, %s; load average (1, 5, 15 min) %s before, %s after.\n",
		m.cpus, m.model, runtime.GOOS, runtime.GOARCH, m.goVersion, loadBefore, loadAfter)
	fmt.Fprintf(w, "Exporters: processes side by side, each with default flags but --scrape.max-concurrency=%d and a simulator of its own (%s per call, every signature verified): "+
		"off has rooms.refresh_interval and live_jobs.refresh_interval 0s, on %s and %s", opts.concurrency, opts.latency, rj.roomsInterval, rj.jobsInterval)
	if rj.baseline != "" {
		fmt.Fprintf(w, "; before is %s, a build from before rooms and live jobs, its config without rooms: or live_jobs:", rj.baseline)
	}
	fmt.Fprintf(w, ".\nEach tenant has %d rooms, each with a play policy and a callback of its own, %d running jobs and %d failed ones.\n",
		rj.size.rooms, rj.size.jobs, rj.size.failedJobs)
	fmt.Fprintf(w, "Each exporter's /metrics is scraped every %s, in turn; the window starts once on serves every room's settings and every job, and lasts whole rounds.\n", rj.interval)
	fmt.Fprintf(w, "Command: `%s`\n\n", opts.command)

	table(w, roomsJobsColumns)
	for _, r := range rows {
		tableRow(w, fmt.Sprint(r.tenants), fmt.Sprint(r.run), r.variant, fmt.Sprint(r.scrapes),
			fmt.Sprintf("%.3f s", r.median.Seconds()),
			fmt.Sprintf("%.1f µs", micros(r.cpuPerScrape)), fmt.Sprintf("%.1f µs", micros(r.inScrapes)),
			fmt.Sprintf("%.1f kB", r.allocPerScrape/1e3), fmt.Sprintf("%.1f MB", float64(r.peakRSS)/1e6),
			fmt.Sprintf("%.0f B", r.bytesPerTenant), fmt.Sprintf("%.1f", r.seriesPerTenant),
			oneMinute(r.loadBefore)+" → "+oneMinute(r.loadAfter))
	}

	fmt.Fprintln(w, "\nCPU per tenant per scrape, one exporter against another in the same run:")
	fmt.Fprintln(w)
	ratioColumns := []string{"tenants", "run", "on / off"}
	if rj.baseline != "" {
		ratioColumns = append(ratioColumns, "off / before", "on / before")
	}
	table(w, ratioColumns)
	for _, run := range groupRuns(rows) {
		cells := []string{fmt.Sprint(run[variantOn].tenants), fmt.Sprint(run[variantOn].run), ratio(run[variantOn], run[variantOff])}
		if rj.baseline != "" {
			cells = append(cells, ratio(run[variantOff], run[variantBefore]), ratio(run[variantOn], run[variantBefore]))
		}
		tableRow(w, cells...)
	}

	fmt.Fprintln(w, "\nMetaStudio calls per minute over the window, counted at each exporter's simulator (calls in the window in brackets):")
	fmt.Fprintln(w)
	table(w, callColumns)
	for _, r := range rows {
		minutes := r.window.Minutes()
		perMinute := func(n int64) string { return fmt.Sprintf("%.1f (%d)", float64(n)/minutes, n) }
		tableRow(w, fmt.Sprint(r.tenants), fmt.Sprint(r.run), r.variant, fmt.Sprintf("%.0f s", r.window.Seconds()),
			perMinute(r.calls.userConfig), perMinute(r.calls.roomsList), perMinute(r.calls.roomDetail),
			perMinute(r.calls.jobsActive), perMinute(r.calls.jobsFailed))
	}
	for _, n := range opts.tenants {
		e := expectedCalls(rj, n, rj.roomsInterval, rj.jobsInterval)
		fmt.Fprintf(w, "\nExpected per minute of on at %d tenants from its intervals: user-config %.1f, rooms list %.1f, room detail %.1f, jobs list active %.1f, failed %.1f.\n",
			n, e[0], e[1], e[2], e[3], e[4])
		if builtin := config.BuiltinSettings(); rj.roomsInterval != builtin.Rooms.RefreshInterval || rj.jobsInterval != builtin.LiveJobs.RefreshInterval {
			d := expectedCalls(rj, n, builtin.Rooms.RefreshInterval, builtin.LiveJobs.RefreshInterval)
			fmt.Fprintf(w, "At the default intervals (rooms %s, jobs %s) rooms and jobs calls scale to: rooms list %.1f, room detail %.1f, jobs list active %.1f, failed %.1f per minute.\n",
				builtin.Rooms.RefreshInterval, builtin.LiveJobs.RefreshInterval, d[1], d[2], d[3], d[4])
		}
	}
	fmt.Fprintln(w, "\nkB and MB are 1000 and 1000² bytes. CPU is /proc/PID/stat utime+stime over the window, background refreshes included, "+
		"divided by scrapes × tenants; allocations are go_memstats_alloc_bytes_total between the window's first and last scrapes.")
}

// expectedCalls are the calls a minute of on's settings: user-config,
// rooms list, room detail, jobs list active and failed.
func expectedCalls(rj roomsJobsOptions, n int, rooms, jobs time.Duration) [5]float64 {
	t := float64(n)
	return [5]float64{
		t * time.Minute.Seconds() / rj.interval.Seconds(),
		t / rooms.Minutes(), t * float64(rj.size.rooms) / rooms.Minutes(),
		t / jobs.Minutes(), t / jobs.Minutes(),
	}
}

// groupRuns maps each run's rows, which are next to each other, by
// variant.
func groupRuns(rows []roomsJobsRow) []map[string]roomsJobsRow {
	var runs []map[string]roomsJobsRow
	for i, r := range rows {
		if i == 0 || r.run != rows[i-1].run || r.tenants != rows[i-1].tenants {
			runs = append(runs, map[string]roomsJobsRow{})
		}
		runs[len(runs)-1][r.variant] = r
	}
	return runs
}

func ratio(a, b roomsJobsRow) string {
	if b.cpuPerScrape <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", float64(a.cpuPerScrape)/float64(b.cpuPerScrape))
}

func micros(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }

func table(w io.Writer, columns []string) {
	fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(columns, " | "), strings.Repeat("---:|", len(columns)))
}

func tableRow(w io.Writer, cells ...string) { fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | ")) }

// roomsJobsJSON is the -rooms-jobs report for scripts.
type roomsJobsJSON struct {
	Command            string             `json:"command"`
	CPUs               int                `json:"cpus"`
	CPUModel           string             `json:"cpu_model"`
	GoVersion          string             `json:"go_version"`
	Concurrency        int                `json:"scrape_max_concurrency"`
	LatencySecs        float64            `json:"upstream_latency_seconds"`
	ScrapeIntervalSecs float64            `json:"scrape_interval_seconds"`
	RoomsIntervalSecs  float64            `json:"rooms_refresh_interval_seconds"`
	JobsIntervalSecs   float64            `json:"live_jobs_refresh_interval_seconds"`
	Rooms              int                `json:"rooms_per_tenant"`
	Jobs               int                `json:"running_jobs_per_tenant"`
	FailedJobs         int                `json:"failed_jobs_per_tenant"`
	Baseline           string             `json:"baseline_exporter,omitempty"`
	LoadBefore         string             `json:"load_average_before"`
	LoadAfter          string             `json:"load_average_after"`
	Rows               []roomsJobsJSONRow `json:"rows"`
}

type roomsJobsJSONRow struct {
	Tenants             int              `json:"tenants"`
	Run                 int              `json:"run"`
	Exporter            string           `json:"exporter"`
	Scrapes             int              `json:"scrapes"`
	WindowSecs          float64          `json:"window_seconds"`
	MedianSecs          float64          `json:"median_scrape_seconds"`
	CPUPerScrapeSecs    float64          `json:"cpu_per_tenant_scrape_seconds"`
	InScrapesSecs       float64          `json:"cpu_per_tenant_scrape_in_scrapes_seconds"`
	AllocPerScrapeBytes float64          `json:"allocated_per_tenant_scrape_bytes"`
	PeakRSSBytes        int64            `json:"peak_rss_bytes"`
	ExpositionPerTenant float64          `json:"exposition_bytes_per_tenant"`
	SeriesPerTenant     float64          `json:"rooms_and_jobs_series_per_tenant"`
	Calls               map[string]int64 `json:"calls"`
	LoadBefore          string           `json:"load_average_before"`
	LoadAfter           string           `json:"load_average_after"`
}

func writeRoomsJobsJSON(path string, opts options, m machine, loadBefore, loadAfter string, rows []roomsJobsRow) error {
	rj := opts.roomsJobs
	rep := roomsJobsJSON{
		Command: opts.command, CPUs: m.cpus, CPUModel: m.model, GoVersion: m.goVersion, Concurrency: opts.concurrency,
		LatencySecs: opts.latency.Seconds(), ScrapeIntervalSecs: rj.interval.Seconds(),
		RoomsIntervalSecs: rj.roomsInterval.Seconds(), JobsIntervalSecs: rj.jobsInterval.Seconds(),
		Rooms: rj.size.rooms, Jobs: rj.size.jobs, FailedJobs: rj.size.failedJobs, Baseline: rj.baseline,
		LoadBefore: loadBefore, LoadAfter: loadAfter, Rows: make([]roomsJobsJSONRow, 0, len(rows)),
	}
	for _, r := range rows {
		rep.Rows = append(rep.Rows, roomsJobsJSONRow{
			Tenants: r.tenants, Run: r.run, Exporter: r.variant, Scrapes: r.scrapes, WindowSecs: r.window.Seconds(),
			MedianSecs: r.median.Seconds(), CPUPerScrapeSecs: r.cpuPerScrape.Seconds(), InScrapesSecs: r.inScrapes.Seconds(),
			AllocPerScrapeBytes: r.allocPerScrape, PeakRSSBytes: r.peakRSS, ExpositionPerTenant: r.bytesPerTenant,
			SeriesPerTenant: r.seriesPerTenant,
			Calls: map[string]int64{
				"user_config": r.calls.userConfig, "rooms_list": r.calls.roomsList, "room_detail": r.calls.roomDetail,
				"jobs_list_active": r.calls.jobsActive, "jobs_list_failed": r.calls.jobsFailed,
			},
			LoadBefore: r.loadBefore, LoadAfter: r.loadAfter,
		})
	}
	return writeJSONFile(path, rep)
}
