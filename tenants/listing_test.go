package tenants

import (
	"strings"
	"testing"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/metastudio/simulator"
)

const (
	listedMain = `level=info msg="Listed projects" source=0 credentials=main listed=8 enabled=7 matched=3 served=3`
	shop1      = "cn-north-4_shop1=" + idShop1 + "@cn-north-4"
	shop2      = "cn-north-4_shop2=" + idShop2 + "@cn-north-4"
	north4     = "cn-north-4=" + idDefault + "@cn-north-4"
)

func TestListingServesProjects(t *testing.T) {
	f := newFixture(t)
	f.write(t, "", f.entry("main", ""))
	s := f.set(t, Options{})
	wantDiscovered(t, s, north4, shop1, shop2)
	snap := s.Snapshot()
	if !snap.Ready() {
		t.Fatal("not ready after every entry listed")
	}
	tn, ok := snap.Tenant("cn-north-4_shop1")
	if !ok || tn.Endpoint != "https://metastudio.cn-north-4.myhuaweicloud.com" || tn.Credentials.AccessKey != akMain ||
		tn.CredentialsName != "main" || tn.Source != &snap.File().Discovery()[0] {
		t.Fatalf("tenant = %+v", tn)
	}
	wantMetrics(t, s, sourceMetrics{source: "0", lastSuccess: "1.7643168e+09", tenantsServed: 3})
	lines := logLines(f.logs)
	if len(lines) != 2 || !strings.Contains(lines[0], `msg="Loaded config file"`) || lines[1] != listedMain {
		t.Fatalf("log lines:\n%s", strings.Join(lines, "\n"))
	}
	if n := f.sim.ProjectListCalls(); n != 1 {
		t.Fatalf("ProjectListCalls = %d, want 1", n)
	}
	want := EntryStatus{Index: 0, Label: "0", Credentials: "main", LastSuccess: t0, Listed: 8, Enabled: 7, Matched: 3, Served: 3}
	if got := s.Entries(); len(got) != 1 || got[0] != want {
		t.Fatalf("Entries() = %+v\nwant %+v", got, want)
	}
}

func TestFiltersAndPrefix(t *testing.T) {
	f := newFixture(t)
	f.write(t, "", strings.Replace(f.entry("main", `name_regex: ".*_shop[13]", name_prefix: acme-, endpoint: "https://metastudio-{region}.internal:8443", `),
		"regions: [cn-north-4]", "regions: [cn-north-4, cn-east-3, la-south-2]", 1))
	s := f.set(t, Options{})
	wantDiscovered(t, s, "acme-cn-east-3_shop3="+idEast+"@cn-east-3", "acme-cn-north-4_shop1="+idShop1+"@cn-north-4")
	if tn, _ := s.Snapshot().Tenant("acme-cn-east-3_shop3"); tn.Endpoint != "https://metastudio-cn-east-3.internal:8443" {
		t.Fatalf("endpoint = %q", tn.Endpoint)
	}
	wantMetrics(t, s, sourceMetrics{source: "0", lastSuccess: "1.7643168e+09", tenantsServed: 2})
}

// TestMatchingNothingWarns: a listing that keeps nothing names the filters
// it applied, once; it is a successful listing all the same.
func TestMatchingNothingWarns(t *testing.T) {
	f := newFixture(t)
	f.write(t, "  - {name: static, project_id: p1, credentials: main}\n", f.entry("main", `name_regex: "nothing.*", `))
	s := f.set(t, Options{})
	wantDiscovered(t, s)
	lines := logLines(f.logs)[1:]
	want := []string{
		`level=info msg="Listed projects" source=0 credentials=main listed=8 enabled=7 matched=0 served=0`,
		`level=warn msg="Discovery entry matched no project: check its filters" source=0 credentials=main regions=cn-north-4 name_regex=nothing.* name_prefix= listed=8 enabled=7`,
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("log lines:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if !s.Snapshot().Ready() {
		t.Fatal("an entry that listed successfully, matching nothing, keeps the set unready")
	}
	listAll(s)
	wantLines(t, f.logs) // the same outcome is not logged again
}

func TestRelistAddsAndRemovesTenants(t *testing.T) {
	f := newFixture(t)
	f.write(t, "", f.entry("main", ""))
	s := f.set(t, Options{})
	f.logs.Take()
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
	before := s.Snapshot()
	listAll(s)
	wantDiscovered(t, s, shop1, "cn-north-4_shop9=00000000000000000000000000000a09@cn-north-4")
	if s.Snapshot() == before {
		t.Fatal("a changed list was not published")
	}
	wantLines(t, f.logs, `level=info msg="Listed projects" source=0 credentials=main listed=8 enabled=6 matched=2 served=2`)
	wantMetrics(t, s, sourceMetrics{source: "0", lastSuccess: "1.7643174e+09", tenantsServed: 2})

	// The same list again changes nothing and logs nothing.
	before = s.Snapshot()
	listAll(s)
	if s.Snapshot() != before {
		t.Fatal("the same list published a new snapshot")
	}
	wantLines(t, f.logs)
}

func TestFailedListingKeepsLastList(t *testing.T) {
	f := newFixture(t)
	f.write(t, "", f.entry("main", ""))
	s := f.set(t, Options{})
	f.logs.Take()

	f.sim.SetProjectsFault(simulator.Fault{Status: 503})
	f.clock.Set(t0.Add(time.Hour))
	before := s.Snapshot()
	listAll(s)
	listAll(s)
	wantDiscovered(t, s, north4, shop1, shop2)
	if s.Snapshot() != before || !before.Ready() {
		t.Fatal("a failed listing changed the set")
	}
	failed := func(wait string) string {
		return `level=warn msg="Listing projects failed; retrying, and keeping the last list meanwhile" source=0 credentials=main reason=server_error status=503 error_code=APIGW.0202 request_id=RID kept_tenants=3 retry_in=` + wait + ` err="list IAM projects: HTTP 503 APIGW.0202: Backend unavailable"`
	}
	wantLines(t, f.logs, failed("10m0s"), failed("10m0s")) // the fixture's 1h retry base, capped at refresh_interval
	wantMetrics(t, s, sourceMetrics{source: "0", errors: 2, lastSuccess: "1.7643168e+09", tenantsServed: 3})
	st := s.Entries()[0]
	if st.LastError != "list IAM projects: HTTP 503 APIGW.0202: Backend unavailable" || !st.NextRetry.After(t0) {
		t.Fatalf("status = %+v", st)
	}

	// A list IAM answers but cannot be read is a failure too, not an empty list.
	f.sim.SetProjectsFault(simulator.Fault{Body: []byte(`{"error":"nope"}`)})
	listAll(s)
	wantDiscovered(t, s, north4, shop1, shop2)
	lines := logLines(f.logs)
	if len(lines) != 1 || !strings.Contains(lines[0], `reason=decode`) {
		t.Fatalf("log lines:\n%s", strings.Join(lines, "\n"))
	}

	// Back: one line says so, with the counts.
	f.sim.SetProjectsFault(simulator.Fault{})
	listAll(s)
	wantLines(t, f.logs, listedMain)
	wantMetrics(t, s, sourceMetrics{source: "0", errors: 3, lastSuccess: "1.7643204e+09", tenantsServed: 3})
	if st := s.Entries()[0]; st.LastError != "" || !st.NextRetry.IsZero() {
		t.Fatalf("status after success = %+v", st)
	}
}

// TestBackoff: a failing listing is retried after 10 s, doubling, never
// later than its refresh interval; a success goes back to the interval.
func TestBackoff(t *testing.T) {
	f := newFixture(t)
	f.write(t, "", f.entry("main", "refresh_interval: 2m, "))
	s := f.set(t, Options{RetryBase: -1}) // the default
	f.sim.SetProjectsFault(simulator.Fault{Status: 500})
	e := s.entries[0]
	var waits []time.Duration
	for range 6 {
		listing, err := listOnce(s, e)
		waits = append(waits, s.record(e, listing, err))
	}
	want := []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second, 2 * time.Minute, 2 * time.Minute}
	for i := range want {
		if waits[i] != want[i] {
			t.Fatalf("waits = %v, want %v", waits, want)
		}
	}
	// However long it fails, the wait stays within its bounds.
	for range 70 {
		listing, err := listOnce(s, e)
		if w := s.record(e, listing, err); w != 2*time.Minute {
			t.Fatalf("wait after %d failures = %v", e.failures, w)
		}
	}
	f.sim.SetProjectsFault(simulator.Fault{})
	listing, err := listOnce(s, e)
	if w := s.record(e, listing, err); w != 2*time.Minute {
		t.Fatalf("wait after a success = %v", w)
	}
}

func TestStaticTenantWins(t *testing.T) {
	f := newFixture(t)
	static := "  - {name: cn-north-4_shop1, project_id: p1, credentials: main}\n  - {name: shop-a, project_id: p2, credentials: main}\n"
	path := f.write(t, static, f.entry("main", ""))
	s := f.set(t, Options{})
	wantDiscovered(t, s, north4, shop2)
	if tn, _ := s.Snapshot().Tenant("cn-north-4_shop1"); tn.ProjectID != "p1" || tn.Source != nil {
		t.Fatalf("the file's tenant lost its name: %+v", tn)
	}
	wantMetrics(t, s, sourceMetrics{source: "0", lastSuccess: "1.7643168e+09", tenantsServed: 2})
	clash := `level=warn msg="Discovered project not served: a configured tenant has its name" source=0 tenant=cn-north-4_shop1 project_id=` + idShop1
	lines := logLines(f.logs)[1:]
	if strings.Join(lines, "\n") != clash+"\n"+`level=info msg="Listed projects" source=0 credentials=main listed=8 enabled=7 matched=3 served=2` {
		t.Fatalf("log lines:\n%s", strings.Join(lines, "\n"))
	}

	// Logged once: neither listings nor a reload with the same names repeat it.
	listAll(s)
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if lines := logLines(f.logs); len(lines) != 1 || !strings.Contains(lines[0], "Loaded config file") {
		t.Fatalf("log lines:\n%s", strings.Join(lines, "\n"))
	}

	// The file's tenant goes: the discovered one is served, from the list
	// the entry kept across the reload.
	writeFile(t, path, strings.Replace(mustRead(t, path), "  - {name: cn-north-4_shop1, project_id: p1, credentials: main}\n", "", 1))
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	wantDiscovered(t, s, north4, shop1, shop2)
	wantMetrics(t, s, sourceMetrics{source: "0", lastSuccess: "1.7643168e+09", tenantsServed: 3})
}

func TestDuplicatesAcrossEntries(t *testing.T) {
	f := newFixture(t)
	// Entry 0 (AK/SK), 1 (temporary AK/SK) and 2 (IAM password) all find
	// a cn-north-4_shop1; entry 0 comes first and keeps it.
	f.write(t, "", f.entry("main", ""), f.entry("temp", ""), f.entry("iam", ""))
	s := f.set(t, Options{})
	wantDiscovered(t, s, north4,
		"cn-north-4_iam=00000000000000000000000000000c01@cn-north-4",
		shop1, shop2,
		"cn-north-4_temp=00000000000000000000000000000d02@cn-north-4")
	if tn, _ := s.Snapshot().Tenant("cn-north-4_shop1"); tn.Source.Index != 0 || tn.Credentials.AccessKey != akMain {
		t.Fatalf("cn-north-4_shop1 served by entry %d", tn.Source.Index)
	}
	wantMetrics(t, s,
		sourceMetrics{source: "0", lastSuccess: "1.7643168e+09", tenantsServed: 3},
		sourceMetrics{source: "1", lastSuccess: "1.7643168e+09", tenantsServed: 1},
		sourceMetrics{source: "2", lastSuccess: "1.7643168e+09", tenantsServed: 1})
	f.logs.Take()
	listAll(s)
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
	f.write(t, "", f.entry("main", ""))
	s := f.set(t, Options{})
	listAll(s)
	lines := logLines(f.logs)[1:]
	want := []string{
		`level=warn msg="Discovered project skipped" source=0 project=cn-north-4_a+b project_id=00000000000000000000000000000e01 reason="tenant name \"cn-north-4_a+b\" does not match ^[a-zA-Z0-9_.-]+$"`,
		`level=info msg="Listed projects" source=0 credentials=main listed=9 enabled=8 matched=4 served=3`,
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("log lines:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}
