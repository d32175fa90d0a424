package inventory

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/metastudio-exporter/metastudio_exporter/metastudio"
)

// TestGathererRefusesAsARegistry: a series served twice (the same tenant
// asked for twice) is served once, and a label value client_golang refuses
// (a tenant name that is not UTF-8) leaves that tenant's series out; each
// is an error, and Gatherer serves exactly what a registry of Collector
// serves, with as many errors.
func TestGathererRefusesAsARegistry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		api := newFakeAPI()
		p := api.project("p-shop")
		p.rooms = rooms("r1")
		p.details["r1"] = &metastudio.RoomDetail{RepeatCount: intp(2)}
		api.project("p-bad\xff")
		inv := New(api, Options{})
		t.Cleanup(inv.Close)
		shop, bad := testTenant("shop"), testTenant("bad\xff")
		kinds := Kinds{Rooms: true, Jobs: true}
		// The first gathering starts the watches; the second serves what
		// their first refreshes found.
		_, _ = inv.Gatherer(kinds, nil, shop, bad).Gather()
		synctest.Wait()

		got, gotErr := inv.Gatherer(kinds, nil, shop, shop, bad).Gather()
		reg := prometheus.NewRegistry()
		reg.MustRegister(inv.Collector(kinds, nil, shop, shop, bad))
		want, wantErr := reg.Gather()

		if text(t, got) != text(t, want) {
			t.Errorf("Gatherer served\n%s\na registry\n%s", text(t, got), text(t, want))
		}
		if !strings.Contains(text(t, got), `metastudio_room_play_repeats{room_id="r1",tenant="shop"} 2`) {
			t.Errorf("the tenant served twice is not served once:\n%s", text(t, got))
		}
		errs, wantErrs := multi(gotErr), multi(wantErr)
		if len(errs) != len(wantErrs) || len(errs) == 0 {
			t.Fatalf("%d errors, a registry %d:\n%v\n%v", len(errs), len(wantErrs), gotErr, wantErr)
		}
		for _, want := range []string{
			`collected metric metastudio_room_play_repeats{room_id="r1",tenant="shop"} was collected before with the same name and label values`,
			`tenant "bad\xff": label value "bad\xff" is not valid UTF-8`,
		} {
			if !slices.ContainsFunc(errs, func(err error) bool { return err.Error() == want }) {
				t.Errorf("no error %q in:\n%v", want, gotErr)
			}
		}
	})
}

func multi(err error) prometheus.MultiError {
	var m prometheus.MultiError
	if errors.As(err, &m) {
		return m
	}
	if err != nil {
		return prometheus.MultiError{err}
	}
	return nil
}

// text is families in the text format.
func text(t *testing.T, mfs []*dto.MetricFamily) string {
	t.Helper()
	var b strings.Builder
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

// TestGathererServesAsARegistryAtScale: 30 tenants' series, more than a
// block of blockSize, are served exactly as a registry of Collector serves
// them.
func TestGathererServesAsARegistryAtScale(t *testing.T) {
	inv, tenants := benchInventory(t, 30, 10, 2)
	kinds := Kinds{Rooms: true, Jobs: true}
	got, err := inv.Gatherer(kinds, nil, tenants...).Gather()
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(inv.Collector(kinds, nil, tenants...))
	want, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := text(t, got), text(t, want); got != want {
		t.Errorf("Gatherer served\n%s\na registry\n%s", got, want)
	}
	series := 0
	for _, mf := range got {
		series += len(mf.Metric)
	}
	if series != 30*83 || series <= blockSize {
		t.Errorf("%d series, want 30 × 83, more than a block of %d", series, blockSize)
	}
}

// TestBlocksPastTheCount: more series than a family's blocks were made
// for get blocks of their own, and nothing handed out before moves.
func TestBlocksPastTheCount(t *testing.T) {
	b := blocks{next: 2}
	var ms []*dto.Metric
	for i := range blockSize + 3 {
		m := b.metric(float64(i), 2)
		for k, p := range m.Label {
			p.Value = b.text(fmt.Sprint(i, "/", k))
		}
		ms = append(ms, m)
	}
	for i, m := range ms {
		if m.GetGauge().GetValue() != float64(i) || len(m.Label) != 2 || cap(m.Label) != 2 ||
			m.Label[0].GetValue() != fmt.Sprint(i, "/0") || m.Label[1].GetValue() != fmt.Sprint(i, "/1") {
			t.Fatalf("metric %d: %v", i, m)
		}
	}
	if len(b.metrics) != 1 || cap(b.metrics) != blockSize {
		t.Errorf("last block holds %d of %d, want 1 of %d", len(b.metrics), cap(b.metrics), blockSize)
	}
}
