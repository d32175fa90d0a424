package tenants

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/metastudio-exporter/metastudio_exporter/discovery"
	"github.com/metastudio-exporter/metastudio_exporter/internal/fakeclock"
	"github.com/metastudio-exporter/metastudio_exporter/internal/lockedbuffer"
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

// t0 is where the set's clock stands in every test: 2025-11-28T08:00:00Z.
var t0 = time.Unix(1764316800, 0)

// startSim runs a simulator whose AK akMain sees four tenant projects and
// some IAM-only ones that every filter must drop; the IAM user acme/monitor
// sees idShop1, idEast and its own cn-north-4_iam; the temporary AK sees a
// cn-north-4_shop1 of its own and cn-north-4_temp.
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

var requestIDRE = regexp.MustCompile(`request_id=[0-9a-f]{32}`)

// logLines takes the log lines written so far, with request ids replaced by
// RID.
func logLines(logs *lockedbuffer.Buffer) []string {
	lines := logs.TakeLines()
	for i, line := range lines {
		lines[i] = requestIDRE.ReplaceAllString(line, "request_id=RID")
	}
	return lines
}

// tokenRecorder is a transport that remembers every IAM token handed out.
type tokenRecorder struct {
	next   *http.Transport
	mu     sync.Mutex
	tokens []string
}

func (tr *tokenRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
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
	dir    string
	logs   *lockedbuffer.Buffer
	tokens *tokenRecorder
	client *metastudio.Client
	clock  *fakeclock.Clock
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	sim, url := startSim(t)
	// Idle connections are closed at the end so that goleak sees no
	// transport goroutines.
	tr := &tokenRecorder{next: metastudio.NewTransport(4)}
	t.Cleanup(tr.next.CloseIdleConnections)
	return &fixture{sim: sim, url: url, dir: t.TempDir(), logs: &lockedbuffer.Buffer{}, tokens: tr,
		client: metastudio.NewClient(metastudio.ClientOptions{Transport: tr}), clock: fakeclock.New(t0)}
}

// credentialsYAML declares the simulator's three accounts: main (AK/SK),
// temp (temporary AK/SK) and iam (IAM password).
func (f *fixture) credentialsYAML() string {
	return fmt.Sprintf(`credentials:
  main: {access_key: %s, secret_key: %s}
  temp: {access_key: %s, secret_key: %s, security_token: %s}
  iam: {iam_password: {domain: acme, user: monitor, password: %s, endpoint: %q}}
`, akMain, skMain, akTemp, skTemp, stTemp, iamPass, f.url)
}

// entry is a discovery entry on the simulator's IAM; extra is more flow
// mapping keys ("name_prefix: x, ").
func (f *fixture) entry(creds, extra string) string {
	return fmt.Sprintf("  - {%scredentials: %s, iam_endpoint: %q, regions: [cn-north-4]}\n", extra, creds, f.url)
}

// write writes the config: the credentials, tenants (YAML list items, may
// be "") and discovery entries.
func (f *fixture) write(t *testing.T, tenants string, entries ...string) string {
	t.Helper()
	path := filepath.Join(f.dir, "metastudio.yml")
	content := f.credentialsYAML() + "tenants:\n" + tenants + "discovery:\n" + strings.Join(entries, "")
	if tenants == "" {
		content = f.credentialsYAML() + "discovery:\n" + strings.Join(entries, "")
	}
	writeFile(t, path, content)
	return path
}

// set loads the config the fixture wrote last and waits for every entry's
// first listing.
func (f *fixture) set(t *testing.T, opts Options) *Set {
	t.Helper()
	opts.Lister = f.client
	opts.Logger = log.NewLogfmtLogger(f.logs)
	opts.Now = f.clock.Now
	if opts.RetryBase == 0 {
		opts.RetryBase = time.Hour // no retry interferes unless a test asks for it
	}
	s := New(filepath.Join(f.dir, "metastudio.yml"), opts)
	t.Cleanup(s.Close)
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	waitListings(t, s, 1)
	return s
}

// waitListings waits until every entry has landed at least n listings.
func waitListings(t *testing.T, s *Set, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s.mu.Lock()
		done := true
		for _, e := range s.entries {
			done = done && e.attempts >= n
		}
		s.mu.Unlock()
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the entries did not list %d times within 30s", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// listAll lists every entry now, one after the other, as its run would.
func listAll(s *Set) {
	s.mu.Lock()
	entries := append([]*entry(nil), s.entries...)
	s.mu.Unlock()
	for _, e := range entries {
		listing, err := discovery.List(context.Background(), s.lister, e.src)
		s.record(e, listing, err)
	}
}

// discovered lists the served discovered tenants as name=project@region.
func discovered(s *Set) []string {
	var out []string
	for _, t := range s.Snapshot().discovered {
		out = append(out, t.Name+"="+t.ProjectID+"@"+t.Region)
	}
	return out
}

func wantDiscovered(t *testing.T, s *Set, want ...string) {
	t.Helper()
	if got := discovered(s); !reflect.DeepEqual(got, want) {
		t.Fatalf("discovered tenants = %q\nwant %q", got, want)
	}
}

func wantLines(t *testing.T, logs *lockedbuffer.Buffer, want ...string) {
	t.Helper()
	if got := logLines(logs); !reflect.DeepEqual(got, want) {
		t.Fatalf("log lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// sourceMetrics is one entry's row of the discovery metrics.
type sourceMetrics struct {
	source        string
	errors        int
	lastSuccess   string // as the text format writes it
	tenantsServed int
}

func wantMetrics(t *testing.T, s *Set, rows ...sourceMetrics) {
	t.Helper()
	var b strings.Builder
	b.WriteString("# HELP metastudio_exporter_discovery_errors_total Failed project list refreshes of this discovery source.\n")
	b.WriteString("# TYPE metastudio_exporter_discovery_errors_total counter\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "metastudio_exporter_discovery_errors_total{source=%q} %d\n", r.source, r.errors)
	}
	b.WriteString("# HELP metastudio_exporter_discovery_last_success_timestamp_seconds Unix time of the last successful project list of this discovery source; 0 if none yet.\n")
	b.WriteString("# TYPE metastudio_exporter_discovery_last_success_timestamp_seconds gauge\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "metastudio_exporter_discovery_last_success_timestamp_seconds{source=%q} %s\n", r.source, r.lastSuccess)
	}
	b.WriteString("# HELP metastudio_exporter_discovery_tenants Tenants this discovery source serves now; a project a configured tenant serves, or a name it or an earlier source holds, is not counted.\n")
	b.WriteString("# TYPE metastudio_exporter_discovery_tenants gauge\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "metastudio_exporter_discovery_tenants{source=%q} %d\n", r.source, r.tenantsServed)
	}
	if err := testutil.CollectAndCompare(s, strings.NewReader(b.String()),
		"metastudio_exporter_discovery_errors_total", "metastudio_exporter_discovery_last_success_timestamp_seconds",
		"metastudio_exporter_discovery_tenants"); err != nil {
		t.Fatal(err)
	}
}

func listOnce(s *Set, e *entry) (discovery.Listing, error) {
	return discovery.List(context.Background(), s.lister, e.src)
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
