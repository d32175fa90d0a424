package discovery_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/metastudio-exporter/metastudio_exporter/discovery"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio/simulator"
)

// waitFor fails the test if ch yields nothing in a generous time: it
// guards against a hang, it measures nothing.
func waitFor[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(30 * time.Second):
		t.Fatalf("no %s after 30s", what)
		var zero T
		return zero
	}
}

// manualTicker hands out one tick channel per source and records the
// intervals asked for.
type manualTicker struct {
	mu        sync.Mutex
	ticks     []chan time.Time
	intervals []time.Duration
	stopped   int
}

func (m *manualTicker) New(d time.Duration) (<-chan time.Time, func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ch := make(chan time.Time)
	m.ticks = append(m.ticks, ch)
	m.intervals = append(m.intervals, d)
	return ch, func() { m.mu.Lock(); m.stopped++; m.mu.Unlock() }
}

func TestBackgroundRefresh(t *testing.T) {
	f := newFixture(t)
	mt := &manualTicker{}
	src := f.source(0, akCreds())
	src.RefreshInterval = 90 * time.Second
	d := f.discoverer(t, discovery.Options{NewTicker: mt.New}, src)
	d.Start()
	d.Start() // a second Start starts nothing more
	waitFor(t, d.Initialized(), "first refresh")
	waitFor(t, d.Changes(), "change after the first refresh")
	wantNames(t, d, "cn-north-4="+idDefault+"@cn-north-4", "cn-north-4_shop1="+idShop1+"@cn-north-4", "cn-north-4_shop2="+idShop2+"@cn-north-4")

	if err := f.sim.RemoveProject(idShop1); err != nil {
		t.Fatal(err)
	}
	mt.mu.Lock()
	tick, intervals := mt.ticks[0], append([]time.Duration(nil), mt.intervals...)
	mt.mu.Unlock()
	if len(intervals) != 1 || intervals[0] != 90*time.Second {
		t.Fatalf("ticker intervals = %v, want [1m30s]", intervals)
	}
	tick <- t0
	waitFor(t, d.Changes(), "change after a tick")
	wantNames(t, d, "cn-north-4="+idDefault+"@cn-north-4", "cn-north-4_shop2="+idShop2+"@cn-north-4")
	if n := f.sim.ProjectListCalls(); n != 2 {
		t.Fatalf("ProjectListCalls = %d, want 2", n)
	}

	d.Close()
	d.Close()
	if _, open := <-d.Changes(); open {
		t.Fatal("Changes still open after Close")
	}
	if mt.stopped != 1 {
		t.Fatalf("ticker stopped %d times, want 1", mt.stopped)
	}
	// The last list stays readable, and refreshes after Close do nothing.
	d.Refresh(context.Background())
	d.SetStatic([]string{"cn-north-4"})
	wantNames(t, d, "cn-north-4_shop2="+idShop2+"@cn-north-4")
	if n := f.sim.ProjectListCalls(); n != 2 {
		t.Fatalf("ProjectListCalls = %d after Close, want 2", n)
	}
}

func TestCloseStopsARefreshInFlight(t *testing.T) {
	f := newFixture(t)
	f.sim.SetProjectsFault(simulator.Fault{Hang: true})
	sent := make(chan struct{}, 1)
	f.tokens.onRequest = func() { sent <- struct{}{} }
	d := f.discoverer(t, discovery.Options{NewTicker: (&manualTicker{}).New}, f.source(0, akCreds()))
	d.Start()
	waitFor(t, sent, "project list request") // the first refresh now hangs in IAM
	d.Close()
	// Cut short by Close: no error counted, nothing logged.
	wantMetrics(t, d, sourceMetrics{source: 0, lastSuccess: "0"})
	wantLines(t, f.logs)
}

func TestNoSourcesIsInitialized(t *testing.T) {
	d, err := discovery.New(metastudio.NewClient(metastudio.ClientOptions{}), nil, discovery.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d.Start()
	waitFor(t, d.Initialized(), "initialization")
	d.Close()
	if err := testutil.CollectAndCompare(d, strings.NewReader("")); err != nil {
		t.Fatal(err)
	}
	// A nil Discoverer collects nothing and describes the same metrics.
	var none *discovery.Discoverer
	if err := testutil.CollectAndCompare(none, strings.NewReader("")); err != nil {
		t.Fatal(err)
	}
	descs := make(chan *prometheus.Desc, 3)
	none.Describe(descs)
	close(descs)
	var got []string
	for desc := range descs {
		got = append(got, desc.String())
	}
	if len(got) != 3 || !strings.Contains(got[0], `fqName: "metastudio_exporter_discovery_tenants"`) {
		t.Fatalf("descs = %q", got)
	}
}

func TestReloadKeepsState(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	src := f.source(0, akCreds())
	old := f.discoverer(t, discovery.Options{}, src, f.source(1, tempCreds()))
	old.SetStatic([]string{"cn-north-4_shop2"})
	old.Refresh(ctx)
	f.sim.SetProjectsFault(simulator.Fault{Status: 500})
	old.Refresh(ctx)
	f.sim.SetProjectsFault(simulator.Fault{})
	f.logs.Lines()

	// Source 0 unchanged, source 1 now filters differently.
	changedSrc := f.source(1, tempCreds())
	changedSrc.NamePrefix = "tmp-"
	d := f.discoverer(t, discovery.Options{Previous: old}, src, changedSrc)
	old.Close()
	wantNames(t, d, "cn-north-4="+idDefault+"@cn-north-4", "cn-north-4_shop1="+idShop1+"@cn-north-4")
	wantMetrics(t, d,
		sourceMetrics{source: 0, errors: 1, lastSuccess: "1.7643168e+09", tenantsServed: 2},
		sourceMetrics{source: 1, errors: 1, lastSuccess: "0"})
	d.Refresh(ctx)
	wantNames(t, d, "cn-north-4="+idDefault+"@cn-north-4", "cn-north-4_shop1="+idShop1+"@cn-north-4",
		"tmp-cn-north-4_shop1=00000000000000000000000000000d01@cn-north-4", "tmp-cn-north-4_temp=00000000000000000000000000000d02@cn-north-4")
	// The clash with the static tenant was logged before the reload.
	// Source 1 starts afresh: its failure streak went with its old settings.
	wantLines(t, f.logs, `level=info msg="Discovery refresh succeeded again" source=0 tenants=3`,
		`level=info msg="Discovered projects changed" source=1 tenants=2 added=2 removed=0`)
}

// TestSecretsNeverSurface drives every path with secrets in play, failures
// included, and looks for them in logs at every level, metrics, errors and
// the served list.
func TestSecretsNeverSurface(t *testing.T) {
	f := newFixture(t)
	f.debug = true
	wrongSK := metastudio.Credentials{AccessKey: akMain, SecretKey: "wrong-SECRET-sk"}
	wrongPW := metastudio.Credentials{IAM: &metastudio.IAMPassword{Domain: "acme", User: "monitor", Password: "wrong-SECRET-pw"}}
	d := f.discoverer(t, discovery.Options{},
		f.source(0, akCreds()), f.source(1, tempCreds()), f.source(2, iamCreds()), f.source(3, wrongSK), f.source(4, wrongPW))
	ctx := context.Background()
	d.Refresh(ctx)
	f.sim.RevokeTokens() // the next list gets a 401 and a new token
	d.Refresh(ctx)
	f.sim.SetProjectsFault(simulator.Fault{Status: 401})
	d.Refresh(ctx)
	f.sim.SetProjectsFault(simulator.Fault{})

	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(d)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var exposition strings.Builder
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&exposition, mf); err != nil {
			t.Fatal(err)
		}
	}
	logs := strings.Join(f.logs.Lines(), "\n")
	surfaces := map[string]string{
		"logs":     logs,
		"metrics":  exposition.String(),
		"projects": fmt.Sprintf("%v %+v %#v", d.Projects(), d.Projects(), d.Projects()),
	}
	for _, src := range []discovery.Source{f.source(0, wrongSK), f.source(1, wrongPW), f.source(2, tempCreds())} {
		surfaces["source"] += fmt.Sprintf("%v %+v %#v", src, src, src)
		_, err := f.client.ListProjects(ctx, f.url, src.Credentials)
		if err != nil {
			surfaces["errors"] += err.Error() + fmt.Sprintf(" %+v %#v\n", err, err)
		}
	}
	tokens := f.tokens.Tokens()
	if len(tokens) < 2 || !strings.Contains(logs, "level=debug") || !strings.Contains(surfaces["errors"], "wrong") {
		t.Fatalf("the test did not exercise what it checks: %d tokens, logs:\n%s\nerrors: %s", len(tokens), logs, surfaces["errors"])
	}
	for where, text := range surfaces {
		if strings.Contains(text, "SECRET") {
			t.Errorf("a secret in %s:\n%s", where, text)
		}
		for _, tok := range tokens {
			if strings.Contains(text, tok) {
				t.Errorf("an IAM token in %s", where)
			}
		}
	}
}
