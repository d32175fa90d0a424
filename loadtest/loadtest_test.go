package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestHarnessReport runs the whole harness at a small size: it builds the
// exporter, runs it as a process against the simulator and must print a
// report with every column filled. It checks the shape of the numbers, not
// how fast anything was.
func TestHarnessReport(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the harness reads /proc")
	}
	jsonPath := filepath.Join(t.TempDir(), "results.json")
	report, _ := runHarness(t, "-tenants", "20", "-scrapes", "2", "-min-fetches", "0", "-timeout", "3m", "-concurrency", "8", "-json", jsonPath)
	for _, want := range []string{
		"Machine: " + strconv.Itoa(runtime.NumCPU()) + " CPUs, ",
		"Command: `go run ./loadtest -tenants 20 -scrapes 2 -min-fetches 0 -timeout 3m -concurrency 8 -json " + jsonPath + "`",
		"--scrape.max-concurrency=8,",
		"| " + strings.Join(columns, " | ") + " |\n",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}

	m, num := tenantRow(t, report)
	// ceil(20/8) rounds of 50 ms.
	if ideal := num(2); ideal != 0.15 {
		t.Errorf("ideal = %v s, want 0.150", ideal)
	}
	// Every call waits 50 ms in the simulator and the exporter makes 8 at a
	// time, so no scrape can be faster than three rounds.
	if median := num(3); median < 0.15 {
		t.Errorf("median scrape %v s is below 3 rounds of the simulated latency: the exporter did not get --scrape.max-concurrency=8", median)
	}
	for i, name := range columns[6:9] { // allocation, RSS and exposition size
		if num(i+6) <= 0 {
			t.Errorf("%s = %v, want a positive amount", name, num(i+6))
		}
	}

	raw, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var rep jsonReport
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatalf("-json wrote something else than the report: %v\n%s", err, raw)
	}
	if rep.Concurrency != 8 || rep.LatencySecs != 0.05 || rep.CPUs != runtime.NumCPU() || len(rep.Rows) != 1 {
		t.Fatalf("JSON report: %+v", rep)
	}
	r := rep.Rows[0]
	if r.Tenants != 20 || r.Scrapes != 2 || len(r.ScrapeSeconds) != 2 || r.IdealSeconds != 0.15 ||
		fmt.Sprintf("%.3f", r.MedianSeconds) != m[4] ||
		r.PeakRSSBytes <= 0 || len(strings.Fields(r.LoadBefore)) != 3 || len(strings.Fields(r.LoadAfter)) != 3 {
		t.Errorf("JSON row does not match the table: %+v", r)
	}
}

// tenantRow finds the report's row for 20 tenants, 2 scrapes, with every
// cell well formed; num(i) is column i's number.
func tenantRow(t *testing.T, report string) (cells []string, num func(i int) float64) {
	t.Helper()
	// One cell pattern per column, in order; each captures the number.
	cellPatterns := []string{`(20)`, `(2)`, `(\d+\.\d{3}) s`, `(\d+\.\d{3}) s`, `(\d+\.\d{2})×`,
		`(\d+\.\d) µs`, `(\d+\.\d) kB`, `(\d+\.\d) MB`, `(\d+) B`, `(\d+\.\d\d) → \d+\.\d\d`}
	if len(cellPatterns) != len(columns) {
		t.Fatalf("%d cell patterns for %d columns", len(cellPatterns), len(columns))
	}
	row := regexp.MustCompile(`(?m)^\| ` + strings.Join(cellPatterns, ` \| `) + ` \|$`)
	m := row.FindStringSubmatch(report)
	if m == nil {
		t.Fatalf("no well-formed row for 20 tenants in:\n%s", report)
	}
	return m, func(i int) float64 {
		v, err := strconv.ParseFloat(m[i+1], 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// TestHarnessProbe runs a round of one /probe per tenant: every tenant must
// answer up, 8 probes in flight take at least three rounds of the latency,
// and a probe answer is one tenant's exposition (a few kB), not all of them.
func TestHarnessProbe(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the harness reads /proc")
	}
	report, _ := runHarness(t, "-tenants", "20", "-scrapes", "2", "-min-fetches", "0", "-timeout", "3m", "-concurrency", "8", "-probe")
	if want := "one /probe?tenant=NAME per tenant, 8 in flight"; !strings.Contains(report, want) {
		t.Errorf("report lacks %q:\n%s", want, report)
	}
	_, num := tenantRow(t, report)
	if median := num(3); median < 0.15 {
		t.Errorf("median round %v s is below 3 rounds of the simulated latency with 8 probes in flight", median)
	}
	if perTenant := num(8); perTenant < 500 || perTenant > 5000 {
		t.Errorf("exposition per tenant %v B; a probe answer holds one tenant's series", perTenant)
	}
	if cpu, alloc := num(5), num(6); cpu <= 0 && alloc <= 0 {
		t.Errorf("neither CPU (%v µs) nor allocations (%v kB) were counted for the probes", cpu, alloc)
	}
}

// TestHarnessHeapProfile: -heap-profile leaves a heap profile per tenant
// count that go tool pprof reads: gzipped, with in-use figures.
func TestHarnessHeapProfile(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the harness reads /proc")
	}
	dir := t.TempDir()
	_, progress := runHarness(t, "-tenants", "20", "-scrapes", "2", "-min-fetches", "0", "-timeout", "3m", "-concurrency", "8", "-heap-profile", dir)
	path := filepath.Join(dir, "heap-20.pb.gz")
	if !strings.Contains(progress, "heap profile in "+path+"\n") {
		t.Errorf("progress does not name %s:\n%s", path, progress)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s is not gzipped: %v", path, err)
	}
	raw, err := io.ReadAll(gz)
	if err != nil {
		t.Fatal(err)
	}
	// The sample types are strings of the profile's string table.
	if !bytes.Contains(raw, []byte("inuse_space")) || !bytes.Contains(raw, []byte("alloc_space")) {
		t.Errorf("%s holds no heap profile (%d bytes)", path, len(raw))
	}
}

func TestReadExposition(t *testing.T) {
	body := []byte(`# HELP metastudio_up 1 if ...
# TYPE metastudio_up gauge
metastudio_up{tenant="a"} 1
metastudio_up{tenant="b"} 0
metastudio_up{tenant="c"} 1
go_memstats_alloc_bytes_total 1.2345e+07
`)
	up, alloc, err := readExposition(body)
	if err != nil || up != 2 || alloc != 12345000 {
		t.Errorf("readExposition = %d, %v, %v; want 2, 12345000, nil", up, alloc, err)
	}
	if _, _, err := readExposition([]byte("metastudio_up{tenant=\"a\"} 1\n")); err == nil {
		t.Error("no error for an exposition without go_memstats_alloc_bytes_total")
	}
}

func TestProcAccounting(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	before, err := processCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Spin until the counter moves; a busy machine may take a while to
	// grant this process a clock tick, hence the generous bound.
	after := before
	for deadline := time.Now().Add(10 * time.Second); after == before && time.Now().Before(deadline); {
		if after, err = processCPU(os.Getpid()); err != nil {
			t.Fatal(err)
		}
	}
	if after <= before {
		t.Errorf("CPU time stayed at %v through 10s of spinning", before)
	}
	rss, err := peakRSS(os.Getpid())
	if err != nil || rss < 1<<20 {
		t.Errorf("peakRSS = %d, %v; want at least 1 MiB for a Go test binary", rss, err)
	}
}

func TestParseOptions(t *testing.T) {
	opts, err := parseOptions([]string{"-tenants", "100, 1000,5000"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if len(opts.tenants) != 3 || opts.tenants[0] != 100 || opts.tenants[2] != 5000 || opts.latency != 50*time.Millisecond || opts.concurrency != 32 {
		t.Errorf("parsed %+v", opts)
	}
	for _, bad := range [][]string{{"-tenants", "10,x"}, {"-tenants", "0"}, {"-scrapes", "1"}} {
		if _, err := parseOptions(bad, &bytes.Buffer{}); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// TestHarnessRoomsJobs runs -rooms-jobs at a small size: two exporters,
// rooms and jobs off and on, each against a simulator of its own. It checks
// what does not depend on timing: every scrape makes exactly one
// user-config call per tenant, the exporter with rooms and jobs off makes
// no other call and serves none of their series, and the one with them on
// serves every room, job and failed job of every tenant.
func TestHarnessRoomsJobs(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the harness reads /proc")
	}
	jsonPath := filepath.Join(t.TempDir(), "results.json")
	// One room per tenant: its detail is fetched right after the listing,
	// so the exporter serves everything after its first refreshes.
	report, _ := runHarness(t, "-rooms-jobs", "-tenants", "12", "-rooms", "1", "-jobs", "2", "-failed-jobs", "1",
		"-interval", "1s", "-window", "2s", "-rooms-interval", "1m", "-jobs-interval", "15s", "-concurrency", "8", "-timeout", "3m", "-json", jsonPath)
	for _, want := range []string{
		"| " + strings.Join(roomsJobsColumns, " | ") + " |\n",
		"| " + strings.Join(callColumns, " | ") + " |\n",
		"off has rooms.refresh_interval and live_jobs.refresh_interval 0s, on 1m0s and 15s.",
		"Each tenant has 1 rooms, each with a play policy and a callback of its own, 2 running jobs and 1 failed ones.",
		"Expected per minute of on at 12 tenants from its intervals: user-config 720.0, rooms list 12.0, room detail 12.0, jobs list active 48.0, failed 48.0.",
		"At the default intervals (rooms 10m0s, jobs 1m0s) rooms and jobs calls scale to: rooms list 1.2, room detail 1.2, jobs list active 12.0, failed 12.0 per minute.",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}

	raw, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var rep roomsJobsJSON
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatalf("-json wrote something else than the report: %v\n%s", err, raw)
	}
	if len(rep.Rows) != 2 || rep.Rows[0].Exporter != variantOff || rep.Rows[1].Exporter != variantOn {
		t.Fatalf("JSON rows: %+v", rep.Rows)
	}
	// 4 status series of rooms, 6 per room with settings of its own; 5
	// of jobs, 6 per running job (its start, limit and callback known), 1
	// per failed job.
	wantSeries := map[string]float64{variantOff: 0, variantOn: 4 + 6 + 5 + 2*6 + 1}
	for _, r := range rep.Rows {
		if r.Scrapes != 2 {
			t.Errorf("%s: %d scrapes in a window of two 1s rounds", r.Exporter, r.Scrapes)
		}
		if got := r.Calls["user_config"]; got != int64(r.Scrapes*12) {
			t.Errorf("%s: %d user-config calls in %d scrapes of 12 tenants; a scrape makes exactly one per tenant", r.Exporter, got, r.Scrapes)
		}
		if r.SeriesPerTenant != wantSeries[r.Exporter] {
			t.Errorf("%s: %v rooms and jobs series per tenant, want %v", r.Exporter, r.SeriesPerTenant, wantSeries[r.Exporter])
		}
		if r.PeakRSSBytes <= 0 || r.ExpositionPerTenant <= 0 || r.WindowSecs < 2 {
			t.Errorf("%s: %+v", r.Exporter, r)
		}
	}
	if c := rep.Rows[0].Calls; c["rooms_list"]+c["room_detail"]+c["jobs_list_active"]+c["jobs_list_failed"] != 0 {
		t.Errorf("with rooms and jobs off the exporter called %v", c)
	}
	if off, on := rep.Rows[0].ExpositionPerTenant, rep.Rows[1].ExpositionPerTenant; on <= off {
		t.Errorf("exposition per tenant %v B with rooms and jobs on, %v B off", on, off)
	}
}

// TestCountedSimulator: the harness tells the two jobs listings apart, and
// together they are the simulator's own count of the route.
func TestCountedSimulator(t *testing.T) {
	sim, err := startInventorySimulator(3, inventorySize{rooms: 2, jobs: 1, failedJobs: 1}, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer sim.close()
	for _, q := range []string{"state=WAITING,PROCESSING", "state=FAILED,BLOCKED&create_since=2026-01-01T00:00:00Z", "state=FAILED,BLOCKED"} {
		resp, err := http.Get(sim.url + "/v1/" + projectID(1) + "/smart-live-jobs?" + q)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	c := sim.calls()
	if c.jobsActive != 1 || c.jobsFailed != 2 || sim.jobsListings() != 3 || c.userConfig+c.roomsList+c.roomDetail != 0 {
		t.Errorf("calls %+v, the simulator's jobs listings %d; want 1 active and 2 failed of 3", c, sim.jobsListings())
	}
}

func TestParseRoomsJobsOptions(t *testing.T) {
	opts, err := parseOptions([]string{"-rooms-jobs", "-tenants", "1000,2000", "-runs", "3"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	rj := opts.roomsJobs
	if !opts.rooms || rj.size != (inventorySize{rooms: 10, jobs: 2, failedJobs: 2}) || rj.interval != time.Minute ||
		rj.window != 10*time.Minute || rj.roomsInterval != 10*time.Minute || rj.jobsInterval != time.Minute {
		t.Errorf("parsed %+v", opts)
	}
	// Each of 6 runs: settling within 10m + 2×1m + 2m, a window of 10m and
	// a round more; and 5m.
	if want := 6*(14*time.Minute+10*time.Minute+time.Minute) + 5*time.Minute; opts.timeout != want {
		t.Errorf("timeout %v, want %v", opts.timeout, want)
	}
	if opts, _ := parseOptions([]string{"-rooms-jobs", "-timeout", "1m"}, &bytes.Buffer{}); opts.timeout != time.Minute {
		t.Errorf("-timeout 1m became %v", opts.timeout)
	}
	for bad, want := range map[string]string{
		"-probe":                  "-rooms-jobs scrapes /metrics: it takes neither -probe nor -heap-profile",
		"-rooms 0 -jobs 1":        "-jobs and -failed-jobs need -rooms to run in",
		"-interval 1m -window 1m": "-interval must be positive and -window at least two of it",
		"-rooms-interval 30s":     "-rooms-interval must be at least 1m and -jobs-interval at least 15s, as the config requires",
		"-jobs-interval 10s":      "-rooms-interval must be at least 1m and -jobs-interval at least 15s, as the config requires",
		"-runs 0":                 "-runs must be at least 1",
		"-failed-jobs -1":         "-rooms, -jobs and -failed-jobs must not be negative",
	} {
		var stderr bytes.Buffer
		_, err := parseOptions(append([]string{"-rooms-jobs"}, strings.Fields(bad)...), &stderr)
		if err == nil || err.Error() != want || stderr.String() != want+"\n" {
			t.Errorf("%s: error %v, stderr %q; want %q", bad, err, stderr.String(), want)
		}
	}
}

// runHarness runs the harness with args as a user would on the command
// line, and returns its report and progress output.
func runHarness(t *testing.T, args ...string) (report, progress string) {
	t.Helper()
	opts, err := parseOptions(args, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	var out, prog bytes.Buffer
	if err := run(context.Background(), opts, &out, &prog); err != nil {
		t.Fatalf("%v\nprogress:\n%s", err, &prog)
	}
	return out.String(), prog.String()
}
