package discovery_test

import (
	"bytes"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
	"go.uber.org/goleak"

	"github.com/metastudio-exporter/metastudio_exporter/discovery"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio/simulator"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Every secret holds "SECRET", so one search finds any that leaked.
const (
	akMain  = "AKDISCOVERY01"
	skMain  = "disc-SECRET-sk"
	akTemp  = "AKDISCOVERYTMP"
	skTemp  = "disc-SECRET-temp-sk"
	stTemp  = "disc-SECRET-security-token"
	iamPass = "disc-SECRET-password"

	idDefault = "00000000000000000000000000000a01" // cn-north-4
	idShop1   = "00000000000000000000000000000a02" // cn-north-4_shop1
	idShop2   = "00000000000000000000000000000a03" // cn-north-4_shop2
	idEast    = "00000000000000000000000000000a04" // cn-east-3_shop3
)

// t0 is where the Discoverer's clock starts in every test:
// 2025-11-28T08:00:00Z.
var t0 = time.Unix(1764316800, 0)

// clock is a settable clock for the last-success timestamps.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

// startSim runs a simulator whose AK akMain sees four tenant projects and
// some IAM-only ones that every filter must drop; the IAM user acme/monitor
// sees idShop1, idEast and its own cn-north-4_iam.
func startSim(t *testing.T) (*simulator.Server, string) {
	t.Helper()
	iam := func(tn simulator.Tenant) simulator.Tenant {
		tn.IAMDomain, tn.IAMUser, tn.IAMPassword = "acme", "monitor", iamPass
		return tn
	}
	run, err := simulator.Start(simulator.Options{},
		simulator.Tenant{ProjectID: idDefault, ProjectName: "cn-north-4", AccessKey: akMain, SecretKey: skMain},
		iam(simulator.Tenant{ProjectID: idShop1, ProjectName: "cn-north-4_shop1", AccessKey: akMain, SecretKey: skMain}),
		simulator.Tenant{ProjectID: idShop2, ProjectName: "cn-north-4_shop2", AccessKey: akMain, SecretKey: skMain},
		iam(simulator.Tenant{ProjectID: idEast, ProjectName: "cn-east-3_shop3", AccessKey: akMain, SecretKey: skMain}),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = run.Close() })
	sim := run.Server
	for _, p := range []simulator.Project{
		{ID: "00000000000000000000000000000b01", Name: "cn-north-4_off", Disabled: true, AccessKey: akMain, SecretKey: skMain},
		{ID: "00000000000000000000000000000b02", Name: "ap-southeast-1_shop4", AccessKey: akMain, SecretKey: skMain},
		{ID: "00000000000000000000000000000b03", Name: "cn-north-4x_shop", AccessKey: akMain, SecretKey: skMain},
		{ID: "00000000000000000000000000000b04", Name: "MOS", AccessKey: akMain, SecretKey: skMain},
		{ID: "00000000000000000000000000000c01", Name: "cn-north-4_iam", IAMDomain: "acme", IAMUser: "monitor", IAMPassword: iamPass},
		{ID: "00000000000000000000000000000d01", Name: "cn-north-4_shop1", AccessKey: akTemp, SecretKey: skTemp, SecurityToken: stTemp},
		{ID: "00000000000000000000000000000d02", Name: "cn-north-4_temp", AccessKey: akTemp, SecretKey: skTemp, SecurityToken: stTemp},
	} {
		if err := sim.AddProject(p); err != nil {
			t.Fatal(err)
		}
	}
	return sim, run.URL
}

func akCreds() metastudio.Credentials {
	return metastudio.Credentials{AccessKey: akMain, SecretKey: skMain}
}

func tempCreds() metastudio.Credentials {
	return metastudio.Credentials{AccessKey: akTemp, SecretKey: skTemp, SecurityToken: stTemp}
}

func iamCreds() metastudio.Credentials {
	return metastudio.Credentials{IAM: &metastudio.IAMPassword{Domain: "acme", User: "monitor", Password: iamPass}}
}

// syncBuffer collects log lines from concurrent goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

var requestIDRE = regexp.MustCompile(`request_id=[0-9a-f]{32}`)

// Lines returns the log lines so far with request ids replaced by RID, and
// forgets them.
func (b *syncBuffer) Lines() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := requestIDRE.ReplaceAllString(b.buf.String(), "request_id=RID")
	b.buf.Reset()
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// tokenRecorder is a transport that remembers every IAM token handed out.
type tokenRecorder struct {
	next      *http.Transport
	onRequest func() // if set, runs as each request is sent
	mu        sync.Mutex
	tokens    []string
}

func (tr *tokenRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	if tr.onRequest != nil {
		tr.onRequest()
	}
	resp, err := tr.next.RoundTrip(r)
	if err == nil && resp.Header.Get("X-Subject-Token") != "" {
		tr.mu.Lock()
		tr.tokens = append(tr.tokens, resp.Header.Get("X-Subject-Token"))
		tr.mu.Unlock()
	}
	return resp, err
}

func (tr *tokenRecorder) Tokens() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]string(nil), tr.tokens...)
}

type fixture struct {
	sim    *simulator.Server
	url    string
	logs   *syncBuffer
	tokens *tokenRecorder
	client *metastudio.Client
	clock  *clock
	debug  bool // log debug lines too
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	sim, url := startSim(t)
	// Idle connections are closed at the end so that goleak sees no
	// transport goroutines.
	tr := &tokenRecorder{next: metastudio.NewTransport(4)}
	t.Cleanup(tr.next.CloseIdleConnections)
	return &fixture{sim: sim, url: url, logs: &syncBuffer{}, tokens: tr,
		client: metastudio.NewClient(metastudio.ClientOptions{Transport: tr}), clock: &clock{t: t0}}
}

// source is a cn-north-4 source on the fixture's IAM.
func (f *fixture) source(index int, creds metastudio.Credentials) discovery.Source {
	return discovery.Source{Index: index, Credentials: creds, IAMEndpoint: f.url, Regions: []string{"cn-north-4"}}
}

func (f *fixture) discoverer(t *testing.T, opts discovery.Options, sources ...discovery.Source) *discovery.Discoverer {
	t.Helper()
	opts.Logger = log.NewLogfmtLogger(f.logs)
	if !f.debug {
		opts.Logger = level.NewFilter(opts.Logger, level.AllowInfo())
	}
	opts.Now = f.clock.Now
	d, err := discovery.New(f.client, sources, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return d
}

// names lists the served tenants as name=project id@region.
func names(d *discovery.Discoverer) []string {
	var out []string
	for _, p := range d.Projects() {
		out = append(out, p.TenantName+"="+p.ProjectID+"@"+p.Region)
	}
	return out
}
