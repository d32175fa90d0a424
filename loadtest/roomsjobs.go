package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// roomsJobsOptions are the knobs of -rooms-jobs, the mode that measures what
// watching rooms and live jobs costs.
type roomsJobsOptions struct {
	size inventorySize
	// interval is how often each exporter is scraped, as a Prometheus
	// scrape_interval; window is how long the steady state is measured,
	// rounded up to whole intervals.
	interval, window time.Duration
	// roomsInterval and jobsInterval are the refresh intervals of the
	// exporter with rooms and jobs on.
	roomsInterval, jobsInterval time.Duration
	// baseline is an exporter built before rooms and live jobs existed,
	// measured next to the others with a config that has no rooms: or
	// live_jobs: keys; "" for none.
	baseline string
	runs     int
	// cpuProfileDir is where each exporter's CPU profile over each window
	// is saved; "" for none.
	cpuProfileDir string
}

// inventoryFamilies are the series prefixes a rooms-and-jobs scrape counts:
// the families that say every room's detail and every job is served, then
// every rooms and jobs series.
var inventoryFamilies = []string{
	"metastudio_room_info{", "metastudio_room_play_repeats{", "metastudio_live_job_info{",
	"metastudio_live_job_failed_timestamp_seconds{", "metastudio_room", "metastudio_live_job",
}

// Indexes into inventoryFamilies and scrapeResult.series.
const (
	seriesRoomInfo = iota
	seriesRoomRepeats
	seriesJobInfo
	seriesJobFailed
	seriesRooms
	seriesJobs
)

// variant is one exporter process of a rooms-and-jobs run, with its own
// simulator so that the calls it makes are counted apart.
type variant struct {
	name    string // before, off or on
	sim     *countedSimulator
	proc    *exporterProcess
	scraper *scrapeClient
	last    scrapeResult

	// The window's measurements.
	cpuStart, cpuEnd, inScrapes time.Duration
	callsStart, callsEnd        apiCalls
	walls                       []time.Duration
	bodies                      []int
	allocFirst, allocLast       float64
}

// Variant names, as the report shows them.
const (
	variantBefore = "before"
	variantOff    = "off"
	variantOn     = "on"
)

// measureRoomsJobs runs one tenant count once: a simulator and an exporter
// process per variant, all scraped in turn every interval until the one with
// rooms and jobs on serves every room's settings and every job, then over
// the window. The variants take turns in an order rotated by run, so that
// over runs each is scraped first as often.
func measureRoomsJobs(ctx context.Context, opts options, exporterBin, work string, n, run int, progress io.Writer) ([]roomsJobsRow, error) {
	rj := opts.roomsJobs
	variants, stop, err := startVariants(ctx, opts, exporterBin, work, n, run)
	defer stop()
	if err != nil {
		return nil, err
	}
	order := make([]*variant, len(variants))
	for i := range variants {
		order[i] = variants[(i+run)%len(variants)]
	}
	on := variants[len(variants)-1]
	r := &roomsJobsRun{order: order, interval: rj.interval}

	// The first round starts the watches; each round after it serves what
	// the refreshes have found, until every room's detail is in.
	settleBy := time.Now().Add(rj.settleBound())
	fmt.Fprintf(progress, "  run %d: settling until every room's settings and every job are served (by %s)\n", run+1, settleBy.Format(time.TimeOnly))
	for rounds := 0; ; rounds++ {
		if err := r.round(ctx, false); err != nil {
			return nil, err
		}
		if rounds > 0 && servesAll(on.last, n, rj.size) {
			break
		}
		if time.Now().After(settleBy) {
			return nil, on.proc.explain(fmt.Errorf("the exporter with rooms and jobs on serves %s, not yet every room's settings and every job",
				describeSeries(on.last)))
		}
	}

	rounds := int((rj.window + rj.interval - 1) / rj.interval)
	fmt.Fprintf(progress, "  run %d: measuring %d rounds of %s\n", run+1, rounds, rj.interval)
	loadBefore := loadAverage()
	if err := r.mark(func(v *variant, cpu time.Duration) { v.cpuStart, v.callsStart = cpu, v.sim.calls() }); err != nil {
		return nil, err
	}
	profiles := r.startProfiles(ctx, rj.cpuProfileDir, time.Duration(rounds)*rj.interval, n, run)
	for range rounds {
		if err := r.round(ctx, true); err != nil {
			return nil, err
		}
		if !servesAll(on.last, n, rj.size) {
			return nil, fmt.Errorf("the exporter with rooms and jobs on served %s during the window", describeSeries(on.last))
		}
	}
	if err := r.mark(func(v *variant, cpu time.Duration) { v.cpuEnd, v.callsEnd = cpu, v.sim.calls() }); err != nil {
		return nil, err
	}
	loadAfter := loadAverage()
	if err := profiles(); err != nil {
		return nil, err
	}

	rows := make([]roomsJobsRow, 0, len(variants))
	for _, v := range variants {
		row, err := v.row(n, r.window)
		if err != nil {
			return nil, err
		}
		// Only on may call for rooms and jobs or serve them: the others
		// would measure something else.
		if v != on && row.calls.roomsList+row.calls.roomDetail+row.calls.jobsActive+row.calls.jobsFailed+int64(row.seriesPerTenant) > 0 {
			return nil, fmt.Errorf("the %s exporter watched rooms and jobs anyway (%d calls, %.0f series a tenant): it does not read the rooms: and live_jobs: keys of its config",
				v.name, row.calls.roomsList+row.calls.roomDetail+row.calls.jobsActive+row.calls.jobsFailed, row.seriesPerTenant)
		}
		row.run, row.loadBefore, row.loadAfter = run+1, loadBefore, loadAfter
		rows = append(rows, row)
	}
	return rows, nil
}

// startVariants starts, for n tenants, a simulator and an exporter process
// for before (with -baseline), off and on, in that order. stop stops
// whatever was started, also after an error.
func startVariants(ctx context.Context, opts options, exporterBin, work string, n, run int) (variants []*variant, stop func(), err error) {
	rj := opts.roomsJobs
	var stops []func()
	stop = func() {
		for _, s := range slices.Backward(stops) {
			s()
		}
	}
	if rj.baseline != "" {
		variants = append(variants, &variant{name: variantBefore})
	}
	variants = append(variants, &variant{name: variantOff}, &variant{name: variantOn})
	for _, v := range variants {
		sim, err := startInventorySimulator(n, rj.size, opts.latency)
		if err != nil {
			return nil, stop, err
		}
		stops = append(stops, sim.close)
		v.sim = sim
		bin, defaults := exporterBin, ""
		switch v.name {
		case variantBefore:
			bin = rj.baseline
		case variantOff:
			defaults = "  rooms:\n    refresh_interval: 0s\n  live_jobs:\n    refresh_interval: 0s\n"
		case variantOn:
			defaults = fmt.Sprintf("  rooms:\n    refresh_interval: %s\n  live_jobs:\n    refresh_interval: %s\n", rj.roomsInterval, rj.jobsInterval)
		}
		base := fmt.Sprintf("%s-%d-%d", v.name, n, run)
		cfg := filepath.Join(work, "metastudio-"+base+".yml")
		if err := writeConfigWith(cfg, sim.url, n, defaults); err != nil {
			return nil, stop, err
		}
		proc, err := startExporter(ctx, bin, cfg, filepath.Join(work, "exporter-"+base+".log"), opts.concurrency)
		if err != nil {
			return nil, stop, fmt.Errorf("%s exporter: %w", v.name, err)
		}
		stops = append(stops, proc.stop)
		v.proc = proc
		// As in measure: a timeout so long that only the exporter's speed
		// decides the wall time.
		timeout := max(60*time.Second, 10*time.Duration((n+opts.concurrency-1)/opts.concurrency)*opts.latency)
		v.scraper = &scrapeClient{url: proc.url + "/metrics", timeout: timeout, tenants: n, families: inventoryFamilies}
	}
	return variants, stop, nil
}

// row is v's measurements over a window of n tenants.
func (v *variant) row(n int, window time.Duration) (roomsJobsRow, error) {
	rss, err := peakRSS(v.proc.pid())
	if err != nil {
		return roomsJobsRow{}, err
	}
	scrapes, tenantScrapes := len(v.walls), float64(len(v.walls)*n)
	return roomsJobsRow{
		tenants: n, variant: v.name, scrapes: scrapes, window: window,
		median:       median(v.walls),
		cpuPerScrape: time.Duration(float64(v.cpuEnd-v.cpuStart) / tenantScrapes),
		inScrapes:    time.Duration(float64(v.inScrapes) / tenantScrapes),
		// go_memstats_alloc_bytes_total is read during each scrape: the
		// first and last measured ones span scrapes-1 intervals.
		allocPerScrape:  (v.allocLast - v.allocFirst) / float64((scrapes-1)*n),
		peakRSS:         rss,
		bytesPerTenant:  float64(medianInt(v.bodies)) / float64(n),
		seriesPerTenant: float64(v.last.series[seriesRooms]+v.last.series[seriesJobs]) / float64(n),
		calls:           v.callsEnd.minus(v.callsStart),
	}, nil
}

// roomsJobsRun scrapes its variants in turn.
type roomsJobsRun struct {
	order    []*variant
	interval time.Duration
	// windowStart is when the window began; window is its length, set
	// when it ends.
	windowStart time.Time
	window      time.Duration
}

// round scrapes every variant once, spread evenly over an interval that
// starts now, and returns when the interval is over. A measured round
// records each scrape into its variant's window.
func (r *roomsJobsRun) round(ctx context.Context, measured bool) error {
	start := time.Now()
	for i, v := range r.order {
		if err := sleepUntil(ctx, start.Add(time.Duration(i)*r.interval/time.Duration(len(r.order)))); err != nil {
			return err
		}
		before, err := processCPU(v.proc.pid())
		if err != nil {
			return err
		}
		res, err := v.scraper.scrape(ctx)
		if err != nil {
			return v.proc.explain(fmt.Errorf("%s exporter: %w", v.name, err))
		}
		after, err := processCPU(v.proc.pid())
		if err != nil {
			return err
		}
		v.last = res
		if measured {
			if len(v.walls) == 0 {
				v.allocFirst = res.allocBytes
			}
			v.allocLast = res.allocBytes
			v.walls = append(v.walls, res.wall)
			v.bodies = append(v.bodies, res.bytes)
			v.inScrapes += after - before
		}
	}
	return sleepUntil(ctx, start.Add(r.interval))
}

// mark reads every variant's CPU time at a window's edge, where no scrape
// is in flight, and hands it to set with the variant; the first mark
// starts the window and the second ends it.
func (r *roomsJobsRun) mark(set func(v *variant, cpu time.Duration)) error {
	now := time.Now()
	if r.windowStart.IsZero() {
		r.windowStart = now
	} else {
		r.window = now.Sub(r.windowStart)
	}
	for _, v := range r.order {
		cpu, err := processCPU(v.proc.pid())
		if err != nil {
			return err
		}
		set(v, cpu)
	}
	return nil
}

// servesAll reports whether a scrape of n tenants showed every room with
// its own settings, every running job and every failed one.
func servesAll(res scrapeResult, n int, size inventorySize) bool {
	return len(res.series) == len(inventoryFamilies) &&
		res.series[seriesRoomInfo] == n*size.rooms && res.series[seriesRoomRepeats] == n*size.rooms &&
		res.series[seriesJobInfo] == n*size.jobs && res.series[seriesJobFailed] == n*size.failedJobs
}

func describeSeries(res scrapeResult) string {
	if len(res.series) != len(inventoryFamilies) {
		return "no rooms and jobs"
	}
	return fmt.Sprintf("%d rooms, %d rooms' settings, %d running jobs and %d failed jobs",
		res.series[seriesRoomInfo], res.series[seriesRoomRepeats], res.series[seriesJobInfo], res.series[seriesJobFailed])
}

func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// check refuses knobs that cannot make a run.
func (rj roomsJobsOptions) check(opts options) error {
	switch {
	case opts.probe || opts.heapDir != "":
		return errors.New("-rooms-jobs scrapes /metrics: it takes neither -probe nor -heap-profile")
	case rj.size.rooms < 0 || rj.size.jobs < 0 || rj.size.failedJobs < 0:
		return errors.New("-rooms, -jobs and -failed-jobs must not be negative")
	case rj.size.rooms == 0 && rj.size.jobs+rj.size.failedJobs > 0:
		return errors.New("-jobs and -failed-jobs need -rooms to run in")
	case rj.interval <= 0 || rj.window < 2*rj.interval:
		return errors.New("-interval must be positive and -window at least two of it")
	case rj.roomsInterval < time.Minute || rj.jobsInterval < 15*time.Second:
		return errors.New("-rooms-interval must be at least 1m and -jobs-interval at least 15s, as the config requires")
	case rj.runs < 1:
		return errors.New("-runs must be at least 1")
	}
	return nil
}

// settleBound is how long the exporter with rooms and jobs on may take to
// serve every room's settings and every job: a whole rooms round, two jobs
// rounds and two minutes more, for a busy machine.
func (rj roomsJobsOptions) settleBound() time.Duration {
	return rj.roomsInterval + 2*rj.jobsInterval + 2*time.Minute
}

// bound is the default -timeout of a -rooms-jobs run of counts tenant
// counts: each run's settling bound and window, and 5 minutes for starting
// and stopping.
func (rj roomsJobsOptions) bound(counts int) time.Duration {
	window := time.Duration((rj.window+rj.interval-1)/rj.interval) * rj.interval
	return time.Duration(counts*rj.runs)*(rj.settleBound()+window+rj.interval) + 5*time.Minute
}

// runRoomsJobs measures every tenant count -runs times and writes the
// report.
func runRoomsJobs(ctx context.Context, opts options, exporter, work string, m machine, loadBefore string, stdout, stderr io.Writer) error {
	if dir := opts.roomsJobs.cpuProfileDir; dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	var rows []roomsJobsRow
	for _, n := range opts.tenants {
		for run := range opts.roomsJobs.runs {
			fmt.Fprintf(stderr, "measuring %d tenants, run %d of %d\n", n, run+1, opts.roomsJobs.runs)
			r, err := measureRoomsJobs(ctx, opts, exporter, work, n, run, stderr)
			if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
				err = fmt.Errorf("-timeout %s reached: %w", opts.timeout, err)
			}
			if err != nil {
				return fmt.Errorf("%d tenants, run %d: %w", n, run+1, err)
			}
			rows = append(rows, r...)
		}
	}
	loadAfter := loadAverage()
	writeRoomsJobsReport(stdout, opts, m, loadBefore, loadAfter, rows)
	if opts.jsonPath != "" {
		return writeRoomsJobsJSON(opts.jsonPath, opts, m, loadBefore, loadAfter, rows)
	}
	return nil
}
