package collector

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/metastudio-exporter/metastudio_exporter/config"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

// twoOutcomes is a scrape of a tenant that is up and one that failed.
func twoOutcomes() *Families {
	return &Families{
		tenants: []*config.Tenant{testTenant("up"), testTenant("down")},
		results: []result{
			{settings: metastudio.Settings{AutoStopMode: "SEGMENT_END", CallbackAuthType: "NONE"}, duration: time.Second},
			{err: &metastudio.Error{Reason: metastudio.ReasonAuth, ErrorCode: "APIGW.0301"}, duration: time.Second},
		},
	}
}

// gatheredFamilies is what a Gatherer hands Encode as extra: named
// families, sorted, each holding one gauge series.
func gatheredFamilies(t *testing.T, names ...string) []*dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewRegistry()
	for _, name := range names {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: "From elsewhere."}, func() float64 { return 7 }))
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}

func familyNames(mfs []*dto.MetricFamily) []string {
	names := make([]string, len(mfs))
	for i, mf := range mfs {
		names[i] = mf.GetName()
	}
	return names
}

// TestEncodeMergesInNameOrder: the tenant families and the gathered ones
// come out as one exposition in name order, as prometheus.Gatherers would
// list them, and each gathered family is let go once written.
func TestEncodeMergesInNameOrder(t *testing.T) {
	kept := gatheredFamilies(t, "go_goroutines", "metastudio_exporter_build_info", "metastudio_live_stream_up", "process_open_fds")
	extra := Gathered(kept)
	got, err := encodedExtra(twoOutcomes(), extra)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"go_goroutines",
		"metastudio_data_age_seconds",
		"metastudio_exporter_build_info",
		"metastudio_live_auto_stop_mode_info",
		"metastudio_live_config_hash",
		"metastudio_live_event_callback_auth_type_info",
		"metastudio_live_event_callback_configured",
		"metastudio_live_event_callback_event_enabled",
		"metastudio_live_event_callback_https",
		"metastudio_live_event_callback_key_configured",
		"metastudio_live_max_duration_seconds",
		"metastudio_live_max_exception_waiting_seconds",
		"metastudio_live_notify_event_enabled",
		"metastudio_live_stream_up",
		"metastudio_policy_max_exception_waiting_seconds",
		"metastudio_policy_max_live_duration_seconds",
		"metastudio_scrape_duration_seconds",
		"metastudio_scrape_error_info",
		"metastudio_tenant_info",
		"metastudio_up",
		"process_open_fds",
	}
	if names := familyNames(got); !slices.Equal(names, want) {
		t.Errorf("families written:\n%s\nwant:\n%s", strings.Join(names, "\n"), strings.Join(want, "\n"))
	}
	for i, mf := range kept {
		if got[slices.Index(want, mf.GetName())] != mf {
			t.Errorf("%s was not written as gathered", mf.GetName())
		}
		if extra[i].Build != nil {
			t.Errorf("extra[%d] (%s) still held after it was written", i, mf.GetName())
		}
	}
}

// TestEncodeMergesSameName: a gathered family named like a tenant family
// is merged into it as prometheus.Gatherers merges, checks included: one
// family with every series, and an inconsistent one is refused by name.
func TestEncodeMergesSameName(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "metastudio_up", Help: "1 if this tenant's live-streaming config was fetched and decoded in this scrape.",
		ConstLabels: prometheus.Labels{"tenant": "elsewhere"},
	}, func() float64 { return 1 }))
	extra, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	g := prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) { return encoded(twoOutcomes(), slices.Clone(extra)) })
	want := `# HELP metastudio_up 1 if this tenant's live-streaming config was fetched and decoded in this scrape.
# TYPE metastudio_up gauge
metastudio_up{tenant="down"} 0
metastudio_up{tenant="elsewhere"} 1
metastudio_up{tenant="up"} 1
`
	if err := testutil.GatherAndCompare(g, strings.NewReader(want), "metastudio_up"); err != nil {
		t.Error(err)
	}

	other := gatheredFamilies(t, "metastudio_up") // another help text, no tenant label
	got, err := encoded(twoOutcomes(), other)
	wantErr := `gathered metric family metastudio_up has help "From elsewhere." but should have "1 if this tenant's live-streaming config was fetched and decoded in this scrape."`
	if err == nil || err.Error() != wantErr {
		t.Errorf("error %v, want %s", err, wantErr)
	}
	i := slices.Index(familyNames(got), "metastudio_up")
	if i < 0 || len(got[i].GetMetric()) != 2 {
		t.Errorf("metastudio_up was not written with the tenants' two series: %v", got)
	}
}

// TestEncodeStopsAtWriteError: once the encoder fails (the client's
// connection broke), nothing more is built or written, and that error is
// what Encode returns.
func TestEncodeStopsAtWriteError(t *testing.T) {
	broken := errors.New("write: broken pipe")
	enc := &recordingEncoder{fail: broken, failAt: 3}
	err := twoOutcomes().Encode(context.Background(), enc, Gathered(gatheredFamilies(t, "process_open_fds")))
	if err != broken {
		t.Errorf("Encode returned %v, want the encoder's error", err)
	}
	if names := familyNames(enc.mfs); !slices.Equal(names, []string{"metastudio_data_age_seconds", "metastudio_live_auto_stop_mode_info"}) {
		t.Errorf("written %v, want the two families before the failure", names)
	}
}

// TestEncodeStartsNothingAfterClientLeft: a request whose client has gone
// gets no family built or written.
func TestEncodeStartsNothingAfterClientLeft(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var enc recordingEncoder
	err := twoOutcomes().Encode(ctx, &enc, Gathered(gatheredFamilies(t, "go_goroutines")))
	want := "client went away before go_goroutines was written: context canceled"
	if err == nil || err.Error() != want || !errors.Is(err, context.Canceled) {
		t.Errorf("Encode returned %v, want %s", err, want)
	}
	if len(enc.mfs) != 0 {
		t.Errorf("%d families written for a client that had left", len(enc.mfs))
	}
}

// TestEncodeStopsWhenClientLeaves: a client that leaves in the middle of
// an answer gets no further family, tenant or gathered.
func TestEncodeStopsWhenClientLeaves(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	enc := &recordingEncoder{after: cancel}
	err := twoOutcomes().Encode(ctx, enc, Gathered(gatheredFamilies(t, "go_goroutines", "process_open_fds")))
	want := "client went away before metastudio_data_age_seconds was written: context canceled"
	if err == nil || err.Error() != want {
		t.Errorf("Encode returned %v, want %s", err, want)
	}
	if names := familyNames(enc.mfs); !slices.Equal(names, []string{"go_goroutines"}) {
		t.Errorf("written %v, want only the family before the client left", names)
	}
}

// TestEncodeWithoutTenants: collect[]=exporter and the like scrape no
// tenant; only the gathered families are written.
func TestEncodeWithoutTenants(t *testing.T) {
	got, err := encoded(&Families{}, gatheredFamilies(t, "go_goroutines", "metastudio_up"))
	if err != nil {
		t.Fatal(err)
	}
	if names := familyNames(got); !slices.Equal(names, []string{"go_goroutines", "metastudio_up"}) {
		t.Errorf("written %v", names)
	}
}

// TestTenantFamiliesInNameOrder: the family table is in name order, the
// order Encode merges in, and each name is its Desc's.
func TestTenantFamiliesInNameOrder(t *testing.T) {
	if !slices.IsSortedFunc(tenantFamilies, func(a, b tenantFamily) int { return strings.Compare(a.name, b.name) }) {
		t.Error("tenantFamilies is not sorted by name")
	}
	for _, names := range [][]string{nil, {"env", "team"}} {
		descs := tenantDescs.For(names)
		for i, f := range tenantFamilies {
			if !strings.Contains(descs[i].String(), `fqName: "`+f.name+`"`) {
				t.Errorf("family %s has the Desc %s", f.name, descs[i])
			}
		}
	}
}

// TestEncodeRefusesBadSeries: a series client_golang would refuse is left
// out with an error that says which and why, and everything else is still
// written: a label value that is not UTF-8 names its tenant, and a series
// repeated within a family (two tenants by one name) is written once.
func TestEncodeRefusesBadSeries(t *testing.T) {
	fs := &Families{
		tenants: []*config.Tenant{testTenant("twin"), testTenant("twin"), testTenant("bad\xff")},
		results: make([]result, 3),
	}
	got, err := encoded(fs, nil)
	var errs prometheus.MultiError
	if !errors.As(err, &errs) {
		t.Fatalf("Encode returned %v, want the refused series", err)
	}
	wantBad := `tenant "bad\xff": label value "bad\xff" is not valid UTF-8`
	wantRepeat := `collected metric metastudio_tenant_info{project_id="p-twin",region="cn-north-4",tenant="twin"} was collected before with the same name and label values`
	// Every series of bad, and one of each of twin's.
	if want := 2 * 18; len(errs) != want || errs[0].Error() != wantBad || !slices.ContainsFunc(errs, func(e error) bool { return e.Error() == wantRepeat }) {
		t.Errorf("%d errors, want %d:\n%v\nwant among them:\n%s\n%s", len(errs), want, err, wantBad, wantRepeat)
	}
	once, err := encoded(&Families{tenants: fs.tenants[:1], results: fs.results[:1]}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(once) {
		t.Fatalf("%d families written, want twin's %d", len(got), len(once))
	}
	for i, mf := range got {
		if len(mf.GetMetric()) != len(once[i].GetMetric()) {
			t.Errorf("%s: %v, want twin's series once", mf.GetName(), mf.GetMetric())
		}
	}
}

// TestEncodeBuildsExtraInTurn: each family of extra is built only when its
// turn to be written comes, after every family before it was written; one
// built without series is left out, and the errors its building gave are
// returned, one by one, after everything is written.
func TestEncodeBuildsExtraInTurn(t *testing.T) {
	var enc recordingEncoder
	builtAfter := map[string][]string{}
	lazy := func(name string, mf *dto.MetricFamily, err error) Extra {
		return Extra{Name: name, Build: func() (*dto.MetricFamily, error) {
			builtAfter[name] = familyNames(enc.mfs)
			return mf, err
		}}
	}
	gathered := gatheredFamilies(t, "go_goroutines", "metastudio_live_stream_up")
	extra := []Extra{
		lazy("go_goroutines", gathered[0], nil),
		lazy("metastudio_live_max_duration_seconds_total", nil, prometheus.MultiError{errors.New("one"), errors.New("two")}),
		lazy("metastudio_live_stream_up", gathered[1], errors.New("three")),
	}
	err := twoOutcomes().Encode(context.Background(), &enc, extra)
	if want := "3 error(s) occurred:\n* one\n* two\n* three"; err == nil || err.Error() != want {
		t.Errorf("Encode returned %v, want %s", err, want)
	}
	written := familyNames(enc.mfs)
	if slices.Contains(written, "metastudio_live_max_duration_seconds_total") {
		t.Errorf("a family without series was written: %v", written)
	}
	for name, before := range builtAfter {
		i := slices.Index(written, name)
		if i < 0 {
			i = slices.IndexFunc(written, func(w string) bool { return w > name })
		}
		if !slices.Equal(before, written[:i]) {
			t.Errorf("%s built after %v, want after %v", name, before, written[:i])
		}
	}
	if len(builtAfter) != 3 {
		t.Errorf("%d families of extra built, want 3", len(builtAfter))
	}
}
