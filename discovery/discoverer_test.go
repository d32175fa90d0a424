package discovery_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/metastudio-exporter/metastudio_exporter/discovery"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio/simulator"
)

const metricsHead = `# HELP metastudio_exporter_discovery_errors_total Failed project list refreshes of this discovery source.
# TYPE metastudio_exporter_discovery_errors_total counter
`

// sourceMetrics is one source's row of the exposition.
type sourceMetrics struct {
	source        int
	errors        int
	lastSuccess   string // as the text format writes it
	tenantsServed int
}

// exposition renders the three discovery metrics for rows, in the order
// and format of the text exposition.
func exposition(rows ...sourceMetrics) string {
	var b strings.Builder
	b.WriteString(metricsHead)
	for _, r := range rows {
		fmt.Fprintf(&b, "metastudio_exporter_discovery_errors_total{source=\"%d\"} %d\n", r.source, r.errors)
	}
	b.WriteString("# HELP metastudio_exporter_discovery_last_success_timestamp_seconds Unix time of the last successful project list of this discovery source; 0 if none yet.\n")
	b.WriteString("# TYPE metastudio_exporter_discovery_last_success_timestamp_seconds gauge\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "metastudio_exporter_discovery_last_success_timestamp_seconds{source=\"%d\"} %s\n", r.source, r.lastSuccess)
	}
	b.WriteString("# HELP metastudio_exporter_discovery_tenants Tenants this discovery source serves now; names held by a configured tenant or an earlier source are not counted.\n")
	b.WriteString("# TYPE metastudio_exporter_discovery_tenants gauge\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "metastudio_exporter_discovery_tenants{source=\"%d\"} %d\n", r.source, r.tenantsServed)
	}
	return b.String()
}

func wantMetrics(t *testing.T, d *discovery.Discoverer, rows ...sourceMetrics) {
	t.Helper()
	if err := testutil.CollectAndCompare(d, strings.NewReader(exposition(rows...))); err != nil {
		t.Fatal(err)
	}
}

func wantLines(t *testing.T, logs *syncBuffer, want ...string) {
	t.Helper()
	if got := logs.Lines(); !reflect.DeepEqual(got, want) {
		t.Fatalf("log lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func wantNames(t *testing.T, d *discovery.Discoverer, want ...string) {
	t.Helper()
	if got := names(d); !reflect.DeepEqual(got, want) {
		t.Fatalf("tenants = %q\nwant %q", got, want)
	}
}

// changed reports whether Changes was signalled, and clears the signal.
func changed(d *discovery.Discoverer) bool {
	select {
	case <-d.Changes():
		return true
	default:
		return false
	}
}

func TestDiscoverWithAKSK(t *testing.T) {
	f := newFixture(t)
	d := f.discoverer(t, discovery.Options{}, f.source(0, akCreds()))
	// Nothing is listed before the first refresh.
	wantMetrics(t, d, sourceMetrics{source: 0, lastSuccess: "0"})
	if changed(d) || d.Projects() != nil {
		t.Fatal("tenants before any refresh")
	}

	d.Refresh(context.Background())
	wantNames(t, d, "cn-north-4="+idDefault+"@cn-north-4", "cn-north-4_shop1="+idShop1+"@cn-north-4", "cn-north-4_shop2="+idShop2+"@cn-north-4")
	want := discovery.Project{Source: 0, TenantName: "cn-north-4_shop1", ProjectID: idShop1, ProjectName: "cn-north-4_shop1",
		Region: "cn-north-4", Endpoint: "https://metastudio.cn-north-4.myhuaweicloud.com"}
	if got := d.Projects()[1]; got != want {
		t.Fatalf("project = %+v\nwant %+v", got, want)
	}
	wantMetrics(t, d, sourceMetrics{source: 0, lastSuccess: "1.7643168e+09", tenantsServed: 3})
	wantLines(t, f.logs, `level=info msg="Discovered projects changed" source=0 tenants=3 added=3 removed=0`)
	if !changed(d) {
		t.Fatal("Changes not signalled")
	}
	if n := f.sim.ProjectListCalls(); n != 1 {
		t.Fatalf("ProjectListCalls = %d, want 1", n)
	}
}

func TestFiltersAndPrefix(t *testing.T) {
	f := newFixture(t)
	src := f.source(3, akCreds())
	src.Regions = []string{"cn-north-4", "cn-east-3", "la-south-2"}
	src.NameRegex = regexpFor(".*_shop[13]")
	src.NamePrefix = "acme-"
	src.Endpoint = "https://metastudio-{region}.internal:8443"
	d := f.discoverer(t, discovery.Options{}, src)
	d.Refresh(context.Background())
	wantNames(t, d, "acme-cn-east-3_shop3="+idEast+"@cn-east-3", "acme-cn-north-4_shop1="+idShop1+"@cn-north-4")
	if ep := d.Projects()[0].Endpoint; ep != "https://metastudio-cn-east-3.internal:8443" {
		t.Fatalf("endpoint = %q", ep)
	}
	wantMetrics(t, d, sourceMetrics{source: 3, lastSuccess: "1.7643168e+09", tenantsServed: 2})
}

func TestRefreshAddsAndRemovesTenants(t *testing.T) {
	f := newFixture(t)
	d := f.discoverer(t, discovery.Options{}, f.source(0, akCreds()))
	ctx := context.Background()
	d.Refresh(ctx)
	changed(d)
	f.logs.Lines()

	if err := f.sim.AddTenant(simulator.Tenant{ProjectID: "00000000000000000000000000000a09", ProjectName: "cn-north-4_shop9", AccessKey: akMain, SecretKey: skMain}); err != nil {
		t.Fatal(err)
	}
	if err := f.sim.RemoveProject(idShop2); err != nil {
		t.Fatal(err)
	}
	if err := f.sim.SetProjectEnabled(idDefault, false); err != nil {
		t.Fatal(err)
	}
	f.clock.Set(t0.Add(10 * time.Minute))
	d.Refresh(ctx)
	wantNames(t, d, "cn-north-4_shop1="+idShop1+"@cn-north-4", "cn-north-4_shop9=00000000000000000000000000000a09@cn-north-4")
	if !changed(d) {
		t.Fatal("Changes not signalled")
	}
	wantLines(t, f.logs, `level=info msg="Discovered projects changed" source=0 tenants=2 added=1 removed=2`)
	wantMetrics(t, d, sourceMetrics{source: 0, lastSuccess: "1.7643174e+09", tenantsServed: 2})

	// The same list again changes nothing and logs nothing.
	d.Refresh(ctx)
	if changed(d) {
		t.Fatal("Changes signalled without a change")
	}
	wantLines(t, f.logs)
}

func TestFailedRefreshKeepsLastList(t *testing.T) {
	f := newFixture(t)
	d := f.discoverer(t, discovery.Options{}, f.source(0, akCreds()))
	ctx := context.Background()
	d.Refresh(ctx)
	changed(d)
	f.logs.Lines()
	before := names(d)

	f.sim.SetProjectsFault(simulator.Fault{Status: 503})
	f.clock.Set(t0.Add(time.Hour))
	d.Refresh(ctx)
	d.Refresh(ctx)
	wantNames(t, d, before...)
	if changed(d) {
		t.Fatal("Changes signalled by a failed refresh")
	}
	failed := `level=warn msg="Discovery refresh failed, keeping the last list" source=0 reason=server_error status=503 error_code=APIGW.0202 request_id=RID kept_tenants=3 err="list IAM projects: HTTP 503 APIGW.0202: Backend unavailable"`
	wantLines(t, f.logs, failed, failed)
	wantMetrics(t, d, sourceMetrics{source: 0, errors: 2, lastSuccess: "1.7643168e+09", tenantsServed: 3})

	// A list IAM answers but cannot be read is a failure too, not an empty list.
	f.sim.SetProjectsFault(simulator.Fault{Body: []byte(`{"error":"nope"}`)})
	d.Refresh(ctx)
	wantNames(t, d, before...)
	wantLines(t, f.logs, `level=warn msg="Discovery refresh failed, keeping the last list" source=0 reason=decode request_id=RID kept_tenants=3 err="list IAM projects: decode: response has no \"projects\" list"`)

	f.sim.SetProjectsFault(simulator.Fault{})
	d.Refresh(ctx)
	wantLines(t, f.logs, `level=info msg="Discovery refresh succeeded again" source=0 tenants=3`)
	wantMetrics(t, d, sourceMetrics{source: 0, errors: 3, lastSuccess: "1.7643204e+09", tenantsServed: 3})
}

func TestRefreshTimeout(t *testing.T) {
	f := newFixture(t)
	src := f.source(0, akCreds())
	src.Timeout = 50 * time.Millisecond
	d := f.discoverer(t, discovery.Options{}, src)
	f.sim.SetProjectsFault(simulator.Fault{Hang: true})
	d.Refresh(context.Background())
	wantLines(t, f.logs, `level=warn msg="Discovery refresh failed, keeping the last list" source=0 reason=timeout kept_tenants=0 err="list IAM projects: timeout: context deadline exceeded"`)
	wantMetrics(t, d, sourceMetrics{source: 0, errors: 1, lastSuccess: "0"})
}

func TestStaticTenantWins(t *testing.T) {
	f := newFixture(t)
	d := f.discoverer(t, discovery.Options{}, f.source(0, akCreds()))
	ctx := context.Background()
	d.SetStatic([]string{"cn-north-4_shop1", "shop-a"})
	d.Refresh(ctx)
	wantNames(t, d, "cn-north-4="+idDefault+"@cn-north-4", "cn-north-4_shop2="+idShop2+"@cn-north-4")
	wantMetrics(t, d, sourceMetrics{source: 0, lastSuccess: "1.7643168e+09", tenantsServed: 2})
	clash := `level=warn msg="Discovered project not served: a configured tenant has its name" source=0 tenant=cn-north-4_shop1 project_id=` + idShop1
	wantLines(t, f.logs, `level=info msg="Discovered projects changed" source=0 tenants=3 added=3 removed=0`, clash)

	// Logged once: neither refreshes nor a reload with the same names repeat it.
	d.Refresh(ctx)
	d.SetStatic([]string{"shop-a", "cn-north-4_shop1"})
	wantLines(t, f.logs)
	changed(d)

	// The static tenant goes: the discovered one is served.
	d.SetStatic([]string{"shop-a"})
	wantNames(t, d, "cn-north-4="+idDefault+"@cn-north-4", "cn-north-4_shop1="+idShop1+"@cn-north-4", "cn-north-4_shop2="+idShop2+"@cn-north-4")
	wantMetrics(t, d, sourceMetrics{source: 0, lastSuccess: "1.7643168e+09", tenantsServed: 3})
	if !changed(d) {
		t.Fatal("Changes not signalled")
	}
	// A new clash is a new log line.
	d.SetStatic([]string{"cn-north-4_shop1"})
	wantLines(t, f.logs, clash)
}

func TestDuplicatesAcrossSources(t *testing.T) {
	f := newFixture(t)
	// Source 0 (AK/SK), 1 (temporary AK/SK) and 2 (IAM password) all find
	// a cn-north-4_shop1; source 0 lists first and keeps it.
	d := f.discoverer(t, discovery.Options{},
		f.source(2, iamCreds()), f.source(0, akCreds()), f.source(1, tempCreds()))
	ctx := context.Background()
	d.Refresh(ctx)
	wantNames(t, d,
		"cn-north-4="+idDefault+"@cn-north-4",
		"cn-north-4_iam=00000000000000000000000000000c01@cn-north-4",
		"cn-north-4_shop1="+idShop1+"@cn-north-4",
		"cn-north-4_shop2="+idShop2+"@cn-north-4",
		"cn-north-4_temp=00000000000000000000000000000d02@cn-north-4")
	for _, p := range d.Projects() {
		if p.TenantName == "cn-north-4_shop1" && p.Source != 0 {
			t.Fatalf("cn-north-4_shop1 served by source %d", p.Source)
		}
	}
	wantLines(t, f.logs,
		`level=info msg="Discovered projects changed" source=0 tenants=3 added=3 removed=0`,
		`level=info msg="Discovered projects changed" source=1 tenants=2 added=2 removed=0`,
		`level=warn msg="Discovered project not served: an earlier discovery source serves its name" source=1 tenant=cn-north-4_shop1 project_id=00000000000000000000000000000d01 served_by_source=0`,
		`level=info msg="Discovered projects changed" source=2 tenants=2 added=2 removed=0`,
		`level=warn msg="Discovered project not served: an earlier discovery source serves its name" source=2 tenant=cn-north-4_shop1 project_id=`+idShop1+` served_by_source=0`,
	)
	wantMetrics(t, d,
		sourceMetrics{source: 0, lastSuccess: "1.7643168e+09", tenantsServed: 3},
		sourceMetrics{source: 1, lastSuccess: "1.7643168e+09", tenantsServed: 1},
		sourceMetrics{source: 2, lastSuccess: "1.7643168e+09", tenantsServed: 1})
	d.Refresh(ctx)
	wantLines(t, f.logs)
	if n := f.sim.TokensIssued(); n != 1 {
		t.Fatalf("TokensIssued = %d, want 1: the domain token is reused", n)
	}
}

func TestSkippedProjectLoggedOnce(t *testing.T) {
	f := newFixture(t)
	if err := f.sim.AddProject(simulator.Project{ID: "00000000000000000000000000000e01", Name: "cn-north-4_a+b", AccessKey: akMain, SecretKey: skMain}); err != nil {
		t.Fatal(err)
	}
	d := f.discoverer(t, discovery.Options{}, f.source(0, akCreds()))
	d.Refresh(context.Background())
	d.Refresh(context.Background())
	wantLines(t, f.logs,
		`level=warn msg="Discovered project skipped" source=0 project=cn-north-4_a+b project_id=00000000000000000000000000000e01 reason="tenant name \"cn-north-4_a+b\" does not match ^[a-zA-Z0-9_.-]+$"`,
		`level=info msg="Discovered projects changed" source=0 tenants=3 added=3 removed=0`)
}

func TestNewRejectsBadSources(t *testing.T) {
	c := metastudio.NewClient(metastudio.ClientOptions{})
	for _, tc := range []struct {
		sources []discovery.Source
		want    string
	}{
		{[]discovery.Source{{Index: 0, Regions: []string{"a"}}, {Index: 0, Regions: []string{"b"}}}, "discovery[0]: index used twice"},
		{[]discovery.Source{{Index: 4}}, "discovery[4]: no regions"},
		{[]discovery.Source{{Index: 1, Regions: []string{"a"}, RefreshInterval: -time.Second}}, "discovery[1]: negative refresh interval or timeout"},
	} {
		if _, err := discovery.New(c, tc.sources, discovery.Options{}); err == nil || err.Error() != tc.want {
			t.Errorf("err = %v, want %s", err, tc.want)
		}
	}
}
