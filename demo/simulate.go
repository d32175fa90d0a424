package demo

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/metastudio-exporter/metastudio_exporter/flagvalue"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio/simulator"
)

// The simulate command's defaults and the credentials it prints. The IAM
// user can log in to every project, for iam_password credentials.
const (
	DefaultSimulateAddress = "127.0.0.1:10038"
	demoIAMDomain          = "demo"
	demoIAMUser            = "demo-monitor"
	demoIAMPassword        = "demo-password-not-a-real-one"
)

// simProject is a project of the simulate command: a sample tenant, a
// project for discovery to find, or one IAM lists but that serves nothing.
type simProject struct {
	tenant   simulator.Tenant // list-only projects have no Config
	listOnly bool             // disabled: listed, serves no user config
	about    string
	// roomsAbout says what is special about its rooms and jobs, if anything.
	roomsAbout string
}

// Projects that simulate adds for discovery to find.
const (
	regionDefaultProject = "9d3c2b1a0f9e4d7c8b5a493827161504"
	shopProject          = "7a6b5c4d3e2f40a9b8c7d6e5f4a3b2c1"
	eastShopProject      = "3c4d5e6f708142a3b4c5d6e7f8091a2b"
)

// simulatedRooms are the rooms and jobs of the projects for discovery, at
// now.
func simulatedRooms(now time.Time) []sampleRoom {
	return []sampleRoom{
		{project: shopProject, room: simulator.Room{ID: "room-shop-daily", Name: "Daily deals", RepeatCount: new(3)}, jobs: []simulator.LiveJob{
			{ID: "job-shop-daily", RoomID: "room-shop-daily", StartTime: now.Add(-40 * time.Minute), UsedResourceType: simulator.ResourceOnDemand},
			// Blocked four minutes before the start: the shop team's first
			// alert (MetaStudioLiveJobFailed) within a minute or two.
			{ID: "job-shop-daily-0", RoomID: "room-shop-daily", State: simulator.JobBlocked, StartTime: now.Add(-50 * time.Minute),
				EndTime: now.Add(-4 * time.Minute), BlockReason: "The live content was reported and blocked", UsedResourceType: simulator.ResourceOnDemand},
		}},
		{project: shopProject, room: simulator.Room{ID: "room-shop-template", Name: "Template", Type: simulator.RoomTemplate}},
		{project: eastShopProject, room: simulator.Room{ID: "room-east-weekend", Name: "Weekend", Exit: &simulator.LiveExit{MaxLiveDuration: new(4)}},
			jobs: []simulator.LiveJob{{ID: "job-east-weekend", RoomID: "room-east-weekend", State: simulator.JobWaiting}}},
	}
}

// simulatedProjects are the demo's sample tenants plus projects for
// discovery to find, named as real projects are: a region's default
// project ("cn-north-4") and region_name subprojects. examples/simulated.yml
// configures the samples as static tenants and discovers cn-north-4 and
// cn-north-4_shop; cn-east-3_shop is another region's, and
// cn-north-4_shop-closed is disabled, so that discovery skips both.
func simulatedProjects() []simProject {
	samples := Tenants()
	out := []simProject{
		{tenant: samples[0], about: "safe settings, signed https callback (MSS_A); live events",
			roomsAbout: "a job 25 min from its room's 2 h limit, one failed 6 min before the start, a room with a callback key of its own"},
		{tenant: samples[1], about: "risky: no limits, unsigned http callback, no stream events",
			roomsAbout: "a room that repeats until stopped with no limit: it runs forever, a room whose own callback is unsigned plain http"},
		{tenant: samples[2], about: "safe settings; examples/simulated.yml gives it a wrong secret key"},
		{tenant: simulator.Tenant{ProjectID: regionDefaultProject, ProjectName: "cn-north-4", Config: []byte("{}")},
			about: "the region's default project, never configured"},
		{tenant: simulator.Tenant{ProjectID: shopProject, ProjectName: "cn-north-4_shop", Config: signedConfig("cn-north-4_shop", simulator.AuthMSSA)},
			about: "safe settings"},
		{tenant: simulator.Tenant{ProjectID: eastShopProject, ProjectName: "cn-east-3_shop", Config: signedConfig("cn-east-3_shop", simulator.AuthMSSA)},
			about: "safe settings, another region"},
		{tenant: simulator.Tenant{ProjectID: "e5d4c3b2a1f04e9d8c7b6a5948372615", ProjectName: "cn-north-4_shop-closed"},
			listOnly: true, about: "disabled"},
	}
	for i := range out {
		t := &out[i].tenant
		t.AccessKey, t.SecretKey = demoAccessKey, demoSecretKey
		t.IAMDomain, t.IAMUser, t.IAMPassword = demoIAMDomain, demoIAMUser, demoIAMPassword
	}
	return out
}

// startSimulated runs the simulator on addr with simulatedProjects.
func startSimulated(addr string) (*Demo, error) {
	projects := simulatedProjects()
	var tenants []simulator.Tenant
	for _, p := range projects {
		if !p.listOnly {
			tenants = append(tenants, p.tenant)
		}
	}
	run, err := simulator.Listen(addr, simulator.Options{Latency: 30 * time.Millisecond}, tenants...)
	if err != nil {
		return nil, fmt.Errorf("--listen-address: %w", err)
	}
	now := time.Now()
	if err := addRooms(run.Server, now, append(sampleRooms(now), simulatedRooms(now)...)); err != nil {
		_ = run.Close()
		return nil, fmt.Errorf("adding the sample rooms: %w", err)
	}
	for _, p := range projects {
		if !p.listOnly {
			continue
		}
		t := p.tenant
		err := run.Server.AddProject(simulator.Project{ID: t.ProjectID, Name: t.ProjectName, Disabled: true,
			AccessKey: t.AccessKey, SecretKey: t.SecretKey, IAMDomain: t.IAMDomain, IAMUser: t.IAMUser, IAMPassword: t.IAMPassword})
		if err != nil {
			_ = run.Close()
			return nil, fmt.Errorf("adding the list-only project %s: %w", t.ProjectName, err)
		}
	}
	return &Demo{URL: run.URL, run: run}, nil
}

// simulateFlags are the simulate command's flags.
type simulateFlags struct {
	listenAddress string
	eventsTo      string
}

// Simulate is the `simulate` command of program: the built-in MetaStudio
// simulator on its own, for a config of the user's own (such as
// examples/simulated.yml) and, with --events.to, a sender of signed live
// events to a receiver. It runs until ctx ends and returns the exit code:
// 0, 1 when it cannot start, 2 for a bad command line.
func Simulate(ctx context.Context, program string, args []string, stdout, stderr io.Writer) int {
	f, code, done := parseSimulateFlags(program, args, stdout, stderr)
	if done {
		return code
	}
	logger := level.NewFilter(log.With(log.NewLogfmtLogger(log.NewSyncWriter(stderr)), "ts", log.DefaultTimestampUTC),
		level.AllowInfo())
	d, err := startSimulated(f.listenAddress)
	if err != nil {
		_ = level.Error(logger).Log("msg", "The simulator did not start", "err", err)
		return 1
	}
	defer d.Close()
	printBanner(stdout, program, d.URL, f.eventsTo)

	// The live jobs end with ctx, and are waited for before the simulator
	// closes, so that no event is sent for a project that is gone.
	var jobs sync.WaitGroup
	defer jobs.Wait()
	if f.eventsTo != "" {
		deliveries := &deliveryLog{logger: logger, last: map[string]string{}}
		jobs.Go(func() {
			if err := d.runLiveJobs(ctx, f.eventsTo, 1, deliveries.report); err != nil {
				_ = level.Error(logger).Log("msg", "Live events not started", "err", err)
			}
		})
	}
	<-ctx.Done()
	_ = level.Info(logger).Log("msg", "Shutting down")
	return 0
}

// parseSimulateFlags parses args. done says to exit with code at once:
// after --help (0) or a bad command line (2), both already printed.
func parseSimulateFlags(program string, args []string, stdout, stderr io.Writer) (f simulateFlags, code int, done bool) {
	app := flagvalue.NewSubcommand(program+" simulate", "Runs the built-in MetaStudio simulator on its own, so that a config of your own "+
		"(examples/simulated.yml) can be tried without a Huawei Cloud account: sample projects with their user config, "+
		"rooms and live jobs, IAM's project list and tokens, and with --events.to signed live events to a receiver. It prints its access key, "+
		"secret key and URLs at start.", stdout, stderr)
	app.Flag("listen-address", "Address the simulator listens on, for both the MetaStudio endpoint and the IAM endpoint.").
		Default(DefaultSimulateAddress).StringVar(&f.listenAddress)
	app.Flag("events.to", "Base URL of a live-event receiver, e.g. http://127.0.0.1:10037: the sample tenants' live jobs "+
		"send their signed events to {URL}/callback/{tenant}. Empty means no events.").
		Default("").StringVar(&f.eventsTo)
	code, done = app.Parse(args, func() error { return checkReceiverURL(f.eventsTo) })
	return f, code, done
}

// checkReceiverURL accepts "" or a receiver's base URL: the events go to
// its scheme and host, so a path or query would be silently ignored.
func checkReceiverURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("--events.to=%q: must be a receiver's base URL, such as http://127.0.0.1:10037", s)
	}
	return nil
}

// printBanner tells the user what to put in a config: the endpoints, the
// demo credentials (made up, and printed for that reason) and the projects.
// The banner is written in one piece, so that whoever watches the output for
// the URL line (a script, a test) never reads half of it.
func printBanner(out io.Writer, program, simulatorURL, eventsTo string) {
	var w bytes.Buffer
	defer func() { _, _ = out.Write(w.Bytes()) }()
	fmt.Fprintf(&w, "MetaStudio simulator listening on %s (not the real cloud; every key below is made up)\n\n", simulatorURL)
	tw := tabwriter.NewWriter(&w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  endpoint, iam_endpoint\t%s\n", simulatorURL)
	fmt.Fprintf(tw, "  access_key\t%s\n", demoAccessKey)
	fmt.Fprintf(tw, "  secret_key\t%s\n", demoSecretKey)
	fmt.Fprintf(tw, "  iam_password\tdomain %s, user %s, password %s\n", demoIAMDomain, demoIAMUser, demoIAMPassword)
	_ = tw.Flush()
	fmt.Fprintf(&w, "\nProjects, as IAM lists them (GET /v3/auth/projects):\n")
	for _, p := range simulatedProjects() {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", p.tenant.ProjectName, p.tenant.ProjectID, p.about)
	}
	_ = tw.Flush()
	fmt.Fprintf(&w, "\nRooms and live jobs (GET /v1/{project_id}/smart-live-rooms, /smart-live-jobs):\n")
	now := time.Now()
	rooms := append(sampleRooms(now), simulatedRooms(now)...)
	for _, p := range simulatedProjects() {
		summary := roomSummary(p.tenant.ProjectID, rooms)
		switch {
		case summary == "":
		case p.roomsAbout == "":
			fmt.Fprintf(tw, "  %s\t%s\n", p.tenant.ProjectName, summary)
		default:
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", p.tenant.ProjectName, summary, p.roomsAbout)
		}
	}
	_ = tw.Flush()
	if eventsTo == "" {
		fmt.Fprintf(&w, "\nLive events: off (--events.to=http://127.0.0.1:10037 sends them to a receiver)\n")
	} else {
		fmt.Fprintf(&w, "\nLive events: the sample tenants' live jobs send to %s/callback/{tenant}\n", strings.TrimSuffix(eventsTo, "/"))
	}
	// The command the README gives, with the receiver where the events go:
	// without --callback.external-url the status page would show no
	// callback URL and the sample tenants could not be checked for
	// pointing at the receiver.
	listen := "127.0.0.1:10037"
	if u, err := url.Parse(eventsTo); err == nil && u.Host != "" {
		listen = u.Host
	}
	fmt.Fprintf(&w, "\nTry it: %s --config.file=examples/simulated.yml --callback.listen-address=%s --callback.external-url=%s\n",
		program, listen, CallbackExternalURL)
	if simulatorURL != "http://"+DefaultSimulateAddress {
		fmt.Fprintf(&w, "  examples/simulated.yml expects the simulator at http://%s: change its endpoint and iam_endpoint to %s\n",
			DefaultSimulateAddress, simulatorURL)
	}
	fmt.Fprintln(&w)
}

// roomSummary counts a project's rooms and its jobs by state, the played
// jobs included: "5 rooms; jobs: 5 PROCESSING, 1 FAILED".
func roomSummary(project string, rooms []sampleRoom) string {
	var n int
	states := map[string]int{}
	for _, r := range rooms {
		if r.project != project {
			continue
		}
		n++
		for _, j := range r.jobs {
			states[cmp.Or(j.State, simulator.JobProcessing)]++
		}
		for _, j := range liveJobs {
			if j.project == project && j.room == r.room.ID {
				states[simulator.JobProcessing]++
			}
		}
	}
	if n == 0 {
		return ""
	}
	out := strconv.Itoa(n) + " room"
	if n > 1 {
		out += "s"
	}
	var counts []string
	for _, state := range []string{simulator.JobWaiting, simulator.JobProcessing, simulator.JobSucceed, simulator.JobFailed, simulator.JobBlocked} {
		if states[state] > 0 {
			counts = append(counts, strconv.Itoa(states[state])+" "+state)
		}
	}
	if len(counts) > 0 {
		out += "; jobs: " + strings.Join(counts, ", ")
	}
	return out
}

// deliveryLog logs how a tenant's live events are received when that
// changes (the HTTP status, or a transport error), not once per event: the
// first answer, a receiver that goes away, and its return.
type deliveryLog struct {
	logger log.Logger
	mu     sync.Mutex
	last   map[string]string // tenant -> outcome
}

func (l *deliveryLog) report(tenant string, d simulator.Delivery, err error) {
	outcome := strconv.Itoa(d.Status)
	if err != nil {
		outcome = err.Error()
	}
	l.mu.Lock()
	changed := l.last[tenant] != outcome
	l.last[tenant] = outcome
	l.mu.Unlock()
	if !changed {
		return
	}
	if err != nil {
		_ = level.Warn(l.logger).Log("msg", "Live events not delivered", "tenant", tenant, "err", err)
		return
	}
	_ = level.Info(l.logger).Log("msg", "Live events answered", "tenant", tenant, "status", d.Status, "body", d.Body)
}
