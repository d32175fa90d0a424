// Command loadtest measures metastudio_exporter the way an agency runs it:
// a real exporter process with default flags (but for -concurrency), many
// tenants, and an upstream that takes a fixed time to answer.
//
// For each tenant count it starts the MetaStudio simulator in this process
// (every call delayed by -latency), builds and starts the exporter against
// it, scrapes /metrics repeatedly and prints a markdown table: median scrape
// wall time against the ideal ceil(N / concurrency) × latency, exporter CPU
// per tenant fetch (from /proc/PID/stat), bytes allocated per tenant fetch
// (from the exporter's go_memstats_alloc_bytes_total), peak RSS
// (/proc/PID/status VmHWM), exposition bytes per tenant and the machine's
// 1-minute load average before and after, since CPU figures on a shared
// machine mean little without it. -json writes the same as JSON.
//
//	go run ./loadtest -tenants 1000,5000,10000 -json results.json
//
// It reads /proc, so it runs on Linux only. All traffic stays on 127.0.0.1.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/config"
)

// options are the harness's knobs; the exporter itself runs with its default
// flags apart from the config file, listen address and
// --scrape.max-concurrency.
type options struct {
	tenants    []int
	scrapes    int           // at least this many measured scrapes per tenant count
	minFetches int           // ...and at least this many tenant fetches, for CPU tick resolution
	latency    time.Duration // simulator delay per call
	// concurrency is the exporter's --scrape.max-concurrency, and what the
	// ideal assumes.
	concurrency int
	exporter    string        // prebuilt binary; "" builds one from this module
	timeout     time.Duration // bound on the whole run
	jsonPath    string        // where to write the results as JSON too; "" for none
	probe       bool          // /probe each tenant instead of scraping /metrics
	heapDir     string        // where to save a held heap profile per tenant count; "" for none
	command     string        // shown in the report so that it can be reproduced
	// rooms is whether to measure what watching rooms and live jobs
	// costs, with roomsJobs' knobs, instead of a scrape alone.
	rooms     bool
	roomsJobs roomsJobsOptions
}

func main() {
	opts, err := parseOptions(os.Args[1:], os.Stderr)
	if err != nil {
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, opts, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		stop()
		os.Exit(1)
	}
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	tenants := fs.String("tenants", "100,1000,5000", "comma-separated tenant counts")
	opts := options{command: strings.TrimSpace("go run ./loadtest " + strings.Join(args, " "))}
	fs.IntVar(&opts.scrapes, "scrapes", 5, "measured scrapes per tenant count (at least)")
	fs.IntVar(&opts.minFetches, "min-fetches", 10000, "measured tenant fetches per tenant count (at least); more scrapes are made for small counts")
	fs.DurationVar(&opts.latency, "latency", 50*time.Millisecond, "simulated upstream latency per call")
	fs.IntVar(&opts.concurrency, "concurrency", 32, "the exporter's --scrape.max-concurrency (32 is its default)")
	fs.StringVar(&opts.exporter, "exporter", "", "prebuilt exporter binary (default: go build this module)")
	fs.DurationVar(&opts.timeout, "timeout", 20*time.Minute, "upper bound on the whole run (with -rooms-jobs: every run's settling bound and window, and 5m, by default)")
	fs.StringVar(&opts.jsonPath, "json", "", "also write the results to this file as JSON")
	fs.BoolVar(&opts.probe, "probe", false, "a round is one /probe?tenant=NAME per tenant, -concurrency in flight, as sharded Prometheus servers scrape, instead of one /metrics scrape")
	fs.StringVar(&opts.heapDir, "heap-profile", "", "after the measured scrapes, save the exporter's heap profile as DIR/heap-N.pb.gz (N tenants) while a /metrics answer is held half read, when a scrape holds the most")
	rj := &opts.roomsJobs
	builtin := config.BuiltinSettings()
	fs.BoolVar(&opts.rooms, "rooms-jobs", false, "measure what watching rooms and live jobs costs: exporters with them off and on (and -baseline) side by side, each tenant with -rooms rooms and -jobs jobs, scraped every -interval, the API calls counted at the simulator by kind")
	fs.IntVar(&rj.size.rooms, "rooms", 10, "-rooms-jobs: rooms per tenant, each with a play policy and a callback of its own")
	fs.IntVar(&rj.size.jobs, "jobs", 2, "-rooms-jobs: running jobs per tenant")
	fs.IntVar(&rj.size.failedJobs, "failed-jobs", 2, "-rooms-jobs: jobs per tenant that failed within the failed window")
	fs.DurationVar(&rj.interval, "interval", time.Minute, "-rooms-jobs: how often each exporter's /metrics is scraped, as a Prometheus scrape_interval")
	fs.DurationVar(&rj.window, "window", 10*time.Minute, "-rooms-jobs: the steady window measured, in whole -interval rounds; at least -rooms-interval to hold a whole rooms round")
	fs.DurationVar(&rj.roomsInterval, "rooms-interval", builtin.Rooms.RefreshInterval, "-rooms-jobs: rooms.refresh_interval of the exporter with rooms and jobs on (at least 1m)")
	fs.DurationVar(&rj.jobsInterval, "jobs-interval", builtin.LiveJobs.RefreshInterval, "-rooms-jobs: live_jobs.refresh_interval of the exporter with rooms and jobs on (at least 15s)")
	fs.StringVar(&rj.baseline, "baseline", "", "-rooms-jobs: also measure this exporter binary, built from before rooms and live jobs existed, with a config without rooms: and live_jobs:")
	fs.IntVar(&rj.runs, "runs", 1, "-rooms-jobs: runs per tenant count, each with fresh processes, the exporters' scrape order rotated")
	fs.StringVar(&rj.cpuProfileDir, "cpu-profile", "", "-rooms-jobs: save each exporter's CPU profile over each window as DIR/cpu-EXPORTER-N-runR.pb.gz")
	if err := fs.Parse(args); err != nil {
		return opts, err
	}
	for _, f := range strings.Split(*tenants, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			err = fmt.Errorf("-tenants: %q is not a positive count", f)
			fmt.Fprintln(stderr, err)
			return opts, err
		}
		opts.tenants = append(opts.tenants, n)
	}
	if opts.scrapes < 2 || opts.concurrency < 1 || opts.latency <= 0 || opts.minFetches < 0 {
		err := errors.New("-scrapes must be at least 2, -concurrency at least 1, -latency positive, -min-fetches not negative")
		fmt.Fprintln(stderr, err)
		return opts, err
	}
	if opts.rooms {
		if err := rj.check(opts); err != nil {
			fmt.Fprintln(stderr, err)
			return opts, err
		}
		timeoutSet := false
		fs.Visit(func(f *flag.Flag) { timeoutSet = timeoutSet || f.Name == "timeout" })
		if !timeoutSet {
			opts.timeout = rj.bound(len(opts.tenants))
		}
	}
	return opts, nil
}

// run measures every tenant count and writes the report to stdout; progress
// goes to stderr.
func run(ctx context.Context, opts options, stdout, stderr io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, opts.timeout)
	defer cancel()
	work, err := os.MkdirTemp("", "metastudio-loadtest-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	exporter := opts.exporter
	if exporter == "" {
		fmt.Fprintln(stderr, "building the exporter")
		if exporter, err = buildExporter(ctx, work); err != nil {
			return err
		}
	}
	m := machineInfo(ctx)
	loadBefore := loadAverage()
	if opts.rooms {
		return runRoomsJobs(ctx, opts, exporter, work, m, loadBefore, stdout, stderr)
	}
	rows := make([]row, 0, len(opts.tenants))
	for _, n := range opts.tenants {
		fmt.Fprintf(stderr, "measuring %d tenants\n", n)
		r, err := measure(ctx, opts, exporter, work, n, stderr)
		if err != nil {
			return fmt.Errorf("%d tenants: %w", n, err)
		}
		rows = append(rows, r)
	}
	loadAfter := loadAverage()
	writeReport(stdout, opts, m, loadBefore, loadAfter, rows)
	if opts.jsonPath != "" {
		return writeJSON(opts.jsonPath, opts, m, loadBefore, loadAfter, rows)
	}
	return nil
}
