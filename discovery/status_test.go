package discovery_test

import (
	"context"
	"testing"
	"time"

	"github.com/metastudio-exporter/metastudio_exporter/discovery"
	"github.com/metastudio-exporter/metastudio_exporter/metastudio/simulator"
)

// TestStatus: a source's status says when it last listed, how many
// projects IAM listed, how many matched and how many are served, and why
// its last refresh failed until one succeeds again.
func TestStatus(t *testing.T) {
	f := newFixture(t)
	d := f.discoverer(t, discovery.Options{}, f.source(0, akCreds()))
	if got, want := d.Status(), []discovery.SourceStatus{{Index: 0}}; !equalStatus(got, want) {
		t.Fatalf("before a refresh:\n got %+v\nwant %+v", got, want)
	}
	ctx := context.Background()
	d.Refresh(ctx)
	d.SetStatic([]string{"cn-north-4_shop1"})
	// Eight projects are listed: three of them are enabled, of cn-north-4
	// and so matched; a static tenant holds one of those names.
	want := []discovery.SourceStatus{{Index: 0, LastSuccess: t0, Listed: 8, Matched: 3, Served: 2}}
	if got := d.Status(); !equalStatus(got, want) {
		t.Fatalf("after a refresh:\n got %+v\nwant %+v", got, want)
	}

	f.sim.SetProjectsFault(simulator.Fault{Status: 503})
	f.clock.Set(t0.Add(time.Hour))
	d.Refresh(ctx)
	want[0].Errors = 1
	want[0].LastError = "list IAM projects: HTTP 503 APIGW.0202: Backend unavailable"
	if got := d.Status(); !equalStatus(got, want) {
		t.Fatalf("after a failed refresh:\n got %+v\nwant %+v", got, want)
	}

	f.sim.SetProjectsFault(simulator.Fault{})
	d.Refresh(ctx)
	want[0].LastError, want[0].LastSuccess = "", t0.Add(time.Hour)
	if got := d.Status(); !equalStatus(got, want) {
		t.Fatalf("after a refresh that succeeded again:\n got %+v\nwant %+v", got, want)
	}
	if (*discovery.Discoverer)(nil).Status() != nil {
		t.Error("a nil Discoverer has a status")
	}
}

func equalStatus(a, b []discovery.SourceStatus) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].LastSuccess.Equal(b[i].LastSuccess) {
			return false
		}
		x, y := a[i], b[i]
		x.LastSuccess, y.LastSuccess = time.Time{}, time.Time{}
		if x != y {
			return false
		}
	}
	return true
}
